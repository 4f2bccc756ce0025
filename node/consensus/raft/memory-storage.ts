// An in-memory Storage that applies Ready values exactly as the contract says (truncate, append, then
// the hard state). Tests and the scenario driver use it; the simulator wraps the same logic in a disk
// that can lose unsynced writes. The real one (ledger chunks on the host) must behave the same.

import { assert } from './assert.ts';
import type { Entry, HardState, Ready, Storage } from './types.ts';

export class MemoryStorage implements Storage {
  private log: Entry[] = [];
  private hs: HardState = { term: 0, votedFor: undefined };

  constructor(initial?: { hardState?: HardState; entries?: readonly Entry[]; commit?: number }) {
    if (initial?.hardState) this.hs = initial.hardState;
    if (initial?.entries) this.log = [...initial.entries];
    this.commitMarker = initial?.commit ?? 0;
  }

  hardState(): HardState {
    return this.hs;
  }

  lastIndex(): number {
    return this.log.length;
  }

  entries(low: number, highExclusive: number): readonly Entry[] {
    assert(low >= 1 && highExclusive <= this.log.length + 1, `storage read [${low}, ${highExclusive}) of ${this.log.length}`);
    return this.log.slice(low - 1, highExclusive - 1);
  }

  truncateAfter(lastIndex: number): void {
    if (lastIndex < this.log.length) this.log.length = lastIndex;
  }

  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      assert(e.index <= this.log.length + 1, `storage append at ${e.index} after ${this.log.length}`);
      this.log.length = e.index - 1;
      this.log.push(e);
    }
  }

  setHardState(hs: HardState): void {
    this.hs = hs;
  }

  /** The commit index recorded after the last persist (what a driver passes back on restart). */
  commitMarker = 0;

  /** Step 1 of the Ready contract, done synchronously; the commit marker follows the sync. */
  persist(rd: Ready): void {
    if (rd.truncateAfter !== undefined) this.truncateAfter(rd.truncateAfter);
    this.append(rd.entries);
    if (rd.hardState) this.setHardState(rd.hardState);
    this.commitMarker = rd.softState.commit;
  }

  /** A copy of everything, e.g. to restart a node from the same state. */
  snapshot(): { hardState: HardState; entries: Entry[] } {
    return { hardState: this.hs, entries: [...this.log] };
  }
}
