// The consensus core: Raft with CCF's rules, as a pure state machine in the etcd style. It does no I/O
// and reads no clock: the driver calls tick() for time, step() for each peer message and propose() for
// new entries, then takes a Ready (what to persist, send and apply, in that order) and calls advance().
// CCF's rules (DESIGN.md "Consensus"): only signature entries are commit points, and a leader commits
// only through a signature of its own term; votes compare the last signature's (term, index); a new
// primary rolls back its unsigned suffix and must sign at once (Ready.needSignature); a configuration
// takes effect when appended and every decision needs a majority of each active configuration.
// Also: pre-vote, check-quorum, fast back-off, pipelined batches, and a clean hand-over on retirement.

import { assert } from './assert.ts';
import { type Configuration, type Configurations, agreedIndex, voteOutcome } from './configurations.ts';
import { type RaftLimits, resolveLimits } from './limits.ts';
import { type LogPosition, RaftLog } from './log.ts';
import { Replication, type ReplicationState } from './replication.ts';
import { type RestoredState, restoreFromStorage } from './restore.ts';
import type { Rng } from './rng.ts';
import type {
  AppendEntries, Entry, HardState, Message, NodeId, ProposeResult, RaftObserver, Ready, Role, SoftState,
  StepResult, Storage, VoteRequest, VoteResponse,
} from './types.ts';
import { configurationProblem, messageProblem } from './validate.ts';

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** The durable state, as the driver persisted it (empty for a new node). */
  readonly storage: Storage;
  /** The node's own random source; it decides election timeouts. */
  readonly rng: Rng;
  readonly limits?: Partial<RaftLimits>;
  /** A commit index the driver recorded after a sync (Ready.softState.commit); 0 if unknown. */
  readonly commitIndex?: number;
  /** Highest index the driver's state machine holds durably; committed entries after it are handed out. */
  readonly appliedIndex?: number;
  readonly observer?: RaftObserver;
}

export type CreateRaftNodeResult = { readonly ok: true; readonly node: RaftNode } | { readonly ok: false; readonly error: string };

/** Starts (or restarts) a node from its storage; a storage that fails validation is refused. */
export function createRaftNode(options: RaftNodeOptions): CreateRaftNodeResult {
  const limits = resolveLimits(options.limits);
  const restored = restoreFromStorage(options.storage, options.id, limits, options.commitIndex ?? 0);
  if (!restored.ok) return restored;
  const applied = options.appliedIndex ?? 0;
  if (!Number.isSafeInteger(applied) || applied < 0 || applied > restored.state.commit) {
    return { ok: false, error: `applied index ${applied} is not within [0, ${restored.state.commit}]` };
  }
  return { ok: true, node: new RaftNode(options, limits, restored.state, applied) };
}

export interface FollowerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ReplicationState;
  readonly inflight: number;
}

export interface RaftStatus extends SoftState {
  readonly id: NodeId;
  readonly votedFor: NodeId | undefined;
  readonly applied: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly persistedIndex: number;
  readonly lastSignature: LogPosition;
  readonly configurations: readonly Configuration[];
  readonly retired: boolean;
  readonly needSignature: boolean;
  readonly followers: ReadonlyMap<NodeId, FollowerStatus>;
}

export class RaftNode {
  readonly id: NodeId;
  private readonly limits: RaftLimits;
  private readonly rng: Rng;
  private readonly observer: RaftObserver | undefined;
  private readonly log: RaftLog;
  private readonly configs: Configurations;
  private currentTerm: number;
  private votedFor: NodeId | undefined;
  private currentRole: Role = 'follower';
  private leader: NodeId | undefined;
  private retired: boolean;
  private everCommittedVoter: boolean;
  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  /** Ticks a retired primary has spent handing over (see maybeHandOver). */
  private handOverElapsedTicks = 0;
  private randomizedElectionTimeoutTicks = 0;
  private votes = new Map<NodeId, boolean>();
  private replication: Replication | undefined;
  private signatureNeeded = false;
  private signatureAnnounced = false;
  private outbox: Message[] = [];
  /** The hard state as of the last Ready handed out: a Ready carries one only when it differs. */
  private handedHardState: HardState;
  private outstanding: Ready | undefined;

