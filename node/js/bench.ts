// Per-call cost of the JS runtime against the native logging app, in-process, both against a node/kv
// Store: begin a Tx, run the handler, commit. Prints; asserts nothing.
//   node --import tsx node/js/bench.ts [callsPerRound]
// Rounds alternate between the variants and the median round is reported, since the machine is shared.

import { fileURLToPath } from 'node:url';
import { Store } from '../kv/index.ts';
import { loggingApp } from '../apps/logging.ts';
import type { Endpoint, EndpointContext } from '../enclave/frontend.ts';
import { loadJsApp } from './index.ts';
import { makeRequest, readBundleDirectory } from './testing.ts';

const CALLS = Number(process.argv[2] ?? 20_000);
const ROUNDS = 7;
const MSG = 'x'.repeat(256);
const SAMPLE = fileURLToPath(new URL('../../samples/logging-js', import.meta.url));

const app = await loadJsApp(readBundleDirectory(SAMPLE));
const trivial = await loadJsApp({
  metadata: { endpoints: { '/nop': { post: { js_module: 'nop.js', js_function: 'nop', authn_policies: [], forwarding_required: 'never' } } } },
  modules: [{ name: 'nop.js', module: 'export function nop() { return {}; }' }],
});

function nativeEndpoint(method: string): Endpoint {
  return loggingApp.endpoints.find((e) => e.method === method && e.path === '/app/log/private')!;
}

function nativeCall(store: Store, endpoint: Endpoint, id: number, query: string, body: Uint8Array): void {
  const tx = store.begin();
  const ctx = {
    method: endpoint.method, path: endpoint.path, params: {}, query: new URLSearchParams(query), headers: {}, body,
    caller: { policy: 'user_cert', id: 'a'.repeat(64) },
    json: () => JSON.parse(Buffer.from(body).toString('utf8')), tx, setClaimsDigest: () => {},
    rawQuery: query, setApplyWrites: () => {},
  } as EndpointContext; // the frontend's context type is still growing: cast rather than pin its shape
  endpoint.handler!(ctx);
  if (!store.commit(tx).ok) throw new Error(`commit failed for ${id}`);
}

const variants: Record<string, (store: Store, i: number) => void> = {
  'native write': (store, i) => nativeCall(store, nativeEndpoint('POST'), i, '', Buffer.from(JSON.stringify({ id: i, msg: MSG }))),
  'js write': (store, i) => {
    const tx = store.begin();
    const r = app.invoke({ method: 'POST', path: '/log/private' }, makeRequest('POST', '/log/private', { body: { id: i, msg: MSG } }), tx);
    if (!r.ok || !store.commit(tx).ok) throw new Error('js write failed');
  },
  'native read': (store, i) => nativeCall(store, nativeEndpoint('GET'), i, `id=${i % 1000}`, new Uint8Array(0)),
  'js read': (store, i) => {
    const tx = store.begin();
    const r = app.invoke({ method: 'GET', path: '/log/private' }, makeRequest('GET', '/log/private', { query: `id=${i % 1000}` }), tx);
    if (!r.ok || r.response.status !== 200 || !store.commit(tx).ok) throw new Error('js read failed');
  },
  'js empty handler': (store) => {
    const tx = store.begin();
    const r = trivial.invoke({ method: 'POST', path: '/nop' }, makeRequest('POST', '/nop'), tx);
    if (!r.ok) throw new Error('nop failed');
    store.commit(tx);
  },
};

function freshStore(): Store {
  const store = new Store();
  for (let i = 0; i < 1000; i++) variants['native write']!(store, i);
  return store;
}

// Wall time and this process's CPU time per call (CPU time is steadier on a shared machine).
const samples: Record<string, { wallUs: number[]; cpuUs: number[] }> = Object.fromEntries(Object.keys(variants).map((k) => [k, { wallUs: [], cpuUs: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(variants)) {
    const store = freshStore();
    for (let i = 0; i < 500; i++) run(store, i); // warm up
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) {
      run(store, i);
      if (i % 10_000 === 9_999) store.compact(store.version);
    }
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    samples[name]!.wallUs.push((wallMs * 1000) / CALLS);
    samples[name]!.cpuUs.push((used.user + used.system) / CALLS);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${CALLS} calls per round, ${ROUNDS} rounds, medians; each call = begin Tx + handler + commit`);
console.log(`${''.padEnd(18)} ${'wall µs'.padStart(9)} ${'cpu µs'.padStart(9)} ${'calls/s (cpu)'.padStart(14)}`);
for (const [name, { wallUs, cpuUs }] of Object.entries(samples)) {
  const cpu = median(cpuUs);
  console.log(`${name.padEnd(18)} ${median(wallUs).toFixed(2).padStart(9)} ${cpu.toFixed(2).padStart(9)} ${Math.round(1e6 / cpu).toString().padStart(14)}`);
}
