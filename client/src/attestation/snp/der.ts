// A minimal DER reader (ITU-T X.690, distinguished encoding) for the X.509 certificates (RFC 5280)
// that endorse SEV-SNP reports.
//
// Why our own: node:crypto's X509Certificate cannot show a certificate's signature algorithm
// parameters, its to-be-signed bytes or AMD's private extensions (chip ID, TCB levels), and the
// verifier needs all three. The reader handles single-byte tags and definite lengths only, which is all
// DER allows for these structures; every length is checked against its parent before it is used.

import { AttestationError } from '../errors.ts';

export const tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  context0: 0xa0,
  context1: 0xa1,
  context2: 0xa2,
  context3: 0xa3,
} as const;

/** One TLV: `contentStart..end` is the value, `start..end` the whole encoding. */
export interface DerNode {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function malformed(message: string): AttestationError {
  return new AttestationError('SNP_ENDORSEMENTS_MALFORMED', `certificate DER: ${message}`);
}

/** Reads the TLV at `at`, which must end no later than `limit`. */
export function readNode(bytes: Uint8Array, at: number, limit: number): DerNode {
  if (at + 2 > limit) throw malformed(`truncated header at ${at}`);
  const tagByte = bytes[at]!;
  if ((tagByte & 0x1f) === 0x1f) throw malformed(`multi-byte tag at ${at}`);
  const first = bytes[at + 1]!;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = at + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw malformed(`indefinite length at ${at}`);
    if (count > 4) throw malformed(`length of ${count} bytes at ${at}`);
    if (at + 2 + count > limit) throw malformed(`truncated length at ${at}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[at + 2 + i]!;
    // DER: the shortest form, so no leading zero byte and no long form below 128.
    if (bytes[at + 2]! === 0 || length < 0x80) throw malformed(`non-minimal length at ${at}`);
    contentStart = at + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed(`value at ${at} runs past its container`);
  return { tag: tagByte, start: at, contentStart, end };
}

/** Reads a whole buffer as one TLV with nothing after it. */
export function readRoot(bytes: Uint8Array): DerNode {
  const root = readNode(bytes, 0, bytes.length);
  if (root.end !== bytes.length) throw malformed('trailing bytes after the outer value');
  return root;
}

export function children(bytes: Uint8Array, parent: DerNode): DerNode[] {
  const nodes: DerNode[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const node = readNode(bytes, at, parent.end);
    nodes.push(node);
    at = node.end;
  }
  return nodes;
}

export function expectTag(node: DerNode | undefined, expected: number, what: string): DerNode {
  if (node === undefined) throw malformed(`${what} is missing`);
  if (node.tag !== expected) throw malformed(`${what} has tag 0x${node.tag.toString(16)}, expected 0x${expected.toString(16)}`);
  return node;
}

export function content(bytes: Uint8Array, node: DerNode): Uint8Array {
  return bytes.subarray(node.contentStart, node.end);
}

export function encoding(bytes: Uint8Array, node: DerNode): Uint8Array {
  return bytes.subarray(node.start, node.end);
}

export function decodeOid(bytes: Uint8Array, node: DerNode): string {
  const value = content(bytes, expectTag(node, tag.oid, 'object identifier'));
  if (value.length === 0) throw malformed('empty object identifier');
  const arcs: number[] = [];
  let arc = 0;
  for (let i = 0; i < value.length; i++) {
    const byte = value[i]!;
    if (arc === 0 && byte === 0x80) throw malformed('non-minimal object identifier arc');
    arc = arc * 128 + (byte & 0x7f);
    if (arc > Number.MAX_SAFE_INTEGER / 128) throw malformed('object identifier arc too large');
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0;
    }
  }
  if ((value[value.length - 1]! & 0x80) !== 0) throw malformed('truncated object identifier');
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** A non-negative INTEGER that fits a JS number exactly. */
export function decodeSmallUnsigned(bytes: Uint8Array, node: DerNode, what: string): number {
  const value = content(bytes, expectTag(node, tag.integer, what));
  if (value.length === 0) throw malformed(`${what} is empty`);
  if ((value[0]! & 0x80) !== 0) throw malformed(`${what} is negative`);
  if (value.length > 1 && value[0] === 0 && (value[1]! & 0x80) === 0) throw malformed(`${what} is not minimally encoded`);
  if (value.length > 7) throw malformed(`${what} is too large`);
  let result = 0;
  for (const byte of value) result = result * 256 + byte;
  return result;
}

export function decodeBoolean(bytes: Uint8Array, node: DerNode, what: string): boolean {
  const value = content(bytes, expectTag(node, tag.boolean, what));
  if (value.length !== 1 || (value[0] !== 0 && value[0] !== 0xff)) throw malformed(`${what} is not a DER boolean`);
  return value[0] === 0xff;
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as RFC 5280 requires. */
export function decodeTime(bytes: Uint8Array, node: DerNode, what: string): Date {
  const text = Buffer.from(content(bytes, node)).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === tag.utcTime && (match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === tag.generalizedTime && (match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    year = Number(match[1]);
  } else {
    throw malformed(`${what} is not a UTCTime or GeneralizedTime in UTC`);
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [number, number, number, number, number];
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(time);
  if (Number.isNaN(time) || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw malformed(`${what} is not a valid date`);
  }
  return date;
}
