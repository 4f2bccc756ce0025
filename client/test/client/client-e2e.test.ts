// SynodClient against a real node process over HTTPS (test/helpers/network.ts): writes and reads as
// user0 with certificate auth, typed 4xx errors with the service's codes, waitForCommit (Committed,
// Invalid, timeout), getReceipt in both formats verified against the pinned service certificate,
// and the pinning itself: a client that trusts another certificate cannot even connect.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CommitTimeoutError,
  InvalidRequestError,
  NotFoundError,
  RequestTooLargeError,
  SynodClient,
  SynodHttpError,
  SynodNetworkError,
  TransactionInvalidError,
  UnauthorizedError,
  createClient,
  verifyCoseReceipt,
  verifyReceipt,
} from '../../src/index.ts';
import { startTestNetwork, type TestNetwork } from '../../../test/helpers/network.ts';
import { makeIdentity } from '../helpers/identities.ts';

let net: TestNetwork;
let user: SynodClient;
let anonymous: SynodClient;
let member: SynodClient;

beforeAll(async () => {
  net = await startTestNetwork({ signatureDelayMs: 5 });
  const url = `https://${net.node.status.rpcAddress}`;
  const read = (name: string) => readFileSync(join(net.common, name), 'utf8');
  user = createClient({ url, serviceCert: net.serviceCert, identity: { certPem: read('user0_cert.pem'), keyPem: read('user0_privk.pem') } });
  member = createClient({ url, serviceCert: net.serviceCert, identity: { certPem: read('member0_cert.pem'), keyPem: read('member0_privk.pem'), role: 'member' } });
  anonymous = createClient({ url, serviceCert: net.serviceCert });
});

afterAll(async () => {
  for (const c of [user, anonymous, member]) c?.close();
  await net?.stop();
});

async function errorOf(p: Promise<unknown>): Promise<SynodHttpError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(SynodHttpError);
  return e as SynodHttpError;
}

