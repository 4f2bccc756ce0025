// Errors raised by node/snapshot. Snapshot bytes come from the untrusted host's disk or from a peer, so
// every malformed or altered input ends here (or in the LedgerFormatError / MerkleError of the layer that
// found it), never in a RangeError or TypeError. Callers match on the stable `code`.

export type SnapshotErrorCode =
  /** The bytes are not a snapshot entry (framing, entry type, IV bit, sizes, map state layout). */
  | 'SNAPSHOT_MALFORMED'
  /** The entry decodes but its content is inconsistent (tree vs signature, versions, view history). */
  | 'SNAPSHOT_INCONSISTENT'
  /** A committed snapshot file's evidence receipt does not verify, or does not name this snapshot. */
  | 'SNAPSHOT_BAD_EVIDENCE'
  /** The caller passed something that cannot be serialised (a programming error upstream). */
  | 'SNAPSHOT_INVALID_ARGUMENT';

export class SnapshotError extends Error {
  readonly code: SnapshotErrorCode;
  constructor(code: SnapshotErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
    this.code = code;
  }
}

export const malformed = (message: string, cause?: unknown) => new SnapshotError('SNAPSHOT_MALFORMED', message, { cause });
export const inconsistent = (message: string) => new SnapshotError('SNAPSHOT_INCONSISTENT', message);
export const badEvidence = (message: string, cause?: unknown) => new SnapshotError('SNAPSHOT_BAD_EVIDENCE', message, { cause });
export const invalidArgument = (message: string) => new SnapshotError('SNAPSHOT_INVALID_ARGUMENT', message);
