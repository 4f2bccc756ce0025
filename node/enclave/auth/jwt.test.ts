// JWT bearer authentication: every refusal has its own code and message, and tokens signed with each
// supported algorithm by a registered key are accepted with CCF's caller shape.

import { beforeAll, describe, expect, it } from 'vitest';
import { Store, type Tx } from '../../kv/index.ts';
import { authenticateJwt, parseJwt, writeJwtIssuer, writeJwtPublicSigningKeys, type JwtOutcome } from './jwt.ts';
import { JwtTables } from './jwt-keys.ts';
import { authLimits } from './limits.ts';
import { b64url, forgeHs256WithPublicKey, generateTestKey, jwkOf, signInput, signJwt, unsignedJwt, type TestKey } from './testing.ts';

const NOW = 1_700_000_000;
const ISSUER = 'https://idp.example.com';
const SKEW = authLimits.jwtClockSkewSecondsMax;

function storeWith(write: (tx: Tx) => void): Store {
  const store = new Store();
  const tx = store.begin();
  write(tx);
  expect(store.commit(tx).ok).toBe(true);
  return store;
}

const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, sub: 'alice', nbf: NOW - 60, exp: NOW + 3600, ...extra });
const bearer = (token: string) => `Bearer ${token}`;

function expectRefused(outcome: JwtOutcome | ReturnType<typeof parseJwt>, code: string, message?: RegExp): void {
  expect(outcome.ok, JSON.stringify(outcome)).toBe(false);
  if (outcome.ok) return;
  expect(outcome.code).toBe(code);
  if (message) expect(outcome.message).toMatch(message);
}

