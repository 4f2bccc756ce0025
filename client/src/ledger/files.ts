// Reading a ledger directory from disk: the only module of the ledger reader that does I/O.
// Chunk files are ordered by their first seqno and must form one contiguous run of seqnos, with
// at most one open chunk, last. Files that are not ledger chunks are ignored (and listed).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LedgerErrorCode, LedgerFormatError, UsageError, UsageErrorCode } from '../errors.ts';
import { type ChunkName, parseChunkName } from './chunk.ts';

export interface LedgerFile extends ChunkName {
  path: string;
  sizeBytes: number;
}

export interface LedgerDirectory {
  files: LedgerFile[];
  ignored: string[];
  totalBytes: number;
}

/** Lists and orders the chunk files of `dir`; throws LedgerFormatError when the set has gaps or overlaps. */
export async function listLedgerFiles(dir: string): Promise<LedgerDirectory> {
  if (typeof dir !== 'string' || dir.length === 0) throw new UsageError(UsageErrorCode.invalidArgument, 'ledger directory must be a path');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new UsageError(UsageErrorCode.io, `cannot list ledger directory ${dir}: ${(e as Error).message}`);
  }
  const files: LedgerFile[] = [];
  const ignored: string[] = [];
  for (const name of names.sort()) {
    const parsed = parseChunkName(name);
    if (!parsed) {
      ignored.push(name);
      continue;
    }
    const path = join(dir, name);
    const info = await stat(path).catch((e: Error) => {
      throw new UsageError(UsageErrorCode.io, `cannot read ${path}: ${e.message}`);
    });
    if (!info.isFile()) ignored.push(name);
    else files.push({ ...parsed, path, sizeBytes: info.size });
  }
  files.sort((a, b) => a.firstSeqno - b.firstSeqno);
  checkContiguous(files);
  return { files, ignored, totalBytes: files.reduce((n, f) => n + f.sizeBytes, 0) };
}

function checkContiguous(files: LedgerFile[]): void {
  if (files.length === 0) throw new LedgerFormatError(LedgerErrorCode.badFileSet, 'no ledger_* chunk files in the directory');
  files.forEach((file, i) => {
    if (i === 0) return;
    const prev = files[i - 1]!;
    if (prev.lastSeqno === undefined) {
      throw new LedgerFormatError(LedgerErrorCode.badFileSet, `open chunk ${prev.name} is followed by ${file.name}: only the last chunk may be open`);
    }
    if (file.firstSeqno !== prev.lastSeqno + 1) {
      const what = file.firstSeqno <= prev.lastSeqno ? 'overlaps' : 'does not follow';
      throw new LedgerFormatError(LedgerErrorCode.badFileSet, `${file.name} ${what} ${prev.name} (expected it to start at ${prev.lastSeqno + 1})`);
    }
  });
}

export async function readLedgerFile(file: LedgerFile): Promise<Uint8Array> {
  try {
    const buffer = await readFile(file.path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (e) {
    throw new UsageError(UsageErrorCode.io, `cannot read ${file.path}: ${(e as Error).message}`);
  }
}
