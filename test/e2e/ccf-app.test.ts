// An app written with @microsoft/ccf-app itself (samples/ccf-app-counter), built from its TypeScript
// source by rollup on every run and deployed unmodified on a real node: every endpoint is driven over
// HTTPS — reads, writes, refusals that still write (setApplyWrites), 400 and 404 paths, the app's
// signing key checked with node:crypto, and a note whose receipt verifies with its claims.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate, createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyReceipt } from '../../client/src/index.ts';
import { REPO_ROOT } from '../../node/sandbox/supervisor.ts';
import { build } from '../../samples/ccf-app-counter/build.mjs';
import { startTestNetwork, type TestNetwork } from '../helpers/network.ts';
import type { HttpResponse } from '../helpers/https.ts';

const BUILD_MS_MAX = 30_000;
const SAMPLE_SRC = join(REPO_ROOT, 'samples', 'ccf-app-counter', 'src');

let net: TestNetwork;
let buildDir: string;
let userId: string;

beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), 'synod-ccf-app-'));
  const started = performance.now();
  const { dir, bundle } = await build(join(buildDir, 'dist'));
  expect(performance.now() - started).toBeLessThan(BUILD_MS_MAX);
  // The bundle carries @microsoft/ccf-app itself, untouched, and nothing of Synod.
  const names = bundle.modules.map((m) => m.name);
  expect(names).toContain('node_modules/@microsoft/ccf-app/kv.js');
  expect(bundle.modules.filter((m) => /synod/i.test(m.module))).toEqual([]);
  const sources = readdirSync(SAMPLE_SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  expect(sources.length).toBeGreaterThan(0);
  expect(sources.filter((f) => /synod/i.test(readFileSync(join(SAMPLE_SRC, f), 'utf8')))).toEqual([]);
  net = await startTestNetwork({}, 'js', { jsAppDir: dir });
  userId = createHash('sha256').update(new X509Certificate(readFileSync(join(net.common, 'user0_cert.pem'))).raw).digest('hex');
}, 120_000);