  /** Use createRaftNode(): it validates storage first. */
  constructor(options: RaftNodeOptions, limits: RaftLimits, state: RestoredState, applied: number) {
    this.id = options.id;
    this.limits = limits;
    this.rng = options.rng;
    this.observer = options.observer;
    this.currentTerm = state.hardState.term;
    this.votedFor = state.hardState.votedFor;
    this.handedHardState = state.storedHardState;
    this.retired = state.retired;
    this.everCommittedVoter = state.everCommittedVoter;
    this.configs = state.configurations;
    this.log = new RaftLog({ storage: options.storage, history: state.history, signatures: state.signatures, commit: state.commit, applied });
    this.resetElectionTimer();
  }

  get term(): number {
    return this.currentTerm;
  }

  get role(): Role {
    return this.currentRole;
  }

  get leaderId(): NodeId | undefined {
    return this.leader;
  }

  get commitIndex(): number {
    return this.log.commit;
  }

  get lastIndex(): number {
    return this.log.lastIndex();
  }

  /** A new primary has not proposed its first signature yet (also reported in every Ready). */
  get needsSignature(): boolean {
    return this.signatureNeeded;
  }

  /** The last committable position (the last signature in the log, or the commit point). */
  get lastSignature(): LogPosition {
    return this.log.lastSignature();
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** Active configurations, oldest first: more than one while a change is not committed. */
  get configurations(): readonly Configuration[] {
    return this.configs.active();
  }

  /** The term in which `index` was appended, if it is in the log (the seam's viewOf). */
  termAt(index: number): number | undefined {
    return index >= 1 ? this.log.termAt(index) : undefined;
  }

  /** The first index of each term up to `index`, ascending (a snapshot's view history). */
  termStartsUpTo(index: number): Array<{ term: number; index: number }> {
    return this.log.history.startsUpTo(index);
  }

  /** Reads entries [low, highExclusive) of the log (durable or not): for status pages and tests. */
  entries(low: number, highExclusive: number): Entry[] {
    return this.log.slice(low, highExclusive);
  }

  status(): RaftStatus {
    const followers = new Map<NodeId, FollowerStatus>();
    for (const [id, pr] of this.replication?.progress ?? []) {
      followers.set(id, { match: pr.match, next: pr.next, state: pr.state, inflight: pr.inflight.length });
    }
    return {
      ...this.softState(), id: this.id, votedFor: this.votedFor, applied: this.log.applied, lastIndex: this.log.lastIndex(),
      lastTerm: this.log.history.lastTerm(), persistedIndex: this.log.persistedIndex, lastSignature: this.log.lastSignature(),
      configurations: this.configs.active(), retired: this.retired, needSignature: this.signatureNeeded, followers,
    };
  }

  // ---- inputs -------------------------------------------------------------------------------------

  tick(): void {
    if (this.currentRole === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Starts a pre-vote now, as an election timeout would (etcd's Campaign). Ignored if not promotable. */
  campaign(): void {
    if (this.currentRole !== 'leader') this.startPreVote();
  }

  step(message: Message): StepResult {
    if (messageProblem(message, this.limits) !== undefined) return { ok: false, reason: 'malformed' };
    const m = message;
    if (m.to !== this.id) return { ok: false, reason: 'misaddressed' };
    if (m.term > this.currentTerm) {
      // A node that heard from a leader within the election timeout ignores campaigns (check-quorum's
      // lease): a partitioned node coming back cannot depose a healthy leader.
      if (m.type === 'vote' && !m.transfer && this.inLease()) return { ok: false, reason: 'in-lease' };
      const keepsTerm = (m.type === 'vote' && m.preVote) || (m.type === 'vote-response' && m.preVote && m.granted);
      if (!keepsTerm) this.becomeFollower(m.term, m.type === 'append' ? m.from : undefined);
    } else if (m.term < this.currentTerm) {
      // Answer stale leaders and pre-candidates with our term so they step down; drop the rest.
      if (m.type === 'append') {
        this.send({
          type: 'append-response', success: false, from: this.id, to: m.from, term: this.currentTerm,
          rejectedIndex: m.prevIndex, hintIndex: 0, hintTerm: 0, commit: this.log.commit,
        });
      } else if (m.type === 'vote' && m.preVote) {
        this.send({ type: 'vote-response', from: this.id, to: m.from, term: this.currentTerm, preVote: true, granted: false });
      }
      return { ok: false, reason: 'stale-term' };
    }
    switch (m.type) {
      case 'append':
        this.onAppend(m);
        break;
      case 'append-response':
        if (this.currentRole === 'leader' && this.replication!.onAppendResponse(m)) {
          this.maybeCommit();
          if (this.currentRole === 'leader' && this.retired) this.maybeHandOver();
        }
        break;
      case 'vote':
        this.onVoteRequest(m);
        break;
      case 'vote-response':
        this.onVoteResponse(m);
        break;
      case 'timeout-now':
        if (this.currentRole !== 'follower') break;
        if (!this.promotable()) return { ok: false, reason: 'retired' };
        this.startElection(true);
        break;
    }
    return { ok: true };
  }

  /**
   * Primary only: appends locally built entries at the positions the driver built them for (it reads
   * `term` and `lastIndex` first, since the ledger bytes depend on both) and replicates them.
   */
  propose(entries: readonly Entry[]): ProposeResult {
    if (this.currentRole !== 'leader' || this.retired) return { ok: false, reason: 'not-leader' };
    if (entries.length === 0) return { ok: true, lastIndex: this.log.lastIndex() };
    if (entries.length > this.limits.entriesPerProposeMax) return { ok: false, reason: 'too-many-entries' };
    // Back-pressure spares signatures: they are what lets the commit index, and so the room, advance.
    const onlySignatures = entries.every((e) => e.isSignature);
    if (!onlySignatures && this.log.lastIndex() - this.log.commit + entries.length > this.limits.uncommittedEntriesMax) {
      return { ok: false, reason: 'too-many-uncommitted' };
    }
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      const expected = { term: this.currentTerm, index: this.log.lastIndex() + 1 + k };
      if (e.index !== expected.index || e.term !== expected.term) return { ok: false, reason: 'wrong-position', expected };
      if (e.configuration !== undefined && configurationProblem(e.configuration, this.limits) !== undefined) {
        return { ok: false, reason: 'invalid-configuration' };
      }
      assert(e.data instanceof Uint8Array && typeof e.isSignature === 'boolean', 'proposed entry is malformed');
    }
    if (this.signatureNeeded && !entries[0]!.isSignature) return { ok: false, reason: 'signature-required' };
    this.appendToLog(entries.map(copyEntry));
    if (entries.some((e) => e.isSignature)) this.signatureNeeded = false;
    if (entries.some((e) => e.configuration !== undefined)) this.syncMembers();
    this.replication!.broadcastAppend();
    return { ok: true, lastIndex: this.log.lastIndex() };
  }

  // ---- output ---------------------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.outbox.length > 0 || this.log.hasUnhanded() || !sameHardState(this.hardState(), this.handedHardState) ||
      this.log.applied < this.log.commit || (this.signatureNeeded && !this.signatureAnnounced)
    );
  }

  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    const { truncateAfter, entries } = this.log.handOut();
    const hs = this.hardState();
    const hardState = sameHardState(hs, this.handedHardState) ? undefined : hs;
    this.handedHardState = hs;
    const committedEntries = this.log.committedToApply(this.limits.committedEntriesPerReadyMax);
    const messages = this.outbox;
    this.outbox = [];
    if (this.signatureNeeded) this.signatureAnnounced = true;
    const softState = this.softState();
    const rd: Ready = { hardState, truncateAfter, entries, messages, committedEntries, softState, needSignature: this.signatureNeeded };
    this.outstanding = rd;
    return rd;
  }

