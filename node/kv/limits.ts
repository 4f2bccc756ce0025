// Bounds the KV store enforces. (The node's shared limits live in node/limits.ts; these belong to the
// store's own invariants, so they sit beside it.)

export const kvLimits = {
  /**
   * Transactions whose undo information is kept (applied but not yet compacted, i.e. not yet known to
   * be committed by consensus). Reaching it means consensus commit has stalled far behind execution.
   */
  undoTransactionsMax: 250_000,
  /** Longest map name, in UTF-16 code units. CCF's longest built-in names are under 64. */
  mapNameLengthMax: 256,
  /** Maps one transaction may touch. */
  mapsPerTransactionMax: 1_024,
  /** Key bytes shown in a conflict description before it is cut short. */
  conflictKeyBytesShownMax: 32,
} as const;
