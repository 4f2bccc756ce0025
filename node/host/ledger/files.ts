// The ledger chunk files on disk: the host side (untrusted, real files) of CCF's ledger
// (CCF src/host/ledger.h; DESIGN.md "Ledger files"; the byte layout is node/ledger/chunk.ts).
//
// Entries are buffered by `append` and made durable by `flush` with group commit: every entry waiting
// when a batch starts goes out in one write and one fsync, and concurrent `flush` callers share it (the
// file operations themselves are synchronous: chunks.ts says why). A
// chunk closes at the first signature after it has grown past `chunkSizeBytes`: its offset table is
// written with the batch, the file synced, then the u64 at byte 0 patched to point at the table, synced,
// and `ledger_<first>` renamed `ledger_<first>-<last>` (`.committed` once `commit` covers it).
//
// Crash safety — after kill -9 at any point, what is on disk is a prefix of what was appended:
// - every change that later steps rely on is synced first (table before header, header before rename,
//   renames before a new chunk file is created, data and new directory entries before `flush` resolves);
// - at most one file is open (`ledger_<n>`), always the newest; a crash mid-close or mid-truncate leaves
//   a state `open` repairs by framing alone (an unfinished table is cut, a name is corrected);
// - `truncate` deletes the newest files first and syncs the directory after each, so no gap can appear.
// A torn final entry is not repaired silently: `readAll` reports it, and it is cut before the next write
// or by `truncate`. The host never interprets entry contents; the enclave validates them.

import { mkdir } from 'node:fs/promises';
import { limits } from '../../limits.ts';
import { CHUNK_POSITION_MAX } from '../../ledger/chunk.ts';
import { LedgerCorruptError } from '../../errors.ts';
import { ChunkFiles, type DiskStep, type LedgerFilesStats, type LedgerReadResult } from './chunks.ts';
import { LedgerFilesError } from './errors.ts';
import { EntryReader, type EntryReaderStats } from './read.ts';

export type { DiskStep, LedgerFilesStats, LedgerReadResult, StoredEntry } from './chunks.ts';
export type { EntryReaderStats } from './read.ts';

export interface LedgerFilesOptions {
  /** A chunk closes at the first signature once it has grown past this. */
  chunkSizeBytes?: number;
  /** Appended entries allowed to wait for a flush before `append` refuses more. */
  pendingEntriesMax?: number;
  /** Called before every change to the disk; throwing there simulates a crash at that point (tests). */
  onStep?: (step: DiskStep, file: string) => void;
}

interface Pending {
  seqno: number;
  bytes: Uint8Array;
  isSignature: boolean;
  /** Append order, for flush waiters. */
  ordinal: number;
  /** truncate() calls before this append: the entry is written only after those truncations ran. */
  epoch: number;
}

