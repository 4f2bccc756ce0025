// CCF's ledger chunk file layout (CCF src/host/ledger.h; DESIGN.md "Ledger files"):
//
//   u64 table offset (0 while the chunk is open) | entry | entry | ... | u32 position of each entry
//
// Entries sit back to back from byte 8, each framed by its own 8-byte header (entry.ts). When a chunk is
// closed, the table of entry positions is appended and the u64 at byte 0 is patched to point at it; the
// table runs to the end of the file. Positions are u32, so a chunk must close before 4 GiB.
//
// Splitting is framing only: it never decrypts or checks content (the trusted side does that). It tells
// three situations apart, because recovery differs:
//  - a torn tail: the file ends inside the last entry (or inside a header, or in a zero-filled tail, or
//    inside an offset table that a crash interrupted) — every entry before it is whole;
//  - a clean chunk, open or closed;
//  - corruption: framing that no crash of an append-only writer can produce (throws LEDGER_CHUNK_CORRUPT).

import { LedgerFormatError } from './errors.ts';
import { ENTRY_FORMAT_VERSION, ENTRY_HEADER_BYTES, readEntryHeader } from './entry.ts';

export const CHUNK_HEADER_BYTES = 8;
export const CHUNK_POSITION_BYTES = 4;
/** Largest byte position an offset table can hold. */
export const CHUNK_POSITION_MAX = 2 ** 32 - 1;

export interface ChunkEntry {
  /** Byte offset of the entry's header in the file. */
  offset: number;
  /** The whole entry, header included (a view into the file bytes). */
  bytes: Uint8Array;
}

export type TornKind = 'header' | 'entry' | 'zeros' | 'table';

export interface TornTail {
  /** Where the incomplete part starts: truncating the file here leaves only whole entries. */
  offset: number;
  kind: TornKind;
  reason: string;
}

export interface SplitChunk {
  entries: ChunkEntry[];
  /** The offset table's position; 0 for an open chunk. */
  tableOffset: number;
  tornTail: TornTail | null;
}

function corrupt(message: string, offset: number): LedgerFormatError {
  return new LedgerFormatError('LEDGER_CHUNK_CORRUPT', message, offset);
}

function readU64(file: Uint8Array, offset: number): number {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const high = view.getUint32(offset + 4, true);
  if (high >= 2 ** 21) throw corrupt('the table offset does not fit in 53 bits', offset);
  return high * 2 ** 32 + view.getUint32(offset, true);
}

/** The 8-byte chunk header. */
export function chunkHeader(tableOffset: number): Uint8Array {
  if (!Number.isSafeInteger(tableOffset) || tableOffset < 0) throw new RangeError(`bad table offset ${tableOffset}`);
  const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, tableOffset >>> 0, true);
  view.setUint32(4, Math.floor(tableOffset / 2 ** 32), true);
  return bytes;
}

/** The trailing table of u32 entry positions. */
export function offsetTable(positions: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(positions.length * CHUNK_POSITION_BYTES);
  const view = new DataView(bytes.buffer);
  positions.forEach((position, i) => {
    if (!Number.isInteger(position) || position < CHUNK_HEADER_BYTES || position > CHUNK_POSITION_MAX) {
      throw new RangeError(`entry position ${position} cannot go in a chunk offset table`);
    }
    view.setUint32(i * CHUNK_POSITION_BYTES, position, true);
  });
  return bytes;
}

/** A whole chunk file from entries: open (header 0, no table) or closed. */
export function buildChunk(entries: readonly Uint8Array[], closed: boolean): Uint8Array {
  const positions: number[] = [];
  let end = CHUNK_HEADER_BYTES;
  for (const entry of entries) {
    positions.push(end);
    end += entry.byteLength;
  }
  const table = closed ? offsetTable(positions) : new Uint8Array(0);
  const file = new Uint8Array(end + table.byteLength);
  file.set(chunkHeader(closed ? end : 0), 0);
  for (let i = 0; i < entries.length; i++) file.set(entries[i]!, positions[i]!);
  file.set(table, end);
  return file;
}