  /** The driver persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    assert(rd === this.outstanding, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    this.log.handedOutDurable();
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) this.log.appliedTo(lastApplied.index);
    // The leader's own acknowledgement is its durable index: it may complete a quorum.
    if (this.currentRole === 'leader') this.maybeCommit();
  }

  // ---- roles ----------------------------------------------------------------------------------------

  private promotable(): boolean {
    return !this.retired && this.configs.includes(this.id);
  }

  /** A leader, or a follower that heard from one within the election timeout, ignores campaigns. */
  private inLease(): boolean {
    if (this.currentRole === 'leader') return true;
    return this.leader !== undefined && this.electionElapsedTicks < this.limits.electionTimeoutTicks;
  }

  private tickElection(): void {
    this.electionElapsedTicks++;
    if (this.promotable() && this.electionElapsedTicks >= this.randomizedElectionTimeoutTicks) this.startPreVote();
  }

  private tickLeader(): void {
    const replication = this.replication!;
    this.heartbeatElapsedTicks++;
    replication.tick();
    // Check-quorum: a leader that heard from no majority of some active configuration for a whole
    // election timeout steps down (it could commit nothing, and the others may have moved on).
    if (!replication.quorumActive(this.configs.active())) {
      this.becomeFollower(this.currentTerm, undefined);
      return;
    }
    if (this.heartbeatElapsedTicks >= this.limits.heartbeatIntervalTicks) {
      this.heartbeatElapsedTicks = 0;
      replication.heartbeat();
    }
    if (this.retired) {
      this.handOverElapsedTicks++;
      this.maybeHandOver();
    }
  }

