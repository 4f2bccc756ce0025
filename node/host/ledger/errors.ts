// Errors raised by node/host/ledger (the ledger files on disk). Corruption found on disk is reported with
// node/errors.ts's LedgerCorruptError (file and offset, refuse to start); these are the other failures,
// each with a stable code.

export type LedgerFilesErrorCode =
  /** An append whose seqno does not follow the last one. */
  | 'LEDGER_FILES_SEQNO'
  /** A truncation below what was committed. */
  | 'LEDGER_FILES_COMMITTED'
  /** An earlier write or fsync failed: nothing more is accepted (the on-disk state is uncertain). */
  | 'LEDGER_FILES_FAILED'
  /** The ledger was closed. */
  | 'LEDGER_FILES_CLOSED'
  /** Too many entries are waiting for their fsync. */
  | 'LEDGER_FILES_BACKPRESSURE'
  /** A bad argument (a programming error in the caller). */
  | 'LEDGER_FILES_ARGUMENT';

export class LedgerFilesError extends Error {
  readonly code: LedgerFilesErrorCode;
  constructor(code: LedgerFilesErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerFilesError';
    this.code = code;
  }
}
