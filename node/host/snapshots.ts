// The host's snapshot folder (`<dataDir>/snapshots`), with CCF's file names (src/host/snapshots.h,
// src/snapshots/filenames.h): a snapshot the enclave produced waits as `snapshot_<seqno>_<evidence seqno>`
// (CCF's name for an uncommitted snapshot; `snapshot_<seqno>.pending` when the evidence seqno is not
// known yet) until its evidence is committed, then becomes `snapshot_<seqno>_<evidence seqno>.committed`
// = entry ‖ JSON receipt, the file joiners and restarting nodes start from. Like CCF, nothing reads
// uncommitted files to start from.
//
// Durability: every file is written to a temporary name (`.snapshot_….tmp-<pid>-<random>`), fsynced,
// renamed into place, and the directory fsynced, so a crash leaves either the old state or the new file
// whole, plus at worst a temporary file, which `open` removes. The host is untrusted: what it reads back
// is only checked for framing here (so damaged or partial files are skipped with a log line); the
// enclave verifies the receipt against the service identity (node/snapshot verifySnapshotFile) before
// it trusts any of it.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  completeSnapshotFile,
  parseSnapshotFileName,
  snapshotEntryInfo,
  snapshotFileName,
  splitSnapshotFile,
  SNAPSHOT_RECEIPT_BYTES_MAX,
} from '../snapshot/evidence.ts';
import { LEDGER_ENTRY_BYTES_MAX } from '../ledger/index.ts';

export type SnapshotDiskStep = 'create' | 'write' | 'sync' | 'rename' | 'sync-dir' | 'unlink';

export interface SnapshotFilesOptions {
  /** Committed snapshots kept (the newest); older ones are deleted. Default 3, at least 1. */
  keep?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Test hook: called before each disk step; throwing simulates a crash there. */
  onStep?: (step: SnapshotDiskStep, name: string) => void | Promise<void>;
}

export interface CommittedSnapshot {
  name: string;
  seqno: number;
  evidenceSeqno: number;
}

/** `snapshot_<s>.pending` or CCF's `snapshot_<s>_<e>` (no suffix). */
const PENDING_RE = /^snapshot_([1-9][0-9]{0,15})(?:\.pending|_([1-9][0-9]{0,15}))$/;
const TEMP_RE = /^\.snapshot_.*\.tmp-/;
const FILE_BYTES_MAX = LEDGER_ENTRY_BYTES_MAX + SNAPSHOT_RECEIPT_BYTES_MAX;
const KEEP_DEFAULT = 3;

export function pendingSnapshotName(seqno: number, evidenceSeqno?: number): string {
  if (!Number.isSafeInteger(seqno) || seqno < 1) throw new Error(`no snapshot at seqno ${seqno}`);
  if (evidenceSeqno === undefined) return `snapshot_${seqno}.pending`;
  if (!Number.isSafeInteger(evidenceSeqno) || evidenceSeqno <= seqno) throw new Error(`no evidence at ${evidenceSeqno} for a snapshot at ${seqno}`);
  return `snapshot_${seqno}_${evidenceSeqno}`;
}

