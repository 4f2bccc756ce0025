import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LedgerFormatError, parseChunk, parseChunkName, parseEntry, type PublicDomain } from '../../src/index.ts';
import { serviceDir, serviceNames } from '../helpers/conformance.ts';
import { ivFor, serializeChunk, serializeEntry } from '../helpers/ledger-writer.ts';

describe('chunk names', () => {
  it.each([
    ['ledger_1-2.committed', { firstSeqno: 1, lastSeqno: 2, complete: true, committed: true }],
    ['ledger_14-20', { firstSeqno: 14, lastSeqno: 20, complete: true, committed: false }],
    ['ledger_21', { firstSeqno: 21, lastSeqno: undefined, complete: false, committed: false }],
  ])('%s', (name, expected) => expect(parseChunkName(name)).toMatchObject(expected));
  it.each(['ledger_0', 'ledger_5-3.committed', 'ledger_01', 'snapshot_1_2.committed', 'ledger_1-2.committed.bak'])('rejects %s', (name) => {
    expect(parseChunkName(name)).toBeUndefined();
  });
});

describe('real ledger files', () => {
  for (const service of serviceNames()) {
    it(`${service}: every chunk splits into entries that parse, seqnos in the file's range`, () => {
      const dir = join(serviceDir(service), 'ledger');
      for (const name of readdirSync(dir)) {
        const meta = parseChunkName(name)!;
        const bytes = new Uint8Array(readFileSync(join(dir, name)));
        const chunk = parseChunk(bytes, meta.complete);
        expect(chunk.trailingBytes).toBe(0);
        const seqnos = chunk.entries.map((x) => parseEntry(bytes.subarray(x.offset, x.offset + x.length), x.offset).seqno);
        expect(seqnos[0]).toBe(meta.firstSeqno);
        if (meta.lastSeqno !== undefined) expect(seqnos[seqnos.length - 1]).toBe(meta.lastSeqno);
        seqnos.forEach((s, i) => expect(s).toBe(meta.firstSeqno + i));
      }
    });
  }
});

const arbDomain: fc.Arbitrary<PublicDomain> = fc
  .record({
    entryType: fc.constantFrom(0, 2, 3, 4),
    version: fc.integer({ min: 1, max: 2 ** 40 }),
    maxConflictVersion: fc.integer({ min: -1, max: 2 ** 40 }),
    claims: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    evidence: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    maps: fc.uniqueArray(
      fc.tuple(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 40 })), { maxLength: 4 }),
        fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 3 }),
      ),
      { selector: (m) => m[0], maxLength: 4 },
    ),
  })
  .map((r) => ({
    entryType: r.entryType,
    version: r.version,
    claimsDigest: r.entryType === 2 || r.entryType === 4 ? r.claims : undefined,
    commitEvidenceDigest: r.entryType === 3 || r.entryType === 4 ? r.evidence : undefined,
    maxConflictVersion: r.maxConflictVersion,
    maps: new Map(r.maps.map(([name, writes, removes]) => [name, { writes, removes }])),
  }));

describe('entry encoding', () => {
  it('property: parse(serialize(entry)) gives back every field', () => {
    fc.assert(
      fc.property(arbDomain, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.uint8Array({ maxLength: 64 }), fc.nat(3), (d, view, priv, flags) => {
        const iv = ivFor(d.version, view);
        const gcmTag = new Uint8Array(16).fill(9);
        const bytes = serializeEntry({ flags, gcmTag, iv, publicDomain: d, privateDomain: priv });
        const e = parseEntry(bytes);
        expect(e.seqno).toBe(d.version);
        expect(e.view).toBe(view);
        expect(e.flags).toBe(flags);
        expect(e.privateDomain).toEqual(priv);
        expect(e.publicDomain).toEqual(d);
      }),
      { seed: 4, numRuns: 150 },
    );
  });

  const good = () =>
    serializeEntry({
      flags: 0,
      gcmTag: new Uint8Array(16),
      iv: ivFor(5, 2),
      publicDomain: { entryType: 4, version: 5, claimsDigest: new Uint8Array(32), commitEvidenceDigest: new Uint8Array(32), maxConflictVersion: 0, maps: new Map([['public:t', { writes: [[Uint8Array.of(1), Uint8Array.of(2)]], removes: [] }]]) },
      privateDomain: new Uint8Array(),
    });

  it.each<[string, (b: Uint8Array) => Uint8Array]>([
    ['truncated', (b) => b.subarray(0, b.length - 1)],
    ['format version 2', (b) => Uint8Array.of(2, ...b.subarray(1))],
    ['IV seqno differs from the public version', (b) => { const c = b.slice(); c[8 + 16] = 6; return c; }],
    ['IV marks a snapshot', (b) => { const c = b.slice(); c[8 + 16 + 11] |= 0x80; return c; }],
    ['entry type 1 (snapshot)', (b) => { const c = b.slice(); c[44] = 1; return c; }],
    ['entry type 9', (b) => { const c = b.slice(); c[44] = 9; return c; }],
    ['public length beyond the entry', (b) => { const c = b.slice(); c[36] = 0xff; return c; }],
  ])('rejects an entry with %s', (_name, corrupt) => {
    expect(() => parseEntry(corrupt(good()))).toThrow(LedgerFormatError);
  });

  it('chunk: table positions must match the entries; open chunks report trailing bytes', () => {
    const entry = good();
    const complete = serializeChunk([entry, entry], true);
    expect(parseChunk(complete, true).entries.map((e) => e.offset)).toEqual([8, 8 + entry.length]);
    const badTable = complete.slice();
    badTable[complete.length - 1] ^= 1;
    expect(() => parseChunk(badTable, true)).toThrow(/entry table position 1/);
    expect(() => parseChunk(complete.subarray(0, complete.length - 4), true)).toThrow(LedgerFormatError);
    const open = serializeChunk([entry, entry], false);
    expect(parseChunk(open.subarray(0, open.length - 3), false)).toMatchObject({ trailingBytes: entry.length - 3 });
    expect(() => parseChunk(open, true)).toThrow(/no entry table/);
  });
});
