// A simulated disk for one node: the consensus Storage the core reads, with writes that are only
// durable after a sync. The ledger and the hard state are separate files: a crash keeps a random prefix
// of the unsynced ledger writes (truncation, then appends, in order), may tear the last surviving entry
// (the ledger's per-entry authentication tag rejects it on restart, so it is cut off too), and keeps or
// loses the unsynced hard state independently. The commit marker is written only after a sync (as CCF
// renames chunks to .committed), so it never names an entry that did not reach the disk.

import type { Entry, HardState, Ready, Storage } from '../../node/consensus/raft/types.ts';
import type { Rng } from '../../node/consensus/raft/rng.ts';

type LedgerWrite = { readonly kind: 'truncate'; readonly removed: Entry[] } | { readonly kind: 'append' };

export interface CrashReport {
  readonly unsyncedWrites: number;
  readonly keptWrites: number;
  readonly tornEntry: boolean;
  readonly hardStateLost: boolean;
}

export class SimDisk implements Storage {
  /** What the node reads: everything written, synced or not (the page cache). */
  private log: Entry[];
  private hs: HardState;
  /** Ledger writes since the last sync, oldest first, with what is needed to undo them. */
  private unsynced: LedgerWrite[] = [];
  /** The durable hard state while a newer one is unsynced. */
  private syncedHardState: HardState | undefined;
  /** Commit index recorded after the last sync; passed back to the core on restart. */
  commitMarker: number;

  constructor(initial?: { hardState: HardState; entries: readonly Entry[]; commit: number }) {
    this.hs = initial?.hardState ?? { term: 0, votedFor: undefined };
    this.log = [...(initial?.entries ?? [])];
    this.commitMarker = initial?.commit ?? 0;
  }

  hardState(): HardState {
    return this.hs;
  }

  lastIndex(): number {
    return this.log.length;
  }

  entries(low: number, highExclusive: number): readonly Entry[] {
    if (low < 1 || highExclusive > this.log.length + 1) throw new Error(`disk: read [${low}, ${highExclusive}) of ${this.log.length}`);
    return this.log.slice(low - 1, highExclusive - 1);
  }


  /** Step 1 of the Ready contract, before the sync. */
  write(rd: Ready): void {
    if (rd.truncateAfter !== undefined && rd.truncateAfter < this.log.length) {
      this.unsynced.push({ kind: 'truncate', removed: this.log.splice(rd.truncateAfter) });
    }
    for (const e of rd.entries) {
      if (e.index !== this.log.length + 1) throw new Error(`disk: append at ${e.index} after ${this.log.length}`);
      this.log.push(e);
      this.unsynced.push({ kind: 'append' });
    }
    if (rd.hardState) {
      this.syncedHardState ??= this.hs;
      this.hs = rd.hardState;
    }
  }

  /** The Ready is durable; then the driver records the commit index it reported. */
  sync(commit: number): void {
    this.unsynced = [];
    this.syncedHardState = undefined;
    this.commitMarker = commit;
  }

  /** Power loss: a random prefix of the unsynced ledger writes survives, its last entry possibly torn. */
  crash(rng: Rng, tornProbability: number): CrashReport {
    const unsyncedWrites = this.unsynced.length;
    let keep = rng.between(0, unsyncedWrites);
    const tornEntry = keep > 0 && this.unsynced[keep - 1]!.kind === 'append' && rng.chance(tornProbability);
    if (tornEntry) keep--;
    for (let k = this.unsynced.length - 1; k >= keep; k--) {
      const w = this.unsynced[k]!;
      if (w.kind === 'append') this.log.pop();
      else this.log.push(...w.removed);
    }
    this.unsynced = [];
    const hardStateLost = this.syncedHardState !== undefined && rng.chance(0.5);
    if (hardStateLost) this.hs = this.syncedHardState!;
    this.syncedHardState = undefined;
    return { unsyncedWrites, keptWrites: keep, tornEntry, hardStateLost };
  }

  snapshot(): { hardState: HardState; entries: Entry[]; commit: number } {
    return { hardState: this.hs, entries: [...this.log], commit: this.commitMarker };
  }
}
