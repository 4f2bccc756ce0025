// Test support, for this folder's tests and test/e2e/auth.test.ts: an independent JWT signer written
// directly against RFC 7515/7518 with node:crypto, and JWKS built from generated keys. Not used by the node.

import { createHmac, generateKeyPairSync, sign as nodeSign, constants, type KeyObject } from 'node:crypto';

export type TestAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'ES384';

export interface TestKey {
  alg: TestAlgorithm;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function b64url(data: Uint8Array | string): string {
  return Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

export function generateTestKey(alg: TestAlgorithm, kid: string): TestKey {
  const pair = alg === 'RS256' || alg === 'PS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' });
  return { alg, kid, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** The key as a JWKS entry (`extra` adds fields such as an issuer constraint). */
export function jwkOf(key: TestKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, ...extra };
}

/** RFC 7518 §3 signature over `signingInput` with `key`'s algorithm. */
export function signInput(key: TestKey, signingInput: string, alg: TestAlgorithm = key.alg): Buffer {
  const data = Buffer.from(signingInput, 'ascii');
  switch (alg) {
    case 'RS256':
      return nodeSign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING });
    case 'PS256':
      return nodeSign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 'ES256':
      return nodeSign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    case 'ES384':
      return nodeSign('sha384', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  }
}

/** A signed JWT; `header` fields override the defaults {alg, kid, typ}. */
export function signJwt(key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const fullHeader = { alg: key.alg, kid: key.kid, typ: 'JWT', ...header };
  const input = `${b64url(JSON.stringify(fullHeader))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(signInput(key, input))}`;
}

/** The classic algorithm-confusion forgery: HS256 keyed with the verifier's public key. */
export function forgeHs256WithPublicKey(key: TestKey, payload: Record<string, unknown>, secretFormat: 'pem' | 'der'): string {
  const header = { alg: 'HS256', kid: key.kid, typ: 'JWT' };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const secret = secretFormat === 'pem'
    ? key.publicKey.export({ format: 'pem', type: 'spki' })
    : key.publicKey.export({ format: 'der', type: 'spki' });
  return `${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`;
}

/** An unsigned token (`alg: none`, empty signature). */
export function unsignedJwt(kid: string, payload: Record<string, unknown>, alg = 'none'): string {
  return `${b64url(JSON.stringify({ alg, kid }))}.${b64url(JSON.stringify(payload))}.`;
}
