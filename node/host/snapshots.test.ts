// The snapshot folder: pending → committed with the receipt appended, retention, and crash safety
// (temporary files from an interrupted write are removed, damaged or partial files are skipped).

import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../crypto/hash.ts';
import { completeSnapshotFile, serializeSnapshot, snapshotEvidenceWrite, verifySnapshotFile } from '../snapshot/index.ts';
import { chainIdentity, TestChain } from '../snapshot/test-chain.ts';
import { SnapshotFiles, type SnapshotDiskStep } from './snapshots.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synod-snapshots-'));
  dirs.push(dir);
  return join(dir, 'snapshots');
}

interface Taken {
  seqno: number;
  evidenceSeqno: number;
  entry: Uint8Array;
  receipt: object;
}

/** A chain that takes a snapshot at each of `count` signatures, with evidence and a receipt for each. */
async function snapshots(count: number) {
  const id = await chainIdentity();
  const chain = new TestChain(id);
  const taken: Taken[] = [];
  for (let n = 0; n < count; n++) {
    chain.put('records', `k${n}`, `v${n}`);
    const seqno = chain.sign();
    const entry = serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views });
    const evidenceSeqno = chain.execute((tx) => void snapshotEvidenceWrite(tx, entry, seqno), sha256(entry));
    chain.sign();
    taken.push({ seqno, evidenceSeqno, entry, receipt: chain.receipt(evidenceSeqno) });
  }
  return { id, taken };
}

function logger() {
  const lines: string[] = [];
  return { lines, log: (level: string, message: string) => void lines.push(`${level} ${message}`) };
}

