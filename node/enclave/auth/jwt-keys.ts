// JWT issuers and their public signing keys as governance state, in CCF's maps and value shapes
// (include/ccf/service/tables/jwt.h, src/node/rpc/jwt_management.h; the default constitution's
// set_jwt_issuer, set_jwt_public_signing_keys and remove_jwt_issuer call into these effects):
//   public:ccf.gov.jwt.issuers                             issuer → JSON metadata {issuer?, auto_refresh?, ca_cert_bundle_name?}
//   public:ccf.gov.jwt.public_signing_keys_metadata_v2     kid → JSON [{constraint?, issuer, public_key: base64 SPKI DER}]
// Keys and values as CCF writes them: map keys are the raw UTF-8 strings, values JSON (nlohmann orders
// object fields alphabetically, so we do too). A kid may be shared by several issuers, one entry each.
// CCF 5's `public_signing_keys_metadata` (the same with `cert`: base64 X.509 DER) is still read, so keys
// set by an older service keep working; writes go to the current map only, as CCF's do.

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import type { Tx } from '../../kv/index.ts';
import { AuthConfigError } from './errors.ts';
import { constraintFitsIssuer } from './issuer.ts';
import { authLimits } from './limits.ts';

export const JwtTables = {
  issuers: 'public:ccf.gov.jwt.issuers',
  publicSigningKeys: 'public:ccf.gov.jwt.public_signing_keys_metadata_v2',
  legacyPublicSigningKeys: 'public:ccf.gov.jwt.public_signing_keys_metadata',
} as const;

/** What the request path reads: the committed store, or anything with the same `get`. */
export interface KvReader {
  get(mapName: string, key: Uint8Array): Uint8Array | undefined;
}

/** One stored key entry, field for field as CCF's OpenIDJWKMetadata serializes it. */
interface StoredKeyEntry {
  constraint?: string;
  issuer: string;
  public_key: string;
}

