import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KvError, Store, isPublicMap, kvLimits, type CommitResult, type MapWrites, type Tx } from './index.ts';
import { compareStrings, keyBytes, keyString } from './bytes.ts';

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

/** Commits one transaction that sets each [map, key, value] (value undefined: delete). */
function write(store: Store, changes: Array<[string, string, string | undefined]>): CommitResult {
  const tx = store.begin();
  for (const [map, key, value] of changes) {
    if (value === undefined) tx.map(map).delete(enc(key));
    else tx.map(map).set(enc(key), enc(value));
  }
  return store.commit(tx);
}

function seqnoOf(result: CommitResult): number | undefined {
  if (!result.ok) throw new Error(`unexpected conflict: ${result.conflict}`);
  return result.seqno;
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof KvError ? error.code : `not a KvError: ${String(error)}`;
  }
  return undefined;
}

function readable(maps: MapWrites[]): unknown {
  return maps.map((m) => ({
    name: m.name,
    writes: m.writes.map(([k, v]) => [dec(k), dec(v)]),
    removes: m.removes.map((k) => dec(k)),
  }));
}

describe('transactions', () => {
  it('assigns consecutive seqnos and stamps every written key with its seqno', () => {
    const store = new Store();
    expect(store.version).toBe(0);
    expect(seqnoOf(write(store, [['m', 'a', '1']]))).toBe(1);
    expect(seqnoOf(write(store, [['m', 'b', '2']]))).toBe(2);
    expect(seqnoOf(write(store, [['m', 'a', '3']]))).toBe(3);
    expect(store.version).toBe(3);
    expect(store.getVersion('m', enc('a'))).toBe(3);
    expect(store.getVersion('m', enc('b'))).toBe(2);
    expect(dec(store.get('m', enc('a')))).toBe('3');
  });

  it('returns write sets sorted by map name, then key bytes, without removes of absent keys', () => {
    const store = new Store();
    write(store, [['m', 'gone', 'x']]);
    const tx = store.begin();
    tx.map('public:z').set(enc('b'), enc('1'));
    tx.map('public:z').set(enc('a'), enc('2'));
    tx.map('m').delete(enc('never'));
    tx.map('m').delete(enc('gone'));
    tx.map('m').set(new Uint8Array([0xff]), enc('high'));
    tx.map('m').set(new Uint8Array([0x01]), enc('low'));
    tx.map('untouched');
    const result = store.commit(tx);
    expect(result.ok && result.seqno).toBe(2);
    if (!result.ok) return;
    expect(result.maxConflictVersion).toBe(1);
    expect(result.maps.map((m) => m.name)).toEqual(['m', 'public:z']);
    expect(result.maps[0]!.writes.map(([k]) => [...k])).toEqual([[0x01], [0xff]]);
    expect(readable(result.maps.slice(1))).toEqual([{ name: 'public:z', writes: [['a', '2'], ['b', '1']], removes: [] }]);
    expect(readable([{ ...result.maps[0]!, writes: [] }])).toEqual([{ name: 'm', writes: [], removes: ['gone'] }]);
  });

  it('commits a transaction without effective writes as a no-op without a seqno', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    const tx = store.begin();
    expect(dec(tx.map('m').get(enc('a')))).toBe('1');
    tx.map('m').delete(enc('absent'));
    tx.map('other').clear();
    expect(store.commit(tx)).toEqual({ ok: true, seqno: undefined, maps: [], maxConflictVersion: 1 });
    expect(store.version).toBe(1);
  });

  it('lets a transaction see its own writes and removes', () => {
    const store = new Store();
    write(store, [['m', 'a', '1'], ['m', 'b', '2']]);
    const tx = store.begin();
    const m = tx.map('m');
    expect(tx.map('m')).toBe(m);
    m.set(enc('c'), enc('3'));
    m.delete(enc('a'));
    m.set(enc('b'), enc('22'));
    expect(dec(m.get(enc('c')))).toBe('3');
    expect(m.get(enc('a'))).toBeUndefined();
    expect(m.has(enc('a'))).toBe(false);
    expect(m.has(enc('b'))).toBe(true);
    expect(m.size).toBe(2);
    const seen: string[] = [];
    m.forEach((value, key) => seen.push(`${dec(key)}=${dec(value)}`));
    expect(seen.sort()).toEqual(['b=22', 'c=3']);
    // Committed state is untouched until commit.
    expect(dec(store.get('m', enc('a')))).toBe('1');
    store.commit(tx);
    expect(store.get('m', enc('a'))).toBeUndefined();
    expect(dec(store.get('m', enc('b')))).toBe('22');
  });

  it('copies values on set, so later changes to the caller buffer do not leak in', () => {
    const store = new Store();
    const value = enc('before');
    const tx = store.begin();
    tx.map('m').set(enc('k'), value);
    value.set(enc('AFTER!'));
    store.commit(tx);
    expect(dec(store.get('m', enc('k')))).toBe('before');
  });

  it('getVersionOfPreviousWrite reports the committed version, ignoring own writes', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    write(store, [['m', 'a', '2']]);
    write(store, [['m', 'b', '1']]);
    const tx = store.begin();
    expect(tx.map('m').getVersionOfPreviousWrite(enc('a'))).toBe(2);
    expect(tx.map('m').getVersionOfPreviousWrite(enc('none'))).toBeUndefined();
    tx.map('m').set(enc('a'), enc('3'));
    expect(tx.map('m').getVersionOfPreviousWrite(enc('a'))).toBe(2);
    write(store, [['m', 'b', undefined]]);
    expect(store.begin().map('m').getVersionOfPreviousWrite(enc('b'))).toBeUndefined();
  });

  it('refuses to be used or committed twice, and to commit into another store', () => {
    const store = new Store();
    const tx = store.begin();
    tx.map('m').set(enc('a'), enc('1'));
    store.commit(tx);
    expect(codeOf(() => store.commit(tx))).toBe('KV_TX_FINISHED');
    expect(codeOf(() => tx.map('m').get(enc('a')))).toBe('KV_TX_FINISHED');
    expect(codeOf(() => tx.map('m').set(enc('a'), enc('2')))).toBe('KV_TX_FINISHED');
    expect(codeOf(() => tx.map('new'))).toBe('KV_TX_FINISHED');
    expect(codeOf(() => new Store().commit(store.begin()))).toBe('KV_INVALID_ARGUMENT');
  });

  it('validates map names, keys and values', () => {
    const tx = new Store().begin();
    expect(codeOf(() => tx.map(''))).toBe('KV_INVALID_ARGUMENT');
    expect(codeOf(() => tx.map('x'.repeat(kvLimits.mapNameLengthMax + 1)))).toBe('KV_INVALID_ARGUMENT');
    expect(codeOf(() => tx.map('m').set('k' as unknown as Uint8Array, enc('v')))).toBe('KV_INVALID_ARGUMENT');
    expect(codeOf(() => tx.map('m').set(enc('k'), 'v' as unknown as Uint8Array))).toBe('KV_INVALID_ARGUMENT');
  });
});

