// The chunk files of one ledger folder, as CCF lays them out (CCF src/host/ledger.h; DESIGN.md "Ledger
// files"; bytes per node/ledger/chunk.ts): the model of which files exist and how far each is valid, and
// every change to them, each ordered so that a crash at any point leaves a prefix of the appended
// entries (see files.ts for the rules). Callers serialise calls; this class does no scheduling.

import { readdir, readFile } from 'node:fs/promises';
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerCorruptError } from '../../errors.ts';
import { CHUNK_HEADER_BYTES, CHUNK_POSITION_BYTES, CHUNK_POSITION_MAX, chunkHeader, offsetTable, splitChunk, type SplitChunk } from '../../ledger/chunk.ts';
import { EntryFlags } from '../../ledger/entry.ts';
import { LedgerFormatError } from '../../ledger/errors.ts';
import { chunkName, parseChunkName, type ChunkState } from './names.ts';

export type DiskStep = 'create' | 'write' | 'sync' | 'patch-header' | 'rename' | 'unlink' | 'cut' | 'sync-dir';

export interface StoredEntry {
  seqno: number;
  bytes: Uint8Array;
  file: string;
  offset: number;
}

export interface EntryLocation {
  file: string;
  state: ChunkState;
  /** The entry's index in its chunk. */
  index: number;
  /** Entries in the chunk. */
  count: number;
  /** Open chunk only: the entry's bytes [start, end) in the file. */
  range?: { start: number; end: number };
}

export interface LedgerReadResult {
  entries: StoredEntry[];
  /** The newest file ends inside an entry (or its header, or an unfinished table): a torn write. */
  tornTail?: { file: string; offset: number; reason: string };
}

export interface LedgerFilesStats {
  batches: number;
  writes: number;
  fileSyncs: number;
  dirSyncs: number;
  chunksClosed: number;
}

interface Chunk {
  first: number;
  count: number;
  state: ChunkState;
  /** Valid bytes of the file: header and whole entries (and the table once closed). */
  bytes: number;
  /** Entry offsets; kept for the open chunk, whose table is written when it closes. */
  positions: number[];
}

/** Largest single write; a bigger batch is split into several writes but still synced once. */
const WRITE_BYTES_MAX = 32 * 1024 * 1024;

const lastOf = (chunk: Chunk) => chunk.first + chunk.count - 1;

export interface BatchEntry {
  seqno: number;
  bytes: Uint8Array;
  isSignature: boolean;
}


export class ChunkFiles {
  readonly dir: string;
  readonly #chunkSizeBytes: number;
  readonly #onStep: (step: DiskStep, file: string) => void;
  readonly #stats: LedgerFilesStats;
  #chunks: Chunk[] = [];
  /** Handle of the open chunk (the newest file), once needed. */
  /** File descriptor of the open chunk (synchronous I/O, see #write). */
  #handle: number | null = null;
  /** Set while the newest file still holds a torn tail beyond its valid bytes. */
  #tornOnDisk = false;
  #dirDirty = false;
  #committedSeqno = 0;

  constructor(dir: string, chunkSizeBytes: number, onStep: (step: DiskStep, file: string) => void, stats: LedgerFilesStats) {
    this.dir = dir;
    this.#chunkSizeBytes = chunkSizeBytes;
    this.#onStep = onStep;
    this.#stats = stats;
  }

  /** Last seqno on disk; 0 for an empty folder. */
  get lastSeqno(): number {
    const newest = this.#chunks[this.#chunks.length - 1];
    return newest === undefined ? 0 : lastOf(newest);
  }

  /** Last seqno of the newest `.committed` chunk (or as told by markCommitted). */
  get committedSeqno(): number {
    return this.#committedSeqno;
  }

  get isEmpty(): boolean {
    return this.#chunks.length === 0;
  }

  /** The state of the chunk holding `seqno`, or undefined when none does. */
  stateOf(seqno: number): ChunkState | undefined {
    return this.#chunkOf(seqno)?.state;
  }

