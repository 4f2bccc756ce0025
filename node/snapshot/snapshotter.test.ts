// The snapshot policy (every N transactions, at signatures; committed with the evidence's commit) and
// the two resume steps, driven the way the enclave is meant to drive them.

import { describe, expect, it } from 'vitest';
import { sha256, toHex } from '../crypto/hash.ts';
import { decodeEntry } from '../ledger/index.ts';
import {
  applyEntryAfterSnapshot,
  completeSnapshotFile,
  restoreFromSnapshotFile,
  serializeSnapshot,
  snapshotEvidenceWrite,
  Snapshotter,
  SnapshotError,
} from './index.ts';
import { chainIdentity, TestChain } from './test-chain.ts';

describe('Snapshotter', () => {
  it('is due at the first signature at least N transactions after the last snapshot', () => {
    const s = new Snapshotter(10);
    expect(s.dueAt(5)).toBe(false);
    expect(s.dueAt(12)).toBe(true);
    expect(s.dueAt(12)).toBe(false); // once
    expect(s.dueAt(20)).toBe(false);
    expect(s.dueAt(22)).toBe(true);
    const resumed = new Snapshotter(10, 100);
    expect(resumed.dueAt(105)).toBe(false);
    expect(resumed.dueAt(110)).toBe(true);
    expect(() => new Snapshotter(0)).toThrow(SnapshotError);
  });

  it('takes a forced snapshot at the next signature without moving the schedule (trigger_snapshot)', () => {
    const s = new Snapshotter(10);
    expect(s.dueAt(10)).toBe(true);
    s.forceAtNextSignature();
    expect(s.dueAt(13)).toBe(true);
    expect(s.dueAt(16)).toBe(false);
    expect(s.dueAt(20)).toBe(true); // 10 after the last scheduled one, not after the forced one
  });

  it('hands out each snapshot once, when a commit point after its evidence commits; rollback drops lost ones', () => {
    const s = new Snapshotter(5);
    expect(s.dueAt(10)).toBe(true);
    s.recordEvidence(10, 11);
    expect(s.committedUpTo(10)).toEqual([]);
    expect(s.committedUpTo(11)).toEqual([]);
    expect(s.committedUpTo(13)).toEqual([{ seqno: 10, evidenceSeqno: 11 }]);
    expect(s.committedUpTo(20)).toEqual([]);
    expect(s.dueAt(20)).toBe(true);
    s.recordEvidence(20, 21);
    s.rollback(20); // the evidence at 21 is gone
    expect(s.pending).toEqual([]);
    expect(s.dueAt(20)).toBe(true); // a snapshot at 20 can be taken again
    expect(() => s.recordEvidence(20, 20)).toThrow(SnapshotError);
  });

  it('drives a chain: snapshot at signatures, commit with the evidence, resume from the file and the entries after it', async () => {
    const id = await chainIdentity();
    const chain = new TestChain(id, 3, true);
    const snapshotter = new Snapshotter(4);
    const files: Array<{ seqno: number; file: Uint8Array }> = [];
    const pendingEntries = new Map<number, Uint8Array>();
    const commitUpTo = (commitSeqno: number) => {
      for (const { seqno, evidenceSeqno } of snapshotter.committedUpTo(commitSeqno)) {
        files.push({ seqno, file: completeSnapshotFile(pendingEntries.get(seqno)!, chain.receipt(evidenceSeqno)) });
      }
    };
    for (let i = 0; i < 20; i++) {
      chain.put(i % 3 ? 'records' : 'public:records', `k${i % 7}`, `v${i}`);
      if (i % 3 === 2) {
        const seqno = chain.sign();
        commitUpTo(seqno); // single node: a signature commits once durable
        if (snapshotter.dueAt(seqno)) {
          const entry = serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views });
          pendingEntries.set(seqno, entry);
          snapshotter.recordEvidence(seqno, chain.execute((tx) => void snapshotEvidenceWrite(tx, entry, seqno), sha256(entry)));
        }
      }
    }
    commitUpTo(chain.sign());
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const { seqno, file } of files) {
      const restored = restoreFromSnapshotFile(file, id.serviceCertPem, chain.secret);
      expect(restored.seqno).toBe(seqno);
      for (let s = seqno + 1; s <= chain.store.version; s++) applyEntryAfterSnapshot(restored, chain.entries[s - 1]!, chain.secret);
      expect(toHex(restored.tree.root())).toBe(toHex(chain.tree.root()));
      expect(restored.store.snapshot()).toEqual(chain.store.snapshot());
      // Entries out of order are refused.
      expect(() => applyEntryAfterSnapshot(restored, chain.entries[seqno - 1]!, chain.secret)).toThrow(/does not follow/);
    }
    expect(decodeEntry(chain.entries[0]!, chain.secret).seqno).toBe(1);
  });
});