describe('conflicts', () => {
  function conflictOf(result: CommitResult): string | undefined {
    return result.ok ? undefined : result.conflict;
  }

  it('rejects a transaction whose read key was overwritten after it began, naming map and key', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    const tx = store.begin();
    tx.map('m').get(enc('a'));
    tx.map('m').set(enc('b'), enc('x'));
    write(store, [['m', 'a', '2']]);
    expect(conflictOf(store.commit(tx))).toBe('m[61]');
    expect(store.get('m', enc('b'))).toBeUndefined();
  });

  it('rejects a read of an absent key that was inserted meanwhile', () => {
    const store = new Store();
    const tx = store.begin();
    expect(tx.map('m').has(enc('a'))).toBe(false);
    tx.map('m').set(enc('a'), enc('mine'));
    write(store, [['m', 'a', 'theirs']]);
    expect(conflictOf(store.commit(tx))).toBe('m[61]');
  });

  it('accepts blind writes and deletes, and reads of keys nobody else touched', () => {
    const store = new Store();
    write(store, [['m', 'a', '1'], ['m', 'b', '1']]);
    const tx = store.begin();
    tx.map('m').get(enc('b'));
    tx.map('m').set(enc('a'), enc('mine'));
    tx.map('m').delete(enc('c'));
    write(store, [['m', 'a', 'theirs'], ['m', 'c', 'theirs']]);
    const result = store.commit(tx);
    expect(result.ok && result.seqno).toBe(3);
    expect(dec(store.get('m', enc('a')))).toBe('mine');
    expect(store.get('m', enc('c'))).toBeUndefined();
  });

  it('accepts a read of an absent key that was inserted and removed again meanwhile', () => {
    const store = new Store();
    const tx = store.begin();
    tx.map('m').get(enc('a'));
    tx.map('m').set(enc('b'), enc('x'));
    write(store, [['m', 'a', 'temporary']]);
    write(store, [['m', 'a', undefined]]);
    expect(store.commit(tx).ok).toBe(true);
  });

  it('a value read from own writes is no dependency', () => {
    const store = new Store();
    const tx = store.begin();
    tx.map('m').set(enc('a'), enc('mine'));
    tx.map('m').get(enc('a'));
    write(store, [['m', 'a', 'theirs']]);
    expect(store.commit(tx).ok).toBe(true);
    expect(dec(store.get('m', enc('a')))).toBe('mine');
  });

  it('forEach conflicts with any concurrent write to the map, including updates', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    const tx = store.begin();
    tx.map('m').forEach(() => {});
    tx.map('out').set(enc('x'), enc('y'));
    write(store, [['m', 'a', '2']]);
    expect(conflictOf(store.commit(tx))).toMatch(/^m \(iterated or cleared/);
  });

  it('size conflicts with inserts and removes but not with updates', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    const updated = store.begin();
    expect(updated.map('m').size).toBe(1);
    updated.map('out').set(enc('x'), enc('y'));
    write(store, [['m', 'a', '2']]);
    expect(store.commit(updated).ok).toBe(true);
    const inserted = store.begin();
    expect(inserted.map('m').size).toBe(1);
    inserted.map('out').set(enc('x'), enc('z'));
    write(store, [['m', 'b', '1']]);
    expect(conflictOf(store.commit(inserted))).toMatch(/^m \(sized/);
  });

  it('clear conflicts with any concurrent write to that map, and only that map', () => {
    const store = new Store();
    write(store, [['m', 'a', '1'], ['n', 'a', '1']]);
    const cleared = store.begin();
    cleared.map('m').clear();
    write(store, [['n', 'a', '2']]);
    const result = store.commit(cleared);
    expect(result.ok && readable(result.maps)).toEqual([{ name: 'm', writes: [], removes: ['a'] }]);
    const late = store.begin();
    late.map('n').clear();
    write(store, [['n', 'a', '3']]);
    expect(conflictOf(store.commit(late))).toMatch(/^n \(iterated or cleared/);
  });

  it('clear then set keeps only the keys set after the clear', () => {
    const store = new Store();
    write(store, [['m', 'a', '1'], ['m', 'b', '1'], ['m', 'c', '1']]);
    const tx = store.begin();
    tx.map('m').set(enc('a'), enc('before-clear'));
    tx.map('m').clear();
    expect(tx.map('m').size).toBe(0);
    expect(tx.map('m').get(enc('b'))).toBeUndefined();
    tx.map('m').set(enc('b'), enc('2'));
    expect(tx.map('m').size).toBe(1);
    const result = store.commit(tx);
    expect(result.ok && readable(result.maps)).toEqual([{ name: 'm', writes: [['b', '2']], removes: ['a', 'c'] }]);
    expect(store.snapshot().maps[0]!.entries.map(([k, v]) => [dec(k), dec(v)])).toEqual([['b', '2']]);
  });
});

