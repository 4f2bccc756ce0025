// Property tests of the store against a naive model: plain maps copied at every version, transactions
// executed one at a time.
//
// 1. Interleaved transactions. Several transactions begin, read and write, and commit at random points.
//    - Every transaction (committed or not) reads exactly the state as of its begin(), plus its own writes.
//    - Executing the committed transactions serially in commit order gives the same reads, the same
//      seqnos, the same write sets, and the same final state (serialisability at the commit point).
//    - A transaction is rejected only if something it depended on (a key read, a map iterated, cleared
//      or sized) was actually changed by a transaction committed after it began.
//    - Replaying the returned write sets with applyWrites rebuilds the same state.
// 2. Rollback. Applying N transactions then rolling back to k equals applying only the first k.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Store, type CommitResult, type MapWrites, type Tx } from './index.ts';

const MAPS = ['public:m', 'p'] as const;
const KEYS = ['a', 'b', 'c', 'd'] as const;

type Op =
  | { kind: 'get' | 'has' | 'version' | 'delete'; map: string; key: string }
  | { kind: 'set'; map: string; key: string }
  | { kind: 'clear' | 'size' | 'forEach'; map: string };

const mapArb = fc.constantFrom(...MAPS);
const keyArb = fc.constantFrom(...KEYS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('get' as const, 'has' as const), map: mapArb, key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('version' as const), map: mapArb, key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), map: mapArb, key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), map: mapArb, key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('clear' as const, 'size' as const, 'forEach' as const), map: mapArb }),
  },
);
const txArb = fc.array(opArb, { minLength: 1, maxLength: 6 });

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

// ---- the model -------------------------------------------------------------------------------------

type ModelState = ReadonlyMap<string, ReadonlyMap<string, { value: string; version: number }>>;

interface Change {
  written: Set<string>; // map\0key
  removed: Set<string>;
  inserted: Set<string>;
  maps: Set<string>;
  membershipMaps: Set<string>;
}

/** One transaction run against a fixed base state, recording what it depended on. */
class ModelTx {
  readonly writes = new Map<string, Map<string, string | null>>();
  readonly cleared = new Set<string>();
  readonly keyDeps = new Set<string>();
  readonly contentDeps = new Set<string>();
  readonly membershipDeps = new Set<string>();
  constructor(readonly base: ModelState) {}

  run(op: Op, value: string): string {
    const own = this.writes.get(op.map) ?? new Map<string, string | null>();
    this.writes.set(op.map, own);
    const baseMap = this.base.get(op.map);
    switch (op.kind) {
      case 'get':
      case 'has': {
        let found: string | undefined;
        if (own.has(op.key)) found = own.get(op.key) ?? undefined;
        else if (!this.cleared.has(op.map)) {
          this.keyDeps.add(`${op.map}\0${op.key}`);
          found = baseMap?.get(op.key)?.value;
        }
        return op.kind === 'get' ? (found ?? '∅') : String(found !== undefined);
      }
      case 'version':
        this.keyDeps.add(`${op.map}\0${op.key}`);
        return String(baseMap?.get(op.key)?.version ?? '∅');
      case 'set':
        own.set(op.key, value);
        return '';
      case 'delete':
        own.set(op.key, null);
        return '';
      case 'clear':
        this.contentDeps.add(op.map);
        this.cleared.add(op.map);
        own.clear();
        return '';
      case 'size':
        this.membershipDeps.add(op.map);
        return String(this.visible(op.map).length);
      case 'forEach':
        this.contentDeps.add(op.map);
        return this.visible(op.map).sort().join(',');
    }
  }

  visible(map: string): string[] {
    const own = this.writes.get(map) ?? new Map<string, string | null>();
    const seen: string[] = [];
    if (!this.cleared.has(map)) {
      for (const [key, entry] of this.base.get(map) ?? []) if (!own.has(key)) seen.push(`${key}=${entry.value}`);
    }
    for (const [key, value] of own) if (value !== null) seen.push(`${key}=${value}`);
    return seen;
  }

  /** The effective write set against `state` (the state at commit), in CCF's order. */
  effective(state: ModelState): Array<{ name: string; writes: string[][]; removes: string[] }> {
    const out: Array<{ name: string; writes: string[][]; removes: string[] }> = [];
    for (const name of [...this.writes.keys()].sort()) {
      const own = this.writes.get(name)!;
      const current = state.get(name) ?? new Map();
      const writes = [...own].filter(([, v]) => v !== null).map(([k, v]) => [k, v!]);
      const removes = [...own].filter(([k, v]) => v === null && current.has(k)).map(([k]) => k);
      if (this.cleared.has(name)) for (const key of current.keys()) if (!own.has(key)) removes.push(key);
      if (writes.length + removes.length > 0) out.push({ name, writes: writes.sort(), removes: removes.sort() });
    }
    return out;
  }
}

