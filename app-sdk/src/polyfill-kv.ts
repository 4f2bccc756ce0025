// The polyfill's key-value store: in-memory maps of ArrayBuffers with the transaction semantics a
// handler sees on a Synod node (node/kv, after CCF's):
// - a transaction sees its own writes; getVersionOfPreviousWrite reads the committed state only;
// - forEach visits the committed entries the transaction has not overwritten, then its own writes, as
//   they were when forEach started (callbacks may write);
// - commit gives the transaction the next version when it changed something; removing an absent key or
//   clearing an empty map changes nothing;
// - keys and values are ArrayBuffers (copied in and out), compared by content, bounded in size;
// - which maps may be read or written follows CCF's capability table for app endpoints.
// One transaction at a time: the polyfill runs one handler at a time. Outside a handler every write
// commits on its own.

import { bytesArgument, isArrayBuffer, toArrayBuffer } from './polyfill-crypto.ts';
import { polyfillLimits } from './limits.ts';
import type { KvMap, KvMaps } from './types.ts';

export type ExecutionMode = 'readwrite' | 'readonly' | 'historical';

interface Entry {
  key: Uint8Array;
  value: Uint8Array;
  version: number;
}

/** Bytes as a string, one char per byte: a Map key that compares by content. */
function keyOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

// ---- capabilities ---------------------------------------------------------------------------------

type Access = 'read-write' | 'read-only' | 'none';

/** CCF's table for app endpoints (and Synod's one change: public:ccf.internal.* is not readable). */
function mapAccess(mapName: string, mode: ExecutionMode): { access: Access; reason: string } {
  const bare = mapName.startsWith('public:') ? mapName.slice('public:'.length) : mapName;
  if (bare.startsWith('ccf.internal.')) return { access: 'none', reason: 'internal maps are not accessible to apps' };
  if (bare.startsWith('ccf.gov.')) {
    return bare === mapName
      ? { access: 'none', reason: 'private governance maps are not accessible to apps' }
      : { access: 'read-only', reason: 'governance maps are read-only for apps' };
  }
  if (bare.startsWith('ccf.')) return { access: 'none', reason: 'map names starting with ccf. are reserved' };
  if (mode === 'readwrite') return { access: 'read-write', reason: 'app maps are writable in readwrite endpoints' };
  return { access: 'read-only', reason: `app maps are read-only in ${mode} endpoints` };
}

// ---- store and transactions -------------------------------------------------------------------------

interface MapWrites {
  cleared: boolean;
  /** key → new value, or null for a remove; insertion order is write order. */
  writes: Map<string, { key: Uint8Array; value: Uint8Array | null }>;
}

export class MemoryTx {
  readonly mode: ExecutionMode;
  readonly maps = new Map<string, MapWrites>();

  constructor(mode: ExecutionMode) {
    this.mode = mode;
  }

  writesOf(name: string): MapWrites {
    let map = this.maps.get(name);
    if (map === undefined) {
      map = { cleared: false, writes: new Map() };
      this.maps.set(name, map);
    }
    return map;
  }
}

export class MemoryStore {
  #maps = new Map<string, Map<string, Entry>>();
  #version = 0;

  /** The last committed version (0: nothing committed yet). */
  get version(): number {
    return this.#version;
  }

  committed(name: string): ReadonlyMap<string, Entry> {
    return this.#maps.get(name) ?? new Map();
  }

  mapNames(): string[] {
    return [...this.#maps.keys()].filter((name) => this.#maps.get(name)!.size > 0).sort();
  }

  /** Applies what `tx` changed; returns its version, or undefined when it changed nothing. */
  commit(tx: MemoryTx): number | undefined {
    const version = this.#version + 1;
    let changed = false;
    for (const [name, { cleared, writes }] of tx.maps) {
      const committed = this.#maps.get(name) ?? new Map<string, Entry>();
      if (cleared && committed.size > 0) {
        for (const k of committed.keys()) if (!writes.has(k)) committed.delete(k);
        changed = true;
      }
      for (const [k, { key, value }] of writes) {
        if (value !== null) {
          committed.set(k, { key, value, version });
          changed = true;
        } else if (committed.delete(k)) {
          changed = true;
        }
      }
      this.#maps.set(name, committed);
    }
    if (!changed) return undefined;
    this.#version = version;
    return version;
  }

  reset(): void {
    this.#maps = new Map();
    this.#version = 0;
  }
}

// ---- the maps an app sees -------------------------------------------------------------------------

/** What a map handle needs from the polyfill: the store, and the transaction of the running handler. */
export interface KvContext {
  readonly store: MemoryStore;
  /** The running handler's transaction, or undefined outside a handler (each write then commits alone). */
  readonly currentTx: MemoryTx | undefined;
}

const WRITES = new Set(['set', 'delete', 'clear']);

class PolyfillKvMap implements KvMap {
  readonly #name: string;
  readonly #context: KvContext;

