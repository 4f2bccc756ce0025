// Sandbox escape attempts: each must be denied inside the sandbox (a JS error or nothing to reach),
// never reach Node, the filesystem, the host function, or maps the capability table withholds.

import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../kv/index.ts';
import { loadJsApp, type InvokeResult, type JsApp } from './index.ts';
import { handlerBundle, makeRequest } from './testing.ts';

const apps: JsApp[] = [];
afterEach(() => {
  for (const app of apps.splice(0)) app.dispose();
});

async function app(source: string, mode: 'readwrite' | 'readonly' = 'readwrite'): Promise<JsApp> {
  const loaded = await loadJsApp(handlerBundle(source, { mode }));
  apps.push(loaded);
  return loaded;
}

function run(target: JsApp, store = new Store()): InvokeResult {
  const endpoint = target.endpoints[0]!;
  return target.invoke(endpoint, makeRequest(endpoint.method, '/t'), store.begin());
}

function body(result: InvokeResult): unknown {
  if (!result.ok) throw result.error;
  const text = new TextDecoder().decode(result.response.body);
  return result.response.headers['content-type'] === 'application/json' ? JSON.parse(text) : text;
}

function thrown(result: InvokeResult): { name: string; message: string } {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code).toBe('JS_EXCEPTION');
  return result.error.details!;
}

const ES_GLOBALS = new Set([
  'Object', 'Function', 'Array', 'Number', 'parseFloat', 'parseInt', 'Infinity', 'NaN', 'undefined', 'Boolean', 'String',
  'Symbol', 'Date', 'Promise', 'RegExp', 'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError',
  'SyntaxError', 'TypeError', 'URIError', 'InternalError', 'globalThis', 'JSON', 'Math', 'Intl', 'ArrayBuffer',
  'SharedArrayBuffer', 'Atomics', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array',
  'Float16Array', 'Float32Array', 'Float64Array', 'Uint8ClampedArray', 'BigUint64Array', 'BigInt64Array', 'DataView',
  'Map', 'BigInt', 'Set', 'WeakMap', 'WeakSet', 'Proxy', 'Reflect', 'FinalizationRegistry', 'WeakRef', 'decodeURI',
  'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'eval', 'isFinite', 'isNaN', 'Iterator',
]);

describe('the sandbox global', () => {
  it('holds ECMAScript built-ins, ccf, console and snp_attestation (as CCF), and nothing of Node', async () => {
    const names = body(run(await app('export function handler() { return { body: Object.getOwnPropertyNames(globalThis) }; }'))) as string[];
    const extra = names.filter((n) => !ES_GLOBALS.has(n));
    expect(extra.sort()).toEqual(['ccf', 'console', 'snp_attestation']);
  });

  it.each([
    'process', 'require', 'module', 'exports', '__dirname', 'Buffer', 'fetch', 'setTimeout', 'setImmediate', 'queueMicrotask',
    'WebAssembly', 'std', 'os', 'print', 'scriptArgs', 'performance', 'navigator', 'XMLHttpRequest', 'importScripts',
  ])('has no %s', async (name) => {
    const result = run(await app(`export function handler() { return { body: typeof ${name} }; }`));
    expect(body(result)).toBe('undefined');
  });

  it('the constructor-chain escapes reach only the sandbox realm', async () => {
    const result = run(await app(`export function handler() {
      const viaFunction = (function () {}).constructor('return this')();
      const viaObject = ({}).constructor.constructor('return this')();
      const viaArrow = (() => {}).constructor('return typeof process + "," + typeof require')();
      const viaAsync = (async function () {}).constructor;
      let ctorChain;
      try { ctorChain = this.constructor.constructor('return process')(); } catch (e) { ctorChain = e.name; }
      let direct;
      try { direct = Function('return process')(); } catch (e) { direct = e.name + ': ' + e.message; }
      return { body: {
        sameGlobal: viaFunction === globalThis && viaObject === globalThis,
        viaArrow, ctorChain, direct,
        evalProcess: eval('typeof process'),
        asyncCtor: typeof viaAsync('return 1'),
      } };
    }`));
    expect(body(result)).toEqual({
      sameGlobal: true,
      viaArrow: 'undefined,undefined',
      ctorChain: 'TypeError', // handlers are called with this === undefined
      direct: "ReferenceError: 'process' is not defined",
      evalProcess: 'undefined',
      asyncCtor: 'function',
    });
  });

  it('the host function is not reachable from anything the app can walk', async () => {
    const result = run(await app(`export function handler() {
      const seen = new Set(), found = [];
      const walk = (value, path, depth) => {
        if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value) || depth > 8) return;
        seen.add(value);
        if (typeof value === 'function' && value.name === 'host') found.push(path);
        for (const key of Reflect.ownKeys(value)) {
          let child;
          try { const d = Object.getOwnPropertyDescriptor(value, key); child = d && ('value' in d ? d.value : d.get); } catch { continue; }
          walk(child, path + '.' + String(key), depth + 1);
        }
        walk(Object.getPrototypeOf(value), path + '.__proto__', depth + 1);
      };
      walk(globalThis, 'globalThis', 0);
      walk(ccf.kv.records, 'map', 0);
      return { body: { found, walked: seen.size } };
    }`));
    const out = body(result) as { found: string[]; walked: number };
    expect(out.found).toEqual([]);
    expect(out.walked).toBeGreaterThan(500);
  });
});