/** A signing key as authentication uses it. */
export interface JwtSigningKey {
  publicKeyDer: Uint8Array;
  issuer: string;
  constraint?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const ISSUER_METADATA_FIELDS = new Set(['issuer', 'auto_refresh', 'ca_cert_bundle_name', 'key_filter']);

function invalidIssuer(message: string): AuthConfigError {
  return new AuthConfigError('InvalidJwtIssuer', message);
}

function invalidJwks(message: string): AuthConfigError {
  return new AuthConfigError('InvalidJwks', message);
}

function checkIssuerName(issuer: unknown): string {
  if (typeof issuer !== 'string' || issuer.length === 0) throw invalidIssuer('issuer must be a non-empty string');
  if (encoder.encode(issuer).length > authLimits.jwtIssuerBytesMax) {
    throw invalidIssuer(`issuer is longer than ${authLimits.jwtIssuerBytesMax} bytes`);
  }
  return issuer;
}

/**
 * The effect of set_jwt_issuer (without its optional `jwks`, which the action hands to
 * writeJwtPublicSigningKeys). `metadata` is the action's arguments as CCF stores them.
 */
export function writeJwtIssuer(tx: Tx, issuer: string, metadata: Record<string, unknown>): void {
  checkIssuerName(issuer);
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw invalidIssuer('metadata must be an object');
  for (const field of Object.keys(metadata)) {
    if (!ISSUER_METADATA_FIELDS.has(field)) throw invalidIssuer(`metadata field ${JSON.stringify(field)} is not one of ${[...ISSUER_METADATA_FIELDS].join(', ')}`);
  }
  if (metadata.issuer !== undefined && metadata.issuer !== issuer) throw invalidIssuer('metadata.issuer differs from issuer');
  if (metadata.auto_refresh !== undefined && typeof metadata.auto_refresh !== 'boolean') throw invalidIssuer('auto_refresh must be a boolean');
  // Refreshing keys means fetching the issuer's JWKS over the network: the node does not do that yet.
  if (metadata.auto_refresh === true) throw invalidIssuer('auto_refresh is not supported by this node yet: set keys with set_jwt_public_signing_keys');
  if (metadata.ca_cert_bundle_name !== undefined && typeof metadata.ca_cert_bundle_name !== 'string') throw invalidIssuer('ca_cert_bundle_name must be a string');
  if (metadata.key_filter !== undefined && metadata.key_filter !== 'all') throw invalidIssuer('key_filter must be "all" (the only filter CCF still knows)');
  tx.map(JwtTables.issuers).set(encoder.encode(issuer), encoder.encode(JSON.stringify(metadata)));
}

/** The effect of remove_jwt_issuer: the issuer and every key entry it registered. */
export function removeJwtIssuer(tx: Tx, issuer: string): void {
  checkIssuerName(issuer);
  tx.map(JwtTables.issuers).delete(encoder.encode(issuer));
  for (const table of [JwtTables.publicSigningKeys, JwtTables.legacyPublicSigningKeys]) {
    for (const [kid, entries] of entriesOf(tx, table)) {
      const kept = entries.filter((entry) => entry.issuer !== issuer);
      if (kept.length !== entries.length) putEntries(tx, table, kid, kept);
    }
  }
}

/**
 * The effect of set_jwt_public_signing_keys: this issuer's keys become exactly those of `jwks`. Entries
 * of other issuers under the same kid are kept; an unchanged entry is not rewritten (as CCF avoids
 * redundant writes). The whole JWKS is validated before anything is written.
 */
export function writeJwtPublicSigningKeys(tx: Tx, issuer: string, jwks: unknown): void {
  checkIssuerName(issuer);
  const fresh = parseJwks(issuer, jwks);
  const table = JwtTables.publicSigningKeys;
  const previous = entriesOf(tx, table).filter(([, entries]) => entries.some((entry) => entry.issuer === issuer));
  for (const [kid, entry] of fresh) {
    const entries = readEntries(tx.map(table).get(encoder.encode(kid))) ?? [];
    if (entries.some((e) => sameEntry(e, entry))) continue;
    const at = entries.findIndex((e) => e.issuer === issuer);
    if (at >= 0) entries[at] = entry;
    else entries.push(entry);
    putEntries(tx, table, kid, entries);
  }
  for (const [kid, entries] of previous) {
    if (!fresh.has(kid)) putEntries(tx, table, kid, entries.filter((entry) => entry.issuer !== issuer));
  }
}

function sameEntry(a: StoredKeyEntry, b: StoredKeyEntry): boolean {
  return a.public_key === b.public_key && a.issuer === b.issuer && a.constraint === b.constraint;
}

function putEntries(tx: Tx, table: string, kid: string, entries: StoredKeyEntry[]): void {
  const key = encoder.encode(kid);
  if (entries.length === 0) tx.map(table).delete(key);
  else tx.map(table).set(key, encoder.encode(JSON.stringify(entries.map(canonicalEntry))));
}

/** nlohmann::json's field order (alphabetical), so our values are byte-identical to CCF's. */
function canonicalEntry(entry: StoredKeyEntry): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of Object.keys(entry).sort()) {
    const value = entry[field as keyof StoredKeyEntry];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** Every (kid, entries) pair of a key table, read first so that the caller may write while walking it. */
function entriesOf(tx: Tx, table: string): Array<[string, StoredKeyEntry[]]> {
  const out: Array<[string, StoredKeyEntry[]]> = [];
  tx.map(table).forEach((value, key) => {
    const entries = readEntries(value);
    if (entries) out.push([decoder.decode(key), entries]);
  });
  return out;
}

/** A stored value, or undefined when it is absent or not CCF's shape (never trusted blindly). */
function readEntries(value: Uint8Array | undefined): StoredKeyEntry[] | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return parsed.filter((e): e is StoredKeyEntry =>
    typeof e === 'object' && e !== null && typeof e.issuer === 'string' &&
    (typeof e.public_key === 'string' || typeof e.cert === 'string') &&
    (e.constraint === undefined || typeof e.constraint === 'string'));
}

/** The keys registered under `kid` (current map first, then CCF 5's), in stored order. */
export function readJwtSigningKeys(kv: KvReader, kid: string): JwtSigningKey[] {
  const key = encoder.encode(kid);
  const current = readEntries(kv.get(JwtTables.publicSigningKeys, key));
  if (current && current.length > 0) return current.flatMap((entry) => signingKey(entry, entry.public_key, false));
  const legacy = readEntries(kv.get(JwtTables.legacyPublicSigningKeys, key)) ?? [];
  return legacy.flatMap((entry) => signingKey(entry, (entry as unknown as { cert: string }).cert, true));
}

function signingKey(entry: StoredKeyEntry, base64: string | undefined, isCertificate: boolean): JwtSigningKey[] {
  if (typeof base64 !== 'string') return [];
  try {
    const der = new Uint8Array(Buffer.from(base64, 'base64'));
    const publicKeyDer = isCertificate ? spkiOf(new X509Certificate(der).publicKey) : der;
    return [{ publicKeyDer, issuer: entry.issuer, ...(entry.constraint !== undefined ? { constraint: entry.constraint } : {}) }];
  } catch {
    return []; // an unreadable stored certificate verifies nothing
  }
}

