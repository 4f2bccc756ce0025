// ccf.crypto for JS apps, on the host side with node:crypto, following CCF's src/js/extensions/ccf/crypto.cpp
// and src/crypto/key_wrap.cpp: the same algorithm names, key formats (PEM: PKCS#8 private, SPKI public),
// signature encodings (ECDSA as IEEE P1363 r‖s), wrapping schemes (RSA-OAEP with SHA-256 and MGF1-SHA-256,
// AES key wrap with padding per RFC 5649, and CKM_RSA_AES_KEY_WRAP), and the same error classes.
// The app sees bytes and strings only; no node object crosses into the sandbox.

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
  publicEncrypt,
  privateDecrypt,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { SandboxThrow, rangeError, typeError } from './errors.ts';
import { jsLimits } from './limits.ts';
import { JwkKind } from './ops.ts';

export interface PemKeyPair {
  privateKey: string;
  publicKey: string;
}

function internal(prefix: string, error: unknown): SandboxThrow {
  if (error instanceof SandboxThrow) return error;
  return new SandboxThrow('InternalError', `${prefix}: ${(error as Error)?.message ?? String(error)}`);
}

const pemText = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

export function digest(algorithm: string, data: Uint8Array): Uint8Array {
  if (algorithm !== 'SHA-256') throw rangeError('unsupported digest algorithm, supported: SHA-256');
  return createHash('sha256').update(data).digest();
}

const AES_KEY_BITS = [128, 192, 256];

export function generateAesKey(bits: number): Uint8Array {
  if (!AES_KEY_BITS.includes(bits)) throw rangeError('invalid key size (not one of 128, 192, 256)');
  return randomBytes(bits / 8);
}

// PKCS#8 and SPKI PEM, what OpenSSL's PEM_write_bio_PrivateKey / PEM_write_bio_PUBKEY give CCF.
const PKCS8 = { type: 'pkcs8', format: 'pem' } as const;
const SPKI = { type: 'spki', format: 'pem' } as const;

/** `exponent` < 0: the default, 65537. */
export function generateRsaKeyPair(bits: number, exponent: number): PemKeyPair {
  if (!Number.isInteger(bits) || bits < jsLimits.rsaKeyBitsMin || bits > jsLimits.rsaKeyBitsMax) {
    throw rangeError(`RSA key size must be an integer from ${jsLimits.rsaKeyBitsMin} to ${jsLimits.rsaKeyBitsMax} bits`);
  }
  const publicExponent = exponent < 0 ? 65537 : exponent;
  if (!Number.isInteger(publicExponent) || publicExponent < 3 || publicExponent % 2 === 0 || publicExponent > 0xffffffff) {
    throw rangeError('RSA public exponent must be an odd integer from 3 to 2^32-1');
  }
  try {
    return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent, privateKeyEncoding: PKCS8, publicKeyEncoding: SPKI });
  } catch (error) {
    throw internal('Failed to generate RSA key pair', error);
  }
}

const ECDSA_CURVES: Record<string, string> = { secp256r1: 'prime256v1', secp384r1: 'secp384r1' };

export function generateEcdsaKeyPair(curve: string): PemKeyPair {
  const namedCurve = ECDSA_CURVES[curve];
  if (namedCurve === undefined) throw rangeError('Unsupported curve id, supported: secp256r1, secp384r1');
  return generateKeyPairSync('ec', { namedCurve, privateKeyEncoding: PKCS8, publicKeyEncoding: SPKI });
}

export function generateEddsaKeyPair(curve: string): PemKeyPair {
  if (curve === 'curve25519') return generateKeyPairSync('ed25519', { privateKeyEncoding: PKCS8, publicKeyEncoding: SPKI });
  if (curve === 'x25519') return generateKeyPairSync('x25519', { privateKeyEncoding: PKCS8, publicKeyEncoding: SPKI });
  throw rangeError('Unsupported curve id, supported: curve25519, x25519');
}

const HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

export interface SigningAlgorithm {
  name: string;
  /** '' when absent. */
  hash: string;
  saltLength: number;
}

/** `key` is the key argument's UTF-8 bytes: a PEM private key, or the secret itself for HMAC. */
export function sign(algorithm: SigningAlgorithm, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (algorithm.name === 'EdDSA') {
    try {
      return nodeSign(null, data, createPrivateKey(pemText(key)));
    } catch (error) {
      throw internal('Failed to sign with EdDSA pair', error);
    }
  }
  const hash = HASHES[algorithm.hash];
  if (hash === undefined) throw rangeError('Unsupported hash algorithm, supported: SHA-256, SHA-384, SHA-512');
  try {
    switch (algorithm.name) {
      case 'ECDSA':
        return nodeSign(hash, data, { key: createPrivateKey(pemText(key)), dsaEncoding: 'ieee-p1363' });
      case 'RSA-PSS':
        return nodeSign(hash, data, {
          key: createPrivateKey(pemText(key)),
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: saltLength(algorithm.saltLength),
        });
      case 'HMAC':
        return createHmac(hash, key).update(data).digest();
      default:
        throw rangeError('Unsupported signing algorithm, supported: RSA-PSS, ECDSA, EdDSA, HMAC');
    }
  } catch (error) {
    throw internal('Failed to sign', error);
  }
}

