// The logging sample (samples/logging-js) against a real node/kv Store: begin a Tx, invoke, commit, read
// back through a new Tx. Also checks the key layout matches the native app, so the two interchange, and
// the historical endpoints and claims (record_claim) CCF's sample has.

import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../kv/index.ts';
import { loggingApp } from '../apps/logging.ts';
import type { EndpointContext } from '../enclave/frontend.ts';
import { loadJsApp, type JsApp } from './index.ts';
import { makeRequest, readBundleDirectory } from './testing.ts';

const SAMPLE = fileURLToPath(new URL('../../samples/logging-js', import.meta.url));
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
let app: JsApp;

beforeAll(async () => {
  app = await loadJsApp(readBundleDirectory(SAMPLE));
});
afterAll(() => app.dispose());

function call(store: Store, method: string, path: string, options: Parameters<typeof makeRequest>[2]) {
  const tx = store.begin();
  const result = app.invoke({ method, path }, makeRequest(method, path, options), tx);
  if (!result.ok) throw result.error;
  const commit = store.commit(tx);
  expect(commit.ok).toBe(true);
  return { ...result.response, text: decode(result.response.body), commit };
}

function u64(id: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(id), true);
  return key;
}

describe('samples/logging-js', () => {
  it('exposes CCF logging endpoints with the modes of app.json', () => {
    expect(app.endpoints.map((e) => `${e.method} ${e.path} ${e.properties.mode}`)).toEqual([
      'POST /log/private readwrite',
      'GET /log/private readonly',
      'GET /log/private/historical historical',
      'GET /log/private/historical_receipt historical',
      'GET /log/private/historical/range readonly',
      'POST /log/private/jwt readwrite',
      'GET /log/private/jwt readonly',
      'POST /log/public readwrite',
      'GET /log/public readonly',
      'GET /log/public/historical historical',
      'GET /log/public/historical_receipt historical',
      'GET /log/public/historical/range readonly',
      'POST /log/public/jwt readwrite',
      'GET /log/public/jwt readonly',
      'GET /log/public/anonymous readonly',
    ]);
  });

  it('writes a private message, commits it, and reads it back in a later transaction', () => {
    const store = new Store();
    const msg = 'é'.repeat(128); // 256 bytes of UTF-8
    const write = call(store, 'POST', '/log/private', { body: { id: 42, msg } });
    expect(write.status).toBe(200);
    expect(write.text).toBe('true');
    expect(write.headers['content-type']).toBe('application/json');
    expect(write.commit.ok && write.commit.seqno).toBe(1);
    // Stored exactly as the native app stores it.
    const check = store.begin();
    expect(decode(check.map('records').get(u64(42))!)).toBe(msg);
    const read = call(store, 'GET', '/log/private', { query: 'id=42' });
    expect(read.status).toBe(200);
    expect(JSON.parse(read.text)).toEqual({ msg });
    expect(read.commit.ok && read.commit.seqno).toBeUndefined(); // a read writes nothing
  });

  it('answers 404 with an error body for an unknown id, and 400 for a bad one', () => {
    const store = new Store();
    const missing = call(store, 'GET', '/log/private', { query: 'id=7' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({ error: { code: 'ResourceNotFound', message: 'No message with id 7.' } });
    expect(call(store, 'GET', '/log/private', { query: 'id=-1' }).status).toBe(400);
    expect(call(store, 'POST', '/log/private', { body: '{not json' }).status).toBe(400);
    expect(call(store, 'POST', '/log/private', { body: { id: 1, msg: 5 } }).status).toBe(400);
  });

  it('keeps public and private messages in their own maps', () => {
    const store = new Store();
    call(store, 'POST', '/log/public', { body: { id: 1, msg: 'public one' } });
    const tx = store.begin();
    expect(decode(tx.map('public:records').get(u64(1))!)).toBe('public one');
    expect(tx.map('records').get(u64(1))).toBeUndefined();
    expect(call(store, 'GET', '/log/private', { query: 'id=1' }).status).toBe(404);
    expect(JSON.parse(call(store, 'GET', '/log/public', { query: 'id=1' }).text)).toEqual({ msg: 'public one' });
  });

  it('interchanges with the native logging app: each reads what the other wrote', () => {
    const store = new Store();
    call(store, 'POST', '/log/private', { body: { id: 2 ** 40 + 3, msg: 'from js' } });
    const native = (method: string, path: string, query: string, body?: unknown) => {
      const endpoint = loggingApp.endpoints.find((e) => e.method === method && e.path === path)!;
      const tx = store.begin();
      const request = makeRequest(method, path.replace('/app', ''), { query, body });
      const ctx = {
        method, path, params: {}, query: new URLSearchParams(query), headers: request.headers, body: request.body,
        caller: { policy: 'user_cert' }, json: () => JSON.parse(decode(request.body)), tx, setClaimsDigest: () => {},
        rawQuery: query, setApplyWrites: () => {},
      } as EndpointContext; // the frontend's context type is still growing: cast rather than pin its shape
      const response = endpoint.handler!(ctx);
      expect(store.commit(tx).ok).toBe(true);
      return response;
    };
    expect(native('GET', '/app/log/private', `id=${2 ** 40 + 3}`).body).toEqual({ msg: 'from js' });
    native('POST', '/app/log/private', '', { id: 9, msg: 'from native' });
    expect(JSON.parse(call(store, 'GET', '/log/private', { query: 'id=9' }).text)).toEqual({ msg: 'from native' });
  });

  it('leaks nothing: heap and linear memory stay flat over many calls', () => {
    const store = new Store();
    const round = (n: number) => {
      for (let i = 0; i < n; i++) {
        call(store, 'POST', '/log/private', { body: { id: i % 50, msg: 'm'.repeat(i % 300) } });
        call(store, 'GET', '/log/private', { query: `id=${i % 60}` });
        store.compact(store.version);
      }
    };
    round(500);
    const before = app.stats;
    round(3_000);
    const after = app.stats;
    expect(after.heapUsedBytes! - before.heapUsedBytes!).toBeLessThan(16 * 1024);
    expect(after.memoryBytes).toBe(before.memoryBytes);
  });

  it('record_claim sets the claims digest to SHA-256 of the message; a non-boolean is a 400', () => {
    const msg = 'claimed message';
    const tx = new Store().begin();
    const result = app.invoke({ method: 'POST', path: '/log/public' }, makeRequest('POST', '/log/public', { body: { id: 3, msg, record_claim: true } }), tx);
    if (!result.ok) throw result.error;
    expect(Buffer.from(result.claimsDigest!).toString('hex')).toBe(createHash('sha256').update(msg).digest('hex'));
    const plain = app.invoke({ method: 'POST', path: '/log/private' }, makeRequest('POST', '/log/private', { body: { id: 3, msg } }), new Store().begin());
    expect(plain.ok && plain.claimsDigest).toBeUndefined();
    expect(call(new Store(), 'POST', '/log/private', { body: { id: 3, msg, record_claim: 'yes' } }).status).toBe(400);
  });

  it('historical endpoints read what the transaction wrote, with its receipt on request', () => {
    const past = new Store();
    past.restore({ version: 11, maps: [] });
    past.applyWrites(12, [{ name: 'records', writes: [[u64(5), new TextEncoder().encode('then')]], removes: [] }]);
    const current = new Store();
    call(current, 'POST', '/log/private', { body: { id: 5, msg: 'now' } });
    const receipt = { signature: 'c2ln', proof: [], is_signature_transaction: false };
    const historical = (path: string, query: string) => {
      const result = app.invoke({ method: 'GET', path }, makeRequest('GET', path, { query }), current.begin(),
        { historical: { transactionId: '2.12', receipt, tx: past.begin() } });
      if (!result.ok) throw result.error;
      return { status: result.response.status, body: JSON.parse(decode(result.response.body)) };
    };
    expect(historical('/log/private/historical', 'id=5')).toEqual({ status: 200, body: { msg: 'then' } });
    expect(historical('/log/private/historical_receipt', 'id=5')).toEqual({ status: 200, body: { msg: 'then', receipt } });
    expect(historical('/log/private/historical_receipt', 'id=6').status).toBe(404);
    expect(historical('/log/public/historical', 'id=5').status).toBe(404);
  });

  it('refuses a write in a readonly endpoint: the GET handler cannot write even if it tried', async () => {
    const bundle = readBundleDirectory(SAMPLE);
    const sneaky = {
      ...bundle,
      modules: bundle.modules.map((m) => ({
        ...m,
        module: m.module.replace('export function get_private(request) {', "export function get_private(request) {\n  ccf.kv.records.set(new ArrayBuffer(8), new ArrayBuffer(1));"),
      })),
    };
    const other = await loadJsApp(sneaky);
    const tx = new Store().begin();
    const result = other.invoke({ method: 'GET', path: '/log/private' }, makeRequest('GET', '/log/private', { query: 'id=1' }), tx);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('JS_EXCEPTION');
      expect(result.error.details?.message).toMatch(/Cannot call set on map 'records': it is read-only.*readonly endpoints/);
    }
    other.dispose();
  });
});
