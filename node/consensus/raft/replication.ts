// The leader's view of each follower (etcd's Progress) and how it feeds them entries. A follower is
// either probed (one AppendEntries at a time, walking back to the point where the logs match, skipping
// whole terms with the follower's hint) or replicated to (batches sent back to back without waiting for
// acknowledgements, at most `inflightAppendsMax` outstanding). Heartbeats are empty AppendEntries.

import { assert } from './assert.ts';
import { type Configuration, quorumActive } from './configurations.ts';
import type { RaftLimits } from './limits.ts';
import type { RaftLog } from './log.ts';
import type { AppendResponse, Message, NodeId } from './types.ts';

export type ReplicationState = 'probe' | 'replicate';

/** Election timeouts a leader waits for a newly tracked follower's first answer before check-quorum counts it silent. */
export const NEW_MEMBER_PATIENCE = 4;

export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ReplicationState = 'probe';
  /** In probe state: an AppendEntries is outstanding, wait for its answer or the next heartbeat. */
  probeSent = false;
  /** In replicate state: last index of each unacknowledged AppendEntries, ascending. */
  inflight: number[] = [];
  /** Ticks since this follower last answered (check-quorum, as CCF's last_ack_timeout). */
  ticksSinceAck = 0;
  /** The follower answered at least once since this leader started tracking it. */
  acked = false;
  ticksSinceProgress = 0;
  /** Set once a committed configuration dropped this node: keep it informed until it knows. */
  removedAt: number | undefined;

  constructor(next: number) {
    this.next = next;
  }

  becomeProbe(next: number): void {
    this.state = 'probe';
    this.next = Math.max(next, this.match + 1);
    this.probeSent = false;
    this.inflight = [];
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflight = [];
  }
}

export class Replication {
  readonly progress = new Map<NodeId, Progress>();

  constructor(
    private readonly self: NodeId,
    private readonly term: number,
    private readonly log: RaftLog,
    private readonly limits: RaftLimits,
    private readonly send: (message: Message) => void,
  ) {}

  /** The leader's own match is what it has made durable: its acknowledgement counts only then. */
  matchOf(id: NodeId): number {
    if (id === this.self) return this.log.persistedIndex;
    return this.progress.get(id)?.match ?? 0;
  }

  /**
   * Follows the active configurations: a new voter gets a progress at once (configurations take effect
   * when appended); a voter no longer in any active configuration is kept, marked removed, until it
   * acknowledges a commit index at or beyond its removal.
   */
  syncMembers(voters: readonly NodeId[], removalIndex: number): void {
    for (const id of voters) {
      if (id === this.self) continue;
      const pr = this.progress.get(id);
      if (!pr) this.progress.set(id, new Progress(this.log.lastIndex() + 1));
      else pr.removedAt = undefined;
    }
    for (const [id, pr] of this.progress) {
      if (!voters.includes(id) && pr.removedAt === undefined) pr.removedAt = removalIndex;
    }
  }

  /** Sends what the follower's state allows: one probe, or batches up to the pipelining depth. */
  sendAppend(to: NodeId): void {
    const pr = this.progress.get(to);
    if (!pr) return;
    const last = this.log.lastIndex();
    if (pr.state === 'probe') {
      if (pr.probeSent) return;
      this.sendBatch(to, pr.next);
      pr.probeSent = true;
      return;
    }
    while (pr.inflight.length < this.limits.inflightAppendsMax && pr.next <= last) {
      const end = this.sendBatch(to, pr.next);
      pr.inflight.push(end);
      pr.next = end + 1;
    }
  }

  broadcastAppend(): void {
    for (const id of this.progress.keys()) this.sendAppend(id);
  }

  /**
   * Heartbeat interval: re-probe followers whose probe may be lost; resend to a replicating follower
   * whose acknowledgements stopped advancing (a lost batch); otherwise send an empty AppendEntries at
   * its match index, which carries the commit index and cannot fail the consistency check.
   */
  heartbeat(): void {
    const last = this.log.lastIndex();
    for (const [id, pr] of this.progress) {
      if (pr.state === 'probe') {
        pr.probeSent = false;
        this.sendAppend(id);
      } else if (pr.match < last && pr.ticksSinceProgress >= this.limits.appendRetryTicks) {
        pr.becomeProbe(pr.match + 1);
        pr.ticksSinceProgress = 0;
        this.sendAppend(id);
      } else {
        this.sendEmpty(id, pr.match);
        this.sendAppend(id);
      }
    }
  }

