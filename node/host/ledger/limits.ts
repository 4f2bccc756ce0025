// Bounds of node/host/ledger (TIGER_STYLE: a named maximum for everything, units last).

export const ledgerReadLimits = {
  /** Offset tables of `.committed` chunks kept in memory for single-entry reads. */
  tablesCachedMax: 16,
  /** Their total size in memory (4 bytes per entry); a larger table is read each time instead. */
  tableCacheBytesMax: 1024 * 1024,
} as const;
