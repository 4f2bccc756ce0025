// COSE_Sign1 (RFC 9052 §4.2, §4.4) with ES256/ES384 (RFC 9053 §2.1), enough to verify what CCF
// signs: Merkle-root signatures and COSE receipts (detached payload), previous-service-identity
// endorsements and member governance requests (attached payload). CBOR via cborg, with maps kept as
// Map so that integer labels survive, and the protected header verified as the exact bytes received.
import { decode, encode } from 'cborg';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import type { Curve } from './ecdsa.ts';
import type { SignatureChecker } from './trust.ts';
import { directChecker } from './trust.ts';
import type { PublicKey } from './x509.ts';

export const COSE_SIGN1_TAG = 18;
export const HEADER_ALG = 1;
export const HEADER_KID = 4;
export const HEADER_CWT_CLAIMS = 15;
/** draft-ietf-cose-merkle-tree-proofs: verifiable data structure (protected) and proofs (unprotected). */
export const HEADER_VDS = 395;
export const HEADER_VDP = 396;

/** COSE algorithm identifiers we verify, with the curve each is defined for and its hash. */
const ALGORITHMS = new Map<number, { curve: Curve; hash: (m: Uint8Array) => Uint8Array }>([
  [-7, { curve: 'P-256', hash: sha256 }],
  [-35, { curve: 'P-384', hash: sha384 }],
]);

export type CborMap = Map<unknown, unknown>;

export interface CoseSign1 {
  /** The serialized protected header, exactly as received: it is what the signature covers. */
  protectedBytes: Uint8Array;
  protectedHeader: CborMap;
  unprotectedHeader: CborMap;
  /** null when detached. */
  payload: Uint8Array | null;
  signature: Uint8Array;
}

/** Marker returned by the tag-18 decoder so that we can tell a tagged message from a bare array. */
class Tagged18 {
  constructor(readonly value: unknown) {}
}

/** Decodes CBOR with maps as Map and no tags except COSE_Sign1's; throws TypeError when malformed. */
export function decodeCbor(bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('CBOR input must be bytes');
  const tags: Array<(inner: unknown) => unknown> = [];
  tags[COSE_SIGN1_TAG] = (inner) => new Tagged18(inner);
  try {
    return decode(bytes, { useMaps: true, rejectDuplicateMapKeys: true, tags });
  } catch (e) {
    throw new TypeError(`malformed CBOR: ${(e as Error).message}`);
  }
}

export function encodeCbor(value: unknown): Uint8Array {
  return encode(value);
}

/** Decodes a COSE_Sign1; `requireTag` demands the tag-18 wrapping (CCF always writes it). */
export function decodeCoseSign1(bytes: Uint8Array, requireTag = true): CoseSign1 {
  let outer = decodeCbor(bytes);
  if (outer instanceof Tagged18) outer = outer.value;
  else if (requireTag) throw new TypeError('not a tagged COSE_Sign1 (tag 18)');
  if (!Array.isArray(outer) || outer.length !== 4) throw new TypeError('COSE_Sign1 must be an array of 4');
  const [protectedBytes, unprotectedHeader, payload, signature] = outer as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) throw new TypeError('protected header must be a byte string');
  if (!(unprotectedHeader instanceof Map)) throw new TypeError('unprotected header must be a map');
  if (payload !== null && !(payload instanceof Uint8Array)) throw new TypeError('payload must be bytes or nil');
  if (!(signature instanceof Uint8Array)) throw new TypeError('signature must be a byte string');
  // RFC 9052 §3: an empty protected header is encoded as a zero-length byte string.
  const protectedHeader = protectedBytes.length === 0 ? new Map() : decodeCbor(protectedBytes);
  if (!(protectedHeader instanceof Map)) throw new TypeError('protected header must encode a map');
  return { protectedBytes, protectedHeader, unprotectedHeader, payload, signature };
}

/** Sig_structure for COSE_Sign1 (RFC 9052 §4.4) with an empty external_aad. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

/**
 * True iff the message's signature verifies with `key` over its payload, or over `detachedPayload`
 * when the payload is detached. The algorithm must be ES256 on a P-256 key or ES384 on a P-384 key.
 */
export function verifyCoseSign1(
  message: CoseSign1,
  key: PublicKey,
  detachedPayload?: Uint8Array,
  checker: SignatureChecker = directChecker,
): boolean {
  const alg = ALGORITHMS.get(message.protectedHeader.get(HEADER_ALG) as number);
  if (!alg || alg.curve !== key.curve) return false;
  const payload = message.payload ?? detachedPayload;
  if (!payload || (message.payload !== null && detachedPayload !== undefined)) return false;
  const digest = alg.hash(sigStructure(message.protectedBytes, payload));
  return checker.check(key, digest, message.signature, 'p1363');
}

/** COSE algorithm identifier for a curve, as used when signing (tests, tools). */
export function algorithmForCurve(curve: Curve): number {
  return curve === 'P-384' ? -35 : -7;
}
