// ccf.historicalState in the sandbox (CCF's shape: transactionId, receipt, kv): the kv reads the
// historical store and refuses writes and inaccessible maps; ccf.kv stays the current store, read-only;
// outside a historical request the state is undefined, and handles kept from one refuse to act.

import { afterAll, describe, expect, it } from 'vitest';
import { Store, type MapWrites } from '../kv/index.ts';
import { loadJsApp, type HistoricalHooks, type InvokeResult, type JsApp } from './index.ts';
import { handlerBundle, makeRequest } from './testing.ts';

const apps: JsApp[] = [];
afterAll(() => apps.forEach((a) => a.dispose()));

const bytes = (text: string) => new TextEncoder().encode(text);

async function app(source: string, mode: 'readwrite' | 'readonly' | 'historical' = 'historical'): Promise<JsApp> {
  const loaded = await loadJsApp(handlerBundle(source, { mode }));
  apps.push(loaded);
  return loaded;
}

/** A store holding only what transaction `seqno` wrote, as the enclave builds it. */
function pastStore(seqno: number, maps: MapWrites[]): Store {
  const store = new Store();
  store.restore({ version: seqno - 1, maps: [] });
  store.applyWrites(seqno, maps);
  return store;
}

function historical(seqno: number, maps: MapWrites[], receipt: unknown = { seqno }): HistoricalHooks {
  return { transactionId: `3.${seqno}`, receipt, tx: pastStore(seqno, maps).begin() };
}

function run(target: JsApp, current: Store, hooks: HistoricalHooks | undefined): InvokeResult {
  const endpoint = target.endpoints[0]!;
  return target.invoke(endpoint, makeRequest(endpoint.method, '/t'), current.begin(), hooks ? { historical: hooks } : {});
}

function json(result: InvokeResult): unknown {
  if (!result.ok) throw result.error;
  return JSON.parse(new TextDecoder().decode(result.response.body));
}

