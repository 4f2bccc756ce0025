// JWT bearer authentication (RFC 7519, JWS compact serialization RFC 7515), CCF's `jwt` policy
// (src/endpoints/authentication/jwt_auth.cpp, src/http/http_jwt.h). A request carries
// `Authorization: Bearer <header>.<payload>.<signature>`; the key is found by the header's `kid` among
// the keys governance registered (jwt-keys.ts), the signature verified, the validity window checked, and
// the key's issuer constraint applied. The caller becomes CCF's `{keyIssuer, header, payload}`.
//
// Stricter than CCF where that closes a door, never looser:
// - only RS256, PS256, ES256 and ES384; `none` and every HMAC algorithm are refused outright, so a token
//   that names HS256 and uses a public key as its secret never reaches a verifier (algorithm confusion);
// - the algorithm must fit the registered key: RS256/PS256 an RSA key of 2048..8192 bits, ES256 a P-256
//   key, ES384 a P-384 key (CCF picks the verifier from the key alone);
// - base64url must be canonical and unpadded, header and payload valid UTF-8 JSON objects, nesting
//   bounded, and a `crit` header (an extension we would not understand) is refused.
//
// Time: `nowSeconds` comes from the node's clock, which the untrusted host controls (CCF documents the
// same: "the current time (set on the executing node by the untrusted host)"). A host that lies about
// time can make an expired token acceptable or a valid one refused; it cannot forge a signature or an
// identity. Expiry is a freshness check, not an authenticity check. See clock.ts.

import { verify as nodeVerify, constants, createPublicKey, type KeyObject } from 'node:crypto';
import { type Refusal, quote, refuse } from './errors.ts';
import { jsonDepth, strictBase64UrlDecode, strictUtf8Decode } from './encoding.ts';
import { issuerClaimMeetsConstraint } from './issuer.ts';
import { type JwtSigningKey, type KvReader, readJwtSigningKeys } from './jwt-keys.ts';
import { authLimits } from './limits.ts';

export { JwtTables, removeJwtIssuer, writeJwtIssuer, writeJwtPublicSigningKeys } from './jwt-keys.ts';

export const JWT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** CCF's JWT identity: `caller.jwt` in JS handlers. */
export interface JwtIdentity {
  /** The issuer that registered the verifying key (public:ccf.gov.jwt.issuers), not the token's iss claim. */
  keyIssuer: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

export type JwtOutcome = { ok: true; jwt: JwtIdentity } | Refusal;

export interface ParsedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  alg: JwtAlgorithm;
  kid: string;
  claims: { exp: number; nbf?: number; iss: string; tid?: string };
  /** ASCII `<header>.<payload>`, the JWS signing input. */
  signingInput: Uint8Array;
  signature: Uint8Array;
}

const BEARER = /^Bearer +(\S+)$/i;
const ascii = new TextEncoder();

/** Authenticates a request's Authorization header value against the registered keys. */
export function authenticateJwt(kv: KvReader, authorization: string | undefined, nowSeconds: number): JwtOutcome {
  const parsed = parseBearer(authorization);
  if (!parsed.ok) return parsed;
  const token = parsed.token;
  const keys = readJwtSigningKeys(kv, token.kid);
  if (keys.length === 0) return refuse('JwtUnknownKey', `no signing key is registered for kid ${quote(token.kid)}`);
  let last: Refusal | undefined;
  for (const key of keys) {
    const failure = checkWithKey(token, key, nowSeconds);
    if (!failure) return { ok: true, jwt: { keyIssuer: key.issuer, header: token.header, payload: token.payload } };
    last = failure;
  }
  return last!;
}

