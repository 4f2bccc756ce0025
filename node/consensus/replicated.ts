// The driver that binds the pure Raft core (raft/) to a node: the enclave's ledger (through the host),
// the node-to-node transport and the enclave's state machine. It implements the consensus seam, so the
// enclave's data path is the same for one node and for many.
//
// Ready handling follows the core's contract: truncate and append to the local ledger, make the hard
// state and the entries durable (the host fsyncs; durability comes back as onLocalDurable), then send the
// messages that depend on it, then advance. AppendEntries from a leader do not depend on the leader's own
// disk, so they go out at once (as etcd does) and replication overlaps the leader's fsync. One Ready is
// in flight at a time; whatever the core produces meanwhile is batched into the next one.
//
// The state machine (KV store, Merkle tree, history) follows the log, not the commit index, as in CCF:
// entries are applied when appended (the observer's `appended`), undone when rolled back (`truncated`).

import { createRaftNode, type RaftNode } from './raft/raft.ts';
import type { RaftLimits } from './raft/limits.ts';
import { Rng } from './raft/rng.ts';
import type { Entry, HardState, Message, Ready, Role, Storage } from './raft/types.ts';
import type { Consensus, ReplicatedEntry } from './seam.ts';

/** Durable log and hard state as the driver last made them durable; the core reads it. */
export class DurableLog implements Storage {
  private entries_: Entry[] = [];
  private hs: HardState;

  constructor(entries: readonly Entry[], hardState: HardState) {
    this.entries_ = [...entries];
    this.hs = hardState;
  }

  hardState(): HardState {
    return this.hs;
  }

  lastIndex(): number {
    return this.entries_.length;
  }

  entries(low: number, highExclusive: number): readonly Entry[] {
    return this.entries_.slice(low - 1, highExclusive - 1);
  }

  apply(truncateAfter: number | undefined, entries: readonly Entry[], hardState: HardState | undefined): void {
    if (truncateAfter !== undefined && truncateAfter < this.entries_.length) this.entries_.length = truncateAfter;
    for (const e of entries) {
      this.entries_.length = e.index - 1;
      this.entries_.push(e);
    }
    if (hardState) this.hs = hardState;
  }
}

export interface DriverHooks {
  /** enclave → host: append one entry to the local ledger (after any truncation asked before). */
  append(entry: Entry): void;
  /** enclave → host: drop every entry after `seqno`. */
  truncate(seqno: number): Promise<void>;
  /** enclave → host: make appended entries durable soon; onLocalDurable reports it. */
  flush(): void;
  /** enclave → host: persist the hard state (term, vote) durably. */
  writeHardState(state: HardState): Promise<void>;
  /** enclave → host: send a message to a peer (encoded by the caller). */
  send(message: Message): void;
  /** The core appended entries to its log: apply the ones the state machine does not hold yet. */
  appended(entries: readonly Entry[]): void;
  /** The core rolled back every entry after `index`: undo them. */
  truncated(index: number): void;
  roleChanged(role: Role, term: number): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** An invariant broke (a bug, or a peer that is not honest): stop the node. */
  fatal(message: string): void;
}

export interface ReplicatedConsensusOptions {
  nodeId: string;
  entries: readonly Entry[];
  hardState: HardState;
  /** A commit index known from the durable log (e.g. a signature's recorded commit seqno). */
  commitIndex: number;
  hooks: DriverHooks;
  limits?: Partial<RaftLimits>;
  seed: number;
}

export class ReplicatedConsensus implements Consensus {
  readonly raft: RaftNode;
  private readonly storage: DurableLog;
  private readonly hooks: DriverHooks;
  private readonly listeners: Array<(commitSeqno: number) => void> = [];
  private processing = false;
  private durableSeqno: number;
  private durableWaiter: { seqno: number; resolve: () => void } | undefined;
  /** Commit as the core knows it; what the node reports is capped by what is durable here. */
  private reportedCommit: number;
  /**
   * The lowest index the core rolled back to whose truncation has not reached the host yet (taken into
   * a Ready and done). Until then the host's durable entries after it are the old, replaced ones, so
   * they count for nothing: without this cap, a commit learnt from a new leader could be reported (and
   * the ledger marked committed) over entries that the pending truncation is about to remove.
   */
  private rolledBackTo: number | undefined;
  private truncationInFlight: number | undefined;
  private stopped = false;

  constructor(options: ReplicatedConsensusOptions) {
    this.hooks = options.hooks;
    this.storage = new DurableLog(options.entries, options.hardState);
    this.durableSeqno = options.entries.length;
    const created = createRaftNode({
      id: options.nodeId,
      storage: this.storage,
      rng: new Rng(options.seed),
      commitIndex: options.commitIndex,
      appliedIndex: options.commitIndex,
      ...(options.limits ? { limits: options.limits } : {}),
      observer: {
        appended: (_node, entries) => this.hooks.appended(entries),
        truncated: (_node, index) => {
          this.rolledBackTo = Math.min(this.rolledBackTo ?? index, index);
          this.hooks.truncated(index);
        },
        roleChanged: (_node, role, term) => this.hooks.roleChanged(role, term),
      },
    });
    if (!created.ok) throw new Error(`consensus cannot start: ${created.error}`);
    this.raft = created.node;
    this.reportedCommit = options.commitIndex;
  }

