// The term of every log index, stored as the first index of each term (CCF's "view history"). Terms in a
// log never decrease, so this is a short ascending list; it answers "term of index i" in O(log terms)
// and finds the fast back-off point by skipping whole terms.

import { assert } from './assert.ts';

export class ViewHistory {
  /** Ascending in both fields: entries in [starts[k].index, starts[k+1].index) have term starts[k].term. */
  private readonly starts: Array<{ term: number; index: number }> = [];
  private last = 0;

  get lastIndex(): number {
    return this.last;
  }

  /** Term of `index`: 0 for index 0, undefined beyond the end. */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    if (index < 0 || index > this.last) return undefined;
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid]!.index <= index) low = mid;
      else high = mid - 1;
    }
    return this.starts[low]!.term;
  }

  lastTerm(): number {
    return this.starts.length === 0 ? 0 : this.starts[this.starts.length - 1]!.term;
  }

  append(index: number, term: number): void {
    assert(index === this.last + 1, `view history: append at ${index} after ${this.last}`);
    const lastTerm = this.lastTerm();
    assert(term >= lastTerm, `view history: term ${term} at ${index} after term ${lastTerm}`);
    if (this.starts.length === 0 || term !== lastTerm) this.starts.push({ term, index });
    this.last = index;
  }

  /** Forgets every index after `lastIndex`. */
  truncateAfter(lastIndex: number): void {
    assert(lastIndex >= 0 && lastIndex <= this.last, `view history: truncate to ${lastIndex} of ${this.last}`);
    while (this.starts.length > 0 && this.starts[this.starts.length - 1]!.index > lastIndex) this.starts.pop();
    this.last = lastIndex;
  }

  /**
   * The largest index j <= `index` whose term is at most `term` (0 if none). A follower uses it to
   * answer a failed consistency check; a leader uses it again on the follower's hint.
   */
  findConflictByTerm(index: number, term: number): number {
    let j = Math.min(index, this.last);
    for (let k = this.starts.length - 1; k >= 0 && j > 0; k--) {
      const start = this.starts[k]!;
      if (start.index > j) continue;
      if (start.term <= term) return j;
      j = start.index - 1;
    }
    return Math.max(j, 0);
  }

  /** The first index of each term up to `index` (ascending): CCF's view history for a snapshot at `index`. */
  startsUpTo(index: number): Array<{ term: number; index: number }> {
    const out: Array<{ term: number; index: number }> = [];
    for (const start of this.starts) {
      if (start.index > Math.min(index, this.last)) break;
      out.push({ term: start.term, index: start.index });
    }
    return out;
  }

  /** First index of `term`, if any entry has it. */
  startOf(term: number): number | undefined {
    return this.starts.find((s) => s.term === term)?.index;
  }
}
