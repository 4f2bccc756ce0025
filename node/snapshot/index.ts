// node/snapshot: CCF-format snapshots of the KV store and Merkle tree, their evidence, and committed
// snapshot files. Pure: no I/O (the host side is node/host/snapshots.ts). See README.md.

export * from './errors.ts';
export * from './format.ts';
export * from './ccf-tree.ts';
export * from './snapshot.ts';
export * from './evidence.ts';
export * from './snapshotter.ts';
