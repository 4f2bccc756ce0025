// The ccf global and the request/response shapes, against a real node/kv Store: kv map semantics over
// ArrayBuffers, converters, rpc, consensus, console, and CCF's rules for response content types.

import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../kv/index.ts';
import { loadJsApp, mapAccess, type InvokeHooks, type InvokeResult, type JsApp } from './index.ts';
import { handlerBundle, makeRequest } from './testing.ts';

const apps: JsApp[] = [];
afterAll(() => apps.forEach((a) => a.dispose()));

async function app(source: string, mode: 'readwrite' | 'readonly' = 'readwrite'): Promise<JsApp> {
  const loaded = await loadJsApp(handlerBundle(source, { mode }));
  apps.push(loaded);
  return loaded;
}

type RequestOptions = Parameters<typeof makeRequest>[2];

function run(target: JsApp, store: Store, options: RequestOptions = {}, hooks: InvokeHooks = {}): InvokeResult {
  const endpoint = target.endpoints[0]!;
  const tx = store.begin();
  const result = target.invoke(endpoint, makeRequest(endpoint.method, '/t', options), tx, hooks);
  if (result.ok) expect(store.commit(tx).ok).toBe(true);
  return result;
}

/** The response body: parsed when it is JSON, else its text. */
function json(result: InvokeResult): unknown {
  if (!result.ok) throw result.error;
  const text = new TextDecoder().decode(result.response.body);
  return result.response.headers['content-type'] === 'application/json' ? JSON.parse(text) : text;
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('ccf.kv', () => {
  it('get/has/set/delete/size over ArrayBuffers, seeing its own writes', async () => {
    const store = new Store();
    const seed = store.begin();
    seed.map('m').set(bytes('a'), bytes('1'));
    seed.map('m').set(bytes('b'), bytes('2'));
    store.commit(seed);
    const result = run(await app(`export function handler() {
      const m = ccf.kv.m, s = ccf.strToBuf, t = (b) => b === undefined ? null : ccf.bufToStr(b);
      const out = { before: [t(m.get(s('a'))), m.has(s('b')), m.has(s('z')), m.size] };
      out.chain = m.set(s('c'), s('3')) === m;
      out.deleted = m.delete(s('a')) === undefined;
      out.after = [t(m.get(s('a'))), t(m.get(s('c'))), m.size, m === ccf.kv['m']];
      return { body: out };
    }`), store);
    expect(json(result)).toEqual({ before: ['1', true, false, 2], chain: true, deleted: true, after: [null, '3', 2, true] });
    const check = store.begin();
    expect(check.map('m').get(bytes('a'))).toBeUndefined();
    expect(new TextDecoder().decode(check.map('m').get(bytes('c')))).toBe('3');
  });

  it('forEach gives (value, key, map) for a snapshot of the entries, in batches for large maps', async () => {
    const store = new Store();
    const seed = store.begin();
    for (let i = 0; i < 300; i++) seed.map('big').set(bytes(`k${i}`), new Uint8Array(2048).fill(i % 256));
    store.commit(seed);
    const result = run(await app(`export function handler() {
      const m = ccf.kv.big; let count = 0, bytes = 0, sameMap = true;
      m.forEach((value, key, map) => {
        count += 1; bytes += value.byteLength + key.byteLength; sameMap = sameMap && map === m;
        if (count === 1) m.set(ccf.strToBuf('added'), new ArrayBuffer(1)); // not visited: snapshot at the start
      });
      let nested = 0;
      m.forEach(() => { if (nested === 0) m.forEach(() => { nested += 1; }); });
      return { body: { count, bytes, sameMap, size: m.size, nested } };
    }`), store);
    expect(json(result)).toEqual({ count: 300, bytes: 300 * 2048 + 1090, sameMap: true, size: 301, nested: 301 });
  });

  it('clear removes everything the transaction sees', async () => {
    const store = new Store();
    const seed = store.begin();
    seed.map('m').set(bytes('x'), bytes('1'));
    store.commit(seed);
    run(await app('export function handler() { ccf.kv.m.set(ccf.strToBuf("y"), new ArrayBuffer(0)); ccf.kv.m.clear(); return { body: ccf.kv.m.size }; }'), store);
    expect(store.begin().map('m').size).toBe(0);
  });

  it('getVersionOfPreviousWrite reports the seqno of the last committed write', async () => {
    const store = new Store();
    const target = await app('export function handler(r) { const m = ccf.kv.m, k = ccf.strToBuf("k"); const v = m.getVersionOfPreviousWrite(k); m.set(k, k); return { body: v ?? null }; }');
    expect(json(run(target, store))).toBeNull();
    expect(json(run(target, store))).toBe(1);
    expect(json(run(target, store))).toBe(2);
  });

  it('refuses keys and values that are not ArrayBuffers, and oversized ones', async () => {
    const result = run(await app(`export function handler() {
      const m = ccf.kv.m, out = [];
      for (const attempt of [() => m.get('k'), () => m.set(new Uint8Array(1), new ArrayBuffer(1)), () => m.set(new ArrayBuffer(1), null),
                             () => m.set(new ArrayBuffer(1), new ArrayBuffer(2 * 1024 * 1024)), () => m.has(Object.create(ArrayBuffer.prototype))]) {
        try { attempt(); out.push('accepted'); } catch (e) { out.push(e.name + ': ' + e.message); }
      }
      return { body: out };
    }`), new Store());
    expect(json(result)).toEqual([
      'TypeError: Argument must be an ArrayBuffer',
      'TypeError: Argument must be an ArrayBuffer',
      'TypeError: Argument must be an ArrayBuffer',
      'RangeError: ArrayBuffer argument is larger than 1048576 bytes',
      'TypeError: Argument must be an ArrayBuffer',
    ]);
  });

  it('conflicting transactions: the store rejects the second commit, a re-run sees the first', async () => {
    const target = await app('export function handler() { const m = ccf.kv.c, k = ccf.strToBuf("n"); const v = m.get(k); const n = v === undefined ? 0 : new DataView(v).getUint32(0, true); const b = new ArrayBuffer(4); new DataView(b).setUint32(0, n + 1, true); m.set(k, b); return { body: n + 1 }; }');
    const store = new Store();
    const endpoint = target.endpoints[0]!;
    const [first, second] = [store.begin(), store.begin()];
    target.invoke(endpoint, makeRequest('POST', '/t'), first);
    target.invoke(endpoint, makeRequest('POST', '/t'), second);
    expect(store.commit(first).ok).toBe(true);
    expect(store.commit(second).ok).toBe(false);
    expect(json(run(target, store))).toBe(2);
  });

  it('applies the capability table: read-only everywhere in a readonly endpoint', async () => {
    expect(mapAccess('records', 'readwrite').access).toBe('read-write');
    expect(mapAccess('public:records', 'readonly').access).toBe('read-only');
    expect(mapAccess('records', 'historical').access).toBe('read-only');
    const result = run(await app('export function handler() { try { ccf.kv["public:x"].set(new ArrayBuffer(1), new ArrayBuffer(1)); } catch (e) { return { body: e.message }; } return { body: "wrote" }; }', 'readonly'), new Store());
    expect(json(result)).toMatch(/^Cannot call set on map 'public:x': it is read-only .*read-only in readonly endpoints/);
  });
});

describe('converters', () => {
  it('round-trips strings through UTF-8, including NUL, astral and lone surrogate characters', async () => {
    const result = run(await app(`export function handler() {
      const cases = ['', 'ascii', 'é€𝄞', 'a\\0b\\0', '\\ud800x', '\\udc00'];
      return { body: cases.map((s) => { const b = ccf.strToBuf(s); return [b.byteLength, ccf.bufToStr(b) === s || ccf.bufToStr(b)]; }) };
    }`), new Store());
    expect(json(result)).toEqual([[0, true], [5, true], [9, true], [4, true], [4, true], [3, true]]);
  });

  it('matches the host UTF-8 encoding', async () => {
    const result = run(await app('export function handler() { return { body: ccf.strToBuf("é€𝄞 x") }; }'), new Store());
    expect(result.ok && Buffer.from(result.response.body).toString('utf8')).toBe('é€𝄞 x');
  });

  it('jsonCompatibleToBuf and back; type errors like CCF', async () => {
    const result = run(await app(`export function handler() {
      const value = { a: [1, 'two', null, true], b: { c: 'ü' } };
      const out = [JSON.stringify(ccf.bufToJsonCompatible(ccf.jsonCompatibleToBuf(value))) === JSON.stringify(value)];
      for (const attempt of [() => ccf.strToBuf(5), () => ccf.bufToStr('x'), () => ccf.jsonCompatibleToBuf(undefined)]) {
        try { attempt(); out.push('accepted'); } catch (e) { out.push(e.name); }
      }
      return { body: out };
    }`), new Store());
    expect(json(result)).toEqual([true, 'TypeError', 'TypeError', 'TypeError']);
  });
});

describe('requests', () => {
  it('has CCF request fields: headers, params, query (raw), url, path, method, route, hostname, caller', async () => {
    const result = run(await app(`export function handler(r) {
      return { body: { headers: r.headers, params: r.params, query: r.query, url: r.url, path: r.path, method: r.method, route: r.route,
        hostname: r.hostname, caller: r.caller, text: r.body.text(), json: r.body.json(), bytes: r.body.arrayBuffer().byteLength,
        keys: Object.keys(JSON.parse(JSON.stringify(r))).sort() } };
    }`), new Store(), {
      query: 'a=1&b=%20x',
      params: { id: 'é/\0' },
      headers: { 'x-custom': 'v' },
      body: { n: 1 },
      caller: { policy: 'user_cert', id: 'abc', data: { role: 'teller' } },
    });
    expect(json(result)).toEqual({
      headers: { host: 'localhost', 'content-type': 'application/json', 'x-custom': 'v' },
      params: { id: 'é/\0' },
      query: 'a=1&b=%20x',
      url: '/app/t?a=1&b=%20x',
      path: '/app/t',
      method: 'POST',
      route: '/app/t',
      hostname: 'localhost',
      caller: { policy: 'user_cert', id: 'abc', data: { role: 'teller' } },
      text: '{"n":1}',
      json: { n: 1 },
      bytes: 7,
      keys: ['body', 'caller', 'headers', 'hostname', 'method', 'params', 'path', 'query', 'route', 'url'],
    });
  });

  it('builds a caller given as a function only when the handler reads it, and at most once', async () => {
    let built = 0;
    const caller = () => {
      built += 1;
      return { policy: 'user_cert', id: 'abc' };
    };
    const handler = await app(`export function handler(r) {
      if (r.query === 'skip') return { body: r.path };
      return { body: [r.caller.id, r.caller.policy, JSON.parse(JSON.stringify(r)).caller.id] };
    }`);
    expect(json(run(handler, new Store(), { query: 'skip', caller }))).toBe('/app/t');
    expect(built).toBe(0);
    expect(json(run(handler, new Store(), { caller }))).toEqual(['abc', 'user_cert', 'abc']);
    expect(built).toBe(1);
  });

  it('a body with NUL bytes or invalid UTF-8 reads as text like CCF (replacement characters)', async () => {
    const result = run(await app('export function handler(r) { return { body: [r.body.text(), r.body.arrayBuffer().byteLength] }; }'), new Store(), {
      body: new Uint8Array([0x61, 0x00, 0x62, 0xff, 0x63]),
    });
    expect(json(result)).toEqual(['a\0b\ufffdc', 5]);
  });
});

describe('responses', () => {
  const respond = async (expression: string) => run(await app(`export function handler() { return ${expression}; }`), new Store());
  const summary = (result: InvokeResult) =>
    result.ok ? [result.response.status, result.response.headers['content-type'] ?? null, Buffer.from(result.response.body).toString('latin1')] : result.error.code;

  it.each([
    ['{}', [200, null, '']],
    ['{ body: "hi" }', [200, 'text/plain', 'hi']],
    ['{ body: "a\\0b" }', [200, 'text/plain', 'a\0b']],
    ['{ body: { a: 1 } }', [200, 'application/json', '{"a":1}']],
    ['{ body: null }', [200, 'application/json', 'null']],
    ['{ body: 5, statusCode: 201 }', [201, 'application/json', '5']],
    ['{ body: new Uint8Array([1, 2, 3]).buffer }', [200, 'application/octet-stream', '\x01\x02\x03']],
    ['{ body: new Uint8Array([9, 1, 2, 3]).subarray(1, 3) }', [200, 'application/octet-stream', '\x01\x02']],
    ['{ body: "x", headers: { "content-type": "text/html", "x-n": 5 } }', [200, 'text/html', 'x']],
    ['{ statusCode: 404, body: { error: { code: "ResourceNotFound" } } }', [404, 'application/json', '{"error":{"code":"ResourceNotFound"}}']],
    ['Promise.resolve({ body: "later" })', [200, 'text/plain', 'later']],
    ['undefined', 'JS_INVALID_RESPONSE'],
    ['"just a string"', 'JS_INVALID_RESPONSE'],
    ['{ statusCode: 200.5 }', 'JS_INVALID_RESPONSE'],
    ['{ statusCode: "200" }', 'JS_INVALID_RESPONSE'],
    ['{ statusCode: 1000 }', 'JS_INVALID_RESPONSE'],
    ['{ body: () => 1 }', 'JS_INVALID_RESPONSE'],
    ['{ body: { toJSON() { throw new Error("no") } } }', 'JS_INVALID_RESPONSE'],
    ['{ body: 1n }', 'JS_INVALID_RESPONSE'],
    ['{ headers: { "bad header": "x" } }', 'JS_INVALID_RESPONSE'],
    ['{ headers: { "x-split": "a\\r\\nb" } }', 'JS_INVALID_RESPONSE'],
    ['Promise.reject(new Error("async failure"))', 'JS_EXCEPTION'],
  ])('%s', async (expression, expected) => {
    expect(summary(await respond(expression))).toEqual(expected);
  });

  it('an async handler can await promises and still use this request\'s Tx', async () => {
    const store = new Store();
    run(await app('export async function handler() { await null; await Promise.all([1, 2]); ccf.kv.m.set(ccf.strToBuf("k"), ccf.strToBuf("async")); return { body: "done" }; }'), store);
    expect(new TextDecoder().decode(store.begin().map('m').get(bytes('k')))).toBe('async');
  });
});

describe('rpc, consensus, console, random', () => {
  it('reports setApplyWrites and setClaimsDigest to the caller', async () => {
    const target = await app('export function handler() { ccf.rpc.setApplyWrites(true); ccf.rpc.setClaimsDigest(new Uint8Array(32).fill(7).buffer); return { statusCode: 400 }; }');
    const result = target.invoke(target.endpoints[0]!, makeRequest('POST', '/t'), new Store().begin());
    expect(result.ok && [result.response.status, result.applyWrites, Array.from(result.claimsDigest!)]).toEqual([400, true, new Array(32).fill(7)]);
    const bad = run(await app('export function handler() { try { ccf.rpc.setClaimsDigest(new ArrayBuffer(31)); } catch (e) { return { body: e.name }; } return {}; }'), new Store());
    expect(json(bad)).toBe('TypeError');
  });

  it('answers ccf.consensus from the caller\'s hooks', async () => {
    const hooks: InvokeHooks = {
      consensus: {
        lastCommittedTxId: () => ({ view: 2, seqno: 41 }),
        statusForTxId: (view, seqno) => (view === 2 && seqno <= 41 ? 'Committed' : 'Unknown'),
        viewForSeqno: (seqno) => (seqno <= 41 ? 2 : undefined),
      },
    };
    const result = run(await app(`export function handler() {
      const c = ccf.consensus; let negative;
      try { c.getStatusForTxId(-1, 1); } catch (e) { negative = e.name; }
      return { body: [c.getLastCommittedTxId(), c.getStatusForTxId(2, 40), c.getStatusForTxId(3, 1), c.getViewForSeqno(5), c.getViewForSeqno(99), negative] };
    }`), new Store(), {}, hooks);
    expect(json(result)).toEqual([{ view: 2, seqno: 41 }, 'Committed', 'Unknown', 2, null, 'RangeError']);
  });

  it('routes console output to the log hook, bounded', async () => {
    const lines: string[] = [];
    run(await app('export function handler() { console.log("a", 1, { b: 2 }, [3]); console.error(new Error("e")); for (let i = 0; i < 500; i++) console.info(i); return {}; }'), new Store(), {}, {
      log: (level, line) => lines.push(`${level} ${line}`),
    });
    expect(lines.slice(0, 2)).toEqual(['info a 1 {"b":2} [3]', 'error Error: e']);
    expect(lines.length).toBe(100);
    expect(lines.at(-1)).toContain('(further lines dropped)');
  });

  it('Math.random comes from the host entropy source, uniform in [0, 1)', async () => {
    const result = run(await app('export function handler() { const xs = Array.from({ length: 2000 }, Math.random); return { body: [Math.min(...xs) >= 0, Math.max(...xs) < 1, xs.reduce((a, b) => a + b) / xs.length, new Set(xs).size] }; }'), new Store());
    const [low, high, mean, distinct] = json(result) as [boolean, boolean, number, number];
    expect([low, high, distinct]).toEqual([true, true, 2000]);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it('ccf.historical is present (ccf-app binds it) and throws without the enclave\'s range hooks; no historicalState outside historical requests', async () => {
    const result = run(await app('export function handler() { let error; try { ccf.historical.getStateRange(1, 1, 2, 60); } catch (e) { error = e.message; } return { body: [typeof ccf.historical.dropCachedStates, ccf.historicalState === undefined, error] }; }'), new Store());
    expect(json(result)).toEqual(['function', true,
      'ccf.historical is not available to this app (the node serves no historical queries)']);
  });
});