describe('snapshot isolation', () => {
  it('reads the state as of begin(), whatever commits meanwhile', () => {
    const store = new Store();
    write(store, [['m', 'a', '1'], ['m', 'b', '1']]);
    const tx = store.begin();
    write(store, [['m', 'a', '2'], ['m', 'b', undefined], ['m', 'c', '2']]);
    write(store, [['m', 'a', '3']]);
    const m = tx.map('m');
    expect(dec(m.get(enc('a')))).toBe('1');
    expect(dec(m.get(enc('b')))).toBe('1');
    expect(m.get(enc('c'))).toBeUndefined();
    expect(m.size).toBe(2);
    const seen: string[] = [];
    m.forEach((value, key) => seen.push(`${dec(key)}=${dec(value)}`));
    expect(seen.sort()).toEqual(['a=1', 'b=1']);
    expect(m.getVersionOfPreviousWrite(enc('a'))).toBe(1);
    expect(store.begin().map('m').size).toBe(2);
  });

  it('a transaction overtaken by a rollback or by compaction past its snapshot cannot commit', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    write(store, [['m', 'a', '2']]);
    const rolled = store.begin();
    rolled.map('m').set(enc('b'), enc('x'));
    store.rollback(1);
    expect(store.commit(rolled).ok).toBe(false);
    const compacted = store.begin();
    write(store, [['m', 'a', '3']]);
    write(store, [['m', 'a', '4']]);
    store.compact(3);
    // Its snapshot (version 1) can no longer be rebuilt: it reads the current state, and must fail.
    expect(dec(compacted.map('m').get(enc('a')))).toBe('4');
    compacted.map('m').set(enc('b'), enc('y'));
    expect(store.commit(compacted).ok).toBe(false);
  });
});

