// A child transaction over a parent one: reads go through the parent (so they see its writes and are
// recorded as its reads), writes stay in the child until `mergeInto` copies them to the parent. Used to
// run a proposal's apply so that a failing apply leaves nothing behind (CCF rolls the apply back and
// files the proposal as Failed), without a second transaction on the store.
//
// The merge reads the child's buffered writes through node/kv's store-side accessors (changesOf,
// finishTx): the same ones the store uses at commit.

import { changesOf, finishTx, Tx, type SnapshotSource } from '../node/kv/tx.ts';
import { keyBytes, keyString } from '../node/kv/bytes.ts';
import type { VersionedEntry } from '../node/kv/types.ts';

function overlaySource(parent: Tx): SnapshotSource {
  const version = parent.readVersion;
  const entry = (mapName: string, key: Uint8Array, value: Uint8Array): VersionedEntry => ({
    key,
    value,
    version: parent.map(mapName).getVersionOfPreviousWrite(key) ?? version,
  });
  return {
    version,
    generation: 0,
    canReadAt: () => true,
    entryAt(mapName, k) {
      const key = keyBytes(k);
      const value = parent.map(mapName).get(key);
      return value === undefined ? undefined : entry(mapName, key, value);
    },
    entriesAt(mapName) {
      const entries = new Map<string, VersionedEntry>();
      parent.map(mapName).forEach((value, key) => entries.set(keyString(key), entry(mapName, key.slice(), value)));
      return entries;
    },
  };
}

/** A transaction reading through `parent`, whose writes reach it only by `mergeInto`. */
export function childTx(parent: Tx): Tx {
  return new Tx(overlaySource(parent));
}

/** Copies the child's writes, removes and clears to the parent, and finishes the child. */
export function mergeInto(parent: Tx, child: Tx): void {
  const { maps } = finishTx(child);
  for (const map of maps.values()) {
    const changes = changesOf(map);
    if (changes.cleared) parent.map(changes.name).clear();
    for (const [k, value] of changes.writes) {
      if (value === null) parent.map(changes.name).delete(keyBytes(k));
      else parent.map(changes.name).set(keyBytes(k), value);
    }
  }
}

/** Abandons the child's writes. */
export function discard(child: Tx): void {
  if (!child.finished) finishTx(child);
}