  private resetElectionTimer(): void {
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    const base = this.limits.electionTimeoutTicks;
    this.randomizedElectionTimeoutTicks = base + this.rng.below(base);
  }

  private setRole(role: Role): void {
    this.currentRole = role;
    this.observer?.roleChanged?.(this.id, role, this.currentTerm);
  }

  private becomeFollower(term: number, leader: NodeId | undefined): void {
    assert(term >= this.currentTerm, 'term went backwards');
    if (term > this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = undefined;
    }
    this.leader = leader;
    this.replication = undefined;
    this.votes = new Map();
    this.signatureNeeded = false;
    this.resetElectionTimer();
    this.setRole('follower');
  }

  private startPreVote(): void {
    if (!this.promotable()) return;
    this.leader = undefined;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
    this.setRole('pre-candidate');
    this.requestVotes(true, false);
  }

  private startElection(transfer: boolean): void {
    if (!this.promotable()) return;
    this.currentTerm++;
    this.votedFor = this.id;
    this.leader = undefined;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
    this.setRole('candidate');
    this.requestVotes(false, transfer);
  }

  private requestVotes(preVote: boolean, transfer: boolean): void {
    if (this.tally()) return;
    const last = this.log.lastSignature();
    const term = preVote ? this.currentTerm + 1 : this.currentTerm;
    for (const to of this.configs.allVoters()) {
      if (to === this.id) continue;
      this.send({ type: 'vote', from: this.id, to, term, preVote, lastSignatureIndex: last.index, lastSignatureTerm: last.term, transfer });
    }
  }

  /** Counts votes; moves on when the campaign is decided. Returns true if the role changed. */
  private tally(): boolean {
    const outcome = voteOutcome(this.configs.active(), this.votes);
    if (outcome === 'pending') return false;
    if (outcome === 'lost') this.becomeFollower(this.currentTerm, undefined);
    else if (this.currentRole === 'pre-candidate') this.startElection(false);
    else this.becomeLeader();
    return true;
  }

