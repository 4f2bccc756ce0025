// CCF ledger chunk files (DESIGN.md "Ledger files"): `ledger_<first>-<last>.committed` (immutable,
// ends on a signature), `ledger_<first>-<last>` (complete, not yet known committed) and one open
// `ledger_<first>`. A file starts with a u64 offset to a trailing
// table of u32 entry positions (0 while the chunk is open); entries follow back to back from byte 8.
// The table is redundant with the entries' own sizes, and we require the two to agree exactly.
import { LedgerErrorCode, LedgerFormatError } from '../errors.ts';
import { ByteReader } from './bytes.ts';
import { entryExtent } from './entry.ts';

export const CHUNK_HEADER_BYTES = 8;
const NAME_RE = /^ledger_([1-9][0-9]{0,15})(?:-([1-9][0-9]{0,15})(\.committed)?)?$/;

export interface ChunkName {
  name: string;
  firstSeqno: number;
  /** Undefined for the open chunk. */
  lastSeqno: number | undefined;
  /** A complete chunk (with an entry table): its name carries the last seqno. */
  complete: boolean;
  committed: boolean;
}

/** Parses a chunk file name, or returns undefined for names that are not ledger chunks. */
export function parseChunkName(name: string): ChunkName | undefined {
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  const firstSeqno = Number(m[1]);
  const lastSeqno = m[2] === undefined ? undefined : Number(m[2]);
  if (lastSeqno !== undefined && lastSeqno < firstSeqno) return undefined;
  return { name, firstSeqno, lastSeqno, complete: lastSeqno !== undefined, committed: m[3] !== undefined };
}

export interface EntryExtent {
  /** Offset of the entry header within the file. */
  offset: number;
  length: number;
}

export interface ParsedChunk {
  tableOffset: number;
  entries: EntryExtent[];
  /** Bytes after the last whole entry of an open chunk (a write in progress, or damage). */
  trailingBytes: number;
}

/**
 * Splits a chunk file into entries. A complete chunk must have a table whose positions are exactly
 * the entries' offsets, with the entries filling bytes 8..table exactly.
 */
export function parseChunk(file: Uint8Array, complete: boolean): ParsedChunk {
  if (!(file instanceof Uint8Array)) throw new TypeError('a chunk file must be bytes');
  if (typeof complete !== 'boolean') throw new TypeError('complete must be a boolean');
  const header = new ByteReader(file, 0, LedgerErrorCode.badChunk);
  const tableOffset = header.u64('chunk header (offset of the entry table)');
  if (complete && tableOffset === 0) throw chunkError('complete chunk has no entry table (header offset is 0)', 0);
  if (!complete && tableOffset !== 0) throw chunkError('open chunk has a non-zero table offset', 0);
  if (tableOffset !== 0 && (tableOffset < CHUNK_HEADER_BYTES || tableOffset > file.length)) {
    throw chunkError(`entry table offset ${tableOffset} is outside the file (${file.length} bytes)`, 0);
  }
  const end = tableOffset || file.length;
  const entries: EntryExtent[] = [];
  let offset = CHUNK_HEADER_BYTES;
  while (offset < end) {
    let length: number;
    try {
      length = entryExtent(file.subarray(0, end), offset);
    } catch (e) {
      if (!complete && e instanceof LedgerFormatError) break; // a partial last entry: reported below
      throw chunkError(`entry at byte ${offset} runs past the entry table: ${(e as Error).message}`, offset);
    }
    entries.push({ offset, length });
    offset += length;
  }
  if (complete) checkTable(file, tableOffset, entries);
  return { tableOffset, entries, trailingBytes: end - offset };
}

function checkTable(file: Uint8Array, tableOffset: number, entries: EntryExtent[]): void {
  const tableBytes = file.length - tableOffset;
  if (tableBytes !== 4 * entries.length) {
    throw chunkError(`entry table holds ${tableBytes} bytes, expected ${4 * entries.length} for ${entries.length} entries`, tableOffset);
  }
  const table = new ByteReader(file.subarray(tableOffset), tableOffset, LedgerErrorCode.badChunk);
  entries.forEach((entry, i) => {
    const position = table.u32(`entry table position ${i}`);
    if (position !== entry.offset) {
      throw chunkError(`entry table position ${i} is ${position}, but entry ${i} starts at byte ${entry.offset}`, tableOffset + 4 * i);
    }
  });
}

function chunkError(message: string, offset: number): LedgerFormatError {
  return new LedgerFormatError(LedgerErrorCode.badChunk, message, offset);
}
