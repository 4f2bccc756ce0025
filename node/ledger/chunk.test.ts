import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildChunk, chunkHeader, LedgerFormatError, offsetTable, splitChunk } from './index.ts';
import { CCF_CONFORMANCE } from '../../test/helpers/conformance.ts';

/** A framed entry: version 1, flags 0, u48 size, then `size` bytes (chunks only look at framing). */
function framed(body: Uint8Array): Uint8Array {
  const out = Buffer.alloc(8 + body.length);
  out[0] = 1;
  out.writeUIntLE(body.length, 2, 6);
  out.set(body, 8);
  return new Uint8Array(out);
}

const entriesArb = fc.array(fc.uint8Array({ maxLength: 60 }).map(framed), { minLength: 1, maxLength: 12 });
const hexes = (entries: Array<{ bytes: Uint8Array }>) => entries.map((e) => Buffer.from(e.bytes).toString('hex'));

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'none';
  } catch (error) {
    if (!(error instanceof LedgerFormatError)) throw error;
    return error.code;
  }
}

describe('chunk layout', () => {
  it('splits what buildChunk builds, open or closed, with the right offsets', () => {
    fc.assert(
      fc.property(entriesArb, fc.boolean(), (entries, closed) => {
        const file = buildChunk(entries, closed);
        const split = splitChunk(file);
        expect(hexes(split.entries)).toEqual(entries.map((e) => Buffer.from(e).toString('hex')));
        expect(split.tornTail).toBeNull();
        let offset = 8;
        for (const [i, entry] of split.entries.entries()) {
          expect(entry.offset).toBe(offset);
          offset += entries[i]!.byteLength;
        }
        expect(split.tableOffset).toBe(closed ? offset : 0);
        expect(Buffer.from(file.subarray(0, 8)).equals(Buffer.from(chunkHeader(split.tableOffset)))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('an open chunk cut anywhere yields the whole entries before the cut and a torn tail, never an error', () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), (entries, seed) => {
        const file = buildChunk(entries, false);
        const cut = seed % (file.byteLength + 1);
        const split = splitChunk(file.subarray(0, cut));
        const ends: number[] = [];
        let end = 8;
        for (const entry of entries) ends.push((end += entry.byteLength));
        const whole = ends.filter((e) => e <= cut).length;
        expect(split.entries.length).toBe(whole);
        const atBoundary = cut >= 8 && (cut === 8 || ends.includes(cut));
        expect(split.tornTail === null).toBe(atBoundary);
        if (split.tornTail) expect(split.tornTail.offset).toBe(cut < 8 ? 0 : whole === 0 ? 8 : ends[whole - 1]);
      }),
      { numRuns: 300 },
    );
  });

  it('the real open CCF chunk ledger_21, cut at every byte, is a prefix plus a torn tail', () => {
    const file = new Uint8Array(readFileSync(`${CCF_CONFORMANCE}/services/acme_containing_service/ledger/ledger_21`));
    const full = splitChunk(file);
    expect(full.tableOffset).toBe(0);
    expect(full.tornTail).toBeNull();
    expect(full.entries.length).toBe(2);
    for (let cut = 0; cut < file.byteLength; cut++) {
      const split = splitChunk(file.subarray(0, cut));
      expect(hexes(split.entries)).toEqual(hexes(full.entries.filter((e) => e.offset + e.bytes.byteLength <= cut)));
      if (cut > 8 && !full.entries.some((e) => e.offset + e.bytes.byteLength === cut)) {
        expect(split.tornTail?.kind).toMatch(/^(entry|header)$/);
      }
    }
  });

  it('reports a zero-filled tail and an interrupted close as torn, keeping every entry', () => {
    fc.assert(
      fc.property(entriesArb, fc.integer({ min: 1, max: 50 }), fc.nat(), (entries, zeros, seed) => {
        const open = buildChunk(entries, false);
        const zeroTail = splitChunk(Buffer.concat([open, Buffer.alloc(zeros)]));
        expect(zeroTail.entries.length).toBe(entries.length);
        expect(zeroTail.tornTail).toMatchObject({ kind: 'zeros', offset: open.byteLength });
        const positions = splitChunk(open).entries.map((e) => e.offset);
        const table = offsetTable(positions);
        const partial = table.subarray(0, 1 + (seed % table.byteLength));
        const unfinished = splitChunk(Buffer.concat([open, partial]));
        expect(unfinished.entries.length).toBe(entries.length);
        expect(unfinished.tornTail).toMatchObject({ kind: 'table', offset: open.byteLength });
      }),
      { numRuns: 100 },
    );
  });

  it('treats impossible framing as corruption, distinct from a torn tail', () => {
    const entries = [framed(new Uint8Array(10)), framed(new Uint8Array(5)), framed(new Uint8Array(7))];
    const open = buildChunk(entries, false);
    const badVersion = open.slice();
    badVersion[8 + entries[0]!.byteLength] = 7;
    expect(codeOf(() => splitChunk(badVersion))).toBe('LEDGER_CHUNK_CORRUPT');
    const closed = buildChunk(entries, true);
    expect(codeOf(() => splitChunk(closed.subarray(0, closed.byteLength - 2)))).toBe('LEDGER_CHUNK_CORRUPT');
    expect(codeOf(() => splitChunk(closed.subarray(0, closed.byteLength - 4)))).toBe('LEDGER_CHUNK_CORRUPT');
    const badTable = closed.slice();
    badTable[closed.byteLength - 4]! += 1;
    expect(codeOf(() => splitChunk(badTable))).toBe('LEDGER_CHUNK_CORRUPT');
    const beyond = closed.slice();
    beyond.set(chunkHeader(closed.byteLength + 4), 0);
    expect(codeOf(() => splitChunk(beyond))).toBe('LEDGER_CHUNK_CORRUPT');
  });

  it('never throws anything but LedgerFormatError on garbage', () => {
    const base = buildChunk([framed(new Uint8Array(12)), framed(new Uint8Array(3))], true);
    const mutated = fc.tuple(fc.nat(), fc.nat(255)).map(([at, value]) => {
      const copy = base.slice();
      copy[at % copy.length] = value;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), mutated), (bytes) => {
        codeOf(() => splitChunk(bytes));
      }),
      { numRuns: 1000 },
    );
  });
});