afterAll(async () => {
  await net?.stop();
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

function txid(res: HttpResponse): string {
  const id = res.headers['x-ms-ccf-transaction-id'];
  expect(typeof id, `no transaction id on ${res.status} ${res.text()}`).toBe('string');
  return id as string;
}

function expectError(res: HttpResponse, status: number, code: string): void {
  expect(res.status, res.text()).toBe(status);
  expect(res.json().error.code).toBe(code);
}

describe('counters (typed KV, setApplyWrites)', () => {
  it('increments, reads, lists and deletes counters', async () => {
    const first = await net.user.post('/app/counters/apples', { by: 5 });
    expect(first.status, first.text()).toBe(200);
    expect(first.json()).toEqual({ name: 'apples', value: 5 });
    const firstTx = txid(first);
    expect((await net.user.post('/app/counters/apples', {})).json()).toEqual({ name: 'apples', value: 6 });
    expect((await net.user.post('/app/counters/pears', { by: 2 })).json()).toEqual({ name: 'pears', value: 2 });

    const read = await net.user.get('/app/counters/apples');
    expect(read.status).toBe(200);
    const body = read.json();
    expect(body).toMatchObject({ name: 'apples', value: 6, refusals: 0 });
    // The version of the last write is a seqno after the first write's.
    expect(body.version).toBeGreaterThan(Number(firstTx.split('.')[1]));

    expect((await net.user.get('/app/counters')).json()).toEqual({
      counters: [{ name: 'apples', value: 6 }, { name: 'pears', value: 2 }],
      count: 2,
    });
    const removed = await net.user.request('DELETE', '/app/counters/pears');
    expect(removed.status, removed.text()).toBe(204);
    expectError(await net.user.get('/app/counters/pears'), 404, 'ResourceNotFound');
    expectError(await net.user.request('DELETE', '/app/counters/pears'), 404, 'ResourceNotFound');
    expect((await net.user.get('/app/counters')).json().count).toBe(1);
  });

  it('refuses to go below zero but records the refusal; bad input is a 400 that writes nothing', async () => {
    await net.user.post('/app/counters/coins', { by: 1 });
    const refused = await net.user.post('/app/counters/coins', { by: -2 });
    expectError(refused, 409, 'CounterUnderflow');
    txid(refused); // the 409 still committed a write
    expect((await net.user.get('/app/counters/coins')).json()).toMatchObject({ value: 1, refusals: 1 });

    expectError(await net.user.post('/app/counters/coins', { by: 1.5 }), 400, 'InvalidInput');
    expectError(await net.user.post('/app/counters/coins', { by: 2 ** 31 }), 400, 'InvalidInput');
    expectError(await net.user.post('/app/counters/coins', '{"by": '), 400, 'InvalidInput');
    expectError(await net.user.post('/app/counters/no%20spaces', { by: 1 }), 400, 'InvalidInput');
    expect((await net.user.get('/app/counters/coins')).json()).toMatchObject({ value: 1, refusals: 1 });
  });

  it('needs a user certificate', async () => {
    expect((await net.anonymous.get('/app/counters')).status).toBe(401);
  });
});

describe('notes (claims digest and receipts)', () => {
  it('writes a note whose receipt verifies against the service certificate with the note as claims', async () => {
    const text = 'the receipt proves this note';
    const res = await net.user.post('/app/notes', { text });
    expect(res.status, res.text()).toBe(201);
    const { id, claims_digest: claimsDigest } = res.json();
    const claims = new TextEncoder().encode(JSON.stringify({ id, text }));
    expect(claimsDigest).toBe(createHash('sha256').update(claims).digest('hex'));

    const tx = txid(res);
    expect(await net.user.waitForCommit(tx)).toBe('Committed');
    const receiptRes = await net.anonymous.get(`/app/receipt?transaction_id=${tx}`);
    expect(receiptRes.status, receiptRes.text()).toBe(200);
    const receipt = receiptRes.json();
    expect(receipt.leaf_components.claims_digest).toBe(claimsDigest);
    const verified = verifyReceipt(receipt, { serviceCert: net.serviceCert, claims });
    expect(verified.txid).toBe(tx);
    expect(verified.claimsDigest).toBe(claimsDigest);
    // Other claims do not match the receipt.
    const forged = new TextEncoder().encode(JSON.stringify({ id, text: 'something else' }));
    expect(() => verifyReceipt(receipt, { serviceCert: net.serviceCert, claims: forged })).toThrow();

    expect((await net.user.get(`/app/notes/${id}`)).json()).toEqual({ id, text, author: userId });
  });

  it('400 for a bad note or id, 404 for an unknown one; a refused write does not use up an id', async () => {
    expectError(await net.user.post('/app/notes', { text: '' }), 400, 'InvalidInput');
    expectError(await net.user.post('/app/notes', [1, 2]), 400, 'InvalidInput');
    expectError(await net.user.get('/app/notes/abc'), 400, 'InvalidInput');
    expectError(await net.user.get('/app/notes/999999'), 404, 'ResourceNotFound');
    const a = (await net.user.post('/app/notes', { text: 'a' })).json().id;
    expectError(await net.user.post('/app/notes', { text: 7 }), 400, 'InvalidInput');
    const b = (await net.user.post('/app/notes', { text: 'b' })).json().id;
    expect(b).toBe(a + 1);
  });
});

describe('signing (ccf.crypto)', () => {
  it('has no key before the first signature, then signs with a P-256 key that node:crypto accepts', async () => {
    expectError(await net.user.get('/app/signing-key'), 404, 'ResourceNotFound');
    expectError(await net.user.post('/app/signatures/verify', { message: 'x', signature: '00' }), 404, 'ResourceNotFound');

    const message = 'signed by the app — ünïcode';
    const signed = await net.user.post('/app/signatures', { message });
    expect(signed.status, signed.text()).toBe(200);
    const { signature, public_key: publicKey } = signed.json();
    const key = createPublicKey(publicKey);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const ok = nodeVerify('sha256', Buffer.from(message, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'hex'));
    expect(ok).toBe(true);

    // The key persists: a second signature uses the same one, and the app verifies its own signatures.
    expect((await net.user.get('/app/signing-key')).json()).toEqual({ public_key: publicKey });
    expect((await net.user.post('/app/signatures', { message: 'again' })).json().public_key).toBe(publicKey);
    expect((await net.user.post('/app/signatures/verify', { message, signature })).json()).toEqual({ valid: true });
    expect((await net.user.post('/app/signatures/verify', { message: `${message}!`, signature })).json()).toEqual({ valid: false });
    expectError(await net.user.post('/app/signatures/verify', { message, signature: 'xyz' }), 400, 'InvalidInput');
  });
});

describe('service (caller and consensus)', () => {
  it('sees the caller as CCF describes it', async () => {
    expect((await net.user.get('/app/whoami')).json()).toEqual({ policy: 'user_cert', id: userId });
  });

  it('reports the consensus status of transactions', async () => {
    const tx = txid(await net.user.post('/app/counters/status', {}));
    await net.user.waitForCommit(tx);
    const [view, seqno] = tx.split('.').map(Number) as [number, number];
    const res = await net.anonymous.get(`/app/commit-status?view=${view}&seqno=${seqno}`);
    expect(res.status, res.text()).toBe(200);
    const body = res.json();
    expect(body.status).toBe('Committed');
    expect(body.view_of_seqno).toBe(view);
    expect(body.last_committed.seqno).toBeGreaterThanOrEqual(seqno);
    expect((await net.anonymous.get(`/app/commit-status?view=${view}&seqno=${seqno + 1_000_000}`)).json().status).toBe('Unknown');
    expectError(await net.anonymous.get('/app/commit-status?view=1'), 400, 'InvalidInput');
  });
});