function applyModel(state: ModelState, seqno: number, writeSet: ReturnType<ModelTx['effective']>): [ModelState, Change] {
  const next = new Map([...state].map(([name, map]) => [name, new Map(map)]));
  const change: Change = { written: new Set(), removed: new Set(), inserted: new Set(), maps: new Set(), membershipMaps: new Set() };
  for (const { name, writes, removes } of writeSet) {
    const map = next.get(name) ?? new Map();
    next.set(name, map);
    change.maps.add(name);
    for (const [key, value] of writes) {
      if (!map.has(key!)) change.membershipMaps.add(name);
      change.written.add(`${name}\0${key}`);
      map.set(key!, { value: value!, version: seqno });
    }
    for (const key of removes) {
      change.removed.add(`${name}\0${key}`);
      change.membershipMaps.add(name);
      map.delete(key);
    }
  }
  return [next, change];
}

function dependencyChanged(model: ModelTx, change: Change): boolean {
  for (const dep of model.keyDeps) if (change.written.has(dep) || change.removed.has(dep)) return true;
  for (const map of model.contentDeps) if (change.maps.has(map)) return true;
  for (const map of model.membershipDeps) if (change.membershipMaps.has(map)) return true;
  return false;
}

// ---- running against the real store ---------------------------------------------------------------

function runOp(tx: Tx, op: Op, value: string): string {
  const map = tx.map(op.map);
  switch (op.kind) {
    case 'get': {
      const found = map.get(enc(op.key));
      return found === undefined ? '∅' : dec(found);
    }
    case 'has':
      return String(map.has(enc(op.key)));
    case 'version':
      return String(map.getVersionOfPreviousWrite(enc(op.key)) ?? '∅');
    case 'set':
      map.set(enc(op.key), enc(value));
      return '';
    case 'delete':
      map.delete(enc(op.key));
      return '';
    case 'clear':
      map.clear();
      return '';
    case 'size':
      return String(map.size);
    case 'forEach': {
      const seen: string[] = [];
      map.forEach((v, k) => seen.push(`${dec(k)}=${dec(v)}`));
      return seen.sort().join(',');
    }
  }
}

function readableWrites(maps: MapWrites[]): ReturnType<ModelTx['effective']> {
  return maps.map((m) => ({
    name: m.name,
    writes: m.writes.map(([k, v]) => [dec(k), dec(v)]),
    removes: m.removes.map(dec),
  }));
}

function storeState(store: Store): string[] {
  return store.snapshot().maps.flatMap((m) => m.entries.map(([k, v, s]) => `${m.name}/${dec(k)}=${dec(v)}@${s}`));
}

function modelStateList(state: ModelState): string[] {
  const out: string[] = [];
  for (const name of [...state.keys()].sort()) {
    for (const key of [...state.get(name)!.keys()].sort()) {
      const entry = state.get(name)!.get(key)!;
      out.push(`${name}/${key}=${entry.value}@${entry.version}`);
    }
  }
  return out;
}

interface Running {
  ops: Op[];
  tx?: Tx;
  step: number;
  results: string[];
}

