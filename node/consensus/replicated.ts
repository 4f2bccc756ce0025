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

/** The data of an entry the durable log dropped from memory (see DurableLog.compact). */
export const COMPACTED_DATA = new Uint8Array(0);

/**
 * Committed entries kept in memory with their data, behind the commit point: a backup that is at most
 * this far behind is caught up from memory; one further behind gets entries read back from the ledger
 * files (DriverHooks.readEntry). Beyond it, each entry costs only its term and flags here.
 */
export const IN_MEMORY_COMMITTED_ENTRIES = 10_000;

/** Durable log and hard state as the driver last made them durable; the core reads it. */
export class DurableLog implements Storage {
  private entries_: Entry[] = [];
  private hs: HardState;
  /** Entries up to here hold COMPACTED_DATA instead of their bytes. */
  private compactedUpTo = 0;

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

  /**
   * Drops the data of entries up to `upTo` (committed ones: the caller's guarantee), keeping term, index
   * and flags. Their bytes stay in the ledger files, where the driver reads them back when a backup
   * needs them. Without this, every entry ever written stayed in memory (~1.3 KB each).
   */
  compact(upTo: number): void {
    const last = Math.min(upTo, this.entries_.length);
    for (let index = this.compactedUpTo + 1; index <= last; index++) {
      const e = this.entries_[index - 1]!;
      if (e.data === COMPACTED_DATA) continue;
      this.entries_[index - 1] = {
        term: e.term, index: e.index, isSignature: e.isSignature, data: COMPACTED_DATA,
        ...(e.configuration ? { configuration: e.configuration } : {}),
      };
    }
    this.compactedUpTo = Math.max(this.compactedUpTo, last);
  }

  apply(truncateAfter: number | undefined, entries: readonly Entry[], hardState: HardState | undefined): void {
    if (truncateAfter !== undefined && truncateAfter < this.entries_.length) this.entries_.length = truncateAfter;
    this.compactedUpTo = Math.min(this.compactedUpTo, this.entries_.length);
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
  /**
   * The bytes of committed entry `index`, read back from the ledger files and checked (the driver
   * dropped them from memory); rejects if they cannot be read or do not check out.
   */
  readEntry?(index: number): Promise<Uint8Array>;
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
  /** Committed entries kept in memory with their bytes (IN_MEMORY_COMMITTED_ENTRIES by default). */
  inMemoryCommittedEntries?: number;
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
  private readonly inMemoryCommitted: number;
  /** Per peer: the last send still waiting for entries read back from the ledger (see send). */
  private readonly sendQueues = new Map<string, Promise<void>>();

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
    this.inMemoryCommitted = options.inMemoryCommittedEntries ?? IN_MEMORY_COMMITTED_ENTRIES;
    if (this.hooks.readEntry) this.storage.compact(options.commitIndex - this.inMemoryCommitted);
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

  /**
   * Sends a message, first putting back the bytes of compacted entries (read from the ledger). Messages
   * to one peer leave in the order they were made: behind a message waiting for such reads, later ones
   * wait too.
   */
  private send(m: Message): void {
    const queued = this.sendQueues.get(m.to);
    const compacted = m.type === 'append' && m.entries.some((e) => e.data === COMPACTED_DATA);
    if (queued === undefined && !compacted) {
      this.hooks.send(m);
      return;
    }
    const ready = (queued ?? Promise.resolve()).then(async () => {
      if (this.stopped) return;
      if (!compacted || m.type !== 'append') {
        this.hooks.send(m);
        return;
      }
      const read = this.hooks.readEntry;
      if (read === undefined) return;
      try {
        const entries = await Promise.all(m.entries.map(async (e) => (e.data === COMPACTED_DATA ? { ...e, data: await read(e.index) } : e)));
        this.hooks.send({ ...m, entries });
      } catch (error) {
        // Not sent: the core sends these entries again after appendRetryTicks.
        this.hooks.log('error', `catching ${m.to.slice(0, 12)} up: ${(error as Error).message}`);
      }
    });
    this.sendQueues.set(m.to, ready);
    void ready.finally(() => {
      if (this.sendQueues.get(m.to) === ready) this.sendQueues.delete(m.to);
    });
  }

  private async process(rd: Ready): Promise<void> {
    const later: Message[] = [];
    for (const m of rd.messages) {
      if (m.type === 'append') this.send(m);
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
    for (const m of later) this.send(m);
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
    if (this.hooks.readEntry) this.storage.compact(point - this.inMemoryCommitted);
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
