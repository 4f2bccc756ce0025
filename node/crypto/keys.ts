// ECDSA (FIPS 186-5, SEC 1 v2) over NIST P-256 and P-384: key generation, and signatures in two forms.
//
// - signDigest / verifyDigest: ECDSA over a digest the caller already computed. CCF signs the 32-byte
//   Merkle root as if it were a SHA-256 message hash (OpenSSL's ECDSA_do_sign on the raw bytes), with the
//   P-384 node key. node:crypto always hashes the message itself, so these go through @noble/curves with
//   prehashing disabled. Signatures are ASN.1 DER (RFC 3279 Ecdsa-Sig-Value), as in CCF receipts.
//   Verification accepts high-S signatures, because OpenSSL (and therefore CCF) produces and accepts them.
// - signData / verifyData: ordinary hash-then-sign through node:crypto (OpenSSL).
//
// Keys travel as PEM: PKCS#8 for private keys (SEC 1 "EC PRIVATE KEY" is accepted on input, since CCF's
// sandbox writes that form), SPKI for public keys.

import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { CryptoError, invalidArgument, invalidDigest, invalidKey, unsupportedCurve } from './errors.ts';
import { NoncePool, bytesToBigInt, drawNonce, type NonceSource } from './nonces.ts';

export type Curve = 'P-256' | 'P-384';
export type SignatureHash = 'SHA-256' | 'SHA-384';
export type SignatureEncoding = 'der' | 'ieee-p1363';

export interface KeyPair {
  curve: Curve;
  privateKeyPem: string;
  publicKeyPem: string;
  /** SubjectPublicKeyInfo, DER. */
  publicKeyDer: Uint8Array;
}

/** Digest lengths signDigest accepts: SHA-256 (CCF's Merkle roots) and SHA-384. */
const DIGEST_BYTES_ALLOWED: readonly number[] = [32, 48];

const OPENSSL_CURVE_NAMES: Record<string, Curve> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
};

const NOBLE = { 'P-256': p256, 'P-384': p384 } as const;

/** Bytes of one coordinate or scalar. */
const FIELD_BYTES: Record<Curve, number> = { 'P-256': 32, 'P-384': 48 };

function assertCurve(curve: unknown): asserts curve is Curve {
  if (curve !== 'P-256' && curve !== 'P-384') throw unsupportedCurve(curve);
}

function curveOfKeyObject(key: KeyObject): Curve {
  if (key.asymmetricKeyType !== 'ec') {
    throw invalidKey(`expected an EC key, got ${String(key.asymmetricKeyType)}`);
  }
  const named = key.asymmetricKeyDetails?.namedCurve;
  const curve = named === undefined ? undefined : OPENSSL_CURVE_NAMES[named];
  if (curve === undefined) throw unsupportedCurve(named);
  return curve;
}

function toPlain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
}

function describeKeyObject(publicKey: KeyObject, curve: Curve, privateKeyPem: string): KeyPair {
  const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const publicKeyDer = toPlain(publicKey.export({ format: 'der', type: 'spki' }));
  return { curve, privateKeyPem, publicKeyPem, publicKeyDer };
}

export function generateKeyPair(curve: Curve): KeyPair {
  assertCurve(curve);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return describeKeyObject(publicKey, curve, privateKeyPem);
}

/** Rebuilds a KeyPair from a stored private key (PKCS#8 or SEC 1 PEM); the PEM is normalised to PKCS#8. */
export function keyPairFromPrivateKeyPem(privateKeyPem: string): KeyPair {
  const privateKey = parsePrivateKey(privateKeyPem);
  const curve = curveOfKeyObject(privateKey);
  const pkcs8 = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return describeKeyObject(createPublicKey(privateKey), curve, pkcs8);
}

export function parsePrivateKey(privateKeyPem: string): KeyObject {
  if (typeof privateKeyPem !== 'string') throw invalidArgument('private key must be a PEM string');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch (cause) {
    throw invalidKey('private key PEM could not be parsed', cause);
  }
  curveOfKeyObject(key);
  return key;
}

/** Accepts SPKI PEM, SPKI DER, or a certificate PEM (its subject key is used). */
export function parsePublicKey(publicKey: string | Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    if (typeof publicKey === 'string') {
      key = createPublicKey({ key: publicKey, format: 'pem' });
    } else if (publicKey instanceof Uint8Array) {
      key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
    } else {
      throw invalidArgument('public key must be a PEM string or SPKI DER bytes');
    }
  } catch (cause) {
    if (cause instanceof CryptoError) throw cause;
    throw invalidKey('public key could not be parsed', cause);
  }
  curveOfKeyObject(key);
  return key;
}