function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
}

/** kid → entry for every key of a JWKS, or an AuthConfigError naming the first bad key. */
function parseJwks(issuer: string, jwks: unknown): Map<string, StoredKeyEntry> {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw invalidJwks('jwks must be an object with a "keys" array');
  }
  const keys = (jwks as { keys: unknown[] }).keys;
  if (keys.length === 0) throw invalidJwks('jwks.keys is empty');
  if (keys.length > authLimits.jwksKeysMax) throw invalidJwks(`jwks.keys has more than ${authLimits.jwksKeysMax} keys`);
  const out = new Map<string, StoredKeyEntry>();
  keys.forEach((jwk, i) => {
    const { kid, der } = parseJwk(jwk, `jwks.keys[${i}]`);
    if (out.has(kid)) throw invalidJwks(`jwks.keys[${i}]: kid ${JSON.stringify(kid)} appears twice`);
    const constraint = (jwk as { issuer?: unknown }).issuer;
    if (constraint !== undefined) {
      if (typeof constraint !== 'string' || !constraintFitsIssuer(issuer, constraint)) {
        throw invalidJwks(`jwks.keys[${i}]: issuer constraint ${JSON.stringify(constraint)} is not within issuer ${JSON.stringify(issuer)}'s domain`);
      }
    }
    out.set(kid, { ...(constraint !== undefined ? { constraint: constraint as string } : {}), issuer, public_key: Buffer.from(der).toString('base64') });
  });
  return out;
}

/** One JWK as CCF reads it: raw RSA (n, e), then raw EC (crv, x, y), then the first x5c certificate. */
export function parseJwk(jwk: unknown, where = 'jwk'): { kid: string; der: Uint8Array } {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalidJwks(`${where} must be an object`);
  const k = jwk as Record<string, unknown>;
  if (typeof k.kid !== 'string' || k.kid.length === 0) throw invalidJwks(`${where}: kid must be a non-empty string`);
  if (encoder.encode(k.kid).length > authLimits.jwtKeyIdBytesMax) throw invalidJwks(`${where}: kid is longer than ${authLimits.jwtKeyIdBytesMax} bytes`);
  if (k.kty !== 'RSA' && k.kty !== 'EC') throw invalidJwks(`${where}: kty must be "RSA" or "EC", got ${JSON.stringify(k.kty)}`);
  let key: KeyObject;
  try {
    if (typeof k.n === 'string' && typeof k.e === 'string') key = createPublicKey({ key: { kty: 'RSA', n: k.n, e: k.e }, format: 'jwk' });
    else if (typeof k.x === 'string' && typeof k.y === 'string') key = createPublicKey({ key: { kty: 'EC', crv: checkCurve(k.crv, where), x: k.x, y: k.y }, format: 'jwk' });
    else if (Array.isArray(k.x5c) && typeof k.x5c[0] === 'string') key = new X509Certificate(Buffer.from(k.x5c[0], 'base64')).publicKey;
    else throw invalidJwks(`${where}: has neither an RSA (n, e) nor an EC (crv, x, y) public key nor an x5c certificate`);
  } catch (error) {
    if (error instanceof AuthConfigError) throw error;
    throw invalidJwks(`${where} (kid ${JSON.stringify(k.kid)}): the key cannot be parsed: ${(error as Error).message}`);
  }
  checkKeyType(key, k.kty, where);
  return { kid: k.kid, der: spkiOf(key) };
}

function checkCurve(crv: unknown, where: string): string {
  if (crv !== 'P-256' && crv !== 'P-384') throw invalidJwks(`${where}: crv must be "P-256" (ES256) or "P-384" (ES384), got ${JSON.stringify(crv)}`);
  return crv;
}

function checkKeyType(key: KeyObject, kty: string, where: string): void {
  const type = key.asymmetricKeyType;
  if (kty === 'RSA') {
    if (type !== 'rsa') throw invalidJwks(`${where}: kty is RSA but the key is ${type}`);
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < authLimits.rsaModulusBitsMin || bits > authLimits.rsaModulusBitsMax) {
      throw invalidJwks(`${where}: RSA modulus of ${bits} bits is outside ${authLimits.rsaModulusBitsMin}..${authLimits.rsaModulusBitsMax}`);
    }
    return;
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type !== 'ec' || (curve !== 'prime256v1' && curve !== 'secp384r1')) {
    throw invalidJwks(`${where}: kty is EC but the key is ${type} ${curve ?? ''}; P-256 or P-384 expected`.trim());
  }
}
