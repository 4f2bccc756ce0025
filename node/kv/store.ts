// The key-value store: named maps of byte keys to byte values, each key stamped with the seqno of its
// last write, changed only by whole transactions, following CCF's KV (src/kv/store.h, untyped_map.h).
//
// Concurrency is optimistic. A transaction reads the snapshot at its read version; commit checks that
// nothing it depended on (keys read, or whole maps iterated, sized or cleared) was changed since, and
// if so returns a conflict so the caller re-runs it. Successful commits get seqno = version + 1.
//
// Every applied transaction leaves an undo record (the previous entry of each key it touched and the
// previous map versions). Undo records serve three purposes: rollback (consensus dropping uncommitted
// entries), reading old snapshots for transactions that began before later commits, and nothing else;
// compact(seqno) drops them once consensus has committed that far. Their number is bounded.
//
// Pure and synchronous: no I/O, no clocks, no randomness.

import { compareStrings, describeKey, keyBytes, keyString } from './bytes.ts';
import { KvError, assert, invalidArgument } from './errors.ts';
import { kvLimits } from './limits.ts';
import { MapRead, Tx, changesOf, finishTx, type MapChanges, type SnapshotSource } from './tx.ts';
import type { CommitResult, MapWrites, StoreSnapshot, VersionedEntry } from './types.ts';

interface CommittedMap {
  readonly entries: Map<string, VersionedEntry>;
  /** Seqno of the last transaction that changed any entry. */
  writeVersion: number;
  /** Seqno of the last transaction that added or removed a key. */
  membershipVersion: number;
}

interface MapUndo {
  /** Entry of each touched key before the transaction; undefined: the key was absent. */
  readonly previous: Map<string, VersionedEntry | undefined>;
  readonly writeVersion: number;
  readonly membershipVersion: number;
}

type UndoRecord = Map<string, MapUndo>;

/** A map's effective changes, keys as strings and bytes, in key order. */
interface PreparedMap {
  readonly name: string;
  readonly writes: Array<[string, Uint8Array, Uint8Array]>;
  readonly removes: Array<[string, Uint8Array]>;
}

const NO_ENTRIES: ReadonlyMap<string, VersionedEntry> = new Map();

/** Maps named `public:…` are written to the ledger in plaintext; the store itself treats all alike. */
export function isPublicMap(name: string): boolean {
  return name.startsWith('public:');
}

function assertSeqno(value: number, what: string): void {
  assert(Number.isSafeInteger(value) && value >= 0, `${what} must be a non-negative safe integer, got ${value}`);
}

function assertMapName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > kvLimits.mapNameLengthMax) {
    throw invalidArgument(`map names must be non-empty strings of at most ${kvLimits.mapNameLengthMax} characters`);
  }
}

function byKey<T extends [string, ...unknown[]]>(a: T, b: T): number {
  return compareStrings(a[0], b[0]);
}

export class Store implements SnapshotSource {
  readonly #maps = new Map<string, CommittedMap>();
  readonly #undo = new Map<number, UndoRecord>();
  #version = 0;
  /** Undo records exist for seqnos in (compactedVersion, version]. */
  #compactedVersion = 0;
  /** Bumped by rollback and restore: transactions begun before cannot commit. */
  #generation = 0;

  /** Seqno of the last applied transaction. */
  get version(): number {
    return this.#version;
  }

  get generation(): number {
    return this.#generation;
  }

  get compactedVersion(): number {
    return this.#compactedVersion;
  }

  /** Transactions holding undo records (applied since the last compaction). */
  get undoLength(): number {
    return this.#undo.size;
  }

  begin(): Tx {
    return new Tx(this);
  }

  commit(tx: Tx): CommitResult {
    if (!(tx instanceof Tx)) throw invalidArgument('commit expects a Tx from begin()');
    const { maps, snapshotLost, store } = finishTx(tx);
    if (store !== this) throw invalidArgument('this transaction belongs to another store');
    if (tx.generation !== this.#generation || snapshotLost) {
      return { ok: false, conflict: 'the store was rolled back or compacted past this transaction' };
    }
    const changes: MapChanges[] = [];
    for (const map of maps.values()) changes.push(changesOf(map));
    changes.sort((a, b) => compareStrings(a.name, b.name));
    if (tx.readVersion !== this.#version) {
      const conflict = this.#findConflict(changes, tx.readVersion);
      if (conflict !== undefined) return { ok: false, conflict };
    }
    const prepared = this.#prepare(changes);
    if (prepared.length === 0) return { ok: true, seqno: undefined, maps: [], maxConflictVersion: tx.readVersion };
    const seqno = this.#version + 1;
    this.#apply(seqno, prepared);
    return { ok: true, seqno, maps: prepared.map(toMapWrites), maxConflictVersion: tx.readVersion };
  }

