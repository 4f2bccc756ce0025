// LedgerFiles.readEntry: one committed entry read back from its chunk (offset table, in-memory positions
// of the open chunk, or the write buffer), equal to what was appended; framing damage is reported with
// its file and offset without poisoning the writer; offset tables of committed chunks are cached, bounded.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LedgerCorruptError } from '../../errors.ts';
import { LedgerFiles } from './files.ts';
import { ledgerReadLimits } from './limits.ts';
import { fakeEntry, isSignature } from './test-fixtures.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synod-ledger-read-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function appendRange(files: LedgerFiles, from: number, to: number): Promise<void> {
  for (let seqno = from; seqno <= to; seqno++) files.append(seqno, fakeEntry(seqno), isSignature(seqno));
  await files.flush();
}

const hex = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('hex'));

async function expectAll(files: LedgerFiles, from: number, to: number): Promise<void> {
  for (let seqno = from; seqno <= to; seqno++) expect(hex(await files.readEntry(seqno)), `seqno ${seqno}`).toBe(hex(fakeEntry(seqno)));
}

describe('LedgerFiles.readEntry', () => {
  it('reads committed entries from committed, closed and open chunks; nothing past the commit point', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 200 });
    await appendRange(files, 1, 63);
    expect(await files.readEntry(1)).toBeUndefined(); // nothing is committed yet
    files.commit(40);
    await expectAll(files, 1, 40);
    expect(await files.readEntry(41)).toBeUndefined();
    files.commit(63);
    await expectAll(files, 1, 63);
    expect(await files.readEntry(64)).toBeUndefined();
    await expect(files.readEntry(0)).rejects.toMatchObject({ code: 'LEDGER_FILES_ARGUMENT' });
    await expect(files.readEntry(1.5)).rejects.toMatchObject({ code: 'LEDGER_FILES_ARGUMENT' });
    const names = readdirSync(dir);
    expect(names.some((n) => n.endsWith('.committed'))).toBe(true);
    expect(names.some((n) => /^ledger_\d+$/.test(n))).toBe(true);
    await files.close();
    await expect(files.readEntry(1)).rejects.toMatchObject({ code: 'LEDGER_FILES_CLOSED' });
  });

  it('reads the open chunk of a reopened folder, and entries still waiting in the write buffer', async () => {
    const dir = tempDir();
    const first = await LedgerFiles.open(dir, { chunkSizeBytes: 200 });
    await appendRange(first, 1, 22);
    await first.close();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 200 });
    files.commit(22);
    await expectAll(files, 1, 22);
    files.append(23, fakeEntry(23), false);
    files.commit(23);
    expect(hex(await files.readEntry(23))).toBe(hex(fakeEntry(23)));
    await files.flush();
    expect(hex(await files.readEntry(23))).toBe(hex(fakeEntry(23)));
    await files.close();
  });

  it('keeps the offset tables of committed chunks, a bounded number of them', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 60 });
    const last = 5 * (ledgerReadLimits.tablesCachedMax + 4);
    await appendRange(files, 1, last);
    files.commit(last);
    await files.flush();
    await files.readEntry(1);
    await files.readEntry(2);
    expect(files.readStats).toEqual({ tableReads: 1, tableCacheHits: 1 });
    await expectAll(files, 1, last);
    const chunks = readdirSync(dir).filter((n) => n.endsWith('.committed')).length;
    expect(chunks).toBeGreaterThan(ledgerReadLimits.tablesCachedMax);
    expect(files.readStats.tableReads).toBe(chunks);
    // The first chunks were evicted since: reading them again reads their tables again.
    await files.readEntry(1);
    expect(files.readStats.tableReads).toBe(chunks + 1);
    await files.close();
  });

  it('reports a damaged offset table or entry header with file and offset, and keeps writing', async () => {
    const dir = tempDir();
    const writer = await LedgerFiles.open(dir, { chunkSizeBytes: 200 });
    await appendRange(writer, 1, 30);
    writer.commit(30);
    await writer.close();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 200 });
    files.commit(30);
    const name = readdirSync(dir).find((n) => n.startsWith('ledger_1-'))!;
    expect(name).toMatch(/\.committed$/);
    const path = join(dir, name);
    const original = readFileSync(path);
    const tableOffset = original.readUInt32LE(0);

    const badTable = Buffer.from(original);
    badTable.writeUInt32LE(tableOffset - 3, tableOffset + 4); // the second entry "starts" inside the table
    writeFileSync(path, badTable);
    const error = await files.readEntry(2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerCorruptError);
    expect((error as LedgerCorruptError).file).toBe(name);
    expect((error as LedgerCorruptError).offset).toBe(tableOffset + 4);

    const badHeader = Buffer.from(original);
    badHeader[8 + 2] = (badHeader[8 + 2]! + 1) & 0xff; // the first entry's size no longer frames it
    writeFileSync(path, badHeader);
    const fresh = await LedgerFiles.open(dir, { chunkSizeBytes: 200 });
    fresh.commit(30);
    await expect(fresh.readEntry(1)).rejects.toMatchObject({ code: 'LedgerCorrupt', offset: 8, file: name });
    expect(hex(await fresh.readEntry(30))).toBe(hex(fakeEntry(30)));
    await appendRange(fresh, 31, 35);
    expect(fresh.durableSeqno).toBe(35);
    await Promise.all([files.close(), fresh.close()]);
  });

  it('property: every committed entry reads back as appended, whatever the chunk size and commit points', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 40, max: 400 }),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 4 }),
        async (chunkSizeBytes, count, commits) => {
          const dir = tempDir();
          const files = await LedgerFiles.open(dir, { chunkSizeBytes });
          let committed = 0;
          for (const point of [...commits, count].map((c) => Math.min(c, count)).sort((a, b) => a - b)) {
            const target = Math.min(count, point + 7);
            if (files.lastSeqno < target) await appendRange(files, files.lastSeqno + 1, target);
            files.commit(point);
            committed = Math.max(committed, point);
          }
          await files.flush();
          await expectAll(files, 1, committed);
          expect(await files.readEntry(committed + 1)).toBeUndefined();
          await files.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});
