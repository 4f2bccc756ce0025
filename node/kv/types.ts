// Shapes shared by the store, its transactions and its callers (the enclave, the ledger encoder).

/** One map's changes in one transaction: the write set CCF serialises into a ledger entry. */
export interface MapWrites {
  name: string;
  writes: Array<[Uint8Array, Uint8Array]>;
  removes: Uint8Array[];
}

/** A committed key: its bytes, its value, and the seqno of the transaction that last wrote it. */
export interface VersionedEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly version: number;
}

export interface CommitApplied {
  ok: true;
  seqno: number;
  /** Sorted by map name; within a map, writes and removes are each sorted by key bytes (CCF's order). */
  maps: MapWrites[];
  /** The version the transaction read from (the latest version its reads can conflict with). */
  maxConflictVersion: number;
}

/** A transaction that wrote nothing commits without a seqno and leaves no ledger entry. */
export interface CommitReadOnly {
  ok: true;
  seqno: undefined;
  maps: [];
  maxConflictVersion: number;
}

export interface CommitConflict {
  ok: false;
  /** Which map (and key, in hex) was changed underneath the transaction; for logs and metrics. */
  conflict: string;
}

export type CommitResult = CommitApplied | CommitReadOnly | CommitConflict;

/**
 * The whole committed state as plain data (structured-clone friendly), maps and keys in byte order,
 * empty maps left out. Entries are [key, value, version]. The buffers are the store's own: read only.
 */
export interface StoreSnapshot {
  version: number;
  maps: Array<{ name: string; entries: Array<[Uint8Array, Uint8Array, number]> }>;
}