function errorOf(result: InvokeResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${new TextDecoder().decode(result.response.body)}`);
  return `${result.error.details?.name}: ${result.error.details?.message}`;
}

function currentStore(): Store {
  const store = new Store();
  const tx = store.begin();
  tx.map('records').set(bytes('1'), bytes('now'));
  store.commit(tx);
  return store;
}

const records = (seqno: number, value: string): MapWrites[] => [{ name: 'records', writes: [[bytes('1'), bytes(value)]], removes: [] }];

describe('ccf.historicalState', () => {
  it('holds the TxID, the receipt and a kv of what that transaction wrote; ccf.kv is the current state', async () => {
    const receipt = { cert: 'PEM', proof: [{ left: 'ab' }], leaf_components: { claims_digest: '00' }, is_signature_transaction: false };
    const result = run(await app(`export function handler() {
      const h = ccf.historicalState, m = h.kv.records, s = ccf.strToBuf, t = (b) => b === undefined ? null : ccf.bufToStr(b);
      const seen = [];
      m.forEach((v, k) => seen.push([t(k), t(v)]));
      return { body: {
        txid: h.transactionId, receipt: h.receipt, sameReceipt: h.receipt === h.receipt,
        past: [t(m.get(s('1'))), m.has(s('2')), m.size, m.getVersionOfPreviousWrite(s('1')), seen, h.kv.other.size],
        current: t(ccf.kv.records.get(s('1'))),
        json: JSON.stringify(h) === JSON.stringify({ transactionId: h.transactionId, receipt: h.receipt, kv: {} }),
      } };
    }`), currentStore(), historical(7, records(7, 'then'), receipt));
    expect(json(result)).toEqual({
      txid: '3.7',
      receipt,
      sameReceipt: true,
      past: ['then', false, 1, 7, [['1', 'then']], 0],
      current: 'now',
      json: true,
    });
  });

  it('removed keys are absent from the historical kv, and a write set spanning maps shows each', async () => {
    const maps: MapWrites[] = [
      { name: 'public:log', writes: [[bytes('a'), bytes('A')]], removes: [] },
      { name: 'records', writes: [], removes: [bytes('1')] },
    ];
    const result = run(await app(`export function handler() {
      const kv = ccf.historicalState.kv, s = ccf.strToBuf;
      return { body: [kv.records.has(s('1')), kv.records.size, ccf.bufToStr(kv['public:log'].get(s('a')))] };
    }`), currentStore(), historical(9, maps));
    expect(json(result)).toEqual([false, 0, 'A']);
  });

  it('refuses writes to historical maps, maps apps may not read, and writes to ccf.kv', async () => {
    const target = await app(`export function handler(request) {
      const s = ccf.strToBuf, kv = ccf.historicalState.kv, out = [];
      for (const attempt of [
        () => kv.records.set(s('1'), s('x')), () => kv.records.delete(s('1')), () => kv.records.clear(),
        () => kv['public:ccf.internal.signatures'].get(s('x')), () => kv['ccf.gov.secret'].size,
        () => ccf.kv.records.set(s('1'), s('x')),
      ]) {
        try { attempt(); out.push('allowed'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
      }
      out.push(kv['public:ccf.gov.members.certs'].size);
      return { body: out };
    }`);
    const messages = json(run(target, currentStore(), historical(4, records(4, 'then')))) as unknown[];
    expect(messages.slice(0, 3)).toEqual(['set', 'delete', 'clear'].map((method) =>
      `TypeError: Cannot call ${method} on map 'records' of ccf.historicalState.kv: historical state is read-only.`));
    expect(messages[3]).toMatch(/^TypeError: Cannot call get on map 'public:ccf.internal.signatures' of ccf.historicalState.kv: it is not accessible/);
    expect(messages[4]).toMatch(/^TypeError: Cannot call size on map 'ccf.gov.secret' of ccf.historicalState.kv: it is not accessible/);
    expect(messages[5]).toMatch(/^TypeError: Cannot call set on map 'records': it is read-only to this app here \(app maps are read-only in historical endpoints\)/);
    expect(messages[6]).toBe(0);
  });

  it('map handles kept in module scope act on each request\'s own historical state', async () => {
    const target = await app(`
      const h = ccf.historicalState;
      const past = h.kv.records;
      export function handler() {
        return { body: [h === ccf.historicalState, h.transactionId, h.receipt.seqno, ccf.bufToStr(past.get(ccf.strToBuf('1')))] };
      }`);
    expect(json(run(target, currentStore(), historical(5, records(5, 'five'))))).toEqual([true, '3.5', 5, 'five']);
    expect(json(run(target, currentStore(), historical(6, records(6, 'six'))))).toEqual([true, '3.6', 6, 'six']);
  });

  it('is undefined in requests without historical state; a kept state or handle refuses to act there', async () => {
    const target = await app(`
      const kept = ccf.historicalState;
      export function handler() {
        const out = [ccf.historicalState === undefined, typeof kept];
        for (const attempt of [() => kept.transactionId, () => kept.receipt, () => kept.kv.records.get(ccf.strToBuf('1'))]) {
          try { attempt(); out.push('allowed'); } catch (e) { out.push(e.message); }
        }
        return { body: out };
      }`, 'readonly');
    const refusal = 'ccf.historicalState is only available while an endpoint with "mode": "historical" handles a request';
    expect(json(run(target, currentStore(), undefined))).toEqual([true, 'object', refusal, refusal, refusal]);
  });

  it('an async handler reads the historical state after an await (its jobs run within the request)', async () => {
    const target = await app(`export async function handler() {
      await Promise.resolve();
      const kv = ccf.historicalState.kv;
      await null;
      return { body: { txid: ccf.historicalState.transactionId, msg: ccf.bufToStr(kv.records.get(ccf.strToBuf('1'))) } };
    }`);
    expect(json(run(target, currentStore(), historical(8, records(8, 'eight'))))).toEqual({ txid: '3.8', msg: 'eight' });
  });

  it('an exception from the app is reported like any other', async () => {
    const target = await app('export function handler() { ccf.historicalState.kv.records.set(ccf.strToBuf("1"), ccf.strToBuf("x")); }');
    expect(errorOf(run(target, currentStore(), historical(2, records(2, 'two'))))).toBe(
      "TypeError: Cannot call set on map 'records' of ccf.historicalState.kv: historical state is read-only.");
  });
});
