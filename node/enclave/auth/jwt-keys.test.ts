// JWT issuers and signing keys as governance state: CCF's map names and value bytes, the replace /
// remove semantics of set_jwt_public_signing_keys and remove_jwt_issuer, refusal of bad JWKS with
// nothing written, and keys that a real CCF service stored (conformance ledger) read back.

import { describe, expect, it } from 'vitest';
import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Store, type Tx } from '../../kv/index.ts';
import { decodeEntry, splitChunk } from '../../ledger/index.ts';
import { CCF_CONFORMANCE } from '../../../test/helpers/conformance.ts';
import { AuthConfigError } from './errors.ts';
import { constraintFitsIssuer, issuerClaimMeetsConstraint } from './issuer.ts';
import { JwtTables, parseJwk, readJwtSigningKeys, removeJwtIssuer, writeJwtIssuer, writeJwtPublicSigningKeys } from './jwt-keys.ts';
import { generateTestKey, jwkOf } from './testing.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

function commit(store: Store, write: (tx: Tx) => void): { seqno: number | undefined; maps: string[] } {
  const tx = store.begin();
  write(tx);
  const result = store.commit(tx);
  if (!result.ok) throw new Error(result.conflict);
  return { seqno: result.seqno, maps: result.maps.map((m) => m.name) };
}

const spkiBase64 = (key: ReturnType<typeof generateTestKey>) => key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

