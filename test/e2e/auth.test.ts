// JWT and COSE_Sign1 authentication on a real node over HTTPS. The node is started with a JWT issuer
// and its JWKS seeded by genesis (genesis.jwtIssuers), and a test bundle (fixtures/jwt-app) whose
// endpoints echo `request.caller` and run the logging sample's write/read behind the jwt policy.
// Tokens are signed by the independent signer of node/enclave/auth/testing.ts; COSE requests by the
// client library.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../node/sandbox/supervisor.ts';
import { loadIdentity } from '../../client/src/client/identity.ts';
import { signCoseRequest } from '../../client/src/client/cose-sign.ts';
import { forgeHs256WithPublicKey, generateTestKey, jwkOf, signJwt, unsignedJwt, type TestKey } from '../../node/enclave/auth/testing.ts';
import { startTestNetwork, type TestNetwork, } from '../helpers/network.ts';
import type { HttpResponse } from '../helpers/https.ts';

const JWT_APP = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'jwt-app');
const ISSUER = 'https://idp.example.com';
const COSE = { 'content-type': 'application/cose' };

const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, sub: 'alice', nbf: now() - 60, exp: now() + 600, ...extra });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectUnauthorized(res: HttpResponse, detailCodes: string[], message: RegExp): void {
  expect(res.status, res.text()).toBe(401);
  const error = res.json().error;
  expect(error.code).toBe('Unauthorized');
  expect(error.message).toMatch(message);
  expect(error.details.map((d: { code: string }) => d.code)).toEqual(detailCodes);
}

