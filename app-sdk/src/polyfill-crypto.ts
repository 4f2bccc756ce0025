// ccf.crypto for the polyfill, on node:crypto. Follows CCF's JS crypto API (src/js/extensions/ccf/
// crypto.cpp and src/crypto/key_wrap.cpp in CCF) as Synod's sandbox implements it, which
// test/conformance checks against this file on the same inputs:
//   keys are PEM (PKCS#8 private, SPKI public, or a certificate to verify with); ECDSA signatures are
//   IEEE P1363 (r‖s); digest is SHA-256 only; verifySignature takes SHA-256 only (EdDSA: no hash);
//   wrapping is RSA-OAEP (SHA-256, MGF1-SHA-256), AES-KWP (RFC 5649) or RSA-OAEP-AES-KWP (PKCS#11's
//   CKM_RSA_AES_KEY_WRAP: the RSA-wrapped ephemeral AES key, then the AES-KWP-wrapped key).
// Unsupported names and sizes throw RangeError, arguments of the wrong type TypeError, and failures
// underneath (a key that does not parse, a wrong unwrapping key) InternalError.

import {
  X509Certificate,
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as signWith,
  verify as verifyWith,
  type JsonWebKey as NodeJwk,
  type KeyObject,
} from 'node:crypto';
import { InternalError } from './errors.ts';
import { polyfillLimits } from './limits.ts';
import type { CCFCrypto, CryptoKeyPair, SigningAlgorithm, WrapAlgoParams } from './types.ts';

// ---- argument checks ------------------------------------------------------------------------------

/** True for ArrayBuffers of any realm (vitest and node:vm give objects from other realms). */
export function isArrayBuffer(value: unknown): value is ArrayBuffer {
  return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}

export function bytesArgument(value: unknown, maxBytes: number = polyfillLimits.cryptoInputBytesMax): Uint8Array {
  if (!isArrayBuffer(value)) throw new TypeError('Argument must be an ArrayBuffer');
  if (value.byteLength > maxBytes) throw new RangeError(`ArrayBuffer argument is larger than ${maxBytes} bytes`);
  return new Uint8Array(value);
}

/** A fresh ArrayBuffer holding exactly these bytes. */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

function failed(what: string, error: unknown): Error {
  if (error instanceof RangeError || error instanceof TypeError || error instanceof InternalError) return error;
  return new InternalError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

// ---- key generation ---------------------------------------------------------------------------------

const SPKI_PEM = { type: 'spki', format: 'pem' } as const;
const PKCS8_PEM = { type: 'pkcs8', format: 'pem' } as const;

const AES_KEY_BITS: readonly number[] = [128, 192, 256];
const EC_CURVES: Record<string, string> = { secp256r1: 'prime256v1', secp384r1: 'secp384r1' };
const RSA_EXPONENT_DEFAULT = 65537;
const RSA_EXPONENT_MAX = 0xffffffff;

function generateAesKey(size: number): ArrayBuffer {
  if (!AES_KEY_BITS.includes(size)) throw new RangeError('invalid key size (not one of 128, 192, 256)');
  return toArrayBuffer(randomBytes(size / 8));
}

function generateRsaKeyPair(size: number, publicExponent: number): CryptoKeyPair {
  const bits = Number(size);
  if (!Number.isInteger(bits) || bits < polyfillLimits.rsaKeyBitsMin || bits > polyfillLimits.rsaKeyBitsMax) {
    throw new RangeError(`RSA key size must be an integer from ${polyfillLimits.rsaKeyBitsMin} to ${polyfillLimits.rsaKeyBitsMax} bits`);
  }
  if (!Number.isInteger(publicExponent) || publicExponent < 3 || publicExponent % 2 === 0 || publicExponent > RSA_EXPONENT_MAX) {
    throw new RangeError('RSA public exponent must be an odd integer from 3 to 2^32-1');
  }
  return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent, publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM });
}

function generateEcdsaKeyPair(curve: string): CryptoKeyPair {
  const namedCurve = EC_CURVES[String(curve)];
  if (namedCurve === undefined) throw new RangeError('Unsupported curve id, supported: secp256r1, secp384r1');
  return generateKeyPairSync('ec', { namedCurve, publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM });
}

function generateEddsaKeyPair(curve: string): CryptoKeyPair {
  switch (String(curve)) {
    case 'curve25519':
      return generateKeyPairSync('ed25519', { publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM });
    case 'x25519':
      return generateKeyPairSync('x25519', { publicKeyEncoding: SPKI_PEM, privateKeyEncoding: PKCS8_PEM });
    default:
      throw new RangeError('Unsupported curve id, supported: curve25519, x25519');
  }
}

