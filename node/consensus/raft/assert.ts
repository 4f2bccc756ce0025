// Assertions for programmer errors in the consensus core. They stay on in production (TIGER_STYLE): an
// assertion failure means the core's own invariants broke, and continuing could violate safety.
// Expected outcomes (a stale message, a proposal on a follower) are return values, never assertions.

export class RaftAssertionError extends Error {
  readonly code = 'RAFT_ASSERTION';
  constructor(message: string) {
    super(`raft assertion failed: ${message}`);
    this.name = 'RaftAssertionError';
  }
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new RaftAssertionError(typeof message === 'string' ? message : message());
}