describe('JWT governance state', () => {
  const a = generateTestKey('ES256', 'a');
  const b = generateTestKey('RS256', 'b');
  const c = generateTestKey('ES384', 'c');

  it('stores keys in CCF\'s current map, as CCF serializes OpenIDJWKMetadata (fields in alphabetical order)', () => {
    const store = new Store();
    commit(store, (tx) => writeJwtPublicSigningKeys(tx, 'https://login.example.com', {
      keys: [jwkOf(a), jwkOf(b, { issuer: 'https://login.example.com/tenant' })],
    }));
    expect(JwtTables.publicSigningKeys).toBe('public:ccf.gov.jwt.public_signing_keys_metadata_v2');
    expect(text(store.get(JwtTables.publicSigningKeys, utf8('a')))).toBe(
      `[{"issuer":"https://login.example.com","public_key":"${spkiBase64(a)}"}]`);
    expect(text(store.get(JwtTables.publicSigningKeys, utf8('b')))).toBe(
      `[{"constraint":"https://login.example.com/tenant","issuer":"https://login.example.com","public_key":"${spkiBase64(b)}"}]`);
  });

  it('stores the issuer metadata as the set_jwt_issuer arguments, in their order', () => {
    const store = new Store();
    commit(store, (tx) => writeJwtIssuer(tx, 'https://login.example.com', { issuer: 'https://login.example.com', key_filter: 'all', auto_refresh: false }));
    expect(text(store.get(JwtTables.issuers, utf8('https://login.example.com')))).toBe('{"issuer":"https://login.example.com","key_filter":"all","auto_refresh":false}');
  });

  it('replaces only this issuer\'s keys: dropped kids go, other issuers\' entries under a shared kid stay', () => {
    const store = new Store();
    const shared = generateTestKey('ES256', 'a'); // another issuer's key under the same kid "a"
    commit(store, (tx) => {
      writeJwtPublicSigningKeys(tx, 'https://one.example.com', { keys: [jwkOf(a), jwkOf(b)] });
      writeJwtPublicSigningKeys(tx, 'https://two.example.com', { keys: [jwkOf(shared)] });
    });
    expect(readJwtSigningKeys(store, 'a').map((k) => k.issuer)).toEqual(['https://one.example.com', 'https://two.example.com']);
    commit(store, (tx) => writeJwtPublicSigningKeys(tx, 'https://one.example.com', { keys: [jwkOf(c)] }));
    expect(readJwtSigningKeys(store, 'a').map((k) => k.issuer)).toEqual(['https://two.example.com']);
    expect(store.get(JwtTables.publicSigningKeys, utf8('b'))).toBeUndefined();
    expect(readJwtSigningKeys(store, 'c').map((k) => k.issuer)).toEqual(['https://one.example.com']);
  });

  it('rotates a key under the same kid in place, and writes nothing when the keys are unchanged', () => {
    const store = new Store();
    commit(store, (tx) => writeJwtPublicSigningKeys(tx, 'https://one.example.com', { keys: [jwkOf(a)] }));
    const rotated = generateTestKey('ES256', 'a');
    commit(store, (tx) => writeJwtPublicSigningKeys(tx, 'https://one.example.com', { keys: [jwkOf(rotated)] }));
    const keys = readJwtSigningKeys(store, 'a');
    expect(keys).toHaveLength(1);
    expect(Buffer.from(keys[0]!.publicKeyDer).toString('base64')).toBe(spkiBase64(rotated));
    const again = commit(store, (tx) => writeJwtPublicSigningKeys(tx, 'https://one.example.com', { keys: [jwkOf(rotated)] }));
    expect(again).toEqual({ seqno: undefined, maps: [] });
  });

  it('remove_jwt_issuer removes the issuer and all its key entries, and nothing of other issuers', () => {
    const store = new Store();
    const shared = generateTestKey('ES256', 'a');
    commit(store, (tx) => {
      writeJwtIssuer(tx, 'https://one.example.com', {});
      writeJwtPublicSigningKeys(tx, 'https://one.example.com', { keys: [jwkOf(a), jwkOf(b)] });
      writeJwtIssuer(tx, 'https://two.example.com', {});
      writeJwtPublicSigningKeys(tx, 'https://two.example.com', { keys: [jwkOf(shared)] });
    });
    commit(store, (tx) => removeJwtIssuer(tx, 'https://one.example.com'));
    expect(store.get(JwtTables.issuers, utf8('https://one.example.com'))).toBeUndefined();
    expect(store.get(JwtTables.issuers, utf8('https://two.example.com'))).toBeDefined();
    expect(readJwtSigningKeys(store, 'a').map((k) => k.issuer)).toEqual(['https://two.example.com']);
    expect(readJwtSigningKeys(store, 'b')).toEqual([]);
  });

  it('accepts a key given as an x5c certificate, storing the certificate\'s public key', async () => {
    const { createIdentity } = await import('../../crypto/certs.ts');
    const identity = await createIdentity('idp', 'P-384');
    const der = new X509Certificate(identity.certPem).raw.toString('base64');
    const { kid, der: spki } = parseJwk({ kty: 'EC', kid: 'x', x5c: [der] });
    expect(kid).toBe('x');
    expect(Buffer.from(spki).toString('base64')).toBe(createPublicKey(identity.publicKeyPem).export({ format: 'der', type: 'spki' }).toString('base64'));
  });

  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey.export({ format: 'jwk' });
  const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  it.each([
    ['no keys array', {}, /"keys" array/],
    ['an empty key set', { keys: [] }, /empty/],
    ['a key without kid', { keys: [{ ...jwkOf(a), kid: undefined }] }, /kid must be/],
    ['a kid used twice', { keys: [jwkOf(a), { ...jwkOf(b), kid: 'a' }] }, /appears twice/],
    ['a symmetric key', { keys: [{ kty: 'oct', kid: 'k', k: 'c2VjcmV0' }] }, /kty must be "RSA" or "EC"/],
    ['an OKP key', { keys: [{ ...ed25519, kid: 'k' }] }, /kty must be/],
    ['an RSA key of 1024 bits', { keys: [{ ...rsa1024, kid: 'k' }] }, /1024 bits/],
    ['a P-521 key', { keys: [{ ...p521, kid: 'k' }] }, /crv must be/],
    ['an EC point not on the curve', { keys: [{ ...jwkOf(a), y: jwkOf(c).x }] }, /cannot be parsed/],
    ['kty RSA with an EC key', { keys: [{ ...jwkOf(a), kty: 'RSA' }] }, /kty is RSA/],
    ['no key material', { keys: [{ kty: 'RSA', kid: 'k' }] }, /neither/],
    ['a garbage certificate', { keys: [{ kty: 'RSA', kid: 'k', x5c: ['AAAA'] }] }, /cannot be parsed/],
    ['a constraint outside the issuer\'s domain', { keys: [jwkOf(a, { issuer: 'https://evil.example.org' })] }, /not within issuer/],
  ])('refuses a JWKS with %s, writing nothing', (_name, jwks, message) => {
    const store = new Store();
    commit(store, (tx) => writeJwtPublicSigningKeys(tx, 'https://login.example.com', { keys: [jwkOf(c)] }));
    const tx = store.begin();
    let error: unknown;
    try {
      writeJwtPublicSigningKeys(tx, 'https://login.example.com', jwks);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthConfigError);
    expect((error as AuthConfigError).code).toBe('InvalidJwks');
    expect((error as Error).message).toMatch(message);
    expect(store.commit(tx)).toMatchObject({ ok: true, maps: [] });
  });

  it.each([
    ['an empty issuer', '', {}, /non-empty/],
    ['auto_refresh (keys are not fetched by this node)', 'https://i.example.com', { auto_refresh: true, ca_cert_bundle_name: 'ca' }, /auto_refresh is not supported/],
    ['an unknown field', 'https://i.example.com', { jwks: {} }, /not one of/],
    ['a different metadata.issuer', 'https://i.example.com', { issuer: 'https://j.example.com' }, /differs/],
    ['a key_filter CCF no longer knows', 'https://i.example.com', { key_filter: 'sgx' }, /key_filter/],
  ])('refuses set_jwt_issuer with %s', (_name, issuer, metadata, message) => {
    const store = new Store();
    const tx = store.begin();
    expect(() => writeJwtIssuer(tx, issuer, metadata)).toThrow(message);
  });
});

