// Pieces of CCF's snapshot entry below the entry framing (CCF src/kv/untyped_map.h, untyped_change_set.h,
// ds/champ_map.h, ds/map_serializers.h; consensus/aft/impl/state.h for the view history).
//
// A map's state, as one opaque byte string per map in the snapshot, is a sequence of
//   key:   size u64 LE | key bytes | zero padding to a multiple of 8 (counting the size field)
//   value: size u64 LE (= 8 + value length) | version i64 LE | value bytes | zero padding likewise
// CCF writes the pairs in the order of its own key hash; order carries no meaning (CCF re-inserts them
// one by one), so Synod writes them in key byte order, which makes a snapshot a function of the state.
// CCF's reader skips entries with a negative version (deletions, in old snapshots); so does ours.
//
// The view history is CCF's: element i is the first seqno of view i + 1 (views without transactions
// repeat the next start), cut to the starts at or before the snapshot's seqno.

import { invalidArgument, inconsistent, malformed } from './errors.ts';

export type VersionedKv = [key: Uint8Array, value: Uint8Array, version: number];

const pad = (n: number) => (8 - (n % 8)) % 8;

export function mapStateBytes(entries: readonly VersionedKv[]): number {
  let size = 0;
  for (const [key, value] of entries) size += 8 + key.byteLength + pad(8 + key.byteLength) + 16 + value.byteLength + pad(16 + value.byteLength);
  return size;
}

/** CCF's serialised map state for `entries` (written in the order given). */
export function encodeMapState(entries: readonly VersionedKv[]): Uint8Array {
  const steps = encodeMapStateSteps(entries, Infinity);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** encodeMapState, pausing (yield) after about every `stepBytes` bytes written (see serializeSnapshotInSteps). */
export function* encodeMapStateSteps(entries: readonly VersionedKv[], stepBytes: number): Generator<void, Uint8Array, void> {
  const out = new Uint8Array(mapStateBytes(entries));
  const view = new DataView(out.buffer);
  let at = 0;
  let sinceYield = 0;
  for (const [key, value, version] of entries) {
    if (!Number.isSafeInteger(version) || version < 1) throw invalidArgument(`entry version ${version} is not a positive integer`);
    const start = at;
    view.setBigUint64(at, BigInt(key.byteLength), true);
    out.set(key, at + 8);
    at += 8 + key.byteLength + pad(8 + key.byteLength);
    view.setBigUint64(at, BigInt(8 + value.byteLength), true);
    view.setBigInt64(at + 8, BigInt(version), true);
    out.set(value, at + 16);
    at += 16 + value.byteLength + pad(16 + value.byteLength);
    sinceYield += at - start;
    if (sinceYield >= stepBytes) {
      sinceYield = 0;
      yield;
    }
  }
  if (at !== out.byteLength) throw new Error('snapshot assertion failed: map state size');
  return out;
}

function u64At(view: DataView, at: number, what: string, mapName: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`map ${mapName}: ${what} ${value} is too large`);
  return Number(value);
}

function checkPadding(raw: Uint8Array, at: number, count: number, mapName: string): void {
  for (let i = 0; i < count; i++) {
    if (raw[at + i] !== 0) throw malformed(`map ${mapName}: non-zero padding at byte ${at + i} of its state`);
  }
}

/**
 * Decodes one map's state. Entries come back sorted by key bytes, copied out of `raw`. Every entry
 * version must be in [1, maxVersion]; keys must be unique.
 */
export function decodeMapState(raw: Uint8Array, mapName: string, maxVersion: number): VersionedKv[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const entries: VersionedKv[] = [];
  let at = 0;
  const need = (n: number, what: string) => {
    if (n > raw.byteLength - at) throw malformed(`map ${mapName}: ${what} needs ${n} bytes at byte ${at} of its state, ${raw.byteLength - at} remain`);
  };
  while (at < raw.byteLength) {
    need(8, 'key size');
    const keySize = u64At(view, at, 'key size', mapName);
    at += 8;
    need(keySize + pad(8 + keySize), 'key');
    const key = raw.slice(at, at + keySize);
    checkPadding(raw, at + keySize, pad(8 + keySize), mapName);
    at += keySize + pad(8 + keySize);
    need(16, 'value header');
    const valueSize = u64At(view, at, 'value size', mapName);
    if (valueSize < 8) throw malformed(`map ${mapName}: value size ${valueSize} leaves no room for its version`);
    const version = view.getBigInt64(at + 8, true);
    at += 16;
    const valueBytes = valueSize - 8;
    need(valueBytes + pad(8 + valueSize), 'value');
    const value = raw.slice(at, at + valueBytes);
    checkPadding(raw, at + valueBytes, pad(8 + valueSize), mapName);
    at += valueBytes + pad(8 + valueSize);
    if (version < 0n) continue; // a deletion, in CCF's older snapshots
    if (version < 1n || version > BigInt(maxVersion)) {
      throw inconsistent(`map ${mapName}: an entry has version ${version}, outside [1, ${maxVersion}]`);
    }
    entries.push([key, value, Number(version)]);
  }
  entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  for (let i = 1; i < entries.length; i++) {
    if (Buffer.compare(entries[i - 1]![0], entries[i]![0]) === 0) throw malformed(`map ${mapName}: a key appears twice`);
  }
  return entries;
}

/** A view and the seqno of its first transaction, as consensus keeps them (ascending). */
export interface ViewStart {
  view: number;
  startSeqno: number;
}

/** The same as Raft's view history keeps it (node/consensus/raft/view-history.ts). */
export interface TermStart {
  term: number;
  index: number;
}

/** CCF's view history up to `seqno` from consensus's list of view starts (either shape, ascending). */
export function ccfViewHistory(views: ReadonlyArray<ViewStart | TermStart>, seqno: number): number[] {
  if (!Array.isArray(views)) throw invalidArgument('views must be an array of {view, startSeqno} or {term, index}');
  const history: number[] = [];
  let lastView = 0;
  let lastStart = 0;
  for (const item of views) {
    const { view, startSeqno } = item !== null && typeof item === 'object' && 'term' in item
      ? { view: item.term, startSeqno: item.index }
      : (item ?? ({} as ViewStart)) as ViewStart;
    if (!Number.isSafeInteger(view) || !Number.isSafeInteger(startSeqno) || view <= lastView || startSeqno < lastStart || view > 2 ** 31 - 1) {
      throw invalidArgument('views must be {view, startSeqno} with views increasing and starts non-decreasing');
    }
    lastView = view;
    lastStart = startSeqno;
    if (startSeqno > seqno) break;
    while (history.length < view) history.push(startSeqno);
  }
  return history;
}

/** Views bounded by this (the view history is one i64 per view). */
export const VIEW_HISTORY_LENGTH_MAX = 1 << 20;

/** Checks a decoded view history against the snapshot's seqno and turns it back into view starts. */
export function viewsFromHistory(history: readonly number[], seqno: number): ViewStart[] {
  if (history.length > VIEW_HISTORY_LENGTH_MAX) throw malformed(`a view history of ${history.length} views`);
  const views: ViewStart[] = [];
  for (let i = 0; i < history.length; i++) {
    const start = history[i]!;
    if (start < 0 || start > seqno || (i > 0 && start < history[i - 1]!)) {
      throw inconsistent(`view history: view ${i + 1} starts at ${start} (snapshot at ${seqno}, previous start ${i > 0 ? history[i - 1] : '-'})`);
    }
    // A view with no transactions shares its start with the next one: the later view owns it.
    if (i === history.length - 1 || history[i + 1] !== start) views.push({ view: i + 1, startSeqno: start });
  }
  return views;
}