  /** Applies a transaction executed elsewhere (replay, backups). Inputs are copied. */
  applyWrites(seqno: number, maps: MapWrites[]): void {
    assertSeqno(seqno, 'seqno');
    assert(seqno === this.#version + 1, `applyWrites at seqno ${seqno}, but the store is at ${this.#version}`);
    if (!Array.isArray(maps)) throw invalidArgument('maps must be an array of MapWrites');
    const names = new Set<string>();
    const prepared: PreparedMap[] = [];
    for (const map of maps) {
      assertMapName(map?.name);
      if (names.has(map.name)) throw invalidArgument(`map ${map.name} appears twice in one transaction`);
      names.add(map.name);
      prepared.push(prepareReplayed(map));
    }
    this.#apply(seqno, prepared);
  }

  /** Undoes every transaction after `seqno`. Open transactions can no longer commit. */
  rollback(seqno: number): void {
    assertSeqno(seqno, 'rollback seqno');
    assert(seqno <= this.#version, `rollback to ${seqno}, beyond the current version ${this.#version}`);
    if (seqno === this.#version) return;
    if (seqno < this.#compactedVersion) {
      throw new KvError(
        'KV_ROLLBACK_BEYOND_COMPACTION',
        `cannot roll back to ${seqno}: transactions up to ${this.#compactedVersion} were compacted as committed`,
      );
    }
    for (let s = this.#version; s > seqno; s--) {
      const record = this.#undo.get(s);
      assert(record !== undefined, `undo record for ${s} is missing`);
      for (const [name, undo] of record) this.#undoMap(name, undo);
      this.#undo.delete(s);
    }
    this.#version = seqno;
    this.#generation++;
  }

  /** Forgets undo information up to `seqno`, which consensus has committed: it can never roll back. */
  compact(seqno: number): void {
    assertSeqno(seqno, 'compact seqno');
    assert(seqno <= this.#version, `compact to ${seqno}, beyond the current version ${this.#version}`);
    if (seqno <= this.#compactedVersion) return;
    for (let s = this.#compactedVersion + 1; s <= seqno; s++) this.#undo.delete(s);
    this.#compactedVersion = seqno;
  }

  /** Committed value of `key` in `mapName`, outside any transaction. */
  get(mapName: string, key: Uint8Array): Uint8Array | undefined {
    return this.#maps.get(mapName)?.entries.get(keyString(key))?.value;
  }

  /** Seqno of the committed write of `key`, or undefined if absent. */
  getVersion(mapName: string, key: Uint8Array): number | undefined {
    return this.#maps.get(mapName)?.entries.get(keyString(key))?.version;
  }

  /** Calls `callback(key, value, version)` for each committed entry of the map, in no specified order. */
  forEachCommitted(mapName: string, callback: (key: Uint8Array, value: Uint8Array, version: number) => void): void {
    const map = this.#maps.get(mapName);
    if (map === undefined) return;
    for (const entry of map.entries.values()) callback(entry.key, entry.value, entry.version);
  }

  /** Names of maps that currently hold entries, sorted. */
  mapNames(): string[] {
    const names: string[] = [];
    for (const [name, map] of this.#maps) if (map.entries.size > 0) names.push(name);
    return names.sort(compareStrings);
  }

  snapshot(): StoreSnapshot {
    const maps: StoreSnapshot['maps'] = [];
    for (const name of this.mapNames()) {
      const sorted = [...this.#maps.get(name)!.entries].sort(byKey);
      maps.push({ name, entries: sorted.map(([, e]) => [e.key, e.value, e.version]) });
    }
    return { version: this.#version, maps };
  }

  /** Replaces the whole state with a snapshot (validated, copied). Undo history starts afresh. */
  restore(snapshot: StoreSnapshot): void {
    const restored = parseSnapshot(snapshot);
    this.#maps.clear();
    for (const [name, map] of restored) this.#maps.set(name, map);
    this.#undo.clear();
    this.#version = snapshot.version;
    this.#compactedVersion = snapshot.version;
    this.#generation++;
  }

  // SnapshotSource: reads as of a past version, for transactions that began before later commits.

  canReadAt(version: number, generation: number): boolean {
    return generation === this.#generation && version >= this.#compactedVersion && version <= this.#version;
  }

  entryAt(mapName: string, key: string, version: number): VersionedEntry | undefined {
    const current = this.#maps.get(mapName)?.entries.get(key);
    if (version >= this.#version) return current;
    // A later write would have restamped it, and a later remove would have deleted it.
    if (current !== undefined && current.version <= version) return current;
    // The first change after `version` recorded the entry as it was at `version`.
    for (let s = version + 1; s <= this.#version; s++) {
      const undo = this.#undo.get(s)?.get(mapName);
      if (undo !== undefined && undo.previous.has(key)) return undo.previous.get(key);
    }
    return current;
  }

  entriesAt(mapName: string, version: number): ReadonlyMap<string, VersionedEntry> {
    const map = this.#maps.get(mapName);
    // Maps are only ever deleted by rollback, so one absent now had no entries at any readable version.
    if (map === undefined) return NO_ENTRIES;
    if (map.writeVersion <= version) return map.entries;
    const entries = new Map(map.entries);
    for (let s = this.#version; s > version; s--) {
      const undo = this.#undo.get(s)?.get(mapName);
      if (undo === undefined) continue;
      for (const [key, previous] of undo.previous) {
        if (previous === undefined) entries.delete(key);
        else entries.set(key, previous);
      }
    }
    return entries;
  }

  #findConflict(changes: MapChanges[], readVersion: number): string | undefined {
    for (const change of changes) {
      const map = this.#maps.get(change.name);
      const shown = kvLimits.conflictKeyBytesShownMax;
      if (change.mapRead === MapRead.contents && (map?.writeVersion ?? 0) > readVersion) {
        return `${change.name} (iterated or cleared, then written at ${map!.writeVersion})`;
      }
      if (change.mapRead === MapRead.membership && (map?.membershipVersion ?? 0) > readVersion) {
        return `${change.name} (sized, then a key was added or removed at ${map!.membershipVersion})`;
      }
      for (const [key, versionRead] of change.reads) {
        const current = map?.entries.get(key)?.version ?? 0;
        if (current !== versionRead) return `${change.name}[${describeKey(key, shown)}]`;
      }
    }
    return undefined;
  }

  /** Effective changes against the current state: removes of absent keys are dropped. */
  #prepare(changes: MapChanges[]): PreparedMap[] {
    const prepared: PreparedMap[] = [];
    for (const change of changes) {
      if (change.writes.size === 0 && !change.cleared) continue;
      const entries = this.#maps.get(change.name)?.entries ?? NO_ENTRIES;
      const writes: PreparedMap['writes'] = [];
      const removes: PreparedMap['removes'] = [];
      for (const [key, value] of change.writes) {
        const existing = entries.get(key);
        if (value !== null) writes.push([key, existing?.key ?? keyBytes(key), value]);
        else if (existing !== undefined) removes.push([key, existing.key]);
      }
      if (change.cleared) {
        for (const [key, existing] of entries) if (!change.writes.has(key)) removes.push([key, existing.key]);
      }
      if (writes.length === 0 && removes.length === 0) continue;
      writes.sort(byKey);
      removes.sort(byKey);
      prepared.push({ name: change.name, writes, removes });
    }
    return prepared;
  }

  #apply(seqno: number, prepared: PreparedMap[]): void {
    assert(seqno === this.#version + 1, `apply at ${seqno} after ${this.#version}`);
    if (this.#undo.size >= kvLimits.undoTransactionsMax) {
      throw new KvError(
        'KV_UNDO_LOG_FULL',
        `${this.#undo.size} transactions are applied but not compacted; consensus commit must catch up first`,
      );
    }
    const record: UndoRecord = new Map();
    for (const change of prepared) record.set(change.name, this.#applyMap(seqno, change));
    this.#undo.set(seqno, record);
    this.#version = seqno;
  }

  #applyMap(seqno: number, change: PreparedMap): MapUndo {
    let map = this.#maps.get(change.name);
    if (map === undefined) {
      map = { entries: new Map(), writeVersion: 0, membershipVersion: 0 };
      this.#maps.set(change.name, map);
    }
    const undo: MapUndo = {
      previous: new Map(),
      writeVersion: map.writeVersion,
      membershipVersion: map.membershipVersion,
    };
    let membershipChanged = false;
    for (const [key, bytes, value] of change.writes) {
      const previous = map.entries.get(key);
      if (!undo.previous.has(key)) undo.previous.set(key, previous);
      if (previous === undefined) membershipChanged = true;
      map.entries.set(key, { key: previous?.key ?? bytes, value, version: seqno });
    }
    for (const [key] of change.removes) {
      const previous = map.entries.get(key);
      if (previous === undefined) continue;
      if (!undo.previous.has(key)) undo.previous.set(key, previous);
      map.entries.delete(key);
      membershipChanged = true;
    }
    map.writeVersion = seqno;
    if (membershipChanged) map.membershipVersion = seqno;
    return undo;
  }

  #undoMap(name: string, undo: MapUndo): void {
    const map = this.#maps.get(name);
    assert(map !== undefined, `undo of map ${name}, which does not exist`);
    for (const [key, previous] of undo.previous) {
      if (previous === undefined) map.entries.delete(key);
      else map.entries.set(key, previous);
    }
    map.writeVersion = undo.writeVersion;
    map.membershipVersion = undo.membershipVersion;
    // A map first created by an undone transaction disappears with it.
    if (map.writeVersion === 0 && map.entries.size === 0) this.#maps.delete(name);
  }
}

function toMapWrites(change: PreparedMap): MapWrites {
  return {
    name: change.name,
    writes: change.writes.map(([, key, value]) => [key, value]),
    removes: change.removes.map(([, key]) => key),
  };
}

function prepareReplayed(map: MapWrites): PreparedMap {
  if (!Array.isArray(map.writes) || !Array.isArray(map.removes)) {
    throw invalidArgument(`map ${map.name}: writes and removes must be arrays`);
  }
  const writes: PreparedMap['writes'] = map.writes.map((pair) => {
    if (!Array.isArray(pair) || !(pair[1] instanceof Uint8Array)) {
      throw invalidArgument(`map ${map.name}: each write must be a [key, value] pair of Uint8Arrays`);
    }
    return [keyString(pair[0]), pair[0].slice(), pair[1].slice()];
  });
  const removes: PreparedMap['removes'] = map.removes.map((key) => [keyString(key), key]);
  return { name: map.name, writes, removes };
}

function parseSnapshot(snapshot: StoreSnapshot): Map<string, CommittedMap> {
  const fail = (why: string): never => {
    throw new KvError('KV_INVALID_SNAPSHOT', `invalid KV snapshot: ${why}`);
  };
  if (typeof snapshot !== 'object' || snapshot === null) fail('not an object');
  const version = snapshot.version;
  if (!Number.isSafeInteger(version) || version < 0) fail('version must be a non-negative integer');
  if (!Array.isArray(snapshot.maps)) fail('maps must be an array');
  const maps = new Map<string, CommittedMap>();
  const names = new Set<string>();
  for (const map of snapshot.maps) {
    if (typeof map?.name !== 'string' || map.name.length === 0) fail('a map has no name');
    if (map.name.length > kvLimits.mapNameLengthMax) fail(`map name ${map.name.slice(0, 40)}… is too long`);
    if (names.has(map.name)) fail(`map ${map.name} appears twice`);
    names.add(map.name);
    if (!Array.isArray(map.entries)) fail(`map ${map.name} has no entries array`);
    const entries = new Map<string, VersionedEntry>();
    let latest = 0;
    for (const item of map.entries) {
      const [key, value, entryVersion] = Array.isArray(item) ? item : [];
      if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array)) fail(`map ${map.name}: bad entry`);
      if (!Number.isSafeInteger(entryVersion) || entryVersion! < 1 || entryVersion! > version) {
        fail(`map ${map.name}: entry version ${String(entryVersion)} outside 1..${version}`);
      }
      const k = keyString(key!);
      if (entries.has(k)) fail(`map ${map.name}: duplicate key`);
      entries.set(k, { key: key!.slice(), value: value!.slice(), version: entryVersion! });
      latest = Math.max(latest, entryVersion!);
    }
    if (entries.size > 0) maps.set(map.name, { entries, writeVersion: latest, membershipVersion: latest });
  }
  return maps;
}