describe('issuer constraints (CCF\'s check_issuer_constraint and validate_issuer)', () => {
  it.each([
    ['https://login.example.com', 'https://login.example.com/tenant', true],
    ['https://localhost:43871', 'https://localhost', true],
    ['https://limited.facebook.com', 'https://facebook.com', true],
    ['https://facebook.com', 'https://limited.facebook.com', false],
    ['https://notfacebook.com', 'https://facebook.com', false],
    ['my_issuer', 'https://login.example.com', false],
    ['https://login.example.com', 'not a url', false],
  ])('a key of issuer %s may carry constraint %s: %s', (issuer, constraint, fits) => {
    expect(constraintFitsIssuer(issuer, constraint)).toBe(fits);
  });

  const entra = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  it.each([
    ['https://idp.example.com', undefined, 'https://idp.example.com', true],
    ['https://idp.example.com', 'tenant', 'https://idp.example.com', false],
    ['https://other.example.com', undefined, 'https://idp.example.com', false],
    [`https://login.microsoftonline.com/${tenant}/v2.0`, tenant, entra, true],
    [`https://login.microsoftonline.com/${tenant}/v2.0`, undefined, entra, false],
    [`https://login.microsoftonline.com/${tenant}/v2.0`, 'another-tenant', entra, false],
    [`https://login.microsoftonline.com/${tenant}/v2.0`, tenant, `https://login.microsoftonline.com/${tenant}/v2.0`, true],
    ['https://login.microsoftonline.com/common/v2.0', tenant, `https://login.microsoftonline.com/common/v2.0`, false],
  ])('iss %s with tid %s meets constraint %s: %s', (iss, tid, constraint, meets) => {
    expect(issuerClaimMeetsConstraint(iss, tid, constraint)).toBe(meets);
  });
});

describe('keys a real CCF service stored (conformance ledger eol_service)', () => {
  it('reads public_signing_keys_metadata entries (certificate, issuer, constraint) as signing keys', () => {
    const dir = join(CCF_CONFORMANCE, 'services', 'eol_service', 'ledger');
    const store = new Store();
    let seqno = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.committed')).sort((x, y) => parseInt(x.slice(7)) - parseInt(y.slice(7)))) {
      for (const entry of splitChunk(new Uint8Array(readFileSync(join(dir, file)))).entries) {
        const decoded = decodeEntry(entry.bytes);
        const maps = decoded.publicMaps.filter((m) => m.name.startsWith('public:ccf.gov.jwt.'));
        if (maps.length > 0) store.applyWrites(++seqno, maps.map((m) => ({ name: m.name, writes: m.writes, removes: m.removes })));
      }
    }
    expect(seqno).toBeGreaterThan(0);
    const stored = JSON.parse(text(store.get(JwtTables.legacyPublicSigningKeys, utf8('a2c96aa5-a288-4b47-acbe-c98fde95b641')))!);
    const keys = readJwtSigningKeys(store, 'a2c96aa5-a288-4b47-acbe-c98fde95b641');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ issuer: 'https://localhost:43871', constraint: 'https://localhost' });
    const certKey = new X509Certificate(Buffer.from(stored[0].cert, 'base64')).publicKey.export({ format: 'der', type: 'spki' });
    expect(Buffer.from(keys[0]!.publicKeyDer)).toEqual(certKey);
    // The kid that CCF replaced is gone, as CCF removed it.
    expect(readJwtSigningKeys(store, '0bae8201-46f3-4f78-8173-350ba3e49a0e')).toEqual([]);
    // And the constraint CCF accepted is one ours accepts too.
    expect(constraintFitsIssuer('https://localhost:43871', 'https://localhost')).toBe(true);
  });
});
