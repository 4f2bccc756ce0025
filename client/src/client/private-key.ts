// EC private keys from PEM, for signing in any JavaScript runtime (no node:crypto): SEC 1 "EC PRIVATE
// KEY" (RFC 5915, what `synod keygen` and CCF's keygenerator.sh write) and PKCS#8 "PRIVATE KEY"
// (RFC 5208/5958, what the sandbox writes). Only the fields needed are read, with a minimal DER
// reader that checks every length; the key is then checked against the certificate it goes with.
import { UsageError, UsageErrorCode } from '../errors.ts';
import type { Curve } from '../verify/ecdsa.ts';
import { SCALAR_BYTES } from '../verify/ecdsa.ts';
import { equalBytes, pemToDerAll } from '../verify/encoding.ts';
import { namedCurveDer } from '../verify/x509.ts';

const TAG_INTEGER = 0x02;
const TAG_OCTET_STRING = 0x04;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
const TAG_CONTEXT_0 = 0xa0;
/** id-ecPublicKey (1.2.840.10045.2.1), DER value bytes of the OBJECT IDENTIFIER. */
const OID_EC_PUBLIC_KEY = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);

export interface EcPrivateKey {
  curve: Curve;
  /** The private scalar, big-endian, exactly the curve's scalar length. */
  scalar: Uint8Array;
}

interface Tlv {
  tag: number;
  value: Uint8Array;
  /** Offset just after this element. */
  next: number;
}

function fail(message: string): UsageError {
  return new UsageError(UsageErrorCode.invalidArgument, `private key: ${message}`);
}

function readTlv(bytes: Uint8Array, offset: number): Tlv {
  if (offset + 2 > bytes.length) throw fail('truncated DER');
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 3 || start + lengthBytes > bytes.length) throw fail('bad DER length');
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + bytes[start + i]!;
    start += lengthBytes;
  }
  if (start + length > bytes.length) throw fail('DER element runs past the end');
  return { tag, value: bytes.subarray(start, start + length), next: start + length };
}

/** The elements of a constructed value, in order. */
function children(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < value.length; ) {
    const tlv = readTlv(value, offset);
    out.push(tlv);
    offset = tlv.next;
  }
  return out;
}

function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw fail(`${what} missing`);
  return tlv;
}

function curveOfOid(oidTlv: Tlv): Curve {
  for (const curve of ['P-256', 'P-384'] as const) {
    if (equalBytes(namedCurveDer(curve).subarray(2), oidTlv.value)) return curve;
  }
  throw fail('the key is not on P-256 or P-384');
}

/** RFC 5915 ECPrivateKey; `curve` comes from the enclosing PKCS#8 when the key omits its parameters. */
function parseEcPrivateKey(der: Uint8Array, outerCurve: Curve | undefined): EcPrivateKey {
  const top = readTlv(der, 0);
  if (top.tag !== TAG_SEQUENCE || top.next !== der.length) throw fail('ECPrivateKey is not one DER SEQUENCE');
  const [version, octets, ...rest] = children(top.value);
  if (expectTag(version, TAG_INTEGER, 'version').value.length !== 1 || version!.value[0] !== 1) throw fail('ECPrivateKey version is not 1');
  const scalar = expectTag(octets, TAG_OCTET_STRING, 'private key octets').value;
  const params = rest.find((t) => t.tag === TAG_CONTEXT_0);
  const innerCurve = params ? curveOfOid(expectTag(readTlv(params.value, 0), TAG_OID, 'named curve')) : undefined;
  if (innerCurve && outerCurve && innerCurve !== outerCurve) throw fail('PKCS#8 and ECPrivateKey name different curves');
  const curve = innerCurve ?? outerCurve;
  if (!curve) throw fail('the key does not name its curve');
  if (scalar.length !== SCALAR_BYTES[curve]) throw fail(`a ${curve} private key is ${SCALAR_BYTES[curve]} bytes, got ${scalar.length}`);
  return { curve, scalar: scalar.slice() };
}

/** RFC 5958 OneAsymmetricKey / PrivateKeyInfo holding an EC key. */
function parsePkcs8(der: Uint8Array): EcPrivateKey {
  const top = readTlv(der, 0);
  if (top.tag !== TAG_SEQUENCE || top.next !== der.length) throw fail('PKCS#8 is not one DER SEQUENCE');
  const [version, algorithm, octets] = children(top.value);
  expectTag(version, TAG_INTEGER, 'PKCS#8 version');
  const [algorithmOid, curveOid] = children(expectTag(algorithm, TAG_SEQUENCE, 'PKCS#8 algorithm').value);
  if (!equalBytes(expectTag(algorithmOid, TAG_OID, 'algorithm').value, OID_EC_PUBLIC_KEY)) throw fail('not an EC key (only ECDSA P-256/P-384 keys are supported)');
  const curve = curveOfOid(expectTag(curveOid, TAG_OID, 'named curve'));
  return parseEcPrivateKey(expectTag(octets, TAG_OCTET_STRING, 'PKCS#8 private key').value, curve);
}

/** Parses one unencrypted EC private key in PEM (SEC 1 or PKCS#8). */
export function parsePrivateKeyPem(pem: string): EcPrivateKey {
  if (typeof pem !== 'string') throw fail('must be a PEM string');
  if (pem.includes('ENCRYPTED PRIVATE KEY')) throw fail('encrypted keys are not supported: decrypt it first (openssl pkey)');
  let sec1: Uint8Array[];
  let pkcs8: Uint8Array[];
  try {
    sec1 = pemToDerAll(pem, 'EC PRIVATE KEY');
    pkcs8 = pemToDerAll(pem, 'PRIVATE KEY');
  } catch (e) {
    throw fail(`bad PEM: ${(e as Error).message}`);
  }
  if (sec1.length + pkcs8.length !== 1) throw fail(`expected one "EC PRIVATE KEY" or "PRIVATE KEY" PEM block, found ${sec1.length + pkcs8.length}`);
  return sec1.length === 1 ? parseEcPrivateKey(sec1[0]!, undefined) : parsePkcs8(pkcs8[0]!);
}
