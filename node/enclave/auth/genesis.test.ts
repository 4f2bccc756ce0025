// Seeding JWT issuers at genesis: the node configuration's genesis.jwtIssuers (issuer + JWKS file) is
// checked with field names, the files are read with clear errors, and the genesis transaction writes
// the same governance state set_jwt_issuer with a JWKS would. Also the clock JWT checks read.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../kv/index.ts';
import { ConfigError, parseConfig, readGenesisJwtIssuers } from '../../host/config.ts';
import { createIdentity } from '../../crypto/certs.ts';
import { createSecrets, genesisTransaction, type GenesisConfig } from '../genesis.ts';
import { MonotonicClock } from './clock.ts';
import { authenticateJwt } from './jwt.ts';
import { JwtTables, readJwtSigningKeys } from './jwt-keys.ts';
import { generateTestKey, jwkOf, signJwt } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'synod-auth-genesis-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const baseConfig = (jwtIssuers: unknown) => ({ dataDir: 'data', genesis: { members: [{ certFile: 'm.pem' }], jwtIssuers } });
const addresses = { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] };

describe('genesis.jwtIssuers in the node configuration', () => {
  it('resolves JWKS files against the config folder', () => {
    const config = parseConfig(baseConfig([{ issuer: 'https://a.example.com', jwksFile: 'a.json' }, { issuer: 'b' }]), '/etc/synod');
    expect(config.genesis!.jwtIssuers).toEqual([{ issuer: 'https://a.example.com', jwksFile: '/etc/synod/a.json' }, { issuer: 'b' }]);
    expect(parseConfig(baseConfig(undefined), '/x').genesis!.jwtIssuers).toBeUndefined();
  });

  it.each([
    ['not an array', { issuer: 'a' }, /genesis.jwtIssuers must be an array/],
    ['an entry without issuer', [{ jwksFile: 'a.json' }], /genesis.jwtIssuers\[0\].issuer must be a non-empty string/],
    ['an issuer listed twice', [{ issuer: 'a' }, { issuer: 'a' }], /genesis.jwtIssuers\[1\].issuer "a" is listed twice/],
    ['an empty jwksFile', [{ issuer: 'a', jwksFile: '' }], /genesis.jwtIssuers\[0\].jwksFile must be a non-empty path/],
  ])('refuses %s', (_name, jwtIssuers, message) => {
    expect(() => parseConfig(baseConfig(jwtIssuers), '/x')).toThrow(message);
  });

  it('reads each JWKS file, naming the issuer and file when one cannot be read', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ keys: [] }));
    expect(readGenesisJwtIssuers([{ issuer: 'a', jwksFile: good }, { issuer: 'b' }])).toEqual([{ issuer: 'a', jwks: { keys: [] } }, { issuer: 'b' }]);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => readGenesisJwtIssuers([{ issuer: 'a', jwksFile: bad }])).toThrow(ConfigError);
    expect(() => readGenesisJwtIssuers([{ issuer: 'a', jwksFile: bad }])).toThrow(/JWKS of "a" from .*bad.json/);
    expect(() => readGenesisJwtIssuers([{ issuer: 'a', jwksFile: join(dir, 'missing.json') }])).toThrow(/missing.json/);
  });
});

describe('the genesis transaction', () => {
  it('registers the issuer and its keys, so tokens verify from the first request', async () => {
    const member = await createIdentity('member0', 'P-256');
    const key = generateTestKey('ES256', 'k1');
    const secrets = await createSecrets(addresses);
    const config: GenesisConfig = {
      members: [{ certPem: member.certPem }], users: [], open: true,
      jwtIssuers: [{ issuer: 'https://idp.example.com', jwks: { keys: [jwkOf(key)] } }, { issuer: 'https://empty.example.com' }],
    };
    const store = new Store();
    const tx = store.begin();
    genesisTransaction(config, secrets, addresses)(tx);
    expect(store.commit(tx).ok).toBe(true);
    const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
    expect(text(store.get(JwtTables.issuers, new TextEncoder().encode('https://idp.example.com')))).toBe('{"issuer":"https://idp.example.com","auto_refresh":false}');
    expect(text(store.get(JwtTables.issuers, new TextEncoder().encode('https://empty.example.com')))).toBeDefined();
    expect(readJwtSigningKeys(store, 'k1').map((k) => k.issuer)).toEqual(['https://idp.example.com']);
    const now = 1_700_000_000;
    const outcome = authenticateJwt(store, `Bearer ${signJwt(key, { iss: 'https://idp.example.com', exp: now + 60 })}`, now);
    expect(outcome.ok).toBe(true);
  });

  it('fails (the node does not start) when a genesis JWKS is invalid', async () => {
    const member = await createIdentity('member0', 'P-256');
    const secrets = await createSecrets(addresses);
    const config: GenesisConfig = { members: [{ certPem: member.certPem }], users: [], open: true, jwtIssuers: [{ issuer: 'i', jwks: { keys: [{ kty: 'oct', kid: 'k', k: 'AA' }] } }] };
    const tx = new Store().begin();
    expect(() => genesisTransaction(config, secrets, addresses)(tx)).toThrow(/kty must be "RSA" or "EC"/);
  });
});

describe('the clock JWT validity is checked against', () => {
  it('reads host time in whole seconds and never goes backwards', () => {
    let ms = 10_500;
    const clock = new MonotonicClock(() => ms);
    expect(clock.nowSeconds()).toBe(10);
    ms = 5_000; // the host winds its clock back
    expect(clock.nowSeconds()).toBe(10);
    ms = Number.NaN;
    expect(clock.nowSeconds()).toBe(10);
    ms = 20_999;
    expect(clock.nowSeconds()).toBe(20);
  });
});