  /**
   * Where the entry at `seqno` is on disk, or undefined when no chunk holds it. For the open chunk the
   * byte range comes from the in-memory positions; a complete chunk's range is in its offset table.
   * Valid until the next change to the files (callers serialise), except for a `.committed` chunk,
   * which never changes.
   */
  locate(seqno: number): EntryLocation | undefined {
    const chunk = this.#chunkOf(seqno);
    if (chunk === undefined) return undefined;
    const index = seqno - chunk.first;
    const location: EntryLocation = { file: this.#nameOf(chunk), state: chunk.state, index, count: chunk.count };
    if (chunk.state === 'open') {
      const start = chunk.positions[index];
      if (start === undefined) throw new Error(`ledger assertion failed: no position for seqno ${seqno} in the open chunk`);
      location.range = { start, end: chunk.positions[index + 1] ?? chunk.bytes };
    }
    return location;
  }

  #chunkOf(seqno: number): Chunk | undefined {
    let low = 0;
    let high = this.#chunks.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (lastOf(this.#chunks[middle]!) < seqno) low = middle + 1;
      else high = middle;
    }
    const chunk = this.#chunks[low];
    return chunk !== undefined && seqno >= chunk.first && seqno <= lastOf(chunk) ? chunk : undefined;
  }

  /** The entries on disk, in order, from `fromSeqno` (whole chunks below it are skipped unread). */
  async readAll(fromSeqno: number): Promise<LedgerReadResult> {
    const entries: StoredEntry[] = [];
    let tornTail: LedgerReadResult['tornTail'];
    for (const chunk of this.#chunks) {
      if (chunk.state !== 'open' && lastOf(chunk) < fromSeqno) continue;
      const name = this.#nameOf(chunk);
      const split = await this.#readChunk(name);
      const closed = split.tableOffset !== 0;
      if (closed !== (chunk.state !== 'open') || split.entries.length !== chunk.count) {
        const found = `${split.entries.length} entries framed as ${closed ? 'closed' : 'open'}`;
        throw new LedgerCorruptError(name, 0, `expected the ${chunk.state} chunk to hold ${chunk.count} entries, found ${found}`);
      }
      split.entries.forEach((entry, i) => {
        const seqno = chunk.first + i;
        if (seqno >= fromSeqno) entries.push({ seqno, bytes: entry.bytes, file: name, offset: entry.offset });
      });
      if (split.tornTail) tornTail = { file: name, offset: split.tornTail.offset, reason: split.tornTail.reason };
    }
    return tornTail ? { entries, tornTail } : { entries };
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    if (handle !== null) closeSync(handle);
  }

  #nameOf(chunk: Chunk): string {
    return chunkName(chunk.first, lastOf(chunk), chunk.state);
  }

  async #readChunk(name: string): Promise<SplitChunk> {
    const file = new Uint8Array(await readFile(join(this.dir, name)));
    try {
      return splitChunk(file);
    } catch (error) {
      if (error instanceof LedgerFormatError) throw new LedgerCorruptError(name, error.offset ?? 0, error.message);
      throw error;
    }
  }

  /** Builds the model from file names; only the newest file is read (to resume appending to it). */
  async scan(): Promise<void> {
    const named = (await readdir(this.dir))
      .flatMap((name) => {
        const parsed = parseChunkName(name);
        return parsed ? [{ name, ...parsed }] : [];
      })
      .sort((a, b) => a.first - b.first);
    for (const [i, file] of named.entries()) {
      const previous = this.#chunks[this.#chunks.length - 1];
      if (previous !== undefined && file.first !== lastOf(previous) + 1) {
        throw new LedgerCorruptError(file.name, 0, `expected a chunk starting at seqno ${lastOf(previous) + 1}`);
      }
      if (file.state === 'open' && i !== named.length - 1) throw new LedgerCorruptError(file.name, 0, 'an open chunk that is not the newest file');
      const count = file.last === undefined ? 0 : file.last - file.first + 1;
      this.#chunks.push({ first: file.first, count, state: file.state, bytes: 0, positions: [] });
    }
    const newest = this.#chunks[this.#chunks.length - 1];
    if (newest !== undefined && newest.state !== 'committed') await this.#adoptNewest(newest);
    for (const chunk of this.#chunks) if (chunk.state === 'committed') this.#committedSeqno = lastOf(chunk);
  }

  /** Reads the newest file and finishes whatever a crash interrupted in its framing. */
  async #adoptNewest(chunk: Chunk): Promise<void> {
    const name = this.#nameOf(chunk);
    const split = await this.#readChunk(name);
    if (split.tableOffset !== 0) {
      // Complete. If it still has its open name, the crash came between the header patch and the rename.
      if (chunk.state === 'closed' && split.entries.length !== chunk.count) {
        throw new LedgerCorruptError(name, 0, `the name says ${chunk.count} entries, the file holds ${split.entries.length}`);
      }
      chunk.count = split.entries.length;
      chunk.bytes = split.tableOffset + split.entries.length * CHUNK_POSITION_BYTES;
      if (chunk.state === 'open') {
        await this.#rename(chunk, 'closed');
        await this.#syncDir();
      }
      return;
    }
    chunk.count = split.entries.length;
    chunk.positions = split.entries.map((entry) => entry.offset);
    const lastEntry = split.entries[split.entries.length - 1];
    // A header torn short leaves 0 valid bytes: the header is rewritten with the first entry.
    chunk.bytes = split.tornTail ? split.tornTail.offset : lastEntry ? lastEntry.offset + lastEntry.bytes.byteLength : CHUNK_HEADER_BYTES;
    if (chunk.state === 'closed') {
      // A truncation had reopened this chunk (header zeroed) but had not renamed it yet.
      chunk.state = 'open';
      await this.#renameFile(name, this.#nameOf(chunk));
      await this.#syncDir();
    }
    if (split.tornTail?.kind === 'table') {
      // An interrupted close: the table is regenerated when the chunk closes again.
      await this.#cutTo(chunk);
    } else if (split.tornTail) {
      this.#tornOnDisk = true;
    }
  }

  /** Writes entries that follow on from the newest; one write and one sync per chunk they touch. */
  async writeBatch(batch: readonly BatchEntry[]): Promise<void> {
    if (this.#tornOnDisk) await this.#cutTo(this.#chunks[this.#chunks.length - 1]!);
    let i = 0;
    while (i < batch.length) {
      const chunk = await this.#chunkForAppend(batch[i]!.seqno);
      const parts: Uint8Array[] = [];
      let end = chunk.bytes;
      if (end === 0) {
        parts.push(chunkHeader(0));
        end = CHUNK_HEADER_BYTES;
      }
      let close = false;
      while (i < batch.length && !close) {
        const entry = batch[i]!;
        // The primary may mark chunk ends in entry headers (as CCF does) so every node cuts alike.
        const flags = entry.bytes[1]!;
        if ((flags & EntryFlags.ForceLedgerChunkBefore) !== 0 && chunk.count > 0) {
          close = true;
          break;
        }
        i++;
        if (end + entry.bytes.byteLength > CHUNK_POSITION_MAX) {
          throw new Error(`chunk ${this.#nameOf(chunk)} would pass 4 GiB without a signature to close it`);
        }
        chunk.positions.push(end);
        parts.push(entry.bytes);
        end += entry.bytes.byteLength;
        chunk.count++;
        close = (flags & EntryFlags.ForceLedgerChunkAfter) !== 0 || (entry.isSignature && end >= this.#chunkSizeBytes);
      }
      if (close) parts.push(offsetTable(chunk.positions));
      await this.#write(parts, chunk.bytes);
      const tableOffset = end;
      chunk.bytes = close ? end + chunk.positions.length * CHUNK_POSITION_BYTES : end;
      await this.#syncFile();
      if (close) await this.#finishClose(chunk, tableOffset);
    }
    if (this.#dirDirty) await this.#syncDir();
  }

  /** The open chunk for an entry at `seqno`, creating its file if there is none. */
  async #chunkForAppend(seqno: number): Promise<Chunk> {
    const newest = this.#chunks[this.#chunks.length - 1];
    if (newest?.state === 'open') {
      if (seqno !== newest.first + newest.count) throw new Error(`ledger assertion failed: seqno ${seqno} after ${lastOf(newest)}`);
      this.#handle ??= openSync(join(this.dir, this.#nameOf(newest)), 'r+');
      return newest;
    }
    const chunk: Chunk = { first: seqno, count: 0, state: 'open', bytes: 0, positions: [] };
    const name = this.#nameOf(chunk);
    this.#onStep('create', name);
    this.#handle = openSync(join(this.dir, name), 'wx');
    this.#chunks.push(chunk);
    this.#dirDirty = true;
    return chunk;
  }

  // Every change to the files (write, fdatasync, and the rarer open, rename, truncate, unlink and folder
  // sync) is synchronous on purpose. Each asynchronous file operation resumes only at the event loop's
  // next poll phase, and on a node busy with many client connections one loop iteration takes tens to
  // hundreds of milliseconds: a batch made of several such steps took 0.2–0.9 s to become durable under
  // 128 clients, and it held back the primary's heartbeats, which wait for the same Ready, long enough
  // for the backups to elect another primary. Done in place, a batch's write and sync take about a
  // millisecond of the loop (bench/README.md, "Where a write's time goes"). Reads stay asynchronous.
  async #write(parts: Uint8Array[], position: number): Promise<void> {
    const fd = this.#handle!;
    const all = Buffer.concat(parts);
    for (let done = 0; done < all.byteLength; ) {
      this.#onStep('write', this.#nameOf(this.#chunks[this.#chunks.length - 1]!));
      const length = Math.min(all.byteLength - done, WRITE_BYTES_MAX);
      const bytesWritten = writeSync(fd, all, done, length, position + done);
      this.#stats.writes++;
      done += bytesWritten;
    }
  }

  async #syncFile(): Promise<void> {
    this.#onStep('sync', this.#nameOf(this.#chunks[this.#chunks.length - 1]!));
    fdatasyncSync(this.#handle!);
    this.#stats.fileSyncs++;
  }

  async #syncDir(): Promise<void> {
    this.#onStep('sync-dir', this.dir);
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#stats.dirSyncs++;
    this.#dirDirty = false;
  }

  /** Entries and table are synced; now point the header at the table, sync, and rename. */
  async #finishClose(chunk: Chunk, tableOffset: number): Promise<void> {
    this.#onStep('patch-header', this.#nameOf(chunk));
    writeSync(this.#handle!, chunkHeader(tableOffset), 0, CHUNK_HEADER_BYTES, 0);
    this.#stats.writes++;
    await this.#syncFile();
    const handle = this.#handle!;
    this.#handle = null;
    closeSync(handle);
    chunk.positions = [];
    await this.#rename(chunk, lastOf(chunk) <= this.#committedSeqno ? 'committed' : 'closed');
    // Before any newer file exists, so there is never an open-named file that is not the newest.
    await this.#syncDir();
    this.#stats.chunksClosed++;
  }

  async #rename(chunk: Chunk, state: ChunkState): Promise<void> {
    // The model changes once the file has its new name: readers of `.committed` chunks do not queue.
    await this.#renameFile(this.#nameOf(chunk), chunkName(chunk.first, lastOf(chunk), state));
    chunk.state = state;
  }

  async #renameFile(from: string, to: string): Promise<void> {
    this.#onStep('rename', from);
    renameSync(join(this.dir, from), join(this.dir, to));
    this.#dirDirty = true;
  }

  /** Renames complete chunks within `seqno` to `.committed`; later closes use it too. */
  async markCommitted(seqno: number): Promise<void> {
    this.#committedSeqno = Math.max(this.#committedSeqno, seqno);
    for (const chunk of this.#chunks) {
      if (chunk.state === 'closed' && lastOf(chunk) <= this.#committedSeqno) await this.#rename(chunk, 'committed');
    }
    if (this.#dirDirty) await this.#syncDir();
  }

  /** Cuts the newest (open) file back to its valid bytes: a torn tail or an unfinished table goes. */
  async #cutTo(chunk: Chunk): Promise<void> {
    const name = this.#nameOf(chunk);
    this.#handle ??= openSync(join(this.dir, name), 'r+');
    this.#onStep('cut', name);
    ftruncateSync(this.#handle, chunk.bytes);
    await this.#syncFile();
    this.#tornOnDisk = false;
  }

  /** Drops every entry after `seqno` (none of them may be in a `.committed` chunk). */
  async truncate(seqno: number): Promise<void> {
    // Newest first, one directory sync each: a crash part-way leaves a contiguous prefix.
    while (this.#chunks.length > 0) {
      const chunk = this.#chunks[this.#chunks.length - 1]!;
      if (lastOf(chunk) <= seqno) break;
      if (chunk.state === 'committed') throw new Error(`ledger assertion failed: truncating committed ${this.#nameOf(chunk)}`);
      if (chunk.first > seqno) {
        await this.#deleteNewest(chunk);
        continue;
      }
      await this.#cutChunk(chunk, seqno);
      break;
    }
    if (this.#tornOnDisk) await this.#cutTo(this.#chunks[this.#chunks.length - 1]!);
  }

  async #deleteNewest(chunk: Chunk): Promise<void> {
    if (chunk.state === 'open') {
      const handle = this.#handle;
      this.#handle = null;
      this.#tornOnDisk = false;
      if (handle !== null) closeSync(handle);
    }
    const name = this.#nameOf(chunk);
    this.#onStep('unlink', name);
    unlinkSync(join(this.dir, name));
    this.#chunks.pop();
    this.#dirDirty = true;
    await this.#syncDir();
  }

  /** Keeps entries up to `seqno` of the newest chunk, reopening it if it was closed. */
  async #cutChunk(chunk: Chunk, seqno: number): Promise<void> {
    const keep = seqno - chunk.first + 1;
    if (chunk.state === 'closed') {
      const split = await this.#readChunk(this.#nameOf(chunk));
      chunk.positions = split.entries.map((entry) => entry.offset);
      this.#handle = openSync(join(this.dir, this.#nameOf(chunk)), 'r+');
      // Zero the header first: until the cut, the file reads as an open chunk with a table tail.
      this.#onStep('patch-header', this.#nameOf(chunk));
      writeSync(this.#handle, chunkHeader(0), 0, CHUNK_HEADER_BYTES, 0);
      this.#stats.writes++;
      await this.#syncFile();
    }
    chunk.bytes = chunk.positions[keep]!;
    chunk.positions.length = keep;
    const wasClosed = chunk.state === 'closed';
    await this.#cutTo(chunk);
    if (wasClosed) {
      await this.#renameFile(this.#nameOf(chunk), chunkName(chunk.first, undefined, 'open'));
      chunk.count = keep;
      chunk.state = 'open';
      await this.#syncDir();
    } else {
      chunk.count = keep;
    }
  }
}
