// The vocabulary of the consensus core: log entries, the persisted hard state, the storage the core reads,
// peer messages, and the Ready value through which the core tells its driver what to do. Everything here
// is plain data, so a driver can encode it for the wire or the disk and a test can print it.

/** A node's identity (CCF: hex SHA-256 of the node's public key). Scenario scripts use "1", "2", … */
export type NodeId = string;

/**
 * One log entry (one CCF transaction). The core reads only the position, whether the entry is a
 * signature transaction (a commit point) and whether it changes the configuration; `data` is opaque
 * (the serialized ledger entry, built by the driver for exactly this term and index).
 */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly isSignature: boolean;
  /** Present on a reconfiguration entry: the complete set of voting nodes from this entry on. */
  readonly configuration?: readonly NodeId[];
  readonly data: Uint8Array;
}

/**
 * What must be durable before any message that depends on it is sent. The commit index is not part of
 * it: a host writes the ledger and the hard state to different files, which a crash may leave out of
 * step, so a persisted commit index could name entries that never reached the disk. A driver that
 * wants to remember commit across restarts records `softState.commit` after the Ready's sync (CCF
 * marks ledger chunks `.committed`) and passes it back as `commitIndex`.
 */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | undefined;
}

/**
 * The durable log and hard state, as the driver last persisted them. The core only reads it: at start
 * (to rebuild its state) and to fetch entries it no longer holds in memory. The driver writes it, in
 * the order a Ready prescribes, and must not show the core anything that was not made durable.
 */
export interface Storage {
  hardState(): HardState;
  /** Index of the last durable entry (0 for an empty log). Logs start at index 1. */
  lastIndex(): number;
  /** Entries with index in [low, highExclusive); the range is within [1, lastIndex() + 1). */
  entries(low: number, highExclusive: number): readonly Entry[];
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Leader → follower: entries after (prevIndex, prevTerm), plus the leader's commit index. Also the heartbeat. */
export interface AppendEntries {
  readonly type: 'append';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/** Follower → leader: the log matches the leader's up to `matchIndex`. */
export interface AppendAccepted {
  readonly type: 'append-response';
  readonly success: true;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly matchIndex: number;
  /** The follower's commit index, so a leader knows when a removed node has learnt of its removal. */
  readonly commit: number;
}

/**
 * Follower → leader: the consistency check at `rejectedIndex` failed. The hint is the follower's highest
 * index at or below the rejected one whose term is at most the leader's `prevTerm`, so the leader can
 * skip a whole divergent term in one round trip (fast back-off).
 */
export interface AppendRejected {
  readonly type: 'append-response';
  readonly success: false;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly rejectedIndex: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
  readonly commit: number;
}

export type AppendResponse = AppendAccepted | AppendRejected;

/**
 * Candidate → voter. `term` is the term the candidate is (or, for a pre-vote, would be) running in.
 * Up-to-dateness compares the last committable (signature) position, as CCF does.
 */
export interface VoteRequest {
  readonly type: 'vote';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly preVote: boolean;
  readonly lastSignatureIndex: number;
  readonly lastSignatureTerm: number;
  /** Set when a retiring leader asked for this election: voters ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponse {
  readonly type: 'vote-response';
  readonly from: NodeId;
  readonly to: NodeId;
  /** The request's term when granted; the voter's own term when rejected. */
  readonly term: number;
  readonly preVote: boolean;
  readonly granted: boolean;
}

/** Retiring leader → its most up-to-date successor: campaign now, without waiting for a timeout. */
export interface TimeoutNow {
  readonly type: 'timeout-now';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export type Message = AppendEntries | AppendResponse | VoteRequest | VoteResponse | TimeoutNow;

export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId | undefined;
  readonly term: number;
  readonly commit: number;
}

/**
 * What the driver must do, in this order:
 *   1. persist: discard durable entries after `truncateAfter` (if set) and append `entries`; write
 *      `hardState` (if set); make all of it durable (fsync). The ledger and the hard state may be
 *      written in either order or in parallel: the core tolerates a crash that keeps one and not the other;
 *   2. send `messages` (they may depend on step 1: a vote, an acknowledgement);
 *   3. apply `committedEntries` in order;
 *   4. call `advance(ready)`.
 * If `needSignature` is set, this node has just become primary and must propose a signature
 * transaction (of the current term) as its next entry: until it does, it can commit nothing.
 */
export interface Ready {
  readonly hardState: HardState | undefined;
  readonly truncateAfter: number | undefined;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly softState: SoftState;
  readonly needSignature: boolean;
}

export type ProposeRejection =
  | 'not-leader'
  | 'wrong-position'
  | 'signature-required'
  | 'too-many-uncommitted'
  | 'too-many-entries'
  | 'invalid-configuration';

export type ProposeResult =
  | { readonly ok: true; readonly lastIndex: number }
  | { readonly ok: false; readonly reason: ProposeRejection; readonly expected?: { term: number; index: number } };

export type StepRejection = 'malformed' | 'misaddressed' | 'stale-term' | 'in-lease' | 'retired';

export type StepResult = { readonly ok: true } | { readonly ok: false; readonly reason: StepRejection };

/**
 * Optional tracing hooks, called synchronously as the core changes its log, role or commit index. Tests
 * use them to check safety invariants at every step; production may log with them. They must not call
 * back into the core.
 */
export interface RaftObserver {
  appended?(node: NodeId, entries: readonly Entry[]): void;
  truncated?(node: NodeId, afterIndex: number): void;
  roleChanged?(node: NodeId, role: Role, term: number): void;
  committed?(node: NodeId, commit: number): void;
}