/** Signature, validity window and issuer constraint, for one registered key; undefined when all pass. */
function checkWithKey(token: ParsedJwt, key: JwtSigningKey, nowSeconds: number): Refusal | undefined {
  const publicKey = cachedPublicKey(key.publicKeyDer);
  if (!publicKey) return refuse('JwtKeyMismatch', `kid ${quote(token.kid)} of issuer ${quote(key.issuer)}: the registered key cannot be parsed`);
  const mismatch = keyMismatch(token.alg, publicKey);
  if (mismatch) return refuse('JwtKeyMismatch', `kid ${quote(token.kid)} of issuer ${quote(key.issuer)}: ${mismatch}`);
  if (!verifyJws(token.alg, publicKey, token.signingInput, token.signature)) {
    return refuse('JwtBadSignature', `signature verification failed with kid ${quote(token.kid)} of issuer ${quote(key.issuer)}`);
  }
  const skew = authLimits.jwtClockSkewSecondsMax;
  const { exp, nbf, iss, tid } = token.claims;
  if (nbf !== undefined && nowSeconds + skew < nbf) {
    return refuse('JwtNotYetValid', `current time ${nowSeconds} is before the token's nbf ${nbf} (allowed skew ${skew} s)`);
  }
  if (nowSeconds > exp + skew) {
    return refuse('JwtExpired', `current time ${nowSeconds} is after the token's exp ${exp} (allowed skew ${skew} s)`);
  }
  if (key.constraint !== undefined && !issuerClaimMeetsConstraint(iss, tid, key.constraint)) {
    return refuse('JwtIssuerMismatch', `iss ${quote(iss)} does not meet kid ${quote(token.kid)}'s issuer constraint ${quote(key.constraint)}`);
  }
  return undefined;
}

/** `Authorization: Bearer <JWT>` to a parsed token, or why not. */
export function parseBearer(authorization: string | undefined): { ok: true; token: ParsedJwt } | Refusal {
  if (authorization === undefined || authorization === '') return refuse('JwtMissing', 'missing Authorization header');
  if (typeof authorization !== 'string') return refuse('JwtMalformed', 'the Authorization header must appear once');
  if (authorization.length > authLimits.jwtBytesMax + 16) {
    return refuse('JwtTooLarge', `the bearer token is longer than ${authLimits.jwtBytesMax} bytes`);
  }
  const match = BEARER.exec(authorization);
  if (!match) return refuse('JwtMalformed', 'the Authorization header must be "Bearer <JWT>"');
  return parseJwt(match[1]!);
}

