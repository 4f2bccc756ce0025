// Typed views of KV maps, as @microsoft/ccf-app's kv module: a TypedKvMap encodes keys and values with
// DataConverters over a raw KvMap; a TypedKvSet stores keys with an 8-byte zero value (ccf-app's
// layout). `typedKv("name", …)` binds to `ccf.kv["name"]` when the global exists, and otherwise looks
// the map up on every call, so that app modules can be imported before the polyfill is installed.

import type { DataConverter } from './converters.ts';
import { ccfGlobal } from './global.ts';
import type { KvMap, KvMaps } from './types.ts';

export type { KvMap, KvSet, KvMaps } from './types.ts';

const SET_VALUE_BYTES = 8;

export class TypedKvMap<K, V> {
  private kv: KvMap;
  private kt: DataConverter<K>;
  private vt: DataConverter<V>;

  constructor(kv: KvMap, kt: DataConverter<K>, vt: DataConverter<V>) {
    this.kv = kv;
    this.kt = kt;
    this.vt = vt;
  }

  has(key: K): boolean {
    return this.kv.has(this.kt.encode(key));
  }

  get(key: K): V | undefined {
    const value = this.kv.get(this.kt.encode(key));
    return value === undefined ? undefined : this.vt.decode(value);
  }

  getVersionOfPreviousWrite(key: K): number | undefined {
    return this.kv.getVersionOfPreviousWrite(this.kt.encode(key));
  }

  set(key: K, value: V): TypedKvMap<K, V> {
    this.kv.set(this.kt.encode(key), this.vt.encode(value));
    return this;
  }

  delete(key: K): void {
    this.kv.delete(this.kt.encode(key));
  }

  clear(): void {
    this.kv.clear();
  }

  forEach(callback: (value: V, key: K, table: TypedKvMap<K, V>) => void): void {
    const { kt, vt } = this;
    this.kv.forEach((value, key) => callback(vt.decode(value), kt.decode(key), this));
  }

  get size(): number {
    return this.kv.size;
  }
}

export class TypedKvSet<K> {
  private kv: KvMap;
  private kt: DataConverter<K>;

  constructor(kv: KvMap, kt: DataConverter<K>) {
    this.kv = kv;
    this.kt = kt;
  }

  has(key: K): boolean {
    return this.kv.has(this.kt.encode(key));
  }

  getVersionOfPreviousWrite(key: K): number | undefined {
    return this.kv.getVersionOfPreviousWrite(this.kt.encode(key));
  }

  add(key: K): TypedKvSet<K> {
    this.kv.set(this.kt.encode(key), new ArrayBuffer(SET_VALUE_BYTES));
    return this;
  }

  delete(key: K): void {
    this.kv.delete(this.kt.encode(key));
  }

  clear(): void {
    this.kv.clear();
  }

  forEach(callback: (key: K, table: TypedKvSet<K>) => void): void {
    const kt = this.kt;
    this.kv.forEach((_value, key) => callback(kt.decode(key), this));
  }

  get size(): number {
    return this.kv.size;
  }
}

/** A KvMap that finds `ccf.kv[name]` on every call (only used while the global is missing). */
class LateKvMap implements KvMap {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  #map(): KvMap {
    return ccfGlobal().kv[this.#name]!;
  }

  has(key: ArrayBuffer): boolean {
    return this.#map().has(key);
  }

  get(key: ArrayBuffer): ArrayBuffer | undefined {
    return this.#map().get(key);
  }

  getVersionOfPreviousWrite(key: ArrayBuffer): number | undefined {
    return this.#map().getVersionOfPreviousWrite(key);
  }

  set(key: ArrayBuffer, value: ArrayBuffer): KvMap {
    this.#map().set(key, value);
    return this;
  }

  delete(key: ArrayBuffer): void {
    this.#map().delete(key);
  }

  clear(): void {
    this.#map().clear();
  }

  forEach(callback: (value: ArrayBuffer, key: ArrayBuffer, kvmap: KvMap) => void): void {
    this.#map().forEach((value, key) => callback(value, key, this));
  }

  get size(): number {
    return this.#map().size;
  }
}

function mapNamed(nameOrMap: string | KvMap): KvMap {
  if (typeof nameOrMap !== 'string') return nameOrMap;
  const ccf = (globalThis as { ccf?: { kv: KvMaps } }).ccf;
  return ccf === undefined ? new LateKvMap(nameOrMap) : ccf.kv[nameOrMap]!;
}

export function typedKv<K, V>(nameOrMap: string | KvMap, kt: DataConverter<K>, vt: DataConverter<V>): TypedKvMap<K, V> {
  return new TypedKvMap(mapNamed(nameOrMap), kt, vt);
}

// The unused type parameter V is kept for source compatibility with ccf-app's signature.
export function typedKvSet<K, V = unknown>(nameOrMap: string | KvMap, kt: DataConverter<K>): TypedKvSet<K> {
  return new TypedKvSet<K>(mapNamed(nameOrMap), kt);
}

/** `ccf.kv`: raw maps by name. */
export const rawKv: KvMaps =
  (globalThis as { ccf?: { kv: KvMaps } }).ccf?.kv ??
  new Proxy({} as KvMaps, {
    get: (_target, name) => (typeof name === 'string' ? ccfGlobal().kv[name] : undefined),
  });
