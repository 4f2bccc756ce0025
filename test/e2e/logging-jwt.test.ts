// The logging sample's JWT-authenticated endpoints (/app/log/{private,public}/jwt) on a real node, with
// a JWT issuer and its JWKS seeded at genesis (genesis.jwtIssuers): a token from that issuer writes and
// reads; the records are the same as the certificate endpoints'; missing, expired, foreign-key and
// unknown-kid tokens are 401; a user certificate alone does not pass the jwt policy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestKey, jwkOf, signJwt, type TestKey } from '../../node/enclave/auth/testing.ts';
import { startTestNetwork, type TestNetwork } from '../helpers/network.ts';

const ISSUER = 'https://login.example.org';
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, sub: 'carol', nbf: now() - 60, exp: now() + 600, ...extra });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('logging sample behind jwt on a real node', () => {
  let net: TestNetwork;
  let keysDir: string;
  let key: TestKey;

  beforeAll(async () => {
    key = generateTestKey('ES256', 'logging-key-1');
    keysDir = mkdtempSync(join(tmpdir(), 'synod-logging-jwks-'));
    const jwksFile = join(keysDir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwkOf(key)] }));
    net = await startTestNetwork({}, 'js', { jwtIssuers: [{ issuer: ISSUER, jwksFile }] });
  });

  afterAll(async () => {
    await net?.stop();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
  });

  it.each(['private', 'public'])('writes and reads %s records with a token; the certificate endpoints see the same record', async (kind) => {
    const token = bearer(signJwt(key, claims()));
    const write = await net.anonymous.post(`/app/log/${kind}/jwt`, { id: 11, msg: `${kind} by token` }, token);
    expect(write.status, write.text()).toBe(200);
    expect(write.json()).toBe(true);
    expect(write.headers['x-ms-ccf-transaction-id']).toMatch(/^\d+\.\d+$/);
    const read = await net.anonymous.get(`/app/log/${kind}/jwt?id=11`, token);
    expect([read.status, read.json()]).toEqual([200, { msg: `${kind} by token` }]);
    expect((await net.user.get(`/app/log/${kind}?id=11`)).json()).toEqual({ msg: `${kind} by token` });
    const missing = await net.anonymous.get(`/app/log/${kind}/jwt?id=12`, token);
    expect([missing.status, missing.json().error.code]).toEqual([404, 'ResourceNotFound']);
  });

  // Not checked here: a token signed by the issuer's key whose `iss` names another issuer is accepted by
  // node/enclave/auth today (CCF 5+ checks `iss` against the key's issuer); see the session report.
  it('refuses requests without a valid token from the genesis issuer with 401', async () => {
    const stranger = generateTestKey('ES256', 'logging-key-1');
    const refused: Array<[Record<string, string>, string]> = [
      [{}, 'JwtMissing'],
      [bearer(signJwt(key, claims({ exp: now() - 3600 }))), 'JwtExpired'],
      [bearer(signJwt(stranger, claims())), 'JwtBadSignature'],
      [bearer(signJwt(generateTestKey('ES256', 'unknown-kid'), claims())), 'JwtUnknownKey'],
    ];
    for (const [headers, code] of refused) {
      const res = await net.anonymous.post('/app/log/private/jwt', { id: 13, msg: 'refused' }, headers);
      expect(res.status, `${code}: ${res.text()}`).toBe(401);
      expect(res.json().error.details.map((d: { code: string }) => d.code)).toEqual([code]);
    }
    // A user certificate is not a token: the jwt policy refuses it.
    expect((await net.user.post('/app/log/private/jwt', { id: 13, msg: 'cert only' })).status).toBe(401);
    expect((await net.user.get('/app/log/private?id=13')).status).toBe(404);
  });
});