interface Waiter {
  ordinal: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class LedgerFiles {
  readonly dir: string;
  readonly stats: LedgerFilesStats = { batches: 0, writes: 0, fileSyncs: 0, dirSyncs: 0, chunksClosed: 0 };
  readonly #pendingEntriesMax: number;
  readonly #disk: ChunkFiles;
  readonly #reader: EntryReader;
  #pending: Pending[] = [];
  #inFlight: Pending[] = [];
  #waiters: Waiter[] = [];
  #ordinal = 0;
  #epoch = 0;
  #epochApplied = 0;
  #lastSeqno = 0;
  #durableSeqno = 0;
  #committedSeqno = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #writerQueued = false;
  #failure: LedgerFilesError | null = null;
  #closed = false;

  private constructor(dir: string, options: LedgerFilesOptions) {
    this.dir = dir;
    const chunkSizeBytes = options.chunkSizeBytes ?? limits.ledgerChunkBytesDefault;
    if (!Number.isSafeInteger(chunkSizeBytes) || chunkSizeBytes < 1 || chunkSizeBytes > CHUNK_POSITION_MAX / 2) {
      throw new LedgerFilesError('LEDGER_FILES_ARGUMENT', `chunkSizeBytes ${chunkSizeBytes} is out of range`);
    }
    this.#pendingEntriesMax = options.pendingEntriesMax ?? 2 * limits.ledgerPendingEntriesMax;
    this.#disk = new ChunkFiles(dir, chunkSizeBytes, options.onStep ?? (() => {}), this.stats);
    this.#reader = new EntryReader(dir);
  }

  /** Opens (creating if needed) a ledger folder, repairing only what a crash can leave in the framing. */
  static async open(dir: string, options: LedgerFilesOptions = {}): Promise<LedgerFiles> {
    const files = new LedgerFiles(dir, options);
    await mkdir(dir, { recursive: true });
    await files.#enqueue(() => files.#disk.scan());
    files.#lastSeqno = files.#durableSeqno = files.#disk.lastSeqno;
    files.#committedSeqno = files.#disk.committedSeqno;
    return files;
  }

  /** Seqno up to which appended entries are on disk and synced. */
  get durableSeqno(): number {
    return this.#durableSeqno;
  }

  /** Seqno of the last appended entry (durable or not); 0 when the ledger is empty. */
  get lastSeqno(): number {
    return this.#lastSeqno;
  }

  get committedSeqno(): number {
    return this.#committedSeqno;
  }

  /** The entries on disk, in order, from `fromSeqno` (whole chunks below it are skipped unread). */
  readAll(fromSeqno = 0): Promise<LedgerReadResult> {
    return this.#enqueue(() => this.#disk.readAll(fromSeqno), false);
  }

  /**
   * One committed entry, read back from its chunk file (or from memory while it still waits for the
   * disk); undefined when `seqno` is not committed or not in this ledger. A `.committed` chunk never
   * changes again, so it is read at once; any other chunk waits for the writes queued before the read.
   */
  async readEntry(seqno: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(seqno) || seqno < 1) throw new LedgerFilesError('LEDGER_FILES_ARGUMENT', `bad seqno ${seqno}`);
    this.#assertUsable();
    if (seqno > this.#committedSeqno || seqno > this.#lastSeqno) return undefined;
    const buffered = bufferedEntry(this.#inFlight, seqno) ?? bufferedEntry(this.#pending, seqno);
    if (buffered !== undefined) return buffered.slice();
    if (this.#disk.stateOf(seqno) === 'committed') return this.#reader.read(this.#disk.locate(seqno)!);
    return this.#enqueue(async () => {
      const current = this.#disk.locate(seqno);
      return current === undefined ? undefined : this.#reader.read(current);
    }, false);
  }

  /** Counters of single-entry reads (offset tables read and reused). */
  get readStats(): Readonly<EntryReaderStats> {
    return this.#reader.stats;
  }

  /** Buffers an entry; it becomes durable with the next `flush`. Seqnos must follow on. */
  append(seqno: number, bytes: Uint8Array, isSignature: boolean): void {
    this.#assertUsable();
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
      throw new LedgerFilesError('LEDGER_FILES_ARGUMENT', 'an entry is a non-empty Uint8Array');
    }
    const empty = this.#disk.isEmpty && this.#pending.length === 0 && this.#inFlight.length === 0;
    const expected = empty && this.#lastSeqno === 0 ? seqno : this.#lastSeqno + 1;
    if (!Number.isSafeInteger(seqno) || seqno < 1 || seqno !== expected) {
      throw new LedgerFilesError('LEDGER_FILES_SEQNO', `append of seqno ${seqno}, expected ${expected}`);
    }
    if (this.#pending.length >= this.#pendingEntriesMax) {
      throw new LedgerFilesError('LEDGER_FILES_BACKPRESSURE', `${this.#pending.length} entries are already waiting for the disk`);
    }
    this.#pending.push({ seqno, bytes, isSignature: isSignature === true, ordinal: ++this.#ordinal, epoch: this.#epoch });
    this.#lastSeqno = seqno;
  }

  /** Resolves once every entry appended before the call is durable (or was truncated away). */
  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    const ordinal = this.#ordinal;
    if (this.#settledOrdinal() >= ordinal) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ ordinal, resolve, reject }));
    this.#kickWriter();
    return done;
  }