describe('replay, rollback and compaction', () => {
  it('applyWrites applies a replicated write set, copying its buffers', () => {
    const store = new Store();
    const value = enc('v');
    store.applyWrites(1, [{ name: 'm', writes: [[enc('a'), value], [enc('b'), enc('w')]], removes: [] }]);
    value.set(enc('X'));
    store.applyWrites(2, [{ name: 'm', writes: [], removes: [enc('b'), enc('absent')] }]);
    expect(store.version).toBe(2);
    expect(dec(store.get('m', enc('a')))).toBe('v');
    expect(store.get('m', enc('b'))).toBeUndefined();
    expect(store.getVersion('m', enc('a'))).toBe(1);
  });

  it('applyWrites insists on seqno = version + 1 and well-formed input', () => {
    const store = new Store();
    expect(codeOf(() => store.applyWrites(2, []))).toBe('KV_INVARIANT');
    expect(codeOf(() => store.applyWrites(0, []))).toBe('KV_INVARIANT');
    const twice: MapWrites[] = [
      { name: 'm', writes: [], removes: [] },
      { name: 'm', writes: [], removes: [] },
    ];
    expect(codeOf(() => store.applyWrites(1, twice))).toBe('KV_INVALID_ARGUMENT');
    const bad = [{ name: 'm', writes: [[enc('k'), 'v']], removes: [] }] as unknown as MapWrites[];
    expect(codeOf(() => store.applyWrites(1, bad))).toBe('KV_INVALID_ARGUMENT');
    expect(store.version).toBe(0);
  });

  it('rollback restores values, versions and map existence', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    const before = store.snapshot();
    write(store, [['m', 'a', '2'], ['m', 'b', '2'], ['new', 'x', '2']]);
    write(store, [['m', 'a', undefined]]);
    store.rollback(1);
    expect(store.version).toBe(1);
    expect(store.snapshot()).toEqual(before);
    expect(store.mapNames()).toEqual(['m']);
    expect(store.begin().map('m').getVersionOfPreviousWrite(enc('a'))).toBe(1);
    // Seqnos after the rollback point are reused.
    expect(seqnoOf(write(store, [['m', 'c', '3']]))).toBe(2);
  });

  it('rollback to the current version is a no-op; beyond it or the compaction point is refused', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    write(store, [['m', 'a', '2']]);
    const tx = store.begin();
    store.rollback(2);
    tx.map('m').set(enc('b'), enc('x'));
    expect(store.commit(tx).ok).toBe(true);
    expect(codeOf(() => store.rollback(4))).toBe('KV_INVARIANT');
    store.compact(2);
    expect(store.undoLength).toBe(1);
    expect(store.compactedVersion).toBe(2);
    expect(codeOf(() => store.rollback(1))).toBe('KV_ROLLBACK_BEYOND_COMPACTION');
    store.rollback(2);
    expect(store.version).toBe(2);
    expect(codeOf(() => store.compact(5))).toBe('KV_INVARIANT');
    store.compact(1); // older than the compaction point: nothing to do
    expect(store.compactedVersion).toBe(2);
  });

  it('bounds the undo log: applying fails, without side effects, until compaction catches up', () => {
    const store = new Store();
    for (let s = 1; s <= kvLimits.undoTransactionsMax; s++) store.applyWrites(s, []);
    expect(store.undoLength).toBe(kvLimits.undoTransactionsMax);
    const tx = store.begin();
    tx.map('m').set(enc('a'), enc('1'));
    expect(codeOf(() => store.commit(tx))).toBe('KV_UNDO_LOG_FULL');
    expect(store.version).toBe(kvLimits.undoTransactionsMax);
    store.compact(store.version);
    expect(seqnoOf(write(store, [['m', 'a', '1']]))).toBe(kvLimits.undoTransactionsMax + 1);
  });
});