/** Parses a JWS compact token strictly; the signature is not checked here. */
export function parseJwt(token: string): { ok: true; token: ParsedJwt } | Refusal {
  if (token.length > authLimits.jwtBytesMax) return refuse('JwtTooLarge', `the bearer token is longer than ${authLimits.jwtBytesMax} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3) return refuse('JwtMalformed', `a JWT has exactly 3 dot-separated parts, this one has ${parts.length}`);
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJsonPart(headerPart, 'header');
  if (!header.ok) return header;
  const payload = decodeJsonPart(payloadPart, 'payload');
  if (!payload.ok) return payload;
  const signature = strictBase64UrlDecode(signaturePart);
  if (!signature) return refuse('JwtMalformed', 'the JWT signature is not canonical unpadded base64url');
  const alg = checkAlgorithm(header.value.alg);
  if (typeof alg !== 'string') return alg;
  const kid = header.value.kid;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > authLimits.jwtKeyIdBytesMax) {
    return refuse('JwtMalformed', `the JWT header needs a kid: a string of 1..${authLimits.jwtKeyIdBytesMax} characters`);
  }
  if (header.value.crit !== undefined) return refuse('JwtMalformed', 'the JWT header has "crit" extensions, which this node does not support');
  const claims = checkClaims(payload.value);
  if (!('exp' in claims)) return claims;
  return {
    ok: true,
    token: { header: header.value, payload: payload.value, alg, kid, claims, signingInput: ascii.encode(`${headerPart}.${payloadPart}`), signature },
  };
}

function decodeJsonPart(part: string, name: string): { ok: true; value: Record<string, unknown> } | Refusal {
  const bytes = strictBase64UrlDecode(part);
  if (!bytes || bytes.length === 0) return refuse('JwtMalformed', `the JWT ${name} is not canonical unpadded base64url`);
  const text = strictUtf8Decode(bytes);
  if (text === undefined) return refuse('JwtMalformed', `the JWT ${name} is not valid UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse('JwtMalformed', `the JWT ${name} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('JwtMalformed', `the JWT ${name} is not a JSON object`);
  if (jsonDepth(value, authLimits.jwtJsonDepthMax) > authLimits.jwtJsonDepthMax) {
    return refuse('JwtMalformed', `the JWT ${name} nests deeper than ${authLimits.jwtJsonDepthMax} levels`);
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function checkAlgorithm(alg: unknown): JwtAlgorithm | Refusal {
  if (typeof alg !== 'string') return refuse('JwtMalformed', 'the JWT header needs alg, a string');
  if ((JWT_ALGORITHMS as readonly string[]).includes(alg)) return alg as JwtAlgorithm;
  if (alg.toLowerCase() === 'none') return refuse('JwtAlgorithmRefused', 'alg "none" is refused: tokens must be signed');
  if (/^HS/i.test(alg)) {
    return refuse('JwtAlgorithmRefused', `alg ${quote(alg)} (a shared-secret MAC) is refused: this node verifies tokens with public keys only`);
  }
  return refuse('JwtAlgorithmRefused', `alg ${quote(alg)} is not supported: use ${JWT_ALGORITHMS.join(', ')}`);
}

/** CCF requires exp and iss; nbf and Entra's tid are optional. NumericDates are seconds. */
function checkClaims(payload: Record<string, unknown>): ParsedJwt['claims'] | Refusal {
  const { exp, nbf, iss, tid } = payload;
  const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (!isTime(exp)) return refuse('JwtMalformed', 'the JWT payload needs exp, a NumericDate (seconds since the epoch)');
  if (nbf !== undefined && !isTime(nbf)) return refuse('JwtMalformed', 'the JWT payload\'s nbf must be a NumericDate');
  if (typeof iss !== 'string') return refuse('JwtMalformed', 'the JWT payload needs iss, a string');
  if (tid !== undefined && typeof tid !== 'string') return refuse('JwtMalformed', 'the JWT payload\'s tid must be a string');
  return { exp, iss, ...(nbf !== undefined ? { nbf } : {}), ...(tid !== undefined ? { tid } : {}) };
}

/** Why `key` cannot verify `alg`, or undefined if it can. */
function keyMismatch(alg: JwtAlgorithm, key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (alg === 'RS256' || alg === 'PS256') {
    if (type !== 'rsa') return `alg ${alg} needs an RSA key, the registered key is ${type}`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < authLimits.rsaModulusBitsMin || bits > authLimits.rsaModulusBitsMax) return `RSA key of ${bits} bits is outside the accepted range`;
    return undefined;
  }
  const curve = alg === 'ES256' ? 'prime256v1' : 'secp384r1';
  if (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== curve) {
    return `alg ${alg} needs a ${alg === 'ES256' ? 'P-256' : 'P-384'} key, the registered key is ${type} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim();
  }
  return undefined;
}

/** RFC 7518 §3: PKCS#1 v1.5 or PSS (salt = hash length) with SHA-256, or ECDSA r‖s over SHA-256/384. */
function verifyJws(alg: JwtAlgorithm, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (alg) {
      case 'RS256':
        return nodeVerify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'PS256':
        return nodeVerify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
      case 'ES256':
        return signature.length === 64 && nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'ES384':
        return signature.length === 96 && nodeVerify('sha384', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
  } catch {
    return false; // a malformed signature (wrong length for the modulus…) is a failed verification
  }
}

const keyCache = new Map<string, KeyObject>();

/** Parsed keys by DER, least recently used evicted first (a Map iterates in insertion order). */
function cachedPublicKey(der: Uint8Array): KeyObject | undefined {
  const id = Buffer.from(der).toString('base64');
  let key = keyCache.get(id);
  if (key) {
    keyCache.delete(id);
  } else {
    try {
      key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    } catch {
      return undefined;
    }
    if (keyCache.size >= authLimits.publicKeyCacheEntriesMax) keyCache.delete(keyCache.keys().next().value!);
  }
  keyCache.set(id, key);
  return key;
}