  /** Tells followers in step a new commit index straight away, instead of at the next heartbeat. */
  broadcastCommit(): void {
    for (const [id, pr] of this.progress) if (pr.state === 'replicate') this.sendEmpty(id, pr.match);
  }

  /** Counts, per follower, ticks since it last answered and ticks spent waiting for acknowledgements. */
  tick(): void {
    const last = this.log.lastIndex();
    for (const pr of this.progress.values()) {
      pr.ticksSinceAck++;
      pr.ticksSinceProgress = pr.match >= last ? 0 : pr.ticksSinceProgress + 1;
    }
  }

  /** Returns true when the follower's match index advanced (the commit index may move). */
  onAppendResponse(m: AppendResponse): boolean {
    const pr = this.progress.get(m.from);
    if (!pr) return false;
    pr.ticksSinceAck = 0;
    pr.acked = true;
    if (pr.removedAt !== undefined && m.commit >= pr.removedAt) {
      this.progress.delete(m.from);
      return false;
    }
    if (m.success) {
      const advanced = this.onAccepted(m.from, pr, m.matchIndex);
      // The follower holds our commit point but does not know it is committed: tell it now rather
      // than at the next heartbeat (it cannot loop: the answer will carry the new commit index).
      if (advanced && m.commit < this.log.commit && pr.match >= this.log.commit) this.sendEmpty(m.from, pr.match);
      return advanced;
    }
    if (pr.state === 'replicate') {
      if (m.rejectedIndex <= pr.match) return false;
      pr.becomeProbe(pr.match + 1);
    } else {
      if (m.rejectedIndex !== pr.next - 1) return false;
      // Skip back over whole terms: the follower's hint, then the leader's own last index of a term
      // not above the hinted one.
      const probe = m.hintTerm > 0 ? this.log.history.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
      pr.becomeProbe(Math.min(m.rejectedIndex, probe + 1));
    }
    this.sendAppend(m.from);
    return false;
  }

  private onAccepted(from: NodeId, pr: Progress, matchIndex: number): boolean {
    // A follower of this term only holds entries this leader sent: a larger match is a lie or a bug.
    if (matchIndex > this.log.lastIndex()) return false;
    const advanced = matchIndex > pr.match;
    if (advanced) {
      pr.match = matchIndex;
      pr.ticksSinceProgress = 0;
    }
    if (pr.state === 'probe') {
      if (matchIndex >= pr.match) pr.becomeReplicate();
    } else {
      while (pr.inflight.length > 0 && pr.inflight[0]! <= pr.match) pr.inflight.shift();
      pr.next = Math.max(pr.next, pr.match + 1);
    }
    this.sendAppend(from);
    return advanced;
  }

  /** Whether a majority of every active configuration answered within the last election timeout. */
  quorumActive(configurations: readonly Configuration[]): boolean {
    const recent = (id: NodeId): boolean => {
      const pr = this.progress.get(id);
      // A node just added (a joiner starting up and connecting) gets a few election timeouts before it
      // counts as silent: stepping down for it would only disturb the nodes that do answer, since
      // without it no leader could commit anyway.
      const patience = pr?.acked === false ? NEW_MEMBER_PATIENCE : 1;
      return id === this.self || (pr !== undefined && pr.ticksSinceAck < this.limits.electionTimeoutTicks * patience);
    };
    return quorumActive(configurations, recent);
  }

  /** The voter of `voters` (other than the leader) with the highest match index; ties go to the lowest id. */
  successor(voters: readonly NodeId[]): NodeId | undefined {
    let best: NodeId | undefined;
    let bestMatch = -1;
    for (const id of [...voters].sort()) {
      const pr = this.progress.get(id);
      if (id === this.self || !pr) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  private sendBatch(to: NodeId, from: number): number {
    const last = this.log.lastIndex();
    assert(from >= 1 && from <= last + 1, () => `send from ${from} with last ${last}`);
    const high = Math.min(last + 1, from + this.limits.entriesPerAppendMax);
    const entries = this.log.slice(from, high, this.limits.bytesPerAppendMax);
    const prevTerm = this.log.termAt(from - 1)!;
    this.send({ type: 'append', from: this.self, to, term: this.term, prevIndex: from - 1, prevTerm, entries, commit: this.log.commit });
    return from - 1 + entries.length;
  }

  private sendEmpty(to: NodeId, prevIndex: number): void {
    const prevTerm = this.log.termAt(prevIndex)!;
    this.send({ type: 'append', from: this.self, to, term: this.term, prevIndex, prevTerm, entries: [], commit: this.log.commit });
  }
}
