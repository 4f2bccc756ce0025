// The one module of typed messages between the host (untrusted: sockets, files, timers, process
// lifecycle) and the enclave (trusted: keys, ledger secrets, KV store, consensus, apps).
//
// Each message says its direction. Everything that travels host → enclave is hostile input and is
// validated on the enclave side: bytes read back from disk, sealed blobs, peer messages, time. Nothing that
// travels enclave → host carries private data or keys in plaintext, with one stated exception: the TLS
// identity. Synod nodes run as whole processes inside a confidential VM or container (SEV-SNP), so the
// socket layer that terminates TLS is inside the TEE too; the split keeps disk and network bytes untrusted.

/** An HTTP request as the enclave sees it (host → enclave). */
export interface RequestMessage {
  method: string;
  /** Path without the query string, e.g. `/app/log/private`. */
  path: string;
  /** Raw query string without `?`. */
  query: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** DER of the TLS client certificate, when the caller presented one. */
  clientCertDer?: Uint8Array;
}

/** An HTTP response produced by the enclave (enclave → host). */
export interface ResponseMessage {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

/** One ledger entry as the host found it on disk (host → enclave, untrusted). */
export interface StoredEntryMessage {
  bytes: Uint8Array;
  file: string;
  offset: number;
}

/** What the host read from the ledger folder (host → enclave, untrusted). */
export interface LedgerReadMessage {
  entries: StoredEntryMessage[];
  /** Set when the last entry of the newest file is incomplete (a write torn by a crash). */
  tornTail?: { file: string; offset: number; reason: string };
}

/** Services the host offers the enclave. Every method is a message enclave → host. */
export interface HostPort {
  /** enclave → host: ledgerAppend. Buffer an entry; the host makes it durable in batches. */
  ledgerAppend(seqno: number, bytes: Uint8Array, isSignature: boolean): void;
  /** enclave → host: ledgerFlush. Ask the host to make buffered entries durable soon. */
  ledgerFlush(): void;
  /**
   * enclave → host: call `tick` once after `delayMs`, besides the periodic ticks (which a host may then
   * keep at the consensus tick rate instead of the signature delay's: a transaction waiting for its
   * signature asks for the tick it needs).
   */
  tickAfter?(delayMs: number): void;
  /** enclave → host: ledgerTruncate. Drop every entry after `seqno` (rollback or bad tail). */
  ledgerTruncate(seqno: number): Promise<void>;
  /** enclave → host: ledgerCommit. Entries up to `seqno` are committed; chunks may be sealed. */
  ledgerCommit(seqno: number): void;
  /**
   * enclave → host: ledgerRead. The bytes of one committed entry as stored (private domain still
   * encrypted), or undefined when the host has none. The answer is hostile input: the enclave checks it
   * against the write-set digest it recorded for `seqno` before decoding it. A host without a ledger to
   * read from leaves this out, and historical queries are then not served.
   */
  ledgerRead?(seqno: number): Promise<Uint8Array | undefined>;
  /** enclave → host: sealedWrite. Persist an already-encrypted blob of the enclave's secrets. */
  sealedWrite(blob: Uint8Array): Promise<void>;
  /** enclave → host: consensusStateWrite. Persist the consensus hard state (term, vote) durably. */
  consensusStateWrite?(bytes: Uint8Array): Promise<void>;
  /** enclave → host: peerSend. Send a frame to a peer node; false if it was dropped (no channel). */
  peerSend?(to: string, frame: Uint8Array): boolean;
  /** enclave → host: peersChanged. The other nodes (id → node-to-node address) to keep channels with. */
  peersChanged?(peers: ReadonlyMap<string, string>): void;
  /** enclave → host: fatal. An invariant broke; the node must stop (the host exits the process). */
  fatal?(message: string): void;
  /** enclave → host: snapshotWritePending. Keep a snapshot entry (encrypted) until its evidence commits. */
  snapshotWritePending?(seqno: number, entry: Uint8Array, evidenceSeqno: number): Promise<void>;
  /** enclave → host: snapshotCommit. The evidence committed: append its receipt, name the file `.committed`. */
  snapshotCommit?(seqno: number, evidenceSeqno: number, receiptJson: string): void;
  /** enclave → host: snapshotLatest. The newest committed snapshot file, for a joiner (hostile to the joiner). */
  snapshotLatest?(): Promise<Uint8Array | undefined>;
  /** enclave → host: snapshotDiscardAfter. Snapshots after `seqno` were rolled back. */
  snapshotDiscardAfter?(seqno: number): void;
  /** enclave → host: log. */
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

/** The identity the enclave hands the host for terminating TLS (enclave → host, see header). */
export interface TlsIdentityMessage {
  nodeCertPem: string;
  nodeKeyPem: string;
  serviceCertPem: string;
}