  constructor(name: string, context: KvContext) {
    this.#name = name;
    this.#context = context;
  }

  /** Runs `op` in the handler's transaction, or in one of its own that commits at once. */
  #run<T>(method: string, op: (tx: MemoryTx) => T): T {
    const tx = this.#context.currentTx;
    const { access, reason } = mapAccess(this.#name, tx?.mode ?? 'readwrite');
    const allowed = WRITES.has(method) ? access === 'read-write' : access !== 'none';
    if (!allowed) {
      const state = access === 'none' ? 'not accessible' : 'read-only';
      throw new TypeError(`Cannot call ${method} on map '${this.#name}': it is ${state} to this app here (${reason}).`);
    }
    if (tx !== undefined) return op(tx);
    const own = new MemoryTx('readwrite');
    const result = op(own);
    this.#context.store.commit(own);
    return result;
  }

  #lookup(tx: MemoryTx, k: string): Uint8Array | undefined {
    const own = tx.maps.get(this.#name);
    const written = own?.writes.get(k);
    if (written !== undefined) return written.value ?? undefined;
    if (own?.cleared) return undefined;
    return this.#context.store.committed(this.#name).get(k)?.value;
  }

  has(key: ArrayBuffer): boolean {
    const k = keyOf(bytesArgument(key, polyfillLimits.kvKeyBytesMax));
    return this.#run('has', (tx) => this.#lookup(tx, k) !== undefined);
  }

  get(key: ArrayBuffer): ArrayBuffer | undefined {
    const k = keyOf(bytesArgument(key, polyfillLimits.kvKeyBytesMax));
    const value = this.#run('get', (tx) => this.#lookup(tx, k));
    return value === undefined ? undefined : toArrayBuffer(value);
  }

  getVersionOfPreviousWrite(key: ArrayBuffer): number | undefined {
    const k = keyOf(bytesArgument(key, polyfillLimits.kvKeyBytesMax));
    return this.#run('getVersionOfPreviousWrite', () => this.#context.store.committed(this.#name).get(k)?.version);
  }

  set(key: ArrayBuffer, value: ArrayBuffer): KvMap {
    const keyBytes = bytesArgument(key, polyfillLimits.kvKeyBytesMax).slice();
    const valueBytes = bytesArgument(value, polyfillLimits.kvValueBytesMax).slice();
    this.#run('set', (tx) => tx.writesOf(this.#name).writes.set(keyOf(keyBytes), { key: keyBytes, value: valueBytes }));
    return this;
  }

  delete(key: ArrayBuffer): void {
    const keyBytes = bytesArgument(key, polyfillLimits.kvKeyBytesMax).slice();
    this.#run('delete', (tx) => {
      tx.writesOf(this.#name).writes.set(keyOf(keyBytes), { key: keyBytes, value: null });
    });
  }

  clear(): void {
    this.#run('clear', (tx) => {
      const own = tx.writesOf(this.#name);
      own.cleared = true;
      own.writes.clear();
    });
  }

  forEach(callback: (value: ArrayBuffer, key: ArrayBuffer, kvmap: KvMap) => void): void {
    if (typeof callback !== 'function') throw new TypeError('Argument must be a function');
    const entries = this.#run('forEach', (tx) => this.#visible(tx));
    for (const [key, value] of entries) callback(toArrayBuffer(value), toArrayBuffer(key), this);
  }

  get size(): number {
    return this.#run('size', (tx) => this.#visible(tx).length);
  }

  /** What the transaction sees, as a list taken now: committed entries it did not overwrite, then its writes. */
  #visible(tx: MemoryTx): Array<[Uint8Array, Uint8Array]> {
    const own = tx.maps.get(this.#name);
    const out: Array<[Uint8Array, Uint8Array]> = [];
    if (!own?.cleared) {
      for (const [k, entry] of this.#context.store.committed(this.#name)) {
        if (own === undefined || !own.writes.has(k)) out.push([entry.key, entry.value]);
      }
    }
    if (own !== undefined) {
      for (const { key, value } of own.writes.values()) if (value !== null) out.push([key, value]);
    }
    return out;
  }
}

/** `ccf.kv`: a handle for any map name, made on first use and kept (so handles survive reset()). */
export function createKvMaps(context: KvContext): KvMaps {
  const handles = new Map<string, PolyfillKvMap>();
  return new Proxy({} as KvMaps, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      if (name.length === 0 || name.length > polyfillLimits.mapNameLengthMax) {
        throw new TypeError(`map names must be non-empty strings of at most ${polyfillLimits.mapNameLengthMax} characters`);
      }
      let handle = handles.get(name);
      if (handle === undefined) {
        handle = new PolyfillKvMap(name, context);
        handles.set(name, handle);
      }
      return handle;
    },
    has: (_target, name) => typeof name === 'string',
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

export { isArrayBuffer };
