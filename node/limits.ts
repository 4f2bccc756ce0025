// Every bound the node enforces, in one place (TIGER_STYLE: put a limit on everything, name its unit).
// Values are defaults; the ones an operator may change are also fields of the node configuration.

export const limits = {
  /** Largest HTTP request body accepted by the frontend. */
  requestBodyBytesMax: 1024 * 1024,
  /** An oversized body up to this size is read and dropped so the client gets its 413 cleanly. */
  requestBodyDrainBytesMax: 16 * 1024 * 1024,
  /** Largest total size of HTTP request headers. */
  requestHeaderBytesMax: 16 * 1024,
  /** Requests per second one client address may send before it gets 429. */
  requestsPerSecondPerClientMax: 20_000,
  /** Re-runs of a handler whose transaction conflicted before the request gets 503. */
  transactionRetriesMax: 10,
  /** Transactions that may be appended before a signature transaction is forced. */
  signatureTxCountDefault: 5_000,
  /** Milliseconds after an unsigned transaction before a signature transaction is emitted. */
  signatureDelayMsDefault: 10,
  /** A ledger chunk is closed at the first signature after it has grown past this. */
  ledgerChunkBytesDefault: 4 * 1024 * 1024,
  /** Entries kept in memory waiting for their fsync before appends are refused with 503. */
  ledgerPendingEntriesMax: 100_000,
  /** Longest transaction-id string accepted in a query (view.seqno). */
  transactionIdLengthMax: 40,
  /** Largest key or value a native app may write. */
  kvValueBytesMax: 1024 * 1024,
} as const;