  private becomeLeader(): void {
    assert(this.currentRole === 'candidate', 'only a candidate becomes leader');
    // CCF: entries after the last signature cannot be committed by anyone (no signature covers them
    // and this leader will not sign another term's entries), so the new primary drops them.
    const lastSignature = this.log.lastSignature().index;
    if (this.log.lastIndex() > lastSignature) this.rollback(lastSignature);
    this.leader = this.id;
    this.signatureNeeded = true;
    this.signatureAnnounced = false;
    this.handOverElapsedTicks = 0;
    this.replication = new Replication(this.id, this.currentTerm, this.log, this.limits, (m) => this.send(m));
    this.syncMembers();
    this.resetElectionTimer();
    this.setRole('leader');
    this.replication.broadcastAppend();
  }

  private syncMembers(): void {
    this.replication?.syncMembers(this.configs.allVoters(), this.configs.active()[0]?.index ?? 0);
  }

  // ---- messages -------------------------------------------------------------------------------------

  private send(message: Message): void {
    this.outbox.push(message);
  }

  private onVoteRequest(m: VoteRequest): void {
    const mine = this.log.lastSignature();
    const upToDate = m.lastSignatureTerm > mine.term || (m.lastSignatureTerm === mine.term && m.lastSignatureIndex >= mine.index);
    const free = this.votedFor === m.from || (this.votedFor === undefined && this.leader === undefined);
    const canVote = free || (m.preVote && m.term > this.currentTerm);
    // Any node votes, whatever it knows of the configuration (as in CCF): a node that is behind may
    // not know the candidate is a voter yet, and a retired node may be needed by a candidate that has
    // not learnt that the change was committed (it still needs a quorum of the old configuration).
    // Only the candidate's view of the configurations decides which votes count.
    const granted = canVote && upToDate;
    if (granted && !m.preVote) {
      this.votedFor = m.from;
      this.electionElapsedTicks = 0;
    }
    this.send({ type: 'vote-response', from: this.id, to: m.from, term: granted ? m.term : this.currentTerm, preVote: m.preVote, granted });
  }

  private onVoteResponse(m: VoteResponse): void {
    if (m.preVote) {
      if (this.currentRole !== 'pre-candidate') return;
      if (m.granted && m.term !== this.currentTerm + 1) return;
    } else if (this.currentRole !== 'candidate' || m.term !== this.currentTerm) {
      return;
    }
    this.votes.set(m.from, m.granted);
    this.tally();
  }

