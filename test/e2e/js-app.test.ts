// JS apps end to end, through HTTPS on a real node: a hostile bundle's escape attempts are each denied,
// runaway handlers (infinite loop, deep recursion, memory bomb) cost a 500 for that request only and the
// node answers the next one within a second; the banking sample moves money and refuses overdrafts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPO_ROOT } from '../../node/sandbox/supervisor.ts';
import { startTestNetwork, type TestNetwork } from '../helpers/network.ts';

const HOSTILE_APP = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'hostile-app');
const BANKING_APP = join(REPO_ROOT, 'samples', 'banking');
const RECOVERY_MS_MAX = 1000;

describe('a hostile JS app', () => {
  let net: TestNetwork;

  beforeAll(async () => {
    net = await startTestNetwork({}, 'js', {
      jsAppDir: HOSTILE_APP,
      jsRuntimeOptions: { max_execution_time_ms: 300, max_heap_bytes: 32 * 1024 * 1024, max_stack_bytes: 1024 * 1024 },
    });
  });

  afterAll(async () => {
    await net?.stop();
  });

  it.each([
    ['escapeProcess'],
    ['escapeRequire'],
    ['escapeImport'],
    ['escapeConstructor'],
    ['escapeGlobalThis'],
    ['readInternal'],
  ])('%s is denied', async (name) => {
    const res = await net.anonymous.get(`/app/hostile/${name}`);
    // The handler catches its own failure and reports it: anything but 200 means it did not even run.
    expect(res.status, res.text()).toBe(200);
    const outcome = res.json();
    expect(outcome.escaped, JSON.stringify(outcome)).toBe(false);
    expect(typeof outcome.error).toBe('string');
  });

  it('cannot write a governance map, and the map is unchanged', async () => {
    const before = (await net.anonymous.get('/app/hostile/readGovernance')).json().users;
    const res = await net.anonymous.post('/app/hostile/writeGovernance', {});
    expect(res.status, res.text()).toBe(200);
    const outcome = res.json();
    expect(outcome.escaped, JSON.stringify(outcome)).toBe(false);
    expect(outcome.error).toMatch(/public:ccf\.gov\.users\.certs/);
    expect((await net.anonymous.get('/app/hostile/readGovernance')).json().users).toBe(before);
    expect(before).toBe(1); // reading public governance maps is allowed
  });

  it.each([['loop'], ['recurse'], ['membomb']])('%s costs a 500 for that request only; the next succeeds within a second', async (name) => {
    const res = await net.anonymous.get(`/app/hostile/${name}`);
    expect(res.status).toBe(500);
    expect(res.json().error.code).toBe('InternalError');
    const started = performance.now();
    const next = await net.anonymous.get('/app/hostile/ok');
    const recoveryMs = performance.now() - started;
    expect(next.status).toBe(200);
    expect(next.json()).toEqual({ ok: true });
    expect(recoveryMs).toBeLessThan(RECOVERY_MS_MAX);
    // Built-in endpoints were never affected.
    expect((await net.anonymous.get('/node/state')).status).toBe(200);
  });
});

describe('the banking sample', () => {
  let net: TestNetwork;

  beforeAll(async () => {
    net = await startTestNetwork({}, 'js', { jsAppDir: BANKING_APP });
  });

  afterAll(async () => {
    await net?.stop();
  });

  it('opens accounts, deposits, transfers, refuses overdrafts, and races transfers without losing money', async () => {
    expect((await net.user.post('/app/accounts', { name: 'alice' })).status).toBe(201);
    expect((await net.user.post('/app/accounts', { name: 'bob' })).status).toBe(201);
    expect((await net.user.post('/app/accounts', { name: 'alice' })).status).toBe(409);
    expect((await net.user.post('/app/accounts/alice/deposit', { amount: 100 })).json().balance).toBe(100);
    const overdraft = await net.user.post('/app/transfers', { from: 'alice', to: 'bob', amount: 1000 });
    expect(overdraft.status).toBe(409);
    expect(overdraft.json().error.code).toBe('InsufficientFunds');
    // Twenty transfers of 10 race for 100: exactly ten succeed, and the total is unchanged.
    const results = await Promise.all(Array.from({ length: 20 }, () => net.user.post('/app/transfers', { from: 'alice', to: 'bob', amount: 10 })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    const alice = (await net.user.get('/app/accounts/alice')).json();
    const bob = (await net.user.get('/app/accounts/bob')).json();
    expect(alice.balance).toBe(0);
    expect(bob.balance).toBe(100);
    const last = results.find((r) => r.status === 200)!;
    await net.user.waitForCommit(last.headers['x-ms-ccf-transaction-id'] as string);
    expect((await net.anonymous.get('/app/api')).json().paths['/app/transfers']).toBeDefined();
  });
});