function saltLength(value: number): number {
  // CCF reads it with JS_ToInt64 and ignores failure: absent or NaN is 0.
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function verificationKey(pem: string): KeyObject {
  if (pem.startsWith('-----BEGIN CERTIFICATE')) return new X509Certificate(pem).publicKey;
  return createPublicKey(pem);
}

/** `key`: a PEM public key or certificate. */
export function verifySignature(algorithm: SigningAlgorithm, key: string, signature: Uint8Array, data: Uint8Array): boolean {
  if (algorithm.name === 'EdDSA') {
    try {
      return nodeVerify(null, data, verificationKey(key), signature);
    } catch (error) {
      throw new SandboxThrow('RangeError', `Failed to verify EdDSA signature: ${(error as Error).message}`);
    }
  }
  if (algorithm.hash !== 'SHA-256') throw rangeError('Unsupported hash algorithm, supported: SHA-256');
  if (algorithm.name !== 'RSA-PSS' && algorithm.name !== 'ECDSA') {
    throw rangeError('Unsupported signing algorithm, supported: RSA-PSS, ECDSA, EdDSA');
  }
  try {
    const publicKey = verificationKey(key);
    if (algorithm.name === 'ECDSA') return nodeVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    const options = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLength(algorithm.saltLength) };
    return nodeVerify('sha256', data, options, signature);
  } catch (error) {
    throw internal('Failed to verify signature', error);
  }
}

export interface WrapParameters {
  name: string;
  label: Uint8Array | undefined;
  aesKeyBits: number;
}

// RFC 5649's alternative initial value; node's wrap-pad ciphers take it as the IV.
const KWP_IV = Buffer.from('a65959a6', 'hex');

function aesKwp(wrap: boolean, kek: Uint8Array, input: Uint8Array): Uint8Array {
  if (!AES_KEY_BITS.includes(kek.length * 8)) throw new Error('invalid AES key size for AES-KWP');
  const cipher = `id-aes${kek.length * 8}-wrap-pad`;
  const engine = wrap ? createCipheriv(cipher, kek, KWP_IV) : createDecipheriv(cipher, kek, KWP_IV);
  return Buffer.concat([engine.update(input), engine.final()]);
}

function oaep(key: string, label: Uint8Array | undefined) {
  const options: { key: string; padding: number; oaepHash: string; oaepLabel?: Uint8Array } = {
    key,
    padding: constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: 'sha256',
  };
  if (label !== undefined && label.length > 0) options.oaepLabel = label;
  return options;
}

const UNSUPPORTED_WRAP = 'key wrapping algorithm, supported: RSA-OAEP, AES-KWP, RSA-OAEP-AES-KWP';

/** `wrappingKey`: PEM bytes of an RSA public key, or the raw AES key for AES-KWP. */
export function wrapKey(key: Uint8Array, wrappingKey: Uint8Array, parameters: WrapParameters): Uint8Array {
  try {
    switch (parameters.name) {
      case 'RSA-OAEP':
        return publicEncrypt(oaep(pemText(wrappingKey), parameters.label), key);
      case 'AES-KWP':
        return aesKwp(true, wrappingKey, key);
      case 'RSA-OAEP-AES-KWP': {
        if (!AES_KEY_BITS.includes(parameters.aesKeyBits)) throw new Error('invalid key size');
        const ephemeral = randomBytes(parameters.aesKeyBits / 8);
        try {
          const wrappedAes = publicEncrypt(oaep(pemText(wrappingKey), parameters.label), ephemeral);
          return Buffer.concat([wrappedAes, aesKwp(true, ephemeral, key)]);
        } finally {
          ephemeral.fill(0);
        }
      }
      default:
        throw rangeError(`unsupported ${UNSUPPORTED_WRAP}`);
    }
  } catch (error) {
    throw internal('Failed to wrap key', error);
  }
}

