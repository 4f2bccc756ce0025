import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { splitChunk } from '../../ledger/chunk.ts';
import { EntryFlags } from '../../ledger/entry.ts';
import { LedgerFiles, type DiskStep, type LedgerFilesOptions } from './files.ts';
import { LedgerFilesError } from './errors.ts';
import { fakeEntry, isSignature } from './test-fixtures.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synod-ledger-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function appendRange(files: LedgerFiles, from: number, to: number, variant = 0): Promise<void> {
  for (let seqno = from; seqno <= to; seqno++) files.append(seqno, fakeEntry(seqno, variant), isSignature(seqno));
  await files.flush();
}

const hexes = (entries: Array<{ bytes: Uint8Array }>) => entries.map((e) => Buffer.from(e.bytes).toString('hex'));
const expected = (from: number, to: number, variant = 0) => {
  const out: string[] = [];
  for (let s = from; s <= to; s++) out.push(Buffer.from(fakeEntry(s, variant)).toString('hex'));
  return out;
};

describe('LedgerFiles', () => {
  it('round-trips entries across several chunks, closing each after a signature past the size', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 200 });
    await appendRange(files, 1, 63);
    expect(files.durableSeqno).toBe(63);
    const read = await files.readAll();
    expect(read.tornTail).toBeUndefined();
    expect(read.entries.map((e) => e.seqno)).toEqual(Array.from({ length: 63 }, (_, i) => i + 1));
    expect(hexes(read.entries)).toEqual(expected(1, 63));
    const names = readdirSync(dir).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
    expect(names.length).toBeGreaterThan(3);
    expect(names.at(-1)).toMatch(/^ledger_\d+$/);
    for (const name of names.slice(0, -1)) {
      const [, first, last] = /^ledger_(\d+)-(\d+)$/.exec(name)!;
      expect(isSignature(Number(last))).toBe(true);
      const split = splitChunk(new Uint8Array(readFileSync(join(dir, name))));
      expect(split.tableOffset).toBeGreaterThanOrEqual(200);
      expect(split.entries.length).toBe(Number(last) - Number(first) + 1);
    }
    files.commit(30);
    await files.close();
    const committed = readdirSync(dir).filter((n) => n.endsWith('.committed'));
    expect(committed.length).toBeGreaterThan(0);
    for (const name of committed) expect(Number(/-(\d+)\./.exec(name)![1])).toBeLessThanOrEqual(30);
    expect(readdirSync(dir).some((n) => /^ledger_\d+-\d+$/.test(n) && Number(/-(\d+)$/.exec(n)![1]) > 30)).toBe(true);
  });

  it('honours chunk-end flags in entry headers, so every node cuts chunks alike', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 1 << 20 });
    for (let s = 1; s <= 12; s++) {
      const flags = s === 4 ? EntryFlags.ForceLedgerChunkAfter : s === 9 ? EntryFlags.ForceLedgerChunkBefore : 0;
      files.append(s, fakeEntry(s, 0, flags), false);
    }
    await files.flush();
    expect(readdirSync(dir).sort()).toEqual(['ledger_1-4', 'ledger_5-8', 'ledger_9']);
    await files.close();
  });

  it('reopening continues the same chunk and numbering', async () => {
    const dir = tempDir();
    let files = await LedgerFiles.open(dir, { chunkSizeBytes: 300 });
    await appendRange(files, 1, 23);
    await files.close();
    const before = readdirSync(dir).sort();
    files = await LedgerFiles.open(dir, { chunkSizeBytes: 300 });
    expect(files.lastSeqno).toBe(23);
    expect(files.durableSeqno).toBe(23);
    expect(() => files.append(25, fakeEntry(25), false)).toThrow(LedgerFilesError);
    await appendRange(files, 24, 50);
    expect(hexes((await files.readAll()).entries)).toEqual(expected(1, 50));
    const after = readdirSync(dir);
    const open = before.find((n) => /^ledger_\d+$/.test(n))!;
    // The chunk that was open before is either still open or was closed under the same first seqno.
    expect(after.some((n) => n === open || n.startsWith(`${open}-`))).toBe(true);
    expect(hexes((await files.readAll(30)).entries)).toEqual(expected(30, 50));
    await files.close();
  });

  it('reports a torn tail when the open chunk is cut anywhere, then continues after it', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 10_000 });
    await appendRange(files, 1, 12);
    await files.close();
    const name = readdirSync(dir)[0]!;
    const full = readFileSync(join(dir, name));
    const boundaries = new Set(splitChunk(new Uint8Array(full)).entries.map((e) => e.offset + e.bytes.byteLength));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: full.byteLength - 1 }), async (cut) => {
        writeFileSync(join(dir, name), full.subarray(0, cut));
        const reopened = await LedgerFiles.open(dir);
        const read = await reopened.readAll();
        const whole = [...boundaries].filter((b) => b <= cut).length;
        expect(hexes(read.entries)).toEqual(expected(1, whole));
        expect(read.tornTail === undefined).toBe(cut === 8 || boundaries.has(cut));
        if (read.tornTail) expect(read.tornTail.file).toBe(name);
        // Appending goes on from the last whole entry, replacing the torn bytes.
        await appendRange(reopened, whole + 1, whole + 3, 1);
        const again = await reopened.readAll();
        expect(again.tornTail).toBeUndefined();
        expect(hexes(again.entries)).toEqual([...expected(1, whole), ...expected(whole + 1, whole + 3, 1)]);
        await reopened.close();
      }),
      { numRuns: 25 },
    );
  });

  it('truncates inside the open chunk, into closed chunks (reopening them) and drops buffered entries', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 150 });
    await appendRange(files, 1, 40);
    files.append(41, fakeEntry(41), false);
    files.append(42, fakeEntry(42), false);
    await files.truncate(38);
    expect(files.lastSeqno).toBe(38);
    expect(hexes((await files.readAll()).entries)).toEqual(expected(1, 38));
    await files.truncate(12);
    expect(files.durableSeqno).toBe(12);
    const names = readdirSync(dir);
    expect(names.filter((n) => /^ledger_\d+$/.test(n))).toHaveLength(1);
    expect(Math.max(...names.map((n) => Number(/^ledger_(\d+)/.exec(n)![1])))).toBeLessThanOrEqual(12);
    await appendRange(files, 13, 30, 2);
    expect(hexes((await files.readAll()).entries)).toEqual([...expected(1, 12), ...expected(13, 30, 2)]);
    files.commit(20);
    await expect(files.truncate(19)).rejects.toMatchObject({ code: 'LEDGER_FILES_COMMITTED' });
    await files.close();
    const reopened = await LedgerFiles.open(dir, { chunkSizeBytes: 150 });
    expect(hexes((await reopened.readAll()).entries)).toEqual([...expected(1, 12), ...expected(13, 30, 2)]);
    await reopened.close();
  });

  it('group commit: concurrent flushes share one write and one fsync', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 1 << 20 });
    await appendRange(files, 1, 1);
    const base = { ...files.stats };
    for (let s = 2; s <= 11; s++) files.append(s, fakeEntry(s), false);
    await Promise.all([files.flush(), files.flush(), files.flush()]);
    expect(files.stats.batches - base.batches).toBe(1);
    expect(files.stats.fileSyncs - base.fileSyncs).toBe(1);
    expect(files.stats.writes - base.writes).toBe(1);
    // One append + flush per "transaction", as the enclave does: those arriving while a batch is being
    // written share the next one, so 100 transactions cost a handful of fsyncs, not 100.
    const mid = { ...files.stats };
    const flushes: Promise<void>[] = [];
    for (let s = 12; s <= 111; s++) {
      files.append(s, fakeEntry(s), false);
      flushes.push(files.flush());
      if (s % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(flushes);
    expect(files.durableSeqno).toBe(111);
    expect(files.stats.fileSyncs - mid.fileSyncs).toBeLessThan(25);
    expect(files.stats.fileSyncs - mid.fileSyncs).toBe(files.stats.batches - mid.batches);
    await files.close();
  });

  it('after a crash before any disk step, what is on disk is a prefix of what was appended', async () => {
    // Count the steps of a scenario, then replay it crashing before step k, for every k.
    const steps: DiskStep[] = [];
    await scenario(tempDir(), { onStep: (step) => void steps.push(step) });
    expect(steps.length).toBeGreaterThan(25);
    expect(new Set(steps)).toEqual(new Set(['create', 'write', 'sync', 'patch-header', 'rename', 'sync-dir', 'unlink', 'cut']));
    for (let k = 0; k < steps.length; k++) {
      const dir = tempDir();
      let seen = 0;
      const crash = new Error(`crash before step ${k}`);
      await scenario(dir, {
        onStep: () => {
          if (seen++ === k) throw crash;
        },
      }).catch((error: unknown) => {
        if (!(error instanceof LedgerFilesError) || error.cause !== crash) throw error;
      });
      const files = await LedgerFiles.open(dir, { chunkSizeBytes: 120 });
      const read = await files.readAll();
      const got = hexes(read.entries);
      const beforeTruncate = expected(1, 22);
      const afterTruncate = [...expected(1, 13), ...expected(14, 18, 1)];
      const isPrefix = (of: string[]) => got.every((h, i) => h === of[i]);
      expect(isPrefix(beforeTruncate) || isPrefix(afterTruncate), `crash before step ${k} (${steps[k]})`).toBe(true);
      expect(read.entries.map((e) => e.seqno)).toEqual(got.map((_, i) => i + 1));
      // The ledger stays usable: cut back to what is there and keep appending.
      await files.truncate(read.entries.length);
      await appendRange(files, read.entries.length + 1, read.entries.length + 6, 3);
      expect((await files.readAll()).entries.length).toBe(read.entries.length + 6);
      await files.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('after kill -9 at random moments, the disk holds every entry reported durable and nothing else', async () => {
    const dir = tempDir();
    let durable = 0;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      const ready = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('ready')) resolve();
        });
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await ready;
      await new Promise((resolve) => setTimeout(resolve, 100 + round * 60));
      child.kill('SIGKILL');
      await exited;
      const reported = [...output.matchAll(/durable (\d+)/g)].map((m) => Number(m[1]));
      durable = Math.max(durable, ...reported);
      const files = await LedgerFiles.open(dir, { chunkSizeBytes: 2048 });
      const read = await files.readAll();
      expect(read.entries.length).toBeGreaterThanOrEqual(durable);
      expect(read.entries.length).toBeGreaterThan(0);
      expect(hexes(read.entries)).toEqual(expected(1, read.entries.length));
      await files.close();
    }
    expect(readdirSync(dir).some((n) => n.endsWith('.committed'))).toBe(true);
  });

  it('refuses appends out of order and everything after a failed write', async () => {
    const dir = tempDir();
    let fail = false;
    const files = await LedgerFiles.open(dir, {
      onStep: (step) => {
        if (fail && step === 'sync') throw new Error('EIO');
      },
    });
    await appendRange(files, 1, 3);
    expect(() => files.append(3, fakeEntry(3), false)).toThrow(/expected 4/);
    fail = true;
    files.append(4, fakeEntry(4), false);
    await expect(files.flush()).rejects.toMatchObject({ code: 'LEDGER_FILES_FAILED' });
    expect(() => files.append(5, fakeEntry(5), false)).toThrow(LedgerFilesError);
    await expect(files.truncate(2)).rejects.toMatchObject({ code: 'LEDGER_FILES_FAILED' });
    await files.close().catch(() => {});
    expect(statSync(join(dir, 'ledger_1')).size).toBeGreaterThan(0);
  });

  it('reports corruption in a closed chunk instead of returning garbage', async () => {
    const dir = tempDir();
    const files = await LedgerFiles.open(dir, { chunkSizeBytes: 100 });
    await appendRange(files, 1, 20);
    await files.close();
    const closed = readdirSync(dir).find((n) => /^ledger_1-\d+$/.test(n))!;
    truncateSync(join(dir, closed), statSync(join(dir, closed)).size - 3);
    const reopened = await LedgerFiles.open(dir, { chunkSizeBytes: 100 });
    await expect(reopened.readAll()).rejects.toMatchObject({ code: 'LedgerCorrupt', file: closed });
    await reopened.close();
  });
});

/** Appends, closes chunks, commits, truncates into a closed chunk and re-appends. */
async function scenario(dir: string, options: LedgerFilesOptions): Promise<void> {
  const files = await LedgerFiles.open(dir, { chunkSizeBytes: 120, ...options });
  try {
    await appendRange(files, 1, 12);
    await appendRange(files, 13, 22);
    files.commit(10);
    await files.truncate(13);
    await appendRange(files, 14, 18, 1);
  } finally {
    await files.close().catch(() => {});
  }
}
