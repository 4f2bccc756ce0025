// Transactions over the store, with CCF's semantics (src/kv/untyped_map_handle.h, apply_changes.h):
// - A transaction reads a consistent snapshot: the store as of its read version (the store's version
//   at begin()), whatever commits happen meanwhile.
// - It sees its own writes. Reading a key it has not written records (key, version read), version 0
//   meaning "absent"; that is the dependency checked at commit.
// - set/delete are blind: they record no read. delete returns nothing (as in @microsoft/ccf-app), so a
//   remove never depends on whether the key existed; commit drops removes of absent keys.
// - Whole-map observations are recorded per map: size depends on which keys exist (membership),
//   forEach and clear on every entry (contents). Commit rejects them if the map changed in that way.
// - getVersionOfPreviousWrite reads the snapshot only, ignoring the transaction's own writes (as CCF).
// Values handed in are copied; values handed out are the store's own buffers and must not be mutated.

import { keyBytes, keyString } from './bytes.ts';
import { KvError, invalidArgument } from './errors.ts';
import { kvLimits } from './limits.ts';
import type { VersionedEntry } from './types.ts';

/** What a transaction needs from its store: reads of the committed state as of a past version. */
export interface SnapshotSource {
  readonly version: number;
  readonly generation: number;
  /** True if entries as of `version` can still be reconstructed (not rolled back or compacted away). */
  canReadAt(version: number, generation: number): boolean;
  entryAt(mapName: string, key: string, version: number): VersionedEntry | undefined;
  /** All entries of a map as of `version`; the result must not be modified. */
  entriesAt(mapName: string, version: number): ReadonlyMap<string, VersionedEntry>;
}

/** Whole-map observations, ordered so that a stronger one subsumes a weaker one. */
export const MapRead = { none: 0, membership: 1, contents: 2 } as const;
export type MapReadLevel = (typeof MapRead)[keyof typeof MapRead];

/** The parts of a TxMap the store reads at commit. */
export interface MapChanges {
  readonly name: string;
  /** key → version read (0: absent). */
  readonly reads: ReadonlyMap<string, number>;
  /** key → new value, or null for a remove. */
  readonly writes: ReadonlyMap<string, Uint8Array | null>;
  /** clear() was called: every key present at commit and not in `writes` is removed. */
  readonly cleared: boolean;
  readonly mapRead: MapReadLevel;
}

// Assigned by the classes' static blocks below, which can see their private fields.
/** Store-side access to a TxMap's recorded reads and buffered writes (not part of the public API). */
export let changesOf: (map: TxMap) => MapChanges;
/** Store-side: marks a transaction finished and hands over its maps (not part of the public API). */
export let finishTx: (tx: Tx) => {
  maps: ReadonlyMap<string, TxMap>;
  snapshotLost: boolean;
  store: SnapshotSource;
};

function assertValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgument('values must be Uint8Arrays');
}

export class TxMap {
  readonly name: string;
  readonly #tx: Tx;
  readonly #reads = new Map<string, number>();
  readonly #writes = new Map<string, Uint8Array | null>();
  #cleared = false;
  #mapRead: MapReadLevel = MapRead.none;

