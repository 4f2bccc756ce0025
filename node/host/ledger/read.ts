// Reading single entries back from the chunk files (CCF src/host/ledger.h, `read_entry`; the layout is
// node/ledger/chunk.ts): what historical queries ask of the host. A complete chunk's trailing offset table
// gives an entry's byte range without reading the rest of the file; the tables of `.committed` chunks,
// which never change again, are kept in a small LRU cache so that reads of nearby entries cost one
// positioned read each. The open chunk's positions are in memory (chunks.ts).
//
// Framing only, as everywhere on the host: the enclave checks each entry against its recorded digest.

import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LedgerCorruptError } from '../../errors.ts';
import { CHUNK_HEADER_BYTES, CHUNK_POSITION_BYTES, CHUNK_POSITION_MAX } from '../../ledger/chunk.ts';
import { ENTRY_FORMAT_VERSION, ENTRY_HEADER_BYTES, LEDGER_ENTRY_BYTES_MAX, readEntryHeader } from '../../ledger/entry.ts';
import type { EntryLocation } from './chunks.ts';
import { ledgerReadLimits } from './limits.ts';

interface OffsetTable {
  /** Entry positions, then the table's own offset (the end of the last entry). */
  bounds: Uint32Array;
}

export interface EntryReaderStats {
  /** Offset tables read from disk. */
  tableReads: number;
  /** Entries read through a cached table. */
  tableCacheHits: number;
}

export class EntryReader {
  readonly dir: string;
  readonly stats: EntryReaderStats = { tableReads: 0, tableCacheHits: 0 };
  /** Offset tables of `.committed` chunks by file name, least recently used first. */
  readonly #tables = new Map<string, OffsetTable>();
  #tableBytes = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The whole entry at `location` (header included); throws LedgerCorruptError on bad framing. */
  async read(location: EntryLocation): Promise<Uint8Array> {
    const handle = await open(join(this.dir, location.file), 'r');
    try {
      let range = location.range;
      if (range === undefined) {
        const table = await this.#table(handle, location);
        range = { start: table.bounds[location.index]!, end: table.bounds[location.index + 1]! };
      }
      return await readEntryAt(handle, location.file, range.start, range.end);
    } finally {
      await handle.close();
    }
  }

  async #table(handle: FileHandle, location: EntryLocation): Promise<OffsetTable> {
    const cacheable = location.state === 'committed';
    const cached = cacheable ? this.#tables.get(location.file) : undefined;
    if (cached !== undefined) {
      this.#tables.delete(location.file);
      this.#tables.set(location.file, cached);
      this.stats.tableCacheHits++;
      return cached;
    }
    const table = await readOffsetTable(handle, location.file, location.count);
    this.stats.tableReads++;
    if (cacheable) this.#remember(location.file, table);
    return table;
  }

  #remember(file: string, table: OffsetTable): void {
    const bytes = table.bounds.byteLength;
    if (bytes > ledgerReadLimits.tableCacheBytesMax) return;
    this.#tables.set(file, table);
    this.#tableBytes += bytes;
    for (const [name, old] of this.#tables) {
      if (this.#tables.size <= ledgerReadLimits.tablesCachedMax && this.#tableBytes <= ledgerReadLimits.tableCacheBytesMax) break;
      this.#tables.delete(name);
      this.#tableBytes -= old.bounds.byteLength;
    }
  }
}

async function readExactly(handle: FileHandle, file: string, length: number, position: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) throw new LedgerCorruptError(file, position + done, `the file ends ${length - done} bytes short`);
    done += bytesRead;
  }
  return bytes;
}

/** The chunk's table of entry positions, checked against the header and the expected entry count. */
async function readOffsetTable(handle: FileHandle, file: string, count: number): Promise<OffsetTable> {
  const header = new DataView((await readExactly(handle, file, CHUNK_HEADER_BYTES, 0)).buffer);
  const high = header.getUint32(4, true);
  const tableOffset = high * 2 ** 32 + header.getUint32(0, true);
  const { size } = await handle.stat();
  const tableBytes = size - tableOffset;
  if (tableOffset < CHUNK_HEADER_BYTES || tableOffset > CHUNK_POSITION_MAX || tableBytes !== count * CHUNK_POSITION_BYTES) {
    throw new LedgerCorruptError(file, 0, `the offset table at ${tableOffset} does not hold the ${count} entries the name says`);
  }
  const raw = new DataView((await readExactly(handle, file, tableBytes, tableOffset)).buffer);
  const bounds = new Uint32Array(count + 1);
  bounds[count] = tableOffset;
  let previous = CHUNK_HEADER_BYTES - ENTRY_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const position = raw.getUint32(i * CHUNK_POSITION_BYTES, true);
    // Entries sit back to back from byte 8, each at least a header long, all before the table.
    const misplacedFirst = i === 0 && position !== CHUNK_HEADER_BYTES;
    if (misplacedFirst || position < previous + ENTRY_HEADER_BYTES || position + ENTRY_HEADER_BYTES > tableOffset) {
      throw new LedgerCorruptError(file, tableOffset + i * CHUNK_POSITION_BYTES, `table entry ${i} (${position}) is out of order or out of range`);
    }
    bounds[i] = position;
    previous = position;
  }
  return { bounds };
}

/** The entry framed at [start, end): its header must say exactly that length. */
async function readEntryAt(handle: FileHandle, file: string, start: number, end: number): Promise<Uint8Array> {
  const length = end - start;
  if (!Number.isSafeInteger(length) || length < ENTRY_HEADER_BYTES || length > LEDGER_ENTRY_BYTES_MAX) {
    throw new LedgerCorruptError(file, start, `an entry of ${length} bytes`);
  }
  const bytes = await readExactly(handle, file, length, start);
  const header = readEntryHeader(bytes, 0);
  if (header.version !== ENTRY_FORMAT_VERSION || header.entryBytes !== length) {
    throw new LedgerCorruptError(file, start, `the entry header (format ${header.version}, ${header.entryBytes} bytes) does not frame the ${length} bytes before the next entry`);
  }
  return bytes;
}