describe('direct reads, snapshot and restore', () => {
  it('forEachCommitted, get and mapNames see committed state only', () => {
    const store = new Store();
    write(store, [['public:b', 'k', '1'], ['a', 'k', '2'], ['a', 'j', '3']]);
    const tx = store.begin();
    tx.map('a').set(enc('pending'), enc('x'));
    const seen: string[] = [];
    store.forEachCommitted('a', (key, value, version) => seen.push(`${dec(key)}=${dec(value)}@${version}`));
    expect(seen.sort()).toEqual(['j=3@1', 'k=2@1']);
    expect(store.mapNames()).toEqual(['a', 'public:b']);
    store.forEachCommitted('missing', () => {
      throw new Error('no entries expected');
    });
  });

  it('snapshot and restore round-trip, sorted, and invalidate older transactions', () => {
    const store = new Store();
    write(store, [['m', 'b', '1'], ['m', 'a', '1'], ['public:x', 'k', '1']]);
    write(store, [['m', 'a', '2'], ['gone', 'k', '1']]);
    write(store, [['gone', 'k', undefined]]);
    const snapshot = store.snapshot();
    expect(snapshot.version).toBe(3);
    expect(snapshot.maps.map((m) => m.name)).toEqual(['m', 'public:x']);
    expect(snapshot.maps[0]!.entries.map(([k, v, s]) => [dec(k), dec(v), s])).toEqual([['a', '2', 2], ['b', '1', 1]]);
    const copy = new Store();
    const open = copy.begin();
    copy.restore(structuredClone(snapshot));
    expect(copy.snapshot()).toEqual(snapshot);
    expect(copy.version).toBe(3);
    expect(copy.compactedVersion).toBe(3);
    open.map('m').set(enc('z'), enc('z'));
    expect(copy.commit(open).ok).toBe(false);
    expect(seqnoOf(write(copy, [['m', 'c', '4']]))).toBe(4);
  });

  it('restore rejects malformed snapshots and leaves the store as it was', () => {
    const store = new Store();
    write(store, [['m', 'a', '1']]);
    const good = store.snapshot();
    const entry = (k: string, v: number): [Uint8Array, Uint8Array, number] => [enc(k), enc('v'), v];
    const bad = [
      { version: -1, maps: [] },
      { version: 1, maps: [{ name: 'm', entries: [entry('a', 2)] }] },
      { version: 1, maps: [{ name: 'm', entries: [entry('a', 0)] }] },
      { version: 1, maps: [{ name: 'm', entries: [entry('a', 1), entry('a', 1)] }] },
      { version: 1, maps: [{ name: 'm', entries: [] }, { name: 'm', entries: [] }] },
      { version: 1, maps: [{ name: '', entries: [] }] },
      { version: 1, maps: [{ name: 'm', entries: [['a', 'v', 1]] }] },
    ];
    for (const snapshot of bad) {
      expect(codeOf(() => store.restore(snapshot as never))).toBe('KV_INVALID_SNAPSHOT');
    }
    expect(store.snapshot()).toEqual(good);
  });

  it('isPublicMap recognises the public: prefix', () => {
    expect(isPublicMap('public:ccf.gov.members.certs')).toBe(true);
    expect(isPublicMap('records')).toBe(false);
    expect(isPublicMap('ccf.internal.x')).toBe(false);
  });
});

describe('key strings', () => {
  it('map bytes to strings and back one-to-one, preserving byte order', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(keyBytes(keyString(a))).toEqual(a);
        const bytewise = Buffer.compare(Buffer.from(a), Buffer.from(b));
        expect(Math.sign(compareStrings(keyString(a), keyString(b)))).toBe(bytewise);
      }),
      { numRuns: 300 },
    );
  });

  it('reads only the visible bytes of a subarray', () => {
    const backing = enc('xxkeyxx');
    expect(keyString(backing.subarray(2, 5))).toBe('key');
  });
});

// Exercise the exported Tx type so that a type change shows up here.
export type _TxIsExported = Tx;