describe('authentication policies on a real node', () => {
  let net: TestNetwork;
  let keysDir: string;
  let rs: TestKey;
  let es: TestKey;
  let userId: string;

  beforeAll(async () => {
    rs = generateTestKey('RS256', 'rs-1');
    es = generateTestKey('ES384', 'es-1');
    keysDir = mkdtempSync(join(tmpdir(), 'synod-jwks-'));
    const jwksFile = join(keysDir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwkOf(rs), jwkOf(es)] }));
    net = await startTestNetwork({}, 'js', { jsAppDir: JWT_APP, jwtIssuers: [{ issuer: ISSUER, jwksFile }] });
    userId = loadIdentity({ certPem: readFileSync(join(net.common, 'user0_cert.pem'), 'utf8') }).id;
  });

  afterAll(async () => {
    await net?.stop();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
  });

  it.each(['RS256', 'ES384'])('a %s token from the genesis issuer authenticates; the handler sees CCF\'s jwt caller', async (alg) => {
    const key = alg === 'RS256' ? rs : es;
    const payload = claims({ roles: ['reader'] });
    const res = await net.anonymous.get('/app/auth/jwt', bearer(signJwt(key, payload)));
    expect(res.status, res.text()).toBe(200);
    expect(res.json().caller).toEqual({ policy: 'jwt', jwt: { keyIssuer: ISSUER, header: { alg, kid: key.kid, typ: 'JWT' }, payload } });
  });

  it('refuses bad tokens with 401 and a message naming the failed check', async () => {
    const stranger = generateTestKey('ES384', 'es-1');
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{}, 'JwtMissing', /^jwt: missing Authorization header$/],
      [bearer(signJwt(es, claims({ exp: now() - 3600 }))), 'JwtExpired', /jwt: current time \d+ is after the token's exp/],
      [bearer(signJwt(es, claims({ nbf: now() + 3600 }))), 'JwtNotYetValid', /before the token's nbf/],
      [bearer(signJwt(generateTestKey('ES256', 'nobody'), claims())), 'JwtUnknownKey', /no signing key is registered for kid "nobody"/],
      [bearer(signJwt(stranger, claims())), 'JwtBadSignature', /signature verification failed/],
      [bearer(unsignedJwt('es-1', claims())), 'JwtAlgorithmRefused', /alg "none" is refused/],
      [bearer(forgeHs256WithPublicKey(rs, claims(), 'pem')), 'JwtAlgorithmRefused', /shared-secret MAC/],
      [bearer('not.a-jwt'), 'JwtMalformed', /exactly 3/],
    ];
    for (const [headers, code, message] of cases) expectUnauthorized(await net.anonymous.get('/app/auth/jwt', headers), [code], message);
  });

  it('runs the logging sample behind jwt: the record notes the token\'s subject and issuer', async () => {
    const token = signJwt(rs, claims({ sub: 'bob' }));
    const write = await net.anonymous.post('/app/log/jwt', { id: 42, msg: 'hello from a token' }, bearer(token));
    expect(write.status, write.text()).toBe(200);
    expect(write.headers['x-ms-ccf-transaction-id']).toMatch(/^\d+\.\d+$/);
    const read = await net.anonymous.get('/app/log/jwt?id=42', bearer(token));
    expect(read.json()).toEqual({ msg: 'hello from a token', sub: 'bob', keyIssuer: ISSUER });
    expectUnauthorized(await net.user.post('/app/log/jwt', { id: 43, msg: 'no token' }), ['JwtMissing'], /jwt: missing/);
    expect((await net.anonymous.get('/app/log/jwt?id=43', bearer(token))).status).toBe(404);
  });

  it('a COSE_Sign1 user request authenticates without a TLS client certificate; the caller carries the signed content', async () => {
    const user = loadIdentity({ certPem: readFileSync(join(net.common, 'user0_cert.pem'), 'utf8'), keyPem: readFileSync(join(net.common, 'user0_privk.pem'), 'utf8') });
    const payload = new TextEncoder().encode(JSON.stringify({ id: 7, msg: 'signed' }));
    const body = await signCoseRequest(user, payload, { msgType: 'log' }, 1_700_000_000);
    const res = await net.anonymous.post('/app/auth/user-cose', Buffer.from(body), COSE);
    expect(res.status, res.text()).toBe(200);
    const { caller, bodyBytes } = res.json();
    expect(bodyBytes).toBe(body.length); // as CCF: the body is the envelope
    expect(caller).toMatchObject({ policy: 'user_cose_sign1', id: userId, data: null, cert: readFileSync(join(net.common, 'user0_cert.pem'), 'utf8') });
    expect(Buffer.from(caller.cose.content, 'base64')).toEqual(Buffer.from(payload));
    expect(caller.cose.protectedHeader).toEqual({ alg: -35, kid: userId, 'ccf.msg.type': 'log', 'ccf.msg.created_at': 1_700_000_000 });

    const tampered = Buffer.from(body);
    tampered[tampered.indexOf('signed')] ^= 0x20;
    expectUnauthorized(await net.anonymous.post('/app/auth/user-cose', tampered, COSE), ['CoseBadSignature'], /user_cose_sign1: the COSE_Sign1 signature does not verify/);
    expectUnauthorized(await net.anonymous.post('/app/auth/user-cose', Buffer.from(body), { 'content-type': 'application/json' }), ['CoseWrongContentType'], /expected application\/cose/);
  });

  it('a COSE_Sign1 member request authenticates on member_cose_sign1, and a user\'s does not', async () => {
    const member = loadIdentity({ certPem: readFileSync(join(net.common, 'member0_cert.pem'), 'utf8'), keyPem: readFileSync(join(net.common, 'member0_privk.pem'), 'utf8'), role: 'member' });
    const body = await signCoseRequest(member, new TextEncoder().encode('{}'), { msgType: 'proposal' });
    const res = await net.anonymous.post('/app/auth/member-cose', Buffer.from(body), COSE);
    expect(res.status, res.text()).toBe(200);
    expect(res.json().caller).toMatchObject({ policy: 'member_cose_sign1', id: member.id });
    const user = loadIdentity({ certPem: readFileSync(join(net.common, 'user0_cert.pem'), 'utf8'), keyPem: readFileSync(join(net.common, 'user0_privk.pem'), 'utf8') });
    const byUser = await signCoseRequest(user, new TextEncoder().encode('{}'), {});
    expectUnauthorized(await net.anonymous.post('/app/auth/member-cose', Buffer.from(byUser), COSE), ['CoseMalformed'], /missing ccf.gov.msg.created_at/);
  });

  it('alternatives: either policy admits; a refusal lists why each one failed', async () => {
    expect((await net.user.get('/app/auth/cert-or-jwt')).json().caller).toMatchObject({ policy: 'user_cert', id: userId });
    expect((await net.anonymous.get('/app/auth/cert-or-jwt', bearer(signJwt(es, claims())))).json().caller.policy).toBe('jwt');
    expectUnauthorized(await net.anonymous.get('/app/auth/cert-or-jwt'), ['NoClientCertificate', 'JwtMissing'],
      /^user_cert: no client certificate presented; jwt: missing Authorization header$/);
  });

  it('all_of needs both, and the caller has CCF\'s conjunction shape', async () => {
    const payload = claims();
    const res = await net.user.get('/app/auth/cert-and-jwt', bearer(signJwt(es, payload)));
    expect(res.status, res.text()).toBe(200);
    const caller = res.json().caller;
    expect(caller.policy).toEqual(['user_cert', 'jwt']);
    expect(caller.user_cert).toMatchObject({ policy: 'user_cert', id: userId });
    expect(caller.jwt).toEqual({ policy: 'jwt', jwt: { keyIssuer: ISSUER, header: { alg: 'ES384', kid: 'es-1', typ: 'JWT' }, payload } });
    expectUnauthorized(await net.user.get('/app/auth/cert-and-jwt'), ['JwtMissing'], /^jwt: missing Authorization header$/);
    expectUnauthorized(await net.anonymous.get('/app/auth/cert-and-jwt', bearer(signJwt(es, payload))), ['NoClientCertificate'], /user_cert: no client certificate/);
  });
});