describe('SnapshotFiles', () => {
  it('writes pending, commits with the receipt under CCF\'s name, and serves the newest', async () => {
    const dir = await folder();
    const { id, taken } = await snapshots(2);
    const files = await SnapshotFiles.open(dir);
    expect(await files.latestCommitted()).toBeUndefined();
    const [first, second] = taken as [Taken, Taken];
    expect(await files.writePending(first.seqno, first.entry)).toBe(`snapshot_${first.seqno}.pending`);
    // With the evidence seqno known: CCF's name for an uncommitted snapshot.
    expect(await files.writePending(second.seqno, second.entry, second.evidenceSeqno)).toBe(`snapshot_${second.seqno}_${second.evidenceSeqno}`);
    expect(await files.commit(first.seqno, first.evidenceSeqno, first.receipt)).toBe(`snapshot_${first.seqno}_${first.evidenceSeqno}.committed`);
    expect((await readdir(dir)).sort()).toEqual([`snapshot_${first.seqno}_${first.evidenceSeqno}.committed`, `snapshot_${second.seqno}_${second.evidenceSeqno}`]);
    await files.commit(second.seqno, second.evidenceSeqno, JSON.stringify(second.receipt));
    const latest = await files.latestCommitted();
    expect(latest?.name).toBe(`snapshot_${second.seqno}_${second.evidenceSeqno}.committed`);
    expect(Buffer.from(latest!.bytes).equals(Buffer.from(completeSnapshotFile(second.entry, second.receipt)))).toBe(true);
    expect(verifySnapshotFile(latest!.bytes, id.serviceCertPem, { name: latest!.name }).seqno).toBe(second.seqno);
    expect((await files.listCommitted()).map((s) => s.seqno)).toEqual([second.seqno, first.seqno]);
    // A new SnapshotFiles over the same folder sees the same thing.
    expect((await (await SnapshotFiles.open(dir)).latestCommitted())?.name).toBe(latest!.name);
  });

  it('keeps only the newest K committed snapshots, and drops pending ones made obsolete', async () => {
    const dir = await folder();
    const { taken } = await snapshots(4);
    const { lines, log } = logger();
    const files = await SnapshotFiles.open(dir, { keep: 2, log });
    for (const t of taken) await files.writePending(t.seqno, t.entry);
    // Commit only the 1st, 3rd, 4th: the 2nd never gets its evidence committed.
    for (const t of [taken[0]!, taken[2]!, taken[3]!]) await files.commit(t.seqno, t.evidenceSeqno, t.receipt);
    expect((await readdir(dir)).sort()).toEqual(
      [taken[2]!, taken[3]!].map((t) => `snapshot_${t.seqno}_${t.evidenceSeqno}.committed`).sort(),
    );
    expect(lines.some((l) => l.includes(`removing snapshot_${taken[0]!.seqno}_`))).toBe(true);
  });

  it('discards pending snapshots after a rollback point', async () => {
    const dir = await folder();
    const { taken } = await snapshots(2);
    const files = await SnapshotFiles.open(dir);
    for (const t of taken) await files.writePending(t.seqno, t.entry);
    await files.discardPendingAfter(taken[0]!.seqno);
    expect(await readdir(dir)).toEqual([`snapshot_${taken[0]!.seqno}.pending`]);
  });

  for (const step of ['write', 'sync', 'rename'] as SnapshotDiskStep[]) {
    it(`a crash before "${step}" leaves the previous state; the temporary file is removed on restart`, async () => {
      const dir = await folder();
      const { id, taken } = await snapshots(2);
      const [first, second] = taken as [Taken, Taken];
      const files = await SnapshotFiles.open(dir);
      await files.writePending(first.seqno, first.entry);
      await files.commit(first.seqno, first.evidenceSeqno, first.receipt);
      await files.writePending(second.seqno, second.entry);

      let armed = true;
      const crashing = await SnapshotFiles.open(dir, {
        onStep: (at) => {
          if (armed && at === step) {
            armed = false;
            throw new Error(`simulated crash before ${at}`);
          }
        },
      });
      await expect(crashing.commit(second.seqno, second.evidenceSeqno, second.receipt)).rejects.toThrow(/simulated crash/);
      const left = await readdir(dir);
      expect(left.some((n) => n.startsWith('.snapshot_') && n.includes('.tmp-'))).toBe(true);

      const { lines, log } = logger();
      const restarted = await SnapshotFiles.open(dir, { log });
      expect(lines.some((l) => /removing \.snapshot_.*did not finish/.test(l))).toBe(true);
      expect((await readdir(dir)).sort()).toEqual([`snapshot_${first.seqno}_${first.evidenceSeqno}.committed`, `snapshot_${second.seqno}.pending`]);
      const latest = await restarted.latestCommitted();
      expect(verifySnapshotFile(latest!.bytes, id.serviceCertPem).seqno).toBe(first.seqno);
      // The commit can simply be done again.
      await restarted.commit(second.seqno, second.evidenceSeqno, second.receipt);
      expect((await restarted.latestCommitted())?.seqno).toBe(second.seqno);
    });
  }

  it('skips damaged, partial and misnamed committed files with a log line', async () => {
    const dir = await folder();
    const { id, taken } = await snapshots(3);
    const [a, b, c] = taken as [Taken, Taken, Taken];
    const files = await SnapshotFiles.open(dir, { keep: 10 });
    for (const t of taken) {
      await files.writePending(t.seqno, t.entry);
      await files.commit(t.seqno, t.evidenceSeqno, t.receipt);
    }
    const { lines, log } = logger();
    const reader = await SnapshotFiles.open(dir, { log });
    // Newest cut short (a partial copy), the one before it with a receipt for another seqno.
    const newest = join(dir, `snapshot_${c.seqno}_${c.evidenceSeqno}.committed`);
    await truncate(newest, c.entry.length - 10);
    const middle = join(dir, `snapshot_${b.seqno}_${b.evidenceSeqno}.committed`);
    await writeFile(middle, completeSnapshotFile(b.entry, a.receipt));
    // Garbage under a committed name, newer than all of them, and a file that is not a snapshot at all.
    await writeFile(join(dir, `snapshot_${c.seqno + 50}_${c.seqno + 51}.committed`), new Uint8Array([1, 2, 3]));
    await writeFile(join(dir, 'notes.txt'), 'hello');

    const latest = await reader.latestCommitted();
    expect(latest?.name).toBe(`snapshot_${a.seqno}_${a.evidenceSeqno}.committed`);
    expect(verifySnapshotFile(latest!.bytes, id.serviceCertPem).seqno).toBe(a.seqno);
    expect(lines.filter((l) => l.startsWith('warn snapshots: ignoring')).length).toBe(3);
    expect(lines.join('\n')).toContain(`ignoring snapshot_${c.seqno}_${c.evidenceSeqno}.committed`);
    // The enclave refused that one too: ask for the next.
    expect(await reader.latestCommitted(new Set([latest!.name]))).toBeUndefined();
  });

  it('refuses to commit a damaged pending file or an entry that is not the seqno given', async () => {
    const dir = await folder();
    const { taken } = await snapshots(1);
    const t = taken[0]!;
    const files = await SnapshotFiles.open(dir);
    await expect(files.writePending(t.seqno + 1, t.entry)).rejects.toThrow(/snapshot at/);
    await files.writePending(t.seqno, t.entry);
    await truncate(join(dir, `snapshot_${t.seqno}.pending`), t.entry.length - 1);
    await expect(files.commit(t.seqno, t.evidenceSeqno, t.receipt)).rejects.toThrow();
    expect((await readdir(dir)).filter((n) => n.endsWith('.committed'))).toEqual([]);
    await expect(files.commit(t.seqno + 5, t.evidenceSeqno + 5, t.receipt)).rejects.toThrow(/no pending snapshot/);
    expect((await readFile(join(dir, `snapshot_${t.seqno}.pending`))).length).toBe(t.entry.length - 1);
  });
});