describe('jwt authentication', () => {
  const keys = {} as Record<'RS256' | 'PS256' | 'ES256' | 'ES384', TestKey>;
  let other: TestKey;
  let store: Store;

  beforeAll(() => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'ES384'] as const) keys[alg] = generateTestKey(alg, `kid-${alg}`);
    other = generateTestKey('ES256', 'kid-ES256'); // same kid as a registered key, but not registered
    store = storeWith((tx) => {
      writeJwtPublicSigningKeys(tx, ISSUER, { keys: Object.values(keys).map((k) => jwkOf(k)) });
      writeJwtIssuer(tx, ISSUER, { issuer: ISSUER, auto_refresh: false });
    });
  });

  it.each(['RS256', 'PS256', 'ES256', 'ES384'] as const)('accepts a %s token signed by a registered key, as CCF\'s caller', (alg) => {
    const token = signJwt(keys[alg], claims({ custom: [1, { deep: true }] }));
    const outcome = authenticateJwt(store, bearer(token), NOW);
    expect(outcome).toEqual({
      ok: true,
      jwt: { keyIssuer: ISSUER, header: { alg, kid: `kid-${alg}`, typ: 'JWT' }, payload: claims({ custom: [1, { deep: true }] }) },
    });
  });

  it('accepts the bearer scheme in any case', () => {
    expect(authenticateJwt(store, `bearer ${signJwt(keys.ES256, claims())}`, NOW).ok).toBe(true);
  });

  it('refuses an expired token, allowing only the small clock skew', () => {
    expect(authenticateJwt(store, bearer(signJwt(keys.ES256, claims({ exp: NOW - SKEW }))), NOW).ok).toBe(true);
    expectRefused(authenticateJwt(store, bearer(signJwt(keys.ES256, claims({ exp: NOW - SKEW - 1 }))), NOW), 'JwtExpired', /after the token's exp/);
  });

  it('refuses a token that is not valid yet, allowing only the small clock skew', () => {
    expect(authenticateJwt(store, bearer(signJwt(keys.RS256, claims({ nbf: NOW + SKEW }))), NOW).ok).toBe(true);
    expectRefused(authenticateJwt(store, bearer(signJwt(keys.RS256, claims({ nbf: NOW + SKEW + 1 }))), NOW), 'JwtNotYetValid', /before the token's nbf/);
  });

  it('refuses an unknown kid', () => {
    const stranger = generateTestKey('ES256', 'kid-unknown');
    expectRefused(authenticateJwt(store, bearer(signJwt(stranger, claims())), NOW), 'JwtUnknownKey', /"kid-unknown"/);
  });

  it('refuses a tampered payload', () => {
    const [h, , s] = signJwt(keys.RS256, claims()).split('.');
    const forged = `${h}.${b64url(JSON.stringify(claims({ sub: 'mallory' })))}.${s}`;
    expectRefused(authenticateJwt(store, bearer(forged), NOW), 'JwtBadSignature', /signature verification failed/);
  });

  it.each(['RS256', 'PS256', 'ES256', 'ES384'] as const)('refuses a %s token whose signature was altered', (alg) => {
    const [h, p, s] = signJwt(keys[alg], claims()).split('.');
    const sig = Buffer.from(s!, 'base64url');
    sig[sig.length >> 1]! ^= 0x01;
    expectRefused(authenticateJwt(store, bearer(`${h}.${p}.${b64url(sig)}`), NOW), 'JwtBadSignature');
  });

  it('refuses a token signed by another key under a registered kid', () => {
    expectRefused(authenticateJwt(store, bearer(signJwt(other, claims())), NOW), 'JwtBadSignature');
  });

  it.each(['none', 'None', 'NONE'])('refuses alg %s', (alg) => {
    expectRefused(authenticateJwt(store, bearer(unsignedJwt('kid-ES256', claims(), alg)), NOW), 'JwtAlgorithmRefused', /tokens must be signed/);
  });

  it.each(['pem', 'der'] as const)('refuses HS256 keyed with the registered public key (%s) as the secret', (format) => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const forged = forgeHs256WithPublicKey(keys[alg], claims(), format);
      expectRefused(authenticateJwt(store, bearer(forged), NOW), 'JwtAlgorithmRefused', /shared-secret MAC/);
    }
  });

  it.each(['HS384', 'HS512', 'RS512', 'EdDSA', 'ES512'])('refuses alg %s', (alg) => {
    const input = `${b64url(JSON.stringify({ alg, kid: 'kid-RS256' }))}.${b64url(JSON.stringify(claims()))}`;
    expectRefused(authenticateJwt(store, bearer(`${input}.${b64url('x'.repeat(64))}`), NOW), 'JwtAlgorithmRefused');
  });

  it('refuses a key that does not fit the algorithm (RS/ES/curve confusion)', () => {
    // Each token is correctly signed by the key it claims, but presented under a kid of another key type.
    const cases: Array<[TestKey, string]> = [[keys.ES256, 'kid-RS256'], [keys.RS256, 'kid-ES256'], [keys.ES384, 'kid-ES256'], [keys.ES256, 'kid-ES384']];
    for (const [signer, kid] of cases) {
      const token = signJwt(signer, claims(), { kid });
      expectRefused(authenticateJwt(store, bearer(token), NOW), 'JwtKeyMismatch', /needs/);
    }
  });

  it('refuses PS256 with a salt other than the hash length and RS256 presented as PS256', () => {
    const input = `${b64url(JSON.stringify({ alg: 'PS256', kid: 'kid-PS256' }))}.${b64url(JSON.stringify(claims()))}`;
    expectRefused(authenticateJwt(store, bearer(`${input}.${b64url(signInput(keys.PS256, input, 'RS256'))}`), NOW), 'JwtBadSignature');
  });

  it.each([
    [undefined, 'JwtMissing'],
    ['', 'JwtMissing'],
    ['Basic dXNlcjpwYXNz', 'JwtMalformed'],
    ['Bearer', 'JwtMalformed'],
    ['Bearer a.b', 'JwtMalformed'],
    ['Bearer a.b.c.d', 'JwtMalformed'],
    ['Bearer a.b.c d', 'JwtMalformed'],
  ])('refuses the Authorization header %j', (header, code) => {
    expectRefused(authenticateJwt(store, header, NOW), code);
  });

  it('refuses malformed tokens, each with a message naming the problem', () => {
    const good = signJwt(keys.ES256, claims());
    const [h, p, s] = good.split('.') as [string, string, string];
    const part = (value: unknown) => b64url(typeof value === 'string' ? value : JSON.stringify(value));
    const cases: Array<[string, RegExp]> = [
      [`${h}=.${p}.${s}`, /header is not canonical/],
      [`${h}.${p}.${s}=`, /signature is not canonical/],
      [`${h.replace(/.$/, '+')}.${p}.${s}`, /header is not canonical/],
      [`.${p}.${s}`, /header is not canonical/],
      [`${part('not json')}.${p}.${s}`, /header is not valid JSON/],
      [`${Buffer.from([0xff, 0xfe]).toString('base64url')}.${p}.${s}`, /not valid UTF-8/],
      [`${part([1, 2])}.${p}.${s}`, /header is not a JSON object/],
      [`${part({ kid: 'kid-ES256' })}.${p}.${s}`, /needs alg/],
      [`${part({ alg: 'ES256' })}.${p}.${s}`, /needs a kid/],
      [`${part({ alg: 'ES256', kid: '' })}.${p}.${s}`, /needs a kid/],
      [`${part({ alg: 'ES256', kid: 'kid-ES256', crit: ['b64'], b64: false })}.${p}.${s}`, /crit/],
      [`${h}.${part({ iss: ISSUER })}.${s}`, /needs exp/],
      [`${h}.${part({ iss: ISSUER, exp: '1700000000' })}.${s}`, /needs exp/],
      [`${h}.${part({ exp: NOW + 10 })}.${s}`, /needs iss/],
      [`${h}.${part({ iss: ISSUER, exp: NOW + 10, nbf: 'soon' })}.${s}`, /nbf must be/],
      [`${h}.${part({ iss: ISSUER, exp: NOW + 10, tid: 7 })}.${s}`, /tid must be/],
      [`${h}.${part({ iss: ISSUER, exp: NOW + 10, x: JSON.parse('['.repeat(40) + ']'.repeat(40)) })}.${s}`, /nests deeper/],
    ];
    for (const [token, message] of cases) expectRefused(authenticateJwt(store, bearer(token), NOW), 'JwtMalformed', message);
  });

  it('refuses a base64url part whose last character carries non-zero unused bits', () => {
    // Find a payload whose encoding ends in a partial group: its last character has unused low bits.
    let extra = '';
    while (b64url(JSON.stringify(claims({ extra }))).length % 4 === 0) extra += 'x';
    const [h, p, s] = signJwt(keys.ES256, claims({ extra })).split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(p.at(-1)!) ^ 1]!; // same decoded bytes, one unused bit set
    expect(Buffer.from(`${p.slice(0, -1)}${sibling}`, 'base64url')).toEqual(Buffer.from(p, 'base64url'));
    expectRefused(authenticateJwt(store, bearer(`${h}.${p.slice(0, -1)}${sibling}.${s}`), NOW), 'JwtMalformed', /payload is not canonical/);
  });

  it('refuses an oversize token before parsing it', () => {
    const token = signJwt(keys.ES256, claims({ padding: 'x'.repeat(authLimits.jwtBytesMax) }));
    expectRefused(authenticateJwt(store, bearer(token), NOW), 'JwtTooLarge');
    expectRefused(parseJwt('a'.repeat(authLimits.jwtBytesMax + 1)), 'JwtTooLarge');
  });

  it('applies a key\'s issuer constraint to the iss claim (wrong issuer refused)', () => {
    const constrained = generateTestKey('ES256', 'kid-constrained');
    const withConstraint = storeWith((tx) => {
      writeJwtPublicSigningKeys(tx, ISSUER, { keys: [jwkOf(constrained, { issuer: 'https://idp.example.com/tenant-a' })] });
    });
    const ok = authenticateJwt(withConstraint, bearer(signJwt(constrained, claims({ iss: 'https://idp.example.com/tenant-a' }))), NOW);
    expect(ok.ok).toBe(true);
    expectRefused(authenticateJwt(withConstraint, bearer(signJwt(constrained, claims({ iss: 'https://idp.example.com/tenant-b' }))), NOW),
      'JwtIssuerMismatch', /tenant-b.*does not meet/);
    expectRefused(authenticateJwt(withConstraint, bearer(signJwt(constrained, claims({ iss: 'https://idp.example.com/tenant-a', tid: 'x' }))), NOW),
      'JwtIssuerMismatch');
  });

  it('tries every issuer that registered a kid and names the one whose key verified', () => {
    const shared1 = generateTestKey('ES256', 'shared');
    const shared2 = generateTestKey('RS256', 'shared');
    const twoIssuers = storeWith((tx) => {
      writeJwtPublicSigningKeys(tx, 'https://a.example.com', { keys: [jwkOf(shared1)] });
      writeJwtPublicSigningKeys(tx, 'https://b.example.com', { keys: [jwkOf(shared2)] });
    });
    const viaB = authenticateJwt(twoIssuers, bearer(signJwt(shared2, claims())), NOW);
    expect(viaB.ok && viaB.jwt.keyIssuer).toBe('https://b.example.com');
    const viaA = authenticateJwt(twoIssuers, bearer(signJwt(shared1, claims())), NOW);
    expect(viaA.ok && viaA.jwt.keyIssuer).toBe('https://a.example.com');
  });

  it('reads keys that an older CCF service stored in public_signing_keys_metadata (certificates)', async () => {
    const { createIdentity } = await import('../../crypto/certs.ts');
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const identity = await createIdentity('idp', 'P-256');
    const legacyKey: TestKey = { alg: 'ES256', kid: 'legacy', privateKey: createPrivateKey(identity.privateKeyPem), publicKey: createPublicKey(identity.publicKeyPem) };
    const der = Buffer.from(identity.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    const legacy = storeWith((tx) => {
      tx.map(JwtTables.legacyPublicSigningKeys).set(new TextEncoder().encode('legacy'), new TextEncoder().encode(JSON.stringify([{ cert: der, issuer: 'old' }])));
    });
    const outcome = authenticateJwt(legacy, bearer(signJwt(legacyKey, claims())), NOW);
    expect(outcome.ok && outcome.jwt.keyIssuer).toBe('old');
  });
});