describe('SynodClient on a real node', () => {
  it('writes, waits for commit, reads back; commit() and txStatus() follow', async () => {
    const res = await user.post('/app/log/private', { id: 1, msg: 'hello client' });
    expect(res.status).toBe(200);
    expect(res.txid).toMatch(/^\d+\.\d+$/);
    await user.waitForCommit(res.txid!);
    expect(await user.txStatus(res.txid!)).toBe('Committed');
    expect((await user.get('/app/log/private?id=1')).json()).toEqual({ msg: 'hello client' });
    const [view, seqno] = (await anonymous.commit()).split('.').map(Number);
    expect(seqno).toBeGreaterThanOrEqual(Number(res.txid!.split('.')[1]));
    expect(view).toBe(Number(res.txid!.split('.')[0]));
  });

  it('getReceipt waits for the receipt and verifies it, JSON and COSE, against the pinned certificate', async () => {
    const { txid } = await user.post('/app/log/public', { id: 2, msg: 'receipted' });
    // No waitForCommit first: getReceipt does the waiting itself.
    const json = await anonymous.getReceipt(txid!, { timeoutMs: 10_000 });
    expect(json.format).toBe('json');
    expect(json.verified?.txid).toBe(txid);
    expect(json.verified?.serviceKeyId).toBeDefined();
    expect(verifyReceipt(json.receipt, { serviceCert: net.serviceCert }).txid).toBe(txid);
    const cose = await anonymous.getReceipt(txid!, { format: 'cose' });
    expect(cose.format).toBe('cose');
    expect(cose.verified?.txid).toBe(txid);
    expect(verifyCoseReceipt(cose.receipt as Uint8Array, { serviceCert: net.serviceCert }).root).toBe(cose.verified!.root);
  });

  it('turns 4xx answers into typed errors carrying the service code and message', async () => {
    const notFound = await errorOf(user.get('/app/log/private?id=987654'));
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect([notFound.status, notFound.code]).toEqual([404, 'ResourceNotFound']);
    expect(notFound.serviceMessage).toContain('987654');
    const bad = await errorOf(user.post('/app/log/private', { id: -1, msg: 'x' }));
    expect(bad).toBeInstanceOf(InvalidRequestError);
    expect([bad.status, bad.code]).toEqual([400, 'InvalidInput']);
    const notJson = await errorOf(user.post('/app/log/private', '{not json', { headers: { 'content-type': 'application/json' } }));
    expect(notJson.code).toBe('InvalidInput');
    const anon = await errorOf(anonymous.post('/app/log/private', { id: 5, msg: 'x' }));
    expect(anon).toBeInstanceOf(UnauthorizedError);
    expect(anon.code).toBe('Unauthorized');
    // A member's certificate is not a user's: the node says so with the same code.
    expect((await errorOf(member.post('/app/log/private', { id: 5, msg: 'x' }))).code).toBe('Unauthorized');
    const path = await errorOf(anonymous.get('/app/no/such/path'));
    expect([path.constructor, path.code]).toEqual([NotFoundError, 'UnknownURLPath']);
    expect((await errorOf(anonymous.call('DELETE', '/app/commit'))).code).toBe('UnsupportedHttpMethod');
    expect((await errorOf(anonymous.get('/app/tx?transaction_id=abc'))).code).toBe('InvalidTransactionId');
    const big = await errorOf(user.post('/app/log/private', { id: 6, msg: 'x'.repeat(2 * 1024 * 1024) }));
    expect(big).toBeInstanceOf(RequestTooLargeError);
    expect(big.code).toBe('RequestBodyTooLarge');
  });

  it('waitForCommit: Invalid for another view, CommitTimeoutError for a transaction that never comes', async () => {
    const { txid } = await user.post('/app/log/private', { id: 3, msg: 'x' });
    await user.waitForCommit(txid!);
    const [view, seqno] = txid!.split('.').map(Number) as [number, number];
    await expect(anonymous.waitForCommit(`${view + 5}.${seqno}`)).rejects.toBeInstanceOf(TransactionInvalidError);
    await expect(anonymous.getReceipt(`${view + 5}.${seqno}`)).rejects.toBeInstanceOf(TransactionInvalidError);
    const started = Date.now();
    const timeout = (await anonymous.waitForCommit(`${view}.${seqno + 100_000}`, { timeoutMs: 300 }).catch((e: unknown) => e)) as CommitTimeoutError;
    expect(timeout).toBeInstanceOf(CommitTimeoutError);
    expect(timeout.lastStatus).toBe('Unknown');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('is pinned: a client trusting another certificate fails the TLS check; a closed port is a network error', async () => {
    const other = makeIdentity('not-the-service', 'P-384');
    const url = `https://${net.node.status.rpcAddress}`;
    const wrong = createClient({ url, serviceCert: other.certPem });
    const tls = (await wrong.commit().catch((e: unknown) => e)) as SynodNetworkError;
    wrong.close();
    expect(tls).toBeInstanceOf(SynodNetworkError);
    expect(tls.code).toBe('CLIENT_TLS');
    const closed = createClient({ url: 'https://127.0.0.1:1', serviceCert: net.serviceCert });
    const down = (await closed.commit().catch((e: unknown) => e)) as SynodNetworkError;
    closed.close();
    expect(down).toBeInstanceOf(SynodNetworkError);
    expect(down.code).toBe('CLIENT_NETWORK');
  });

  it('bounds response size and time to a response', async () => {
    const url = `https://${net.node.status.rpcAddress}`;
    const tiny = createClient({ url, serviceCert: net.serviceCert, responseBytesMax: 100 });
    const big = (await tiny.get('/app/api').catch((e: unknown) => e)) as SynodNetworkError;
    tiny.close();
    expect(big).toBeInstanceOf(SynodNetworkError);
    expect(big.code).toBe('CLIENT_RESPONSE_TOO_LARGE');
    // A server that accepts connections and never answers (not even the TLS handshake).
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const hasty = createClient({ url: `https://127.0.0.1:${port}`, serviceCert: net.serviceCert, requestTimeoutMs: 200 });
    const started = Date.now();
    const slow = (await hasty.commit().catch((e: unknown) => e)) as SynodNetworkError;
    hasty.close();
    for (const socket of sockets) socket.destroy();
    silent.close();
    expect(slow).toBeInstanceOf(SynodNetworkError);
    expect(slow.code).toBe('CLIENT_REQUEST_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('bounds its sockets: 40 concurrent calls queue on 2 sockets and all succeed', async () => {
    const url = `https://${net.node.status.rpcAddress}`;
    const narrow = createClient({ url, serviceCert: net.serviceCert, socketsMax: 2 });
    const pending = Promise.all(Array.from({ length: 40 }, () => narrow.get('/node/version')));
    // Reaching into the transport's agent (test only): open sockets never exceed the bound.
    const agent = (narrow as unknown as { transport: { agent: import('node:https').Agent } }).transport.agent;
    let socketsPeak = 0;
    const sample = setInterval(() => (socketsPeak = Math.max(socketsPeak, Object.values(agent.sockets).flat().length)), 1);
    const answers = await pending;
    clearInterval(sample);
    narrow.close();
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(socketsPeak).toBeGreaterThan(0);
    expect(socketsPeak).toBeLessThanOrEqual(2);
  });
});