// ---- digests and signatures ----------------------------------------------------------------------

const NODE_HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const SIGNING_NAMES = ['RSA-PSS', 'ECDSA', 'EdDSA', 'HMAC'];

function digest(algorithm: string, plaintext: ArrayBuffer): ArrayBuffer {
  const data = bytesArgument(plaintext);
  if (algorithm !== 'SHA-256') throw new RangeError('unsupported digest algorithm, supported: SHA-256');
  return toArrayBuffer(createHash('sha256').update(data).digest());
}

interface Algorithm {
  name: string;
  hash: string | undefined;
  saltLength: number;
}

function readAlgorithm(algorithm: SigningAlgorithm): Algorithm {
  if (algorithm === null || typeof algorithm !== 'object') throw new TypeError('algorithm must be an object');
  const salt = Number(algorithm.saltLength ?? 0);
  return {
    name: String(algorithm.name),
    hash: algorithm.hash === undefined ? undefined : String(algorithm.hash),
    // CCF reads the salt length as an integer and treats anything unusable as 0.
    saltLength: Number.isFinite(salt) && salt > 0 ? Math.floor(salt) : 0,
  };
}

/** A PEM public key, or the public key of a PEM certificate. */
function publicKeyOf(pem: string): KeyObject {
  return pem.includes('-----BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
}

function sign(algorithm: SigningAlgorithm, key: string, plaintext: ArrayBuffer): ArrayBuffer {
  const alg = readAlgorithm(algorithm);
  const keyText = String(key);
  const data = bytesArgument(plaintext);
  if (alg.name === 'EdDSA') {
    try {
      return toArrayBuffer(signWith(null, data, createPrivateKey(keyText)));
    } catch (error) {
      throw failed('Failed to sign with EdDSA pair', error);
    }
  }
  const hash = alg.hash === undefined ? undefined : NODE_HASHES[alg.hash];
  if (hash === undefined) throw new RangeError('Unsupported hash algorithm, supported: SHA-256, SHA-384, SHA-512');
  if (!SIGNING_NAMES.includes(alg.name)) throw new RangeError('Unsupported signing algorithm, supported: RSA-PSS, ECDSA, EdDSA, HMAC');
  try {
    if (alg.name === 'HMAC') return toArrayBuffer(createHmac(hash, Buffer.from(keyText, 'utf8')).update(data).digest());
    const privateKey = createPrivateKey(keyText);
    if (alg.name === 'ECDSA') return toArrayBuffer(signWith(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    return toArrayBuffer(signWith(hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength }));
  } catch (error) {
    throw failed('Failed to sign', error);
  }
}

function verifySignature(algorithm: SigningAlgorithm, key: string, signature: ArrayBuffer, plaintext: ArrayBuffer): boolean {
  const alg = readAlgorithm(algorithm);
  const keyText = String(key);
  const sig = bytesArgument(signature);
  const data = bytesArgument(plaintext);
  if (alg.name === 'EdDSA') {
    try {
      return verifyWith(null, data, publicKeyOf(keyText), sig);
    } catch (error) {
      throw new RangeError(`Failed to verify EdDSA signature: ${(error as Error).message}`);
    }
  }
  if (alg.hash !== 'SHA-256') throw new RangeError('Unsupported hash algorithm, supported: SHA-256');
  if (alg.name !== 'ECDSA' && alg.name !== 'RSA-PSS') throw new RangeError('Unsupported signing algorithm, supported: RSA-PSS, ECDSA, EdDSA');
  try {
    const publicKey = publicKeyOf(keyText);
    if (alg.name === 'ECDSA') return verifyWith('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
    return verifyWith('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.saltLength }, sig);
  } catch (error) {
    throw failed('Failed to verify signature', error);
  }
}

// ---- key wrapping ---------------------------------------------------------------------------------

/** RFC 5649's alternative initial value. */
const AES_KWP_IV = Buffer.from([0xa6, 0x59, 0x59, 0xa6]);

function aesKwp(direction: 'wrap' | 'unwrap', kek: Uint8Array, input: Uint8Array): Uint8Array {
  const bits = kek.byteLength * 8;
  if (!AES_KEY_BITS.includes(bits)) throw new Error('the AES-KWP key must be 128, 192 or 256 bits');
  const cipher = `id-aes${bits}-wrap-pad`;
  const engine = direction === 'wrap' ? createCipheriv(cipher, kek, AES_KWP_IV) : createDecipheriv(cipher, kek, AES_KWP_IV);
  return Buffer.concat([engine.update(input), engine.final()]);
}

function oaepOptions(pem: string, label: Uint8Array | undefined) {
  return {
    key: pem,
    padding: constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: 'sha256',
    ...(label !== undefined && label.byteLength > 0 ? { oaepLabel: label } : {}),
  };
}

interface WrapParameters {
  name: string;
  label: Uint8Array | undefined;
  aesKeyBits: number;
}

function readWrapParameters(params: WrapAlgoParams): WrapParameters {
  if (params === null || typeof params !== 'object') throw new TypeError('wrapping parameters must be an object');
  const raw = params as { name: unknown; label?: unknown; aesKeySize?: unknown };
  return {
    name: String(raw.name),
    label: isArrayBuffer(raw.label) ? new Uint8Array(raw.label) : undefined,
    aesKeyBits: raw.aesKeySize === undefined ? 0 : Number(raw.aesKeySize),
  };
}

const WRAP_NAMES = 'RSA-OAEP, AES-KWP, RSA-OAEP-AES-KWP';

function wrapKey(key: ArrayBuffer, wrappingKey: ArrayBuffer, params: WrapAlgoParams): ArrayBuffer {
  const plain = bytesArgument(key);
  const wrapping = bytesArgument(wrappingKey);
  const p = readWrapParameters(params);
  try {
    if (p.name === 'RSA-OAEP') return toArrayBuffer(publicEncrypt(oaepOptions(Buffer.from(wrapping).toString('utf8'), p.label), plain));
    if (p.name === 'AES-KWP') return toArrayBuffer(aesKwp('wrap', wrapping, plain));
    if (p.name === 'RSA-OAEP-AES-KWP') {
      if (!AES_KEY_BITS.includes(p.aesKeyBits)) throw new Error('aesKeySize must be 128, 192 or 256');
      const ephemeral = randomBytes(p.aesKeyBits / 8);
      try {
        const head = publicEncrypt(oaepOptions(Buffer.from(wrapping).toString('utf8'), p.label), ephemeral);
        return toArrayBuffer(Buffer.concat([head, aesKwp('wrap', ephemeral, plain)]));
      } finally {
        ephemeral.fill(0);
      }
    }
  } catch (error) {
    throw failed('Failed to wrap key', error);
  }
  throw new RangeError(`unsupported key wrapping algorithm, supported: ${WRAP_NAMES}`);
}

function unwrapKey(wrapped: ArrayBuffer, unwrappingKey: ArrayBuffer, params: WrapAlgoParams): ArrayBuffer {
  const input = bytesArgument(wrapped);
  const unwrapping = bytesArgument(unwrappingKey);
  const p = readWrapParameters(params);
  try {
    if (p.name === 'RSA-OAEP') return toArrayBuffer(privateDecrypt(oaepOptions(Buffer.from(unwrapping).toString('utf8'), p.label), input));
    if (p.name === 'AES-KWP') return toArrayBuffer(aesKwp('unwrap', unwrapping, input));
    if (p.name === 'RSA-OAEP-AES-KWP') {
      const pem = Buffer.from(unwrapping).toString('utf8');
      const modulusBytes = (createPrivateKey(pem).asymmetricKeyDetails?.modulusLength ?? 0) / 8;
      if (modulusBytes === 0 || input.byteLength <= modulusBytes) throw new Error('the wrapped key is too short for this RSA key');
      const ephemeral = privateDecrypt(oaepOptions(pem, p.label), input.subarray(0, modulusBytes));
      try {
        return toArrayBuffer(aesKwp('unwrap', ephemeral, input.subarray(modulusBytes)));
      } finally {
        ephemeral.fill(0);
      }
    }
  } catch (error) {
    throw failed('Failed to unwrap key', error);
  }
  throw new RangeError(`unsupported key unwrapping algorithm, supported: ${WRAP_NAMES}`);
}

// ---- certificates ---------------------------------------------------------------------------------

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function certificates(pem: string): X509Certificate[] | undefined {
  const blocks = String(pem).match(CERTIFICATE_PEM) ?? [];
  if (blocks.length === 0 || blocks.length > polyfillLimits.certificatesPerBundleMax) return undefined;
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    return undefined;
  }
}

function isValidX509CertBundle(pem: string): boolean {
  return certificates(pem) !== undefined;
}

function currentlyValid(cert: X509Certificate, nowMs: number): boolean {
  return Date.parse(cert.validFrom) <= nowMs && nowMs <= Date.parse(cert.validTo);
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** The chain's first certificate leads, through the others in any order, to a trusted one; all valid now. */
function isValidX509CertChain(chain: string, trusted: string): boolean {
  const path = certificates(chain);
  const anchors = certificates(trusted);
  if (path === undefined || anchors === undefined) return false;
  const nowMs = Date.now();
  const unused = path.slice(1);
  let current = path[0]!;
  for (;;) {
    if (!currentlyValid(current, nowMs)) return false;
    const anchor = anchors.find((a) => a.raw.equals(current.raw) || signedBy(current, a));
    if (anchor !== undefined) return currentlyValid(anchor, nowMs);
    const next = unused.findIndex((candidate) => signedBy(current, candidate));
    if (next < 0) return false;
    current = unused.splice(next, 1)[0]!;
  }
}

// ---- JWK ------------------------------------------------------------------------------------------

type KeyKind = { kty: 'EC' | 'RSA' | 'OKP'; isPrivate: boolean; label: string };

const EC_PUBLIC: KeyKind = { kty: 'EC', isPrivate: false, label: 'EC public' };
const EC_PRIVATE: KeyKind = { kty: 'EC', isPrivate: true, label: 'EC private' };
const RSA_PUBLIC: KeyKind = { kty: 'RSA', isPrivate: false, label: 'RSA public' };
const RSA_PRIVATE: KeyKind = { kty: 'RSA', isPrivate: true, label: 'RSA private' };
const EDDSA_PUBLIC: KeyKind = { kty: 'OKP', isPrivate: false, label: 'EdDSA public' };
const EDDSA_PRIVATE: KeyKind = { kty: 'OKP', isPrivate: true, label: 'EdDSA private' };

const PRIVATE_JWK_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

function pemToJwkAs(kind: KeyKind) {
  return (pem: string, kid?: string): any => {
    let jwk: NodeJwk;
    try {
      const key = kind.isPrivate ? createPrivateKey(String(pem)) : publicKeyOf(String(pem));
      jwk = key.export({ format: 'jwk' });
    } catch (error) {
      throw failed('Failed to convert pem to jwk', error);
    }
    if (jwk.kty !== kind.kty) throw new InternalError(`Failed to convert pem to jwk: not an ${kind.label} key`);
    return kid === undefined ? jwk : { ...jwk, kid: String(kid) };
  };
}

function jwkToPemAs(kind: KeyKind) {
  return (jwk: object): string => {
    try {
      const raw = JSON.parse(JSON.stringify(jwk)) as NodeJwk;
      if (raw === null || typeof raw !== 'object' || raw.kty !== kind.kty) throw new Error(`not an ${kind.label} JWK`);
      delete raw.kid;
      if (kind.isPrivate) return createPrivateKey({ key: raw, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string;
      for (const field of PRIVATE_JWK_FIELDS) delete (raw as Record<string, unknown>)[field];
      return createPublicKey({ key: raw, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    } catch (error) {
      throw failed('Failed to convert jwk to pem', error);
    }
  };
}

/** A fresh ccf.crypto. Its functions do not use `this`: ccf-app exports them unbound. */
export function createPolyfillCrypto(): CCFCrypto {
  return {
    sign,
    verifySignature,
    generateAesKey,
    // An exponent passed as undefined is refused, as by the sandbox; an absent one is the default.
    generateRsaKeyPair: (size: number, ...exponent: [number?]) =>
      generateRsaKeyPair(size, exponent.length === 0 ? RSA_EXPONENT_DEFAULT : Number(exponent[0])),
    generateEcdsaKeyPair,
    generateEddsaKeyPair,
    wrapKey,
    unwrapKey,
    digest,
    isValidX509CertBundle,
    isValidX509CertChain,
    pubPemToJwk: pemToJwkAs(EC_PUBLIC),
    pemToJwk: pemToJwkAs(EC_PRIVATE),
    pubRsaPemToJwk: pemToJwkAs(RSA_PUBLIC),
    rsaPemToJwk: pemToJwkAs(RSA_PRIVATE),
    pubEddsaPemToJwk: pemToJwkAs(EDDSA_PUBLIC),
    eddsaPemToJwk: pemToJwkAs(EDDSA_PRIVATE),
    pubJwkToPem: jwkToPemAs(EC_PUBLIC),
    jwkToPem: jwkToPemAs(EC_PRIVATE),
    pubRsaJwkToPem: jwkToPemAs(RSA_PUBLIC),
    rsaJwkToPem: jwkToPemAs(RSA_PRIVATE),
    pubEddsaJwkToPem: jwkToPemAs(EDDSA_PUBLIC),
    eddsaJwkToPem: jwkToPemAs(EDDSA_PRIVATE),
  };
}