  constructor(tx: Tx, name: string) {
    this.#tx = tx;
    this.name = name;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#tx.assertOpen();
    const k = keyString(key);
    const written = this.#writes.get(k);
    if (written !== undefined) return written ?? undefined;
    if (this.#cleared) return undefined;
    return this.#readCommitted(k)?.value;
  }

  has(key: Uint8Array): boolean {
    return this.get(key) !== undefined;
  }

  set(key: Uint8Array, value: Uint8Array): this {
    this.#tx.assertOpen();
    assertValue(value);
    this.#writes.set(keyString(key), value.slice());
    return this;
  }

  delete(key: Uint8Array): void {
    this.#tx.assertOpen();
    this.#writes.set(keyString(key), null);
  }

  clear(): void {
    this.#tx.assertOpen();
    this.#observe(MapRead.contents);
    this.#cleared = true;
    this.#writes.clear();
  }

  /** Calls `callback(value, key)` for every entry the transaction sees, in no specified order. */
  forEach(callback: (value: Uint8Array, key: Uint8Array) => void): void {
    this.#observe(MapRead.contents);
    // Callbacks may write to this map: iterate over the writes as they were when forEach started.
    const writes = this.#writes.size === 0 ? undefined : new Map(this.#writes);
    if (!this.#cleared) {
      for (const [k, entry] of this.#snapshotEntries()) {
        if (writes === undefined || !writes.has(k)) callback(entry.value, entry.key);
      }
    }
    if (writes === undefined) return;
    for (const [k, value] of writes) {
      if (value !== null) callback(value, keyBytes(k));
    }
  }

  get size(): number {
    this.#observe(MapRead.membership);
    let count = 0;
    if (!this.#cleared) {
      const entries = this.#snapshotEntries();
      count = entries.size;
      for (const [k, value] of this.#writes) {
        const present = entries.has(k);
        if (value === null && present) count--;
        else if (value !== null && !present) count++;
      }
      return count;
    }
    for (const value of this.#writes.values()) if (value !== null) count++;
    return count;
  }

  /** Version of the last committed write to `key` as of the snapshot; own writes are not counted. */
  getVersionOfPreviousWrite(key: Uint8Array): number | undefined {
    this.#tx.assertOpen();
    return this.#readCommitted(keyString(key))?.version;
  }

  #readCommitted(k: string): VersionedEntry | undefined {
    const entry = this.#tx.entryAt(this.name, k);
    if (!this.#reads.has(k)) this.#reads.set(k, entry === undefined ? 0 : entry.version);
    return entry;
  }

  #snapshotEntries(): ReadonlyMap<string, VersionedEntry> {
    return this.#tx.entriesAt(this.name);
  }

  #observe(level: MapReadLevel): void {
    this.#tx.assertOpen();
    if (level > this.#mapRead) this.#mapRead = level;
  }

  static {
    changesOf = (map: TxMap): MapChanges => ({
      name: map.name,
      reads: map.#reads,
      writes: map.#writes,
      cleared: map.#cleared,
      mapRead: map.#mapRead,
    });
  }
}


export class Tx {
  /** The store version this transaction reads (its snapshot). */
  readonly readVersion: number;
  /** The store's rollback generation at begin(); a rollback or restore invalidates the transaction. */
  readonly generation: number;
  readonly #store: SnapshotSource;
  readonly #maps = new Map<string, TxMap>();
  #finished = false;
  /** The snapshot could not be reconstructed (rolled back or compacted away): commit must fail. */
  #snapshotLost = false;

  constructor(store: SnapshotSource) {
    this.#store = store;
    this.readVersion = store.version;
    this.generation = store.generation;
  }

  map(name: string): TxMap {
    let map = this.#maps.get(name);
    if (map !== undefined) return map;
    this.assertOpen();
    if (typeof name !== 'string' || name.length === 0 || name.length > kvLimits.mapNameLengthMax) {
      throw invalidArgument(`map names must be non-empty strings of at most ${kvLimits.mapNameLengthMax} characters`);
    }
    if (this.#maps.size >= kvLimits.mapsPerTransactionMax) {
      throw invalidArgument(`a transaction may touch at most ${kvLimits.mapsPerTransactionMax} maps`);
    }
    map = new TxMap(this, name);
    this.#maps.set(name, map);
    return map;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Whether the transaction wrote, removed or cleared anything so far (a backup forwards such requests). */
  hasWrites(): boolean {
    for (const map of this.#maps.values()) {
      const changes = changesOf(map);
      if (changes.writes.size > 0 || changes.cleared) return true;
    }
    return false;
  }

  assertOpen(): void {
    if (this.#finished) {
      throw new KvError('KV_TX_FINISHED', 'this transaction was already committed or abandoned; begin a new one');
    }
  }

  entryAt(mapName: string, k: string): VersionedEntry | undefined {
    return this.#store.entryAt(mapName, k, this.#snapshotVersion());
  }

  entriesAt(mapName: string): ReadonlyMap<string, VersionedEntry> {
    return this.#store.entriesAt(mapName, this.#snapshotVersion());
  }

  /**
   * The version reads are served at. Normally the read version; if the store can no longer rebuild it
   * (a rollback or compaction overtook this transaction), the current state, and the transaction is
   * marked so that commit rejects it.
   */
  #snapshotVersion(): number {
    const store = this.#store;
    if (this.readVersion === store.version && this.generation === store.generation) return this.readVersion;
    if (!this.#snapshotLost && store.canReadAt(this.readVersion, this.generation)) return this.readVersion;
    this.#snapshotLost = true;
    return store.version;
  }

  static {
    finishTx = (tx: Tx) => {
      tx.assertOpen();
      tx.#finished = true;
      return { maps: tx.#maps, snapshotLost: tx.#snapshotLost, store: tx.#store };
    };
  }
}
