// The replicated log as the core sees it: a durable prefix that lives in Storage and an in-memory suffix
// not yet made durable, the term of every index, the uncommitted signature indices (CCF's commit
// points), and the commit and applied indices. It also tracks what was handed to the driver in a Ready
// and what the driver confirmed durable, so a truncation that reaches into written entries is reported.

import { assert } from './assert.ts';
import type { Entry, Storage } from './types.ts';
import { ViewHistory } from './view-history.ts';

export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

export interface LogRestore {
  readonly storage: Storage;
  readonly history: ViewHistory;
  /** Signature indices above `commit`, ascending. */
  readonly signatures: readonly number[];
  readonly commit: number;
  readonly applied: number;
}

export class RaftLog {
  private readonly storage: Storage;
  readonly history: ViewHistory;
  /** Entries (persisted, last]: in memory until the driver confirms them durable. */
  private unstable: Entry[] = [];
  /** Entries up to here are durable and identical in Storage. */
  private persisted: number;
  /** The end of the log as the driver will have written it once every Ready handed out is done. */
  private handedLast: number;
  /** Durable entries after this index must be discarded (reported in the next Ready). */
  private pendingTruncateAfter: number | undefined;
  /** The Ready handed out and not yet advanced: where the disk image ends, lowered by later rollbacks. */
  private outstanding: { imageLast: number } | undefined;
  private signatures: number[];
  private commitIndex: number;
  private appliedIndex: number;

  constructor(restore: LogRestore) {
    this.storage = restore.storage;
    this.history = restore.history;
    this.persisted = restore.history.lastIndex;
    this.handedLast = this.persisted;
    this.signatures = [...restore.signatures];
    this.commitIndex = restore.commit;
    this.appliedIndex = restore.applied;
    assert(this.appliedIndex <= this.commitIndex, 'applied index beyond commit');
  }

  get commit(): number {
    return this.commitIndex;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /** Highest index the driver confirmed durable (the leader's own acknowledgement). */
  get persistedIndex(): number {
    return this.persisted;
  }

  lastIndex(): number {
    return this.history.lastIndex;
  }

  termAt(index: number): number | undefined {
    return this.history.termAt(index);
  }

  /** The last committable position: the last signature in the log, or the commit point if none follows it. */
  lastSignature(): LogPosition {
    const index = this.signatures.length > 0 ? this.signatures[this.signatures.length - 1]! : this.commitIndex;
    return { index, term: this.history.termAt(index)! };
  }

  /** The highest signature at or below `index` that is not committed yet, or the commit index if none. */
  highestSignatureAtOrBelow(index: number): number {
    for (let k = this.signatures.length - 1; k >= 0; k--) if (this.signatures[k]! <= index) return this.signatures[k]!;
    return this.commitIndex;
  }

  isUncommittedSignature(index: number): boolean {
    return this.signatures.includes(index);
  }

  /** Entries in [low, highExclusive), at most `bytesMax` of data (but at least one entry if any). */
  slice(low: number, highExclusive: number, bytesMax = Number.POSITIVE_INFINITY): Entry[] {
    assert(low >= 1 && highExclusive <= this.lastIndex() + 1, () => `slice [${low}, ${highExclusive}) of ${this.lastIndex()}`);
    const out: Entry[] = [];
    if (low >= highExclusive) return out;
    let bytes = 0;
    const take = (e: Entry): boolean => {
      if (out.length > 0 && bytes + e.data.byteLength > bytesMax) return false;
      bytes += e.data.byteLength;
      out.push(e);
      return true;
    };
    const stableHigh = Math.min(highExclusive, this.persisted + 1);
    if (low < stableHigh) {
      const stored = this.storage.entries(low, stableHigh);
      assert(stored.length === stableHigh - low, () => `storage returned ${stored.length} entries for [${low}, ${stableHigh})`);
      for (let k = 0; k < stored.length; k++) {
        const e = stored[k]!;
        assert(e.index === low + k && e.term === this.history.termAt(e.index), () => `storage entry at ${low + k} is ${e.term}.${e.index}`);
        if (!take(e)) return out;
      }
    }
    for (let index = Math.max(low, this.persisted + 1); index < highExclusive; index++) {
      if (!take(this.unstable[index - this.persisted - 1]!)) return out;
    }
    return out;
  }

  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      this.history.append(e.index, e.term);
      this.unstable.push(e);
      if (e.isSignature) this.signatures.push(e.index);
    }
  }

  /** Rolls back every entry after `lastIndex`. Committed entries are never rolled back. */
  truncateAfter(lastIndex: number): void {
    assert(lastIndex >= this.commitIndex, () => `rollback to ${lastIndex} below commit ${this.commitIndex}`);
    assert(lastIndex < this.lastIndex(), () => `rollback to ${lastIndex} does not shorten a log ending at ${this.lastIndex()}`);
    this.history.truncateAfter(lastIndex);
    this.signatures = this.signatures.filter((s) => s <= lastIndex);
    if (lastIndex < this.persisted) {
      this.persisted = lastIndex;
      this.unstable = [];
    } else {
      this.unstable.length = lastIndex - this.persisted;
    }
    if (lastIndex < this.handedLast) {
      this.pendingTruncateAfter = Math.min(this.pendingTruncateAfter ?? lastIndex, lastIndex);
      this.handedLast = lastIndex;
    }
    if (this.outstanding) this.outstanding.imageLast = Math.min(this.outstanding.imageLast, lastIndex);
  }

  commitTo(index: number): void {
    assert(index > this.commitIndex, () => `commit ${index} does not advance ${this.commitIndex}`);
    assert(this.signatures.includes(index), () => `commit ${index} is not at a signature`);
    this.signatures = this.signatures.filter((s) => s > index);
    this.commitIndex = index;
  }

  hasUnhanded(): boolean {
    return this.pendingTruncateAfter !== undefined || this.lastIndex() > this.handedLast;
  }

  /** What the next Ready asks the driver to write; afterwards it counts as handed out. */
  handOut(): { truncateAfter: number | undefined; entries: Entry[] } {
    assert(this.outstanding === undefined, 'a Ready is already handed out');
    const truncateAfter = this.pendingTruncateAfter;
    const entries = this.slice(this.handedLast + 1, this.lastIndex() + 1);
    this.pendingTruncateAfter = undefined;
    this.handedLast = this.lastIndex();
    this.outstanding = { imageLast: this.lastIndex() };
    return { truncateAfter, entries };
  }

  /** The driver made the handed-out Ready durable. */
  handedOutDurable(): void {
    assert(this.outstanding !== undefined, 'no Ready handed out');
    const durable = this.outstanding.imageLast;
    this.outstanding = undefined;
    if (durable > this.persisted) {
      this.unstable = this.unstable.slice(durable - this.persisted);
      this.persisted = durable;
    }
  }

  committedToApply(countMax: number): Entry[] {
    const high = Math.min(this.commitIndex, this.appliedIndex + countMax);
    return this.slice(this.appliedIndex + 1, high + 1);
  }

  appliedTo(index: number): void {
    assert(index >= this.appliedIndex && index <= this.commitIndex, () => `applied ${index} outside [${this.appliedIndex}, ${this.commitIndex}]`);
    this.appliedIndex = index;
  }
}