export function publicKeyPemToDer(publicKeyPem: string): Uint8Array {
  return toPlain(parsePublicKey(publicKeyPem).export({ format: 'der', type: 'spki' }));
}

export function publicKeyDerToPem(spkiDer: Uint8Array): string {
  return parsePublicKey(spkiDer).export({ format: 'pem', type: 'spki' }).toString();
}

export function curveOfPublicKey(publicKey: string | Uint8Array): Curve {
  return curveOfKeyObject(parsePublicKey(publicKey));
}

function assertDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array)) throw invalidArgument('digest must be a Uint8Array');
  if (!DIGEST_BYTES_ALLOWED.includes(digest.byteLength)) throw invalidDigest(digest.byteLength);
}

function base64UrlToBytes(text: string | undefined, length: number): Uint8Array {
  if (text === undefined) throw invalidKey('EC key is missing a JWK component');
  const bytes = toPlain(Buffer.from(text, 'base64url'));
  if (bytes.byteLength !== length) throw invalidKey('EC key component has the wrong length');
  return bytes;
}

/** The raw scalar of an EC private key, for @noble/curves. */
function privateScalar(key: KeyObject, curve: Curve): Uint8Array {
  return base64UrlToBytes(key.export({ format: 'jwk' }).d, FIELD_BYTES[curve]);
}

/** The uncompressed SEC 1 point (0x04 ‖ x ‖ y) of an EC public key, for @noble/curves. */
function publicPoint(key: KeyObject, curve: Curve): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const size = FIELD_BYTES[curve];
  const point = new Uint8Array(1 + 2 * size);
  point[0] = 0x04;
  point.set(base64UrlToBytes(jwk.x, size), 1);
  point.set(base64UrlToBytes(jwk.y, size), 1 + size);
  return point;
}

const SIGN_OPTIONS = { prehash: false, format: 'der', extraEntropy: true } as const;

/**
 * ECDSA signature over a prehashed digest (32 or 48 bytes), DER-encoded. The nonce is RFC 6979
 * deterministic with added randomness (hedged), so a weak RNG cannot leak the key.
 */
export function signDigest(privateKeyPem: string, digest: Uint8Array): Uint8Array {
  assertDigest(digest);
  const key = parsePrivateKey(privateKeyPem);
  const curve = curveOfKeyObject(key);
  const scalar = privateScalar(key, curve);
  try {
    return NOBLE[curve].sign(digest, scalar, SIGN_OPTIONS);
  } finally {
    scalar.fill(0); // this copy of the key is not needed again
  }
}

/**
 * signDigest with the key parsed once, for a caller that signs repeatedly with one key (the node signing
 * Merkle roots, about a hundred times a second under load).
 *
 * The costly step of an ECDSA signature is the fixed-base multiplication k·G. @noble/curves does it in
 * JavaScript (~2.5 ms for P-384 on the benchmark machine); OpenSSL does it ~3.5× faster, and node:crypto
 * exposes it through ECDH: an ECDH object given the private value k returns k·G as its public key. The
 * rest is FIPS 186-5 §6.4.1 on BigInts, as noble does it: r = x(k·G) mod n, s = k⁻¹(e + r·d) mod n, with
 * e the digest's leftmost bits. The nonce is 128 bits wider than n before reduction (bias below 2⁻¹²⁸)
 * and comes from the OS CSPRNG. Every signature verifies with verifyDigest and with OpenSSL (tested).
 *
 * With `nonces` (sharedNoncePool), the k·G step is done ahead on a worker thread (nonces.ts), and a
 * signature costs the caller only the BigInt arithmetic. `encoding` 'ieee-p1363' gives r ‖ s (COSE).
 */
export function digestSigner(
  privateKeyPem: string,
  options: { nonces?: NonceSource; encoding?: SignatureEncoding } = {},
): (digest: Uint8Array) => Uint8Array {
  const key = parsePrivateKey(privateKeyPem);
  const curve = curveOfKeyObject(key);
  const scalar = privateScalar(key, curve);
  const d = bytesToBigInt(scalar);
  scalar.fill(0);
  const { Point, Signature } = NOBLE[curve];
  const n = Point.Fn.ORDER;
  const size = FIELD_BYTES[curve];
  const orderBits = size * 8;
  const encoding = options.encoding ?? 'der';
  assertEncoding(encoding);
  const ecdh = createECDH(OPENSSL_NAMES[curve]);
  return (digest: Uint8Array): Uint8Array => {
    assertDigest(digest);
    let e = bytesToBigInt(digest);
    if (digest.byteLength * 8 > orderBits) e >>= BigInt(digest.byteLength * 8 - orderBits);
    e %= n;
    for (;;) {
      // From the pool when it has one ready, else computed here.
      const { k, r } = options.nonces?.take() ?? drawNonce(ecdh, n, size);
      if (r === 0n) continue;
      const s = (Point.Fn.inv(k) * ((e + r * d) % n)) % n;
      if (s === 0n) continue;
      const signature = new Signature(r, s);
      return encoding === 'der' ? signature.toBytes('der') : signature.toBytes('compact');
    }
  };
}