export class SnapshotFiles {
  readonly dir: string;
  readonly #keep: number;
  readonly #log: NonNullable<SnapshotFilesOptions['log']>;
  readonly #onStep: SnapshotFilesOptions['onStep'];
  /** One disk operation at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, options: SnapshotFilesOptions) {
    this.dir = dir;
    const keep = options.keep ?? KEEP_DEFAULT;
    if (!Number.isSafeInteger(keep) || keep < 1) throw new Error(`keep must be a positive integer, not ${keep}`);
    this.#keep = keep;
    this.#log = options.log ?? (() => {});
    this.#onStep = options.onStep;
  }

  /** Opens (creating) the folder and removes temporary files a crash left behind. */
  static async open(dir: string, options: SnapshotFilesOptions = {}): Promise<SnapshotFiles> {
    const files = new SnapshotFiles(dir, options);
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      if (!TEMP_RE.test(name)) continue;
      files.#log('warn', `snapshots: removing ${name}, a snapshot write that did not finish`);
      await files.#unlink(name);
    }
    return files;
  }

  /**
   * Stores the enclave's snapshot entry at `seqno` until its evidence commits. Durable when it resolves.
   * With the evidence seqno the file gets CCF's name for an uncommitted snapshot.
   */
  writePending(seqno: number, entryBytes: Uint8Array, evidenceSeqno?: number): Promise<string> {
    return this.#serial(async () => {
      const info = snapshotEntryInfo(entryBytes);
      if (info.seqno !== seqno || info.entryBytes !== entryBytes.byteLength) {
        throw new Error(`snapshots: the entry given for ${seqno} is a snapshot at ${info.seqno} of ${info.entryBytes} bytes`);
      }
      const name = pendingSnapshotName(seqno, evidenceSeqno);
      await this.#writeDurably(name, entryBytes);
      return name;
    });
  }

  /**
   * The evidence of the snapshot at `seqno`, written at `evidenceSeqno`, is committed: appends its receipt
   * to the pending entry, stores `snapshot_<seqno>_<evidence>.committed`, removes the pending file and
   * pending files older than it, and keeps only the newest committed snapshots.
   */
  commit(seqno: number, evidenceSeqno: number, receiptJson: string | object): Promise<string> {
    return this.#serial(async () => {
      const name = snapshotFileName(seqno, evidenceSeqno);
      const names = await readdir(this.dir);
      const pending = [pendingSnapshotName(seqno, evidenceSeqno), pendingSnapshotName(seqno)].find((n) => names.includes(n));
      if (pending === undefined) throw new Error(`snapshots: no pending snapshot at ${seqno} to commit (ENOENT)`);
      const entry = new Uint8Array(await readFile(join(this.dir, pending)));
      const info = snapshotEntryInfo(entry);
      if (info.seqno !== seqno || info.entryBytes !== entry.byteLength) {
        throw new Error(`snapshots: ${pending} is damaged (it holds a snapshot at ${info.seqno} of ${info.entryBytes} bytes in ${entry.byteLength})`);
      }
      await this.#writeDurably(name, completeSnapshotFile(entry, receiptJson));
      for (const other of names) {
        const m = PENDING_RE.exec(other);
        if (m && Number(m[1]) <= seqno) await this.#unlink(other);
      }
      const committed = await this.#listCommitted();
      for (const old of committed.slice(this.#keep)) {
        this.#log('info', `snapshots: removing ${old.name} (keeping the newest ${this.#keep})`);
        await this.#unlink(old.name);
      }
      await this.#syncDir();
      return name;
    });
  }

  /** Drops pending snapshots after `seqno` (their state was rolled back; no evidence will commit them). */
  discardPendingAfter(seqno: number): Promise<void> {
    return this.#serial(async () => {
      for (const name of await readdir(this.dir)) {
        const m = PENDING_RE.exec(name);
        if (m && Number(m[1]) > seqno) await this.#unlink(name);
      }
      await this.#syncDir();
    });
  }

  /** Committed snapshots by name, newest first (not read). */
  listCommitted(): Promise<CommittedSnapshot[]> {
    return this.#serial(() => this.#listCommitted());
  }

  /**
   * The newest committed snapshot whose file is whole (entry framing, a JSON receipt for the evidence
   * seqno its name gives). Damaged or partial files are skipped with a log line. `skip` leaves out names
   * the enclave already refused.
   */
  latestCommitted(skip: ReadonlySet<string> = new Set()): Promise<(CommittedSnapshot & { bytes: Uint8Array }) | undefined> {
    return this.#serial(async () => {
      for (const snapshot of await this.#listCommitted()) {
        if (skip.has(snapshot.name)) continue;
        const bytes = await this.#readWhole(snapshot);
        if (bytes !== undefined) return { ...snapshot, bytes };
      }
      return undefined;
    });
  }

  async #readWhole(snapshot: CommittedSnapshot): Promise<Uint8Array | undefined> {
    const path = join(this.dir, snapshot.name);
    try {
      const size = (await stat(path)).size;
      if (size > FILE_BYTES_MAX) throw new Error(`${size} bytes is more than a snapshot file holds`);
      const bytes = new Uint8Array(await readFile(path));
      const { seqno, receipt } = splitSnapshotFile(bytes);
      if (seqno !== snapshot.seqno) throw new Error(`it holds a snapshot at ${seqno}`);
      const evidence = (receipt as { leaf_components?: { commit_evidence?: unknown } } | null)?.leaf_components?.commit_evidence;
      if (typeof evidence !== 'string' || !new RegExp(`^ce:[0-9]+\\.${snapshot.evidenceSeqno}:`).test(evidence)) {
        throw new Error(`its receipt is not for the evidence at ${snapshot.evidenceSeqno}`);
      }
      return bytes;
    } catch (error) {
      this.#log('warn', `snapshots: ignoring ${snapshot.name}: ${(error as Error).message}`);
      return undefined;
    }
  }

  async #listCommitted(): Promise<CommittedSnapshot[]> {
    const found: CommittedSnapshot[] = [];
    for (const name of await readdir(this.dir)) {
      const parsed = parseSnapshotFileName(name);
      if (parsed) found.push({ name, ...parsed });
    }
    return found.sort((a, b) => b.seqno - a.seqno || b.evidenceSeqno - a.evidenceSeqno);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #step(step: SnapshotDiskStep, name: string): Promise<void> {
    await this.#onStep?.(step, name);
  }

  async #writeDurably(name: string, bytes: Uint8Array): Promise<void> {
    const temp = `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await this.#step('create', temp);
    const handle = await open(join(this.dir, temp), 'wx', 0o600);
    try {
      await this.#step('write', temp);
      let written = 0;
      while (written < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written);
        written += bytesWritten;
      }
      await this.#step('sync', temp);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.#step('rename', name);
    await rename(join(this.dir, temp), join(this.dir, name));
    await this.#syncDir();
  }

  async #unlink(name: string): Promise<void> {
    await this.#step('unlink', name);
    await unlink(join(this.dir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async #syncDir(): Promise<void> {
    await this.#step('sync-dir', this.dir);
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