  /** Entries up to `seqno` are committed: complete chunks within it become `.committed`. */
  commit(seqno: number): void {
    if (!Number.isSafeInteger(seqno) || seqno < 0) throw new LedgerFilesError('LEDGER_FILES_ARGUMENT', `bad commit seqno ${seqno}`);
    if (seqno <= this.#committedSeqno) return;
    this.#committedSeqno = seqno;
    if (this.#closed || this.#failure) return;
    // A failure is kept in #failure and surfaces at the next flush.
    this.#enqueue(() => this.#disk.markCommitted(seqno)).catch(() => this.#settle());
  }

  /** Drops every entry after `seqno`, buffered or on disk. Committed entries cannot be dropped. */
  truncate(seqno: number): Promise<void> {
    if (!Number.isSafeInteger(seqno) || seqno < 0) {
      return Promise.reject(new LedgerFilesError('LEDGER_FILES_ARGUMENT', `bad truncation seqno ${seqno}`));
    }
    if (seqno < this.#committedSeqno) {
      return Promise.reject(new LedgerFilesError('LEDGER_FILES_COMMITTED', `cannot truncate to ${seqno}: ${this.#committedSeqno} is committed`));
    }
    try {
      this.#assertUsable();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#pending = this.#pending.filter((entry) => entry.seqno <= seqno);
    this.#lastSeqno = Math.min(this.#lastSeqno, seqno);
    const epoch = ++this.#epoch;
    this.#settle();
    return this.#enqueue(async () => {
      await this.#disk.truncate(seqno);
      this.#durableSeqno = Math.min(this.#durableSeqno, seqno);
      this.#epochApplied = epoch;
    }).finally(() => {
      this.#settle();
      if (this.#waiters.length > 0 && this.#pending.length > 0) this.#kickWriter();
    });
  }

  /** Flushes what is buffered, then releases the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      await this.#queue;
      await this.#disk.close().catch(() => {});
    }
  }

  #assertUsable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new LedgerFilesError('LEDGER_FILES_CLOSED', 'the ledger files were closed');
  }

  /** Runs disk operations one at a time; a failed change poisons the instance (the disk state is unknown). */
  #enqueue<T>(op: () => Promise<T>, mutates = true): Promise<T> {
    const run = this.#queue.then(async () => {
      if (this.#failure) throw this.#failure;
      try {
        return await op();
      } catch (error) {
        if (!mutates) throw error;
        this.#failure = new LedgerFilesError(
          'LEDGER_FILES_FAILED',
          `ledger write failed (${(error as Error).message}); nothing more will be written by this process`,
          { cause: error },
        );
        // Corruption met half-way through a change keeps its own error (file and offset) for the caller.
        throw error instanceof LedgerCorruptError ? error : this.#failure;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #settledOrdinal(): number {
    const first = this.#inFlight[0] ?? this.#pending[0];
    return first === undefined ? this.#ordinal : first.ordinal - 1;
  }

  #settle(): void {
    if (this.#failure) {
      for (const waiter of this.#waiters) waiter.reject(this.#failure);
      this.#waiters = [];
      return;
    }
    const settled = this.#settledOrdinal();
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.ordinal > settled) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Queues one batch; flushes arriving while it is written queue the next one, which they share. */
  #kickWriter(): void {
    if (this.#writerQueued) return;
    this.#writerQueued = true;
    this.#enqueue(async () => {
      this.#writerQueued = false;
      let count = 0;
      while (count < this.#pending.length && this.#pending[count]!.epoch <= this.#epochApplied) count++;
      if (count === 0) return;
      this.#inFlight = this.#pending.splice(0, count);
      await this.#disk.writeBatch(this.#inFlight);
      this.#durableSeqno = this.#inFlight[this.#inFlight.length - 1]!.seqno;
      this.#inFlight = [];
      this.stats.batches++;
    }).then(
      () => {
        this.#settle();
        if (this.#waiters.length > 0 && this.#pending.length > 0) this.#kickWriter();
      },
      () => this.#settle(),
    );
  }
}

/** The bytes of `seqno` if it is among `entries` (consecutive seqnos), else undefined. */
function bufferedEntry(entries: readonly Pending[], seqno: number): Uint8Array | undefined {
  const first = entries[0];
  if (first === undefined || seqno < first.seqno) return undefined;
  const entry = entries[seqno - first.seqno];
  return entry?.seqno === seqno ? entry.bytes : undefined;
}
