// Errors raised by node/kv. Conflicts between transactions are not errors (commit returns them); these
// are misuse of the API (a programmer error, code KV_INVARIANT or KV_TX_FINISHED), invalid input from
// replay or snapshots, and the undo log reaching its bound. Each has a stable `code`.

export type KvErrorCode =
  | 'KV_INVALID_ARGUMENT'
  | 'KV_INVARIANT'
  | 'KV_TX_FINISHED'
  | 'KV_UNDO_LOG_FULL'
  | 'KV_ROLLBACK_BEYOND_COMPACTION'
  | 'KV_INVALID_SNAPSHOT';

export class KvError extends Error {
  readonly code: KvErrorCode;
  constructor(code: KvErrorCode, message: string) {
    super(message);
    this.name = 'KvError';
    this.code = code;
  }
}

/** Assertions stay on in production: a broken invariant must stop the node, not corrupt its state. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new KvError('KV_INVARIANT', `kv invariant violated: ${message}`);
}

export function invalidArgument(message: string): KvError {
  return new KvError('KV_INVALID_ARGUMENT', message);
}
