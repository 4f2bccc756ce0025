// node/kv: the key-value store (pure, synchronous). See store.ts for the model and tx.ts for the
// transaction semantics.

export { Store, isPublicMap } from './store.ts';
export { Tx, TxMap } from './tx.ts';
export type { CommitApplied, CommitConflict, CommitReadOnly, CommitResult, MapWrites, StoreSnapshot, VersionedEntry } from './types.ts';
export { KvError, type KvErrorCode } from './errors.ts';
export { kvLimits } from './limits.ts';
