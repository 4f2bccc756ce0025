// How long serializing a snapshot takes for a store of N keys (300-byte values, one private map), in
// process: the primary does this synchronously at every snapshotTxInterval-th signature, so it bounds
// how large a store can grow before a snapshot stalls the primary's event loop for an election timeout.
//
//   node --import tsx bench/snapshot-time.ts [N=100000]

import { randomBytes } from 'node:crypto';
import { Store } from '../node/kv/store.ts';
import { MerkleTree } from '../node/merkle/tree.ts';
import { LedgerSecret } from '../node/ledger/secret.ts';
import { serializeSnapshot } from '../node/snapshot/snapshot.ts';

const N = Number(process.argv[2] ?? 100_000);
if (!Number.isSafeInteger(N) || N < 1) throw new Error('usage: bench/snapshot-time.ts [number of keys]');
const store = new Store();
const tree = new MerkleTree();
const value = new Uint8Array(300).fill(65);
for (let i = 0; i < N; i += 1000) {
  const tx = store.begin();
  for (let j = i; j < Math.min(N, i + 1000); j++) tx.map('records').set(new TextEncoder().encode(`key-${j}`), value);
  if (!store.commit(tx).ok) throw new Error('commit failed');
}
for (let i = 0; i < store.version; i++) tree.append(new Uint8Array(randomBytes(32)));
const secret = new LedgerSecret(new Uint8Array(randomBytes(32)));
const started = performance.now();
const bytes = serializeSnapshot({ store, seqno: store.version, view: 2, tree, secret, requireSignature: false });
const ms = performance.now() - started;
console.log(`${N} keys: a ${(bytes.byteLength / 1e6).toFixed(1)} MB snapshot in ${ms.toFixed(0)} ms (${((ms * 1000) / N).toFixed(2)} µs per key)`);