  get view(): number {
    return this.raft.term;
  }

  get commitSeqno(): number {
    return this.reportedCommit;
  }

  get lastIndex(): number {
    return this.raft.lastIndex;
  }

  get role(): Role {
    return this.raft.role;
  }

  get needsSignature(): boolean {
    return this.raft.needsSignature;
  }

  primaryId(): string | undefined {
    return this.raft.leaderId;
  }

  isPrimary(): boolean {
    return this.raft.role === 'leader' && !this.raft.isRetired;
  }

  /** Voters of the active configurations (the latest last). */
  configurations(): ReadonlyArray<{ index: number; voters: readonly string[] }> {
    return this.raft.configurations;
  }

  /** Starts an election now if this node may (a lone voter need not wait for a timeout). */
  campaign(): void {
    this.raft.campaign();
    this.pump();
  }

  replicate(entries: readonly ReplicatedEntry[], configuration?: readonly string[]): void {
    const proposed: Entry[] = entries.map((e) => ({
      term: e.view, index: e.seqno, isSignature: e.isSignature, data: e.bytes,
      ...(configuration ? { configuration: [...configuration] } : {}),
    }));
    const result = this.raft.propose(proposed);
    if (!result.ok) throw new ProposeError(result.reason);
    this.pump();
  }

  /** Whether a proposal now would be refused for back-pressure. */
  uncommittedCount(): number {
    return this.raft.lastIndex - this.raft.commitIndex;
  }

  tick(): void {
    this.raft.tick();
    this.pump();
  }

  step(message: Message): boolean {
    const result = this.raft.step(message);
    this.pump();
    return result.ok;
  }

  onLocalDurable(seqno: number): void {
    if (seqno > this.durableSeqno) this.durableSeqno = seqno;
    const waiter = this.durableWaiter;
    if (waiter && this.durableSeqno >= waiter.seqno) {
      this.durableWaiter = undefined;
      waiter.resolve();
    }
    this.reportCommit();
  }

  viewOf(seqno: number): number | undefined {
    return this.raft.termAt(seqno);
  }

  /** The first seqno of each view up to `seqno`, ascending. */
  viewStartsUpTo(seqno: number): Array<{ view: number; startSeqno: number }> {
    return this.raft.termStartsUpTo(seqno).map((s) => ({ view: s.term, startSeqno: s.index }));
  }

  onCommit(listener: (commitSeqno: number) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Hands the core's Ready values to the host, one at a time. */
  private pump(): void {
    if (this.processing || this.stopped || !this.raft.hasReady()) return;
    this.processing = true;
    const rd = this.raft.ready();
    // This Ready carries every rollback so far (rd.truncateAfter); later ones go with the next Ready.
    if (this.rolledBackTo !== undefined) {
      this.truncationInFlight = Math.min(this.truncationInFlight ?? this.rolledBackTo, this.rolledBackTo);
      this.rolledBackTo = undefined;
    }
    this.process(rd).then(
      () => {
        this.processing = false;
        this.pump();
      },
      (error: Error) => this.hooks.fatal(`consensus: ${error.stack ?? error.message}`),
    );
  }

  private async process(rd: Ready): Promise<void> {
    const later: Message[] = [];
    for (const m of rd.messages) {
      if (m.type === 'append') this.hooks.send(m);
      else later.push(m);
    }
    if (rd.truncateAfter !== undefined) {
      await this.hooks.truncate(rd.truncateAfter);
      this.durableSeqno = Math.min(this.durableSeqno, rd.truncateAfter);
    }
    this.truncationInFlight = undefined;
    for (const e of rd.entries) this.hooks.append(e);
    const writes: Promise<void>[] = [];
    if (rd.hardState) writes.push(this.hooks.writeHardState(rd.hardState));
    const last = rd.entries[rd.entries.length - 1];
    if (last) {
      writes.push(new Promise<void>((resolve) => {
        if (this.durableSeqno >= last.index) resolve();
        else this.durableWaiter = { seqno: last.index, resolve };
      }));
      this.hooks.flush();
    }
    await Promise.all(writes);
    this.storage.apply(rd.truncateAfter, rd.entries, rd.hardState);
    for (const m of later) this.hooks.send(m);
    this.raft.advance(rd);
    this.reportCommit();
  }

  /** Commit reported to the node: the core's, but never beyond what this node holds durably. */
  private reportCommit(): void {
    const commit = Math.min(this.raft.commitIndex, this.durableSeqno, this.truncationInFlight ?? Infinity, this.rolledBackTo ?? Infinity);
    if (commit <= this.reportedCommit) return;
    // Only signature seqnos are commit points; the core's commit index is one, the cap may not be.
    const point = commit === this.raft.commitIndex ? commit : this.lastSignatureAtOrBelow(commit);
    if (point <= this.reportedCommit) return;
    this.reportedCommit = point;
    for (const listener of this.listeners) listener(point);
  }

  private lastSignatureAtOrBelow(seqno: number): number {
    for (let s = seqno; s > this.reportedCommit; s--) {
      const [entry] = this.raft.entries(s, s + 1);
      if (entry?.isSignature) return s;
    }
    return this.reportedCommit;
  }
}

export class ProposeError extends Error {
  constructor(readonly reason: string) {
    super(`consensus refused the proposal: ${reason}`);
  }
}
