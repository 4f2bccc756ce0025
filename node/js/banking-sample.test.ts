// The banking sample (samples/banking) against a real Store, including two transfers racing on the same
// account: the second commit conflicts, and its re-run (what the node does) sees the first.

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store, type Tx } from '../kv/index.ts';
import { loadJsApp, type JsApp } from './index.ts';
import { makeRequest, readBundleDirectory } from './testing.ts';

const SAMPLE = fileURLToPath(new URL('../../samples/banking', import.meta.url));
const ALICE = { policy: 'user_cert', id: 'a'.repeat(64) };
const BOB = { policy: 'user_cert', id: 'b'.repeat(64) };
let app: JsApp;

beforeAll(async () => {
  app = await loadJsApp(readBundleDirectory(SAMPLE));
});
afterAll(() => app.dispose());

interface Call { method: string; path: string; route?: string; params?: Record<string, string>; body?: unknown; caller?: unknown }

function invoke(tx: Tx, call: Call) {
  const result = app.invoke({ method: call.method, path: call.route ?? call.path }, { ...makeRequest(call.method, call.path, call), route: `/app${call.route ?? call.path}` }, tx);
  if (!result.ok) throw result.error;
  return { status: result.response.status, body: JSON.parse(new TextDecoder().decode(result.response.body)) as Record<string, unknown> };
}

/** Runs a call in its own transaction and commits it, re-running on conflict as the node does. */
function call(store: Store, c: Call) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const tx = store.begin();
    const response = invoke(tx, c);
    if (store.commit(tx).ok) return response;
  }
  throw new Error('kept conflicting');
}

const open = (name: string, caller = ALICE) => ({ method: 'POST', path: '/accounts', body: { name }, caller });
const deposit = (name: string, amount: number) => ({ method: 'POST', path: `/accounts/${name}/deposit`, route: '/accounts/{account}/deposit', params: { account: name }, body: { amount } });
const transfer = (from: string, to: string, amount: number, caller = ALICE) => ({ method: 'POST', path: '/transfers', body: { from, to, amount }, caller });
const balance = (store: Store, name: string) =>
  call(store, { method: 'GET', path: `/accounts/${name}`, route: '/accounts/{account}', params: { account: name } }).body.balance;

describe('samples/banking', () => {
  it('opens accounts, deposits, transfers, and records the transfer', () => {
    const store = new Store();
    expect(call(store, open('alice'))).toEqual({ status: 201, body: { name: 'alice', balance: 0 } });
    call(store, open('bob', BOB));
    expect(call(store, open('alice')).status).toBe(409);
    expect(call(store, deposit('alice', 100)).body).toEqual({ balance: 100 });
    expect(call(store, transfer('alice', 'bob', 30)).body).toEqual({ transfer: 'alice/1', balance: 70 });
    expect([balance(store, 'alice'), balance(store, 'bob')]).toEqual([70, 30]);
    const record = call(store, { method: 'GET', path: '/accounts/alice/transfers/1', route: '/accounts/{account}/transfers/{n}', params: { account: 'alice', n: '1' } });
    expect(record.body).toEqual({ from: 'alice', to: 'bob', amount: 30 });
  });

  it('refuses overdrafts, other owners, bad amounts and unknown accounts without writing', () => {
    const store = new Store();
    call(store, open('alice'));
    call(store, open('bob', BOB));
    call(store, deposit('alice', 10));
    const versionBefore = store.version;
    expect(call(store, transfer('alice', 'bob', 11)).body).toMatchObject({ error: { code: 'InsufficientFunds' } });
    expect(call(store, transfer('alice', 'bob', 5, BOB)).status).toBe(403);
    expect(call(store, transfer('alice', 'bob', 1.5)).status).toBe(400);
    expect(call(store, transfer('alice', 'carol', 1)).status).toBe(404);
    expect(call(store, deposit('alice', -1)).status).toBe(400);
    // The handler returned errors before writing, and the store saw nothing to apply.
    expect(store.version).toBe(versionBefore);
  });

  it('two transfers racing on one account: the loser conflicts, and its re-run sees the winner', () => {
    const store = new Store();
    call(store, open('alice'));
    call(store, open('bob', BOB));
    call(store, open('carol', BOB));
    call(store, deposit('alice', 100));
    const first = store.begin();
    const second = store.begin();
    expect(invoke(first, transfer('alice', 'bob', 80)).status).toBe(200);
    expect(invoke(second, transfer('alice', 'carol', 80)).status).toBe(200); // both saw 100
    expect(store.commit(first).ok).toBe(true);
    const conflict = store.commit(second);
    expect(conflict.ok).toBe(false);
    // The node re-runs the losing request in a new transaction: now it is an overdraft.
    expect(call(store, transfer('alice', 'carol', 80)).body).toMatchObject({ error: { code: 'InsufficientFunds' } });
    expect([balance(store, 'alice'), balance(store, 'bob'), balance(store, 'carol')]).toEqual([20, 80, 0]);
  });

  it('transfers between disjoint accounts do not conflict', () => {
    const store = new Store();
    for (const name of ['a1', 'a2', 'b1', 'b2']) call(store, open(name));
    call(store, deposit('a1', 5));
    call(store, deposit('b1', 5));
    const [x, y] = [store.begin(), store.begin()];
    invoke(x, transfer('a1', 'a2', 5));
    invoke(y, transfer('b1', 'b2', 5));
    expect(store.commit(x).ok).toBe(true);
    expect(store.commit(y).ok).toBe(true);
  });
});
