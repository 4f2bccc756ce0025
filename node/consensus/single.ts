// Consensus for a network of one node. It keeps the same contract as Raft: entries are appended through
// it, and commit advances only to a signature transaction that is durable on a majority (here: this
// node's own disk, after fsync).

import type { Consensus, LocalLog, ReplicatedEntry } from './seam.ts';

/** View history as (view, first seqno of that view) pairs, ascending. */
export type ViewHistory = Array<{ view: number; startSeqno: number }>;

export class SingleNodeConsensus implements Consensus {
  private currentView: number;
  private committed: number;
  private lastSeqno: number;
  private readonly views: ViewHistory;
  /** Signature seqnos appended but not yet committed, ascending. */
  private readonly pendingSignatures: number[] = [];
  private readonly listeners: Array<(commitSeqno: number) => void> = [];

  constructor(
    private readonly nodeId: string,
    private readonly log: LocalLog,
    state: { view: number; lastSeqno: number; commitSeqno: number; views: ViewHistory },
  ) {
    if (state.commitSeqno > state.lastSeqno) throw new Error('commit seqno beyond the end of the log');
    this.currentView = state.view;
    this.lastSeqno = state.lastSeqno;
    this.committed = state.commitSeqno;
    this.views = state.views.map((v) => ({ ...v }));
    const last = this.views[this.views.length - 1];
    if (!last || last.view !== state.view) this.views.push({ view: state.view, startSeqno: state.lastSeqno + 1 });
  }

  get view(): number {
    return this.currentView;
  }

  get commitSeqno(): number {
    return this.committed;
  }

  primaryId(): string {
    return this.nodeId;
  }

  isPrimary(): boolean {
    return true;
  }

  replicate(entries: readonly ReplicatedEntry[]): void {
    for (const entry of entries) {
      if (entry.seqno !== this.lastSeqno + 1) {
        throw new Error(`consensus: append of seqno ${entry.seqno} after ${this.lastSeqno}`);
      }
      if (entry.view !== this.currentView) throw new Error(`consensus: entry view ${entry.view} is not ${this.currentView}`);
      this.log.append(entry);
      this.lastSeqno = entry.seqno;
      if (entry.isSignature) this.pendingSignatures.push(entry.seqno);
    }
    if (entries.length > 0) this.log.flush();
  }

  onLocalDurable(seqno: number): void {
    let advanced = false;
    while (this.pendingSignatures.length > 0 && this.pendingSignatures[0]! <= seqno) {
      this.committed = this.pendingSignatures.shift()!;
      advanced = true;
    }
    if (advanced) for (const listener of this.listeners) listener(this.committed);
  }

  viewOf(seqno: number): number | undefined {
    if (seqno < 1 || seqno > this.lastSeqno) return undefined;
    for (let i = this.views.length - 1; i >= 0; i--) {
      if (this.views[i]!.startSeqno <= seqno) return this.views[i]!.view;
    }
    return undefined;
  }

  onCommit(listener: (commitSeqno: number) => void): void {
    this.listeners.push(listener);
  }

  viewHistory(): ViewHistory {
    return this.views.map((v) => ({ ...v }));
  }
}
