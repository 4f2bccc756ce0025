// When to snapshot and when a snapshot is committed, as CCF's snapshotter decides (src/node/snapshotter.h),
// plus the two steps of resuming from one. Pure bookkeeping: the enclave calls it, it calls nothing.
//
//   at a signature s:   if snapshotter.dueAt(s): entry = serializeSnapshot(...); host.writePending(s, entry);
//                       evidence transaction (snapshotEvidenceWrite, claims = SHA-256(entry)) at e;
//                       snapshotter.recordEvidence(s, e)
//   commit advances c:  for each {seqno, evidenceSeqno} of snapshotter.committedUpTo(c):
//                       host.commit(seqno, evidenceSeqno, JSON receipt of the evidence transaction)
//   rollback to r:      snapshotter.rollback(r); host.discardPendingAfter(r)
//
// A snapshot is due at a signature once `interval` transactions have passed since the last one (CCF's
// snapshot_tx_interval). Its evidence commits with the first commit point after the evidence; the
// receipt of the evidence is then available.

import type { LedgerSecret } from '../ledger/index.ts';
import { decodeEntry, leafForEntry, type DecodedEntry } from '../ledger/index.ts';
import type { Store } from '../kv/index.ts';
import type { MerkleTree } from '../merkle/tree.ts';
import { invalidArgument } from './errors.ts';
import { verifySnapshotFile, type VerifiedSnapshotFile } from './evidence.ts';
import { deserializeSnapshot, type RestoredSnapshot } from './snapshot.ts';

export interface PendingSnapshot {
  seqno: number;
  evidenceSeqno: number;
}

/** Snapshots awaiting their evidence's commit, at most this many (CCF keeps a handful too). */
export const PENDING_SNAPSHOTS_MAX = 8;

export class Snapshotter {
  readonly interval: number;
  /** Seqno of the latest snapshot taken (pending or committed). */
  #last: number;
  /** Seqno of the latest snapshot taken because the interval had passed (forced ones do not move it). */
  #lastScheduled: number;
  #forced = false;
  /** Seqno of the latest snapshot whose evidence committed (or that this node started from). */
  #committed: number;
  readonly #pending: PendingSnapshot[] = [];

  /** `lastSnapshotSeqno`: the seqno of the snapshot this node started from, or 0. */
  constructor(interval: number, lastSnapshotSeqno = 0) {
    if (!Number.isSafeInteger(interval) || interval < 1) throw invalidArgument(`snapshot interval ${interval} is not a positive integer`);
    if (!Number.isSafeInteger(lastSnapshotSeqno) || lastSnapshotSeqno < 0) throw invalidArgument(`bad last snapshot seqno ${lastSnapshotSeqno}`);
    this.interval = interval;
    this.#last = lastSnapshotSeqno;
    this.#lastScheduled = lastSnapshotSeqno;
    this.#committed = lastSnapshotSeqno;
  }

  /** Governance's trigger_snapshot: a snapshot at the next signature, outside the schedule (as CCF). */
  forceAtNextSignature(): void {
    this.#forced = true;
  }

  /** True if a snapshot should be taken at the signature at `seqno` (and records that it is). */
  dueAt(seqno: number): boolean {
    if (!Number.isSafeInteger(seqno) || seqno <= this.#last || this.#pending.length >= PENDING_SNAPSHOTS_MAX) return false;
    const scheduled = seqno - this.#lastScheduled >= this.interval;
    if (!scheduled && !this.#forced) return false;
    this.#forced = false;
    this.#last = seqno;
    if (scheduled) this.#lastScheduled = seqno;
    return true;
  }

  /** The evidence of the snapshot at `seqno` was appended at `evidenceSeqno`. */
  recordEvidence(seqno: number, evidenceSeqno: number): void {
    if (!Number.isSafeInteger(evidenceSeqno) || evidenceSeqno <= seqno) throw invalidArgument(`evidence at ${evidenceSeqno} for a snapshot at ${seqno}`);
    const last = this.#pending[this.#pending.length - 1];
    if (last && last.evidenceSeqno >= evidenceSeqno) throw invalidArgument('snapshot evidence recorded out of order');
    this.#pending.push({ seqno, evidenceSeqno });
  }

  /** Snapshots whose evidence is committed by a commit at `commitSeqno`; each is handed out once. */
  committedUpTo(commitSeqno: number): PendingSnapshot[] {
    let n = 0;
    while (n < this.#pending.length && this.#pending[n]!.evidenceSeqno < commitSeqno) n++;
    const done = this.#pending.splice(0, n);
    for (const p of done) this.#committed = Math.max(this.#committed, p.seqno);
    return done;
  }

  /** Consensus rolled back to `seqno`: snapshots or evidence after it are gone. */
  rollback(seqno: number): void {
    for (let i = this.#pending.length - 1; i >= 0; i--) if (this.#pending[i]!.evidenceSeqno > seqno) this.#pending.splice(i, 1);
    const lastPending = this.#pending[this.#pending.length - 1]?.seqno ?? 0;
    this.#last = Math.max(this.#committed, lastPending);
    this.#lastScheduled = Math.min(this.#lastScheduled, this.#last);
  }

  get pending(): readonly PendingSnapshot[] {
    return this.#pending.map((p) => ({ ...p }));
  }
}

/**
 * Step 1 of resuming (a restarting node from its own folder, a joiner from what the primary sent): the
 * committed file verifies against a trusted service identity, then the entry decrypts and restores.
 */
export function restoreFromSnapshotFile(
  file: Uint8Array,
  trustedServiceCerts: string | readonly string[],
  secret: LedgerSecret,
  options: { name?: string } = {},
): RestoredSnapshot & { evidence: VerifiedSnapshotFile } {
  const evidence = verifySnapshotFile(file, trustedServiceCerts, options);
  return { ...deserializeSnapshot(evidence.entry, secret), evidence };
}

/**
 * Step 2: applies one ledger entry that follows the snapshot (seqno = store.version + 1) to the restored
 * store and tree, as replay does. Returns the decoded entry (for signature checks and the history).
 */
export function applyEntryAfterSnapshot(state: { store: Store; tree: MerkleTree }, bytes: Uint8Array, secret: LedgerSecret): DecodedEntry {
  const entry = decodeEntry(bytes, secret);
  if (entry.isSnapshot) throw invalidArgument('a snapshot entry is not a ledger entry');
  if (entry.seqno !== state.store.version + 1 || state.tree.size !== entry.seqno) {
    throw invalidArgument(`entry ${entry.seqno} does not follow the store at ${state.store.version} (tree of ${state.tree.size} leaves)`);
  }
  state.store.applyWrites(entry.seqno, entry.maps.map(({ name, writes, removes }) => ({ name, writes, removes })));
  state.tree.append(leafForEntry(bytes, entry));
  return entry;
}