/** Splits a chunk file into entries; reports a torn tail; throws LEDGER_CHUNK_CORRUPT on bad framing. */
export function splitChunk(file: Uint8Array): SplitChunk {
  if (file.byteLength < CHUNK_HEADER_BYTES) {
    return {
      entries: [],
      tableOffset: 0,
      tornTail: { offset: 0, kind: 'header', reason: `the file is ${file.byteLength} bytes, shorter than the chunk header` },
    };
  }
  const tableOffset = readU64(file, 0);
  if (tableOffset === 0) return splitOpen(file);
  return splitClosed(file, tableOffset);
}

function splitOpen(file: Uint8Array): SplitChunk {
  const entries: ChunkEntry[] = [];
  let offset = CHUNK_HEADER_BYTES;
  while (offset < file.byteLength) {
    const remaining = file.byteLength - offset;
    if (isAllZero(file, offset)) {
      return { entries, tableOffset: 0, tornTail: { offset, kind: 'zeros', reason: `${remaining} zero bytes after the last whole entry` } };
    }
    // An entry starts with its version byte; anything else may be an interrupted close's table.
    if (file[offset] !== ENTRY_FORMAT_VERSION && isTablePrefix(file, offset, entries)) {
      return { entries, tableOffset: 0, tornTail: { offset, kind: 'table', reason: 'an offset table whose close was interrupted' } };
    }
    if (remaining < ENTRY_HEADER_BYTES) {
      return { entries, tableOffset: 0, tornTail: { offset, kind: 'header', reason: `${remaining} bytes of an entry header` } };
    }
    const header = readEntryHeader(file, offset);
    if (header.version !== ENTRY_FORMAT_VERSION) throw corrupt(`an entry with format version ${header.version}`, offset);
    if (header.entryBytes > remaining) {
      return {
        entries,
        tableOffset: 0,
        tornTail: { offset, kind: 'entry', reason: `the entry declares ${header.entryBytes} bytes but ${remaining} are present` },
      };
    }
    entries.push({ offset, bytes: file.subarray(offset, offset + header.entryBytes) });
    offset += header.entryBytes;
  }
  return { entries, tableOffset: 0, tornTail: null };
}

function splitClosed(file: Uint8Array, tableOffset: number): SplitChunk {
  if (tableOffset < CHUNK_HEADER_BYTES || tableOffset > file.byteLength) {
    throw corrupt(`the table offset ${tableOffset} is outside the ${file.byteLength}-byte file`, 0);
  }
  if ((file.byteLength - tableOffset) % CHUNK_POSITION_BYTES !== 0) {
    throw corrupt(`the offset table has ${file.byteLength - tableOffset} bytes, not whole u32s`, tableOffset);
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const count = (file.byteLength - tableOffset) / CHUNK_POSITION_BYTES;
  const entries: ChunkEntry[] = [];
  let offset = CHUNK_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const position = view.getUint32(tableOffset + i * CHUNK_POSITION_BYTES, true);
    if (position !== offset) throw corrupt(`table entry ${i} says ${position}, entries say ${offset}`, tableOffset + i * 4);
    if (offset + ENTRY_HEADER_BYTES > tableOffset) throw corrupt('an entry header overlaps the offset table', offset);
    const header = readEntryHeader(file, offset);
    if (header.version !== ENTRY_FORMAT_VERSION) throw corrupt(`an entry with format version ${header.version}`, offset);
    if (offset + header.entryBytes > tableOffset) throw corrupt('an entry overlaps the offset table', offset);
    entries.push({ offset, bytes: file.subarray(offset, offset + header.entryBytes) });
    offset += header.entryBytes;
  }
  if (offset !== tableOffset) throw corrupt(`${tableOffset - offset} bytes between the last entry and the table`, offset);
  return { entries, tableOffset, tornTail: null };
}

function isAllZero(file: Uint8Array, offset: number): boolean {
  for (let i = offset; i < file.byteLength; i++) if (file[i] !== 0) return false;
  return true;
}

/** Whether file[offset..] is a prefix (or all) of the offset table of `entries`. */
function isTablePrefix(file: Uint8Array, offset: number, entries: readonly ChunkEntry[]): boolean {
  const length = file.byteLength - offset;
  if (entries.length === 0 || length > entries.length * CHUNK_POSITION_BYTES) return false;
  const table = offsetTable(entries.map((e) => e.offset));
  for (let i = 0; i < length; i++) if (file[offset + i] !== table[i]) return false;
  return true;
}
