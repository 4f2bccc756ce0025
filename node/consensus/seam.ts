// The consensus seam: what the enclave's data path asks of consensus. The single-node implementation
// (single.ts) and Raft (replication) both implement it, so nothing in the data path assumes one node.
//
// CCF's rule applies to every implementation: only signature transactions are commit points. A
// transaction is committed once a signature at or after it, in the current view, is durable on a
// majority of each active configuration.

export interface ReplicatedEntry {
  seqno: number;
  view: number;
  bytes: Uint8Array;
  isSignature: boolean;
}

/** Where consensus writes the local copy of the log (implemented by the enclave over the HostPort). */
export interface LocalLog {
  append(entry: ReplicatedEntry): void;
  flush(): void;
}

export interface Consensus {
  /** The current view (Raft term). */
  readonly view: number;
  /** The highest committed seqno (always a signature transaction's seqno, or 0). */
  readonly commitSeqno: number;
  /** The id of the node consensus believes is primary, if any. */
  primaryId(): string | undefined;
  isPrimary(): boolean;
  /** Primary only: append locally produced entries and replicate them. */
  replicate(entries: readonly ReplicatedEntry[]): void;
  /** The local ledger is durable up to and including `seqno` (host → enclave, after fsync). */
  onLocalDurable(seqno: number): void;
  /** The view in which `seqno` was appended, if it is in the log; undefined otherwise. */
  viewOf(seqno: number): number | undefined;
  /** Called whenever the commit seqno advances. */
  onCommit(listener: (commitSeqno: number) => void): void;
}