describe('KV transactions against a serial model', () => {
  it('interleaved transactions commit serialisably and conflict only on real overwrites', () => {
    const scenario = fc.record({
      setup: txArb,
      transactions: fc.array(txArb, { minLength: 2, maxLength: 5 }),
      schedule: fc.array(fc.nat({ max: 99 }), { maxLength: 60 }),
    });
    fc.assert(
      fc.property(scenario, ({ setup, transactions, schedule }) => {
        const store = new Store();
        const history: ModelState[] = [new Map()];
        const changes: Change[] = [];
        const committed: CommitResult[] = [];
        let conflicts = 0;

        const settle = (model: ModelTx, result: CommitResult, readVersion: number): void => {
          const version = history.length - 1;
          if (!result.ok) {
            conflicts++;
            const overwritten = changes.slice(readVersion, version).some((change) => dependencyChanged(model, change));
            expect(overwritten, `rejected without an overwrite: ${result.conflict}`).toBe(true);
            return;
          }
          const writeSet = model.effective(history[version]!);
          if (writeSet.length === 0) {
            expect(result.seqno).toBeUndefined();
            return;
          }
          expect(result.seqno).toBe(version + 1);
          expect(readableWrites(result.maps)).toEqual(writeSet);
          const [next, change] = applyModel(history[version]!, version + 1, writeSet);
          history.push(next);
          changes.push(change);
          committed.push(result);
        };

        const all: Running[] = [{ ops: setup, step: 0, results: [] }, ...transactions.map((ops) => ({ ops, step: 0, results: [] }))];
        const advance = (index: number): void => {
          const running = all[index]!;
          if (running.tx === undefined) {
            running.tx = store.begin();
            return;
          }
          if (running.step < running.ops.length) {
            const op = running.ops[running.step]!;
            running.results.push(runOp(running.tx, op, `t${index}o${running.step}`));
            running.step++;
            return;
          }
          const readVersion = running.tx.readVersion;
          const result = store.commit(running.tx);
          // Snapshot isolation: what it read is the state as of begin(), plus its own writes.
          const atBegin = new ModelTx(history[readVersion]!);
          const expected = running.ops.map((op, i) => atBegin.run(op, `t${index}o${i}`));
          expect(running.results).toEqual(expected);
          if (result.ok) {
            // Serialisability: the same reads at the commit point.
            const atCommit = new ModelTx(history[history.length - 1]!);
            expect(running.ops.map((op, i) => atCommit.run(op, `t${index}o${i}`))).toEqual(running.results);
            settle(atCommit, result, readVersion);
          } else {
            settle(atBegin, result, readVersion);
          }
          running.step++;
        };
        const finished = (r: Running): boolean => r.step > r.ops.length;

        // The setup transaction runs alone first, so the others find data.
        while (!finished(all[0]!)) advance(0);
        for (const pick of schedule) {
          const open = all.map((r, i) => [r, i] as const).filter(([r]) => !finished(r));
          if (open.length === 0) break;
          advance(open[pick % open.length]![1]);
        }
        for (let i = 0; i < all.length; i++) while (!finished(all[i]!)) advance(i);

        expect(storeState(store)).toEqual(modelStateList(history[history.length - 1]!));
        expect(store.version).toBe(history.length - 1);
        const replica = new Store();
        for (const result of committed) if (result.ok && result.seqno !== undefined) replica.applyWrites(result.seqno, result.maps);
        expect(replica.snapshot()).toEqual(store.snapshot());
        expect(conflicts).toBeLessThan(all.length);
      }),
      { numRuns: 400 },
    );
  });
});

describe('rollback against a model', () => {
  function runSequential(store: Store, transactions: Op[][], stopAtVersion: number): void {
    for (let t = 0; t < transactions.length && store.version < stopAtVersion; t++) {
      const tx = store.begin();
      transactions[t]!.forEach((op, i) => runOp(tx, op, `t${t}o${i}`));
      expect(store.commit(tx).ok).toBe(true);
    }
  }

  it('applying N transactions then rolling back to k equals applying the first k', () => {
    const scenario = fc.record({
      transactions: fc.array(txArb, { minLength: 1, maxLength: 12 }),
      rollbackPick: fc.nat(),
      compactPick: fc.nat(),
      extra: txArb,
    });
    fc.assert(
      fc.property(scenario, ({ transactions, rollbackPick, compactPick, extra }) => {
        const store = new Store();
        const snapshots = [store.snapshot()];
        for (let t = 0; t < transactions.length; t++) {
          const tx = store.begin();
          transactions[t]!.forEach((op, i) => runOp(tx, op, `t${t}o${i}`));
          const result = store.commit(tx);
          if (result.ok && result.seqno !== undefined) snapshots.push(store.snapshot());
        }
        const k = rollbackPick % (store.version + 1);
        store.compact(compactPick % (k + 1));
        store.rollback(k);
        const fresh = new Store();
        runSequential(fresh, transactions, k);
        expect(fresh.version).toBe(k);
        expect(store.version).toBe(k);
        expect(store.snapshot()).toEqual(snapshots[k]);
        expect(store.snapshot()).toEqual(fresh.snapshot());
        const restored = new Store();
        restored.restore(structuredClone(store.snapshot()));
        expect(restored.snapshot()).toEqual(store.snapshot());
        // Map-level versions were rolled back too: iterating every map, then letting an unrelated
        // transaction commit first, must not conflict.
        for (const target of [store, fresh]) {
          const sizer = target.begin();
          const iterator = target.begin();
          for (const name of MAPS) {
            void sizer.map(name).size;
            iterator.map(name).forEach(() => {});
          }
          sizer.map('probe').set(enc('k'), enc('v'));
          iterator.map('probe').set(enc('j'), enc('v'));
          const unrelated = target.begin();
          unrelated.map('unrelated').set(enc('k'), enc('v'));
          expect(target.commit(unrelated).ok).toBe(true);
          expect(target.commit(sizer).ok).toBe(true);
          expect(target.commit(iterator).ok).toBe(true);
          target.rollback(k);
        }
        // Both go on identically after the rollback.
        for (const target of [store, fresh]) {
          const tx = target.begin();
          extra.forEach((op, i) => runOp(tx, op, `extra${i}`));
          expect(target.commit(tx).ok).toBe(true);
        }
        expect(store.snapshot()).toEqual(fresh.snapshot());
      }),
      { numRuns: 300 },
    );
  });
});