/** `unwrappingKey`: PEM bytes of an RSA private key, or the raw AES key for AES-KWP. */
export function unwrapKey(wrapped: Uint8Array, unwrappingKey: Uint8Array, parameters: WrapParameters): Uint8Array {
  try {
    switch (parameters.name) {
      case 'RSA-OAEP':
        return privateDecrypt(oaep(pemText(unwrappingKey), parameters.label), wrapped);
      case 'AES-KWP':
        return aesKwp(false, unwrappingKey, wrapped);
      case 'RSA-OAEP-AES-KWP': {
        const pem = pemText(unwrappingKey);
        const modulusBytes = (createPrivateKey(pem).asymmetricKeyDetails?.modulusLength ?? 0) / 8;
        if (wrapped.length <= modulusBytes) throw new Error('not enough ciphertext');
        const ephemeral = privateDecrypt(oaep(pem, parameters.label), wrapped.subarray(0, modulusBytes));
        try {
          return aesKwp(false, ephemeral, wrapped.subarray(modulusBytes));
        } finally {
          ephemeral.fill(0);
        }
      }
      default:
        throw rangeError(`unsupported key un${UNSUPPORTED_WRAP.replace('key ', '')}`);
    }
  } catch (error) {
    throw internal('Failed to unwrap key', error);
  }
}

function splitPemCertificates(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

export function isValidX509CertBundle(pem: string): boolean {
  const pems = splitPemCertificates(pem);
  if (pems.length === 0 || pems.length > jsLimits.certificateChainMax) return false;
  try {
    for (const one of pems) new X509Certificate(one);
    return true;
  } catch {
    return false;
  }
}

function validNow(cert: X509Certificate, nowMs: number): boolean {
  return Date.parse(cert.validFrom) <= nowMs && nowMs <= Date.parse(cert.validTo);
}

function issuedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
}

/** The first certificate of `chain` chains, through the rest, to one of `trusted`; all valid now. */
export function isValidX509CertChain(chain: string, trusted: string): boolean {
  const chainPems = splitPemCertificates(chain);
  const trustedPems = splitPemCertificates(trusted);
  if (chainPems.length === 0 || trustedPems.length === 0) return false;
  if (chainPems.length > jsLimits.certificateChainMax || trustedPems.length > jsLimits.certificateChainMax) return false;
  try {
    const [target, ...intermediates] = chainPems.map((p) => new X509Certificate(p));
    const roots = trustedPems.map((p) => new X509Certificate(p));
    const nowMs = Date.now();
    let current = target!;
    const unused = new Set(intermediates);
    for (let step = 0; step <= intermediates.length; step++) {
      if (!validNow(current, nowMs)) return false;
      const root = roots.find((r) => issuedBy(current, r) || current.raw.equals(r.raw));
      if (root !== undefined) return validNow(root, nowMs);
      const next = [...unused].find((c) => issuedBy(current, c));
      if (next === undefined) return false;
      unused.delete(next);
      current = next;
    }
    return false;
  } catch {
    return false;
  }
}

const JWK_TYPES: Record<number, { kty: string; private: boolean; label: string }> = {
  [JwkKind.ecPublic]: { kty: 'EC', private: false, label: 'EC public' },
  [JwkKind.ecPrivate]: { kty: 'EC', private: true, label: 'EC private' },
  [JwkKind.rsaPublic]: { kty: 'RSA', private: false, label: 'RSA public' },
  [JwkKind.rsaPrivate]: { kty: 'RSA', private: true, label: 'RSA private' },
  [JwkKind.eddsaPublic]: { kty: 'OKP', private: false, label: 'EdDSA public' },
  [JwkKind.eddsaPrivate]: { kty: 'OKP', private: true, label: 'EdDSA private' },
};

function jwkType(kind: number) {
  const type = JWK_TYPES[kind];
  if (type === undefined) throw typeError('unknown JWK kind');
  return type;
}

export function pemToJwk(kind: number, pem: string, kid: string | undefined): JsonWebKey {
  const type = jwkType(kind);
  let jwk: JsonWebKey;
  try {
    jwk = (type.private ? createPrivateKey(pem) : verificationKey(pem)).export({ format: 'jwk' });
  } catch (error) {
    throw internal('Failed to convert pem to jwk', error);
  }
  if (jwk.kty !== type.kty) throw new SandboxThrow('InternalError', `Failed to convert pem to jwk: not an ${type.label} key`);
  return kid === undefined ? jwk : { ...jwk, kid };
}

export function jwkToPem(kind: number, jwkJson: string): string {
  const type = jwkType(kind);
  try {
    const jwk = JSON.parse(jwkJson) as JsonWebKey;
    if (jwk === null || typeof jwk !== 'object' || jwk.kty !== type.kty) throw new Error(`not an ${type.label} JWK`);
    const { kid: _kid, ...material } = jwk;
    if (type.private) return createPrivateKey({ key: material, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string;
    return createPublicKey({ key: publicPart(material), format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  } catch (error) {
    throw internal('Failed to convert jwk to pem', error);
  }
}

function publicPart(jwk: JsonWebKey): JsonWebKey {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk;
  return rest;
}

/** CCF's member/user ID: hex SHA-256 of the certificate's DER. */
export function pemToId(pem: string): string {
  try {
    return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
  } catch (error) {
    throw internal('Failed to parse PEM', error);
  }
}