  private onAppend(m: AppendEntries): void {
    assert(this.currentRole !== 'leader', () => `two leaders in term ${m.term}: ${this.id} and ${m.from}`);
    assert(this.leader === undefined || this.leader === m.from || this.currentRole !== 'follower',
      () => `two leaders in term ${m.term}: ${this.leader} and ${m.from}`);
    if (this.currentRole !== 'follower') this.becomeFollower(m.term, m.from);
    this.leader = m.from;
    this.electionElapsedTicks = 0;

    const commit = this.log.commit;
    let prevIndex = m.prevIndex;
    let prevTerm = m.prevTerm;
    let entries = m.entries;
    if (prevIndex < commit) {
      // Our committed prefix is in every later leader's log: skip the part of the batch it covers.
      const skip = Math.min(commit - prevIndex, entries.length);
      if (skip > 0) {
        const atCommit = entries[skip - 1]!;
        assert(atCommit.term === this.log.termAt(atCommit.index), () => `leader ${m.from} disagrees at committed index ${atCommit.index}`);
      }
      if (skip < commit - prevIndex) {
        this.acknowledge(m.from, commit);
        return;
      }
      prevIndex = commit;
      prevTerm = this.log.termAt(commit)!;
      entries = entries.slice(skip);
    }
    if (this.log.termAt(prevIndex) !== prevTerm) {
      const hintIndex = this.log.history.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), prevTerm);
      this.send({
        type: 'append-response', success: false, from: this.id, to: m.from, term: this.currentTerm,
        rejectedIndex: m.prevIndex, hintIndex: Math.min(hintIndex, m.prevIndex), hintTerm: this.log.termAt(hintIndex)!, commit,
      });
      return;
    }
    let k = 0;
    while (k < entries.length && this.log.termAt(entries[k]!.index) === entries[k]!.term) k++;
    if (k < entries.length) {
      const first = entries[k]!.index;
      if (first <= this.log.lastIndex()) this.rollback(first - 1);
      this.appendToLog(entries.slice(k).map(copyEntry));
    }
    const lastNew = prevIndex + entries.length;
    const commitTo = this.log.highestSignatureAtOrBelow(Math.min(m.commit, lastNew));
    if (commitTo > this.log.commit) this.commitTo(commitTo);
    this.acknowledge(m.from, lastNew);
  }

  private acknowledge(to: NodeId, matchIndex: number): void {
    this.send({ type: 'append-response', success: true, from: this.id, to, term: this.currentTerm, matchIndex, commit: this.log.commit });
  }

  // ---- log and commit -------------------------------------------------------------------------------

  private appendToLog(entries: readonly Entry[]): void {
    this.log.append(entries);
    for (const e of entries) if (e.configuration) this.configs.appended(e.index, e.configuration);
    this.observer?.appended?.(this.id, entries);
  }

  private rollback(lastIndex: number): void {
    this.log.truncateAfter(lastIndex);
    this.configs.truncatedAfter(lastIndex);
    this.observer?.truncated?.(this.id, lastIndex);
  }

  /** Leader: commit the highest signature of this term that a majority of each active configuration holds. */
  private maybeCommit(): void {
    const replication = this.replication!;
    let advanced = false;
    for (;;) {
      const agreed = agreedIndex(this.configs.active(), (id) => replication.matchOf(id));
      const candidate = this.log.highestSignatureAtOrBelow(agreed);
      if (candidate <= this.log.commit || this.log.termAt(candidate) !== this.currentTerm) break;
      this.commitTo(candidate);
      advanced = true;
    }
    if (!advanced) return;
    this.syncMembers();
    replication.broadcastCommit();
    if (this.retired) this.maybeHandOver();
  }

  private commitTo(index: number): void {
    const previous = this.log.commit;
    for (const c of this.configs.active()) if (c.index <= index && c.voters.includes(this.id)) this.everCommittedVoter = true;
    this.log.commitTo(index);
    this.configs.committed(index);
    const base = this.configs.active()[0];
    if (this.everCommittedVoter && base && base.index <= index && !base.voters.includes(this.id)) this.retired = true;
    assert(this.log.commit > previous, 'commit decreased');
    this.observer?.committed?.(this.id, index);
  }

  /**
   * The configuration that removes this primary is committed, so it accepts no more proposals. It
   * keeps replicating until its most up-to-date remaining voter holds its whole log (then no voter,
   * retired or not, has a later signature than that successor, and the followers have heard the new
   * commit index), nudges that voter to campaign at once, and steps down. If the successor does not
   * catch up within an election timeout, it steps down anyway and lets the timeouts elect a leader.
   */
  private maybeHandOver(): void {
    const replication = this.replication!;
    const successor = replication.successor(this.configs.latest()?.voters ?? []);
    const caughtUp = successor !== undefined && replication.matchOf(successor) === this.log.lastIndex();
    if (!caughtUp && this.handOverElapsedTicks < this.limits.electionTimeoutTicks) return;
    if (successor !== undefined) this.send({ type: 'timeout-now', from: this.id, to: successor, term: this.currentTerm });
    this.becomeFollower(this.currentTerm, undefined);
  }

  private hardState(): HardState {
    return { term: this.currentTerm, votedFor: this.votedFor };
  }

  private softState(): SoftState {
    return { role: this.currentRole, leaderId: this.leader, term: this.currentTerm, commit: this.log.commit };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor;
}

function copyEntry(e: Entry): Entry {
  const copy: Entry = { term: e.term, index: e.index, isSignature: e.isSignature, data: e.data };
  return e.configuration ? { ...copy, configuration: [...e.configuration] } : copy;
}
