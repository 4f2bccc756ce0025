// Errors raised by node/ledger. Ledger bytes come back from the untrusted host, so every malformed input
// ends here, never in a RangeError or TypeError: callers match on the stable `code`, and `offset` (when
// known) points at the byte where decoding stopped.

export type LedgerErrorCode =
  /** The bytes end before a length they declare (a torn write, or a cut buffer). */
  | 'LEDGER_TRUNCATED'
  /** Bytes remain after the declared end of an entry or domain. */
  | 'LEDGER_TRAILING_BYTES'
  /** The entry header's format version is not 1. */
  | 'LEDGER_BAD_VERSION'
  /** The public domain's entry type is not one CCF defines (0..4). */
  | 'LEDGER_BAD_ENTRY_TYPE'
  /** A field decodes but its value is impossible (a length or count beyond limits, bad UTF-8, ...). */
  | 'LEDGER_MALFORMED'
  /** The IV disagrees with the public domain (seqno, or snapshot bit vs entry type). */
  | 'LEDGER_IV_MISMATCH'
  /** The AES-GCM tag does not verify: wrong secret, or the entry was altered. */
  | 'LEDGER_DECRYPT_FAILED'
  /** A chunk file's framing (header offset, offset table) is inconsistent. */
  | 'LEDGER_CHUNK_CORRUPT'
  /** The caller passed something that cannot be encoded (a programming error upstream). */
  | 'LEDGER_INVALID_ARGUMENT';

export class LedgerFormatError extends Error {
  readonly code: LedgerErrorCode;
  readonly offset: number | undefined;
  constructor(code: LedgerErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'LedgerFormatError';
    this.code = code;
    this.offset = offset;
  }
}

export function invalidArgument(message: string): LedgerFormatError {
  return new LedgerFormatError('LEDGER_INVALID_ARGUMENT', message);
}