const OPENSSL_NAMES: Record<Curve, 'secp384r1' | 'prime256v1'> = { 'P-384': 'secp384r1', 'P-256': 'prime256v1' };
const sharedPools = new Map<Curve, NoncePool>();

/** One nonce pool (one worker thread) per curve for the whole process, started on first use. */
export function sharedNoncePool(curve: Curve): NonceSource {
  assertCurve(curve);
  let pool = sharedPools.get(curve);
  if (pool === undefined) {
    pool = new NoncePool({ opensslCurve: OPENSSL_NAMES[curve], order: NOBLE[curve].Point.Fn.ORDER, size: FIELD_BYTES[curve] });
    sharedPools.set(curve, pool);
  }
  return pool;
}

/** Public keys parsed for verifyDigest, by their PEM or DER; public data, so caching is harmless. */
const PUBLIC_POINT_CACHE_ENTRIES_MAX = 256;
const publicPoints = new Map<string, { curve: Curve; point: Uint8Array }>();

function cachedPublicPoint(publicKey: string | Uint8Array): { curve: Curve; point: Uint8Array } {
  const cacheKey =
    typeof publicKey === 'string'
      ? publicKey
      : 'der:' + Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  let parsed = publicPoints.get(cacheKey);
  if (parsed === undefined) {
    const key = parsePublicKey(publicKey);
    const curve = curveOfKeyObject(key);
    parsed = { curve, point: publicPoint(key, curve) };
    if (publicPoints.size >= PUBLIC_POINT_CACHE_ENTRIES_MAX) publicPoints.clear();
    publicPoints.set(cacheKey, parsed);
  }
  return parsed;
}

/**
 * Verifies a DER ECDSA signature over a prehashed digest. Malformed signatures, keys or digests give
 * `false` (they come from untrusted receipts and ledgers); only non-byte arguments throw.
 */
export function verifyDigest(
  publicKey: string | Uint8Array,
  digest: Uint8Array,
  derSignature: Uint8Array,
): boolean {
  if (!(digest instanceof Uint8Array) || !(derSignature instanceof Uint8Array)) {
    throw invalidArgument('digest and signature must be Uint8Arrays');
  }
  if (!DIGEST_BYTES_ALLOWED.includes(digest.byteLength)) return false;
  let parsed: { curve: Curve; point: Uint8Array };
  try {
    parsed = cachedPublicPoint(publicKey);
  } catch {
    return false;
  }
  try {
    return NOBLE[parsed.curve].verify(derSignature, digest, parsed.point, {
      prehash: false,
      format: 'der',
      lowS: false,
    });
  } catch {
    return false;
  }
}

const NODE_HASH_NAMES: Record<SignatureHash, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384' };

function nodeHashName(hash: SignatureHash): string {
  const name = NODE_HASH_NAMES[hash];
  if (name === undefined) throw invalidArgument(`unsupported hash ${String(hash)}: use SHA-256 or SHA-384`);
  return name;
}

function assertEncoding(encoding: SignatureEncoding): void {
  if (encoding !== 'der' && encoding !== 'ieee-p1363') {
    throw invalidArgument(`unsupported signature encoding ${String(encoding)}: use der or ieee-p1363`);
  }
}

/** Hash-then-sign ECDSA through OpenSSL. 'ieee-p1363' is r ‖ s, the form COSE and JWS use. */
export function signData(
  privateKeyPem: string,
  data: Uint8Array,
  hash: SignatureHash,
  encoding: SignatureEncoding,
): Uint8Array {
  if (!(data instanceof Uint8Array)) throw invalidArgument('data must be a Uint8Array');
  assertEncoding(encoding);
  const key = parsePrivateKey(privateKeyPem);
  return toPlain(nodeSign(nodeHashName(hash), data, { key, dsaEncoding: encoding }));
}

/** Hash-then-verify ECDSA through OpenSSL; malformed signatures or keys give `false`. */
export function verifyData(
  publicKey: string | Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  hash: SignatureHash,
  encoding: SignatureEncoding,
): boolean {
  if (!(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw invalidArgument('data and signature must be Uint8Arrays');
  }
  assertEncoding(encoding);
  const hashName = nodeHashName(hash);
  try {
    const key = parsePublicKey(publicKey);
    return nodeVerify(hashName, data, { key, dsaEncoding: encoding }, signature);
  } catch {
    return false;
  }
}