describe('modules', () => {
  it.each(['fs', 'node:fs', 'child_process', '../../../etc/passwd', '/etc/passwd', 'http://example.com/x.js', 'app.js/../fs'])(
    'refuses a dynamic import of %s',
    async (specifier) => {
      const result = run(await app(`export async function handler() {
        try { await import(${JSON.stringify(specifier)}); return { body: 'imported' }; }
        catch (e) { return { body: e.name + ': ' + e.message }; }
      }`));
      expect(body(result)).toMatch(/^ReferenceError: module '.*' is not part of this app's bundle$/);
    },
  );

  it('refuses to load a bundle whose module statically imports something outside it', async () => {
    await expect(loadJsApp(handlerBundle("import { readFileSync } from 'fs';\nexport function handler() { return {}; }"))).rejects.toMatchObject({
      code: 'JS_MODULE_LOAD_FAILED',
      message: expect.stringMatching(/module 'fs' is not part of this app's bundle/),
    });
  });

  it('resolves relative imports within the bundle, one instance per module', async () => {
    const loaded = await loadJsApp(
      handlerBundle(
        "import { C, make } from './lib/b.js';\nimport { C as C2 } from './lib/sub/c.js';\nexport async function handler() { const again = await import('./lib/sub/c.js'); return { body: [make() instanceof C, C === C2, again.C === C] }; }",
        {
          extraModules: [
            { name: 'lib/b.js', module: "export { C } from './sub/c.js';\nimport { C } from './sub/c.js';\nexport const make = () => new C();" },
            { name: 'lib/sub/c.js', module: 'export class C {}' },
          ],
        },
      ),
    );
    apps.push(loaded);
    expect(body(run(loaded))).toEqual([true, true, true]);
  });
});

describe('ccf.kv capability table', () => {
  it.each([
    ['ccf.internal.values', 'get', 'not accessible', 'internal maps'],
    ['public:ccf.internal.signatures', 'get', 'not accessible', 'internal maps'],
    ['public:ccf.internal.nodes', 'forEach', 'not accessible', 'internal maps'],
    ['ccf.gov.members.encryption_keys', 'has', 'not accessible', 'private governance maps'],
    ['public:ccf.gov.users.certs', 'set', 'read-only', 'governance maps'],
    ['public:ccf.gov.nodes.info', 'delete', 'read-only', 'governance maps'],
    ['public:ccf.gov.constitution', 'clear', 'read-only', 'governance maps'],
    ['ccf.mine', 'get', 'not accessible', 'reserved'],
    ['public:ccf.mine', 'set', 'not accessible', 'reserved'],
  ])('%s: %s is denied', async (map, method, state, rule) => {
    const call =
      method === 'forEach' ? 'm.forEach(() => {})' : method === 'set' ? 'm.set(k, k)' : method === 'clear' ? 'm.clear()' : `m.${method}(k)`;
    const details = thrown(run(await app(`export function handler() { const m = ccf.kv[${JSON.stringify(map)}]; const k = new ArrayBuffer(1); ${call}; return {}; }`)));
    expect(details.name).toBe('TypeError');
    expect(details.message).toContain(`Cannot call ${method} on map '${map}'`);
    expect(details.message).toContain(state);
    expect(details.message).toContain(rule);
  });

  it('lets apps read governance maps, and never hands out internal state', async () => {
    const store = new Store();
    const seed = store.begin();
    seed.map('public:ccf.gov.service.info').set(new Uint8Array([0]), new TextEncoder().encode('{"status":"Open"}'));
    seed.map('public:ccf.internal.tree').set(new Uint8Array([0]), new Uint8Array([42]));
    store.commit(seed);
    const result = run(await app(`export function handler() {
      const info = ccf.bufToStr(ccf.kv['public:ccf.gov.service.info'].get(new Uint8Array([0]).buffer));
      let internal;
      try { ccf.kv['public:ccf.internal.tree'].get(new Uint8Array([0]).buffer); } catch (e) { internal = e.name; }
      return { body: { info, internal } };
    }`), store);
    expect(body(result)).toEqual({ info: '{"status":"Open"}', internal: 'TypeError' });
  });

  it('a forged handle (the hidden id copied onto another object) is still checked by map name', async () => {
    const result = run(await app(`export function handler() {
      const secret = ccf.kv['ccf.internal.secrets'];
      const [id] = Object.getOwnPropertySymbols(secret);
      const forged = Object.create(Object.getPrototypeOf(ccf.kv.records));
      forged[id] = secret[id];
      const out = [];
      for (const target of [forged, { [id]: secret[id] }]) {
        try { ccf.kv.records.get.call(target, new ArrayBuffer(1)); out.push('read'); } catch (e) { out.push(e.message.slice(0, 46)); }
      }
      try { ccf.kv.records.get.call({ [id]: 12345 }, new ArrayBuffer(1)); } catch (e) { out.push(e.message); }
      let sideEffect = false;
      try { ccf.kv.records.get.call({ [id]: { valueOf() { sideEffect = true; return 0; } } }, new ArrayBuffer(1)); } catch (e) { out.push(e.message); }
      out.push(sideEffect);
      return { body: out };
    }`));
    expect(body(result)).toEqual([
      "Cannot call get on map 'ccf.internal.secrets':",
      "Cannot call get on map 'ccf.internal.secrets':",
      'not a kv map handle',
      'not a kv map handle',
      false, // an object id is never converted (its valueOf would run inside the host call)
    ]);
  });

  it('refuses kv access outside a request (module top-level code)', async () => {
    await expect(loadJsApp(handlerBundle("ccf.kv.records.get(new ArrayBuffer(1));\nexport function handler() { return {}; }"))).rejects.toMatchObject({
      code: 'JS_MODULE_LOAD_FAILED',
      message: expect.stringContaining('ccf.kv is only available while a request is handled'),
    });
  });

  it('a request object kept past its request cannot read the next request', async () => {
    const loaded = await app(`let kept;
      export function handler(request) {
        if (kept === undefined) { kept = request; return { body: 'kept' }; }
        const out = [];
        for (const read of [() => kept.body.text(), () => kept.query, () => kept.body.arrayBuffer()]) {
          try { read(); out.push('read'); } catch (e) { out.push(e.message); }
        }
        return { body: out };
      }`);
    expect(body(run(loaded))).toBe('kept');
    const stale = 'this request object belongs to a request that has already been handled';
    expect(body(run(loaded))).toEqual([stale, stale, stale]);
  });

  it('two apps share nothing: globals set by one are invisible to the other', async () => {
    const writer = await app('export function handler() { globalThis.leak = 42; Object.prototype.polluted = 1; return { body: typeof leak }; }');
    const reader = await app('export function handler() { return { body: [typeof globalThis.leak, ({}).polluted === undefined] }; }');
    expect(body(run(writer))).toBe('number');
    expect(body(run(reader))).toEqual(['undefined', true]);
  });
});
