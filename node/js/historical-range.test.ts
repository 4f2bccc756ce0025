// ccf.historical.getStateRange / dropCachedStates in the sandbox: null while the enclave fetches, then
// states shaped as CCF's ({transactionId, receipt, kv}) whose kv reads each past store, read-only; a
// state kept past its request refuses to act; without the hooks the calls throw.

import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../kv/index.ts';
import { loadJsApp, type HistoricalHooks, type HistoricalRangeHooks, type InvokeResult, type JsApp } from './index.ts';
import { handlerBundle, makeRequest } from './testing.ts';

const apps: JsApp[] = [];
afterAll(() => apps.forEach((a) => a.dispose()));

const bytes = (text: string) => new TextEncoder().encode(text);

function past(seqno: number, value: string): HistoricalHooks {
  const store = new Store();
  store.restore({ version: seqno - 1, maps: [] });
  store.applyWrites(seqno, [{ name: 'records', writes: [[bytes('1'), bytes(value)]], removes: [] }]);
  return { transactionId: `2.${seqno}`, receipt: { seqno }, tx: store.begin() };
}

/** Answers null on the first call for a range, the states on the next (as the enclave does once fetched). */
function fakeRange(): HistoricalRangeHooks & { calls: unknown[][]; dropped: number[] } {
  const seen = new Set<string>();
  const calls: unknown[][] = [];
  const dropped: number[] = [];
  return {
    calls,
    dropped,
    getStateRange(handle, start, end, expiry) {
      calls.push([handle, start, end, expiry]);
      const key = `${handle}:${start}:${end}`;
      if (!seen.has(key)) { seen.add(key); return null; }
      const states: HistoricalHooks[] = [];
      for (let seqno = start; seqno <= end; seqno++) states.push(past(seqno, `v${seqno}`));
      return states;
    },
    dropCachedStates(handle) { dropped.push(handle); return true; },
  };
}

const source = `
let kept;
export function handler(request) {
  const q = request.query;
  if (q === 'stale') return { body: kept.kv.records.get(ccf.strToBuf('1')) === undefined };
  if (q === 'drop') return { body: ccf.historical.dropCachedStates(7) };
  if (q === 'errors') {
    const kind = (f) => { try { f(); return 'none'; } catch (e) { return e.name + ': ' + e.message; } };
    return { body: [kind(() => ccf.historical.getStateRange(-1, 4, 6, 1)), kind(() => ccf.historical.getStateRange(8, 4, 6, 1))] };
  }
  const states = ccf.historical.getStateRange(7, 4, 6, 1800);
  if (states === null) return { statusCode: 202, body: 'fetching' };
  kept = states[0];
  if (q === 'write') { states[0].kv.records.set(ccf.strToBuf('1'), ccf.strToBuf('x')); }
  return { body: states.map((s) => ({ id: s.transactionId, receipt: s.receipt, v: ccf.bufToStr(s.kv.records.get(ccf.strToBuf('1'))) })) };
}`;

async function load(): Promise<JsApp> {
  const app = await loadJsApp(handlerBundle(source, { mode: 'readonly' }));
  apps.push(app);
  return app;
}

function run(app: JsApp, query: string, hooks: HistoricalRangeHooks | undefined): InvokeResult {
  const endpoint = app.endpoints[0]!;
  return app.invoke(endpoint, { ...makeRequest(endpoint.method, '/t'), query }, new Store().begin(), hooks ? { historicalRange: hooks } : {});
}

const text = (result: InvokeResult): string => {
  if (!result.ok) throw new Error(`${result.error.details?.name}: ${result.error.details?.message}`);
  return new TextDecoder().decode(result.response.body);
};

describe('ccf.historical.getStateRange', () => {
  it('answers null first, then the states, each with its own read-only kv', async () => {
    const app = await load();
    const hooks = fakeRange();
    const first = run(app, '', hooks);
    expect(first.ok && first.response.status).toBe(202);
    expect(JSON.parse(text(run(app, '', hooks)))).toEqual([
      { id: '2.4', receipt: { seqno: 4 }, v: 'v4' },
      { id: '2.5', receipt: { seqno: 5 }, v: 'v5' },
      { id: '2.6', receipt: { seqno: 6 }, v: 'v6' },
    ]);
    expect(hooks.calls[0]).toEqual([7, 4, 6, 1800]);
  });

  it('refuses writes to a state, and a state kept past its request', async () => {
    const app = await load();
    const hooks = fakeRange();
    run(app, '', hooks);
    const write = run(app, 'write', hooks);
    expect(write.ok).toBe(false);
    expect(!write.ok && write.error.details?.message).toMatch(/read-only/);
    run(app, '', hooks);
    const stale = run(app, 'stale', hooks);
    expect(stale.ok).toBe(false);
    expect(!stale.ok && stale.error.details?.message).toMatch(/already been handled/);
  });

  it('bad arguments are RangeErrors and failed fetches InternalErrors, as in CCF', async () => {
    const app = await load();
    const hooks = fakeRange();
    const failing: HistoricalRangeHooks = {
      getStateRange(handle) {
        if (handle < 0) throw Object.assign(new Error('handle must be a non-negative integer'), { code: 'InvalidInput' });
        throw new Error('entry 5 could not be read');
      },
      dropCachedStates: hooks.dropCachedStates,
    };
    expect(JSON.parse(text(run(app, 'errors', failing)))).toEqual([
      'RangeError: handle must be a non-negative integer',
      'InternalError: Failed to get state range: entry 5 could not be read',
    ]);
  });

  it('dropCachedStates reaches the enclave; without historical support both calls throw', async () => {
    const app = await load();
    const hooks = fakeRange();
    expect(text(run(app, 'drop', hooks))).toBe('true');
    expect(hooks.dropped).toEqual([7]);
    const none = run(app, '', undefined);
    expect(!none.ok && none.error.details?.message).toMatch(/not available/);
  });
});
