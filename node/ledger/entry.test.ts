import { createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEntry,
  encodeEntry,
  EntryFlags,
  LedgerFormatError,
  LedgerSecret,
  leafOf,
  leafForEntry,
  writeSetDigest,
  type EntryContent,
  type MapWrites,
} from './index.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const utf8 = (text: string) => new TextEncoder().encode(text);
const sha = (...parts: Uint8Array[]) => {
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return new Uint8Array(hasher.digest());
};

const secret = new LedgerSecret(new Uint8Array(32).fill(7));

const bytesArb = fc.uint8Array({ maxLength: 40 });
const mapArb = fc.record({
  name: fc.oneof(
    fc.stringMatching(/^public:[a-z.]{1,12}$/),
    fc.stringMatching(/^[a-z][a-z.]{0,12}$/),
    fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme' }),
  ),
  writes: fc.array(fc.tuple(bytesArb, bytesArb), { maxLength: 4 }),
  removes: fc.array(bytesArb, { maxLength: 3 }),
});
const contentArb: fc.Arbitrary<EntryContent> = fc.record({
  seqno: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  view: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  claimsDigest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  commitEvidenceDigest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  maxConflictVersion: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  maps: fc.uniqueArray(mapArb, { selector: (m) => m.name, maxLength: 5 }),
});

const isPublic = (m: MapWrites) => m.name.startsWith('public:');
const byName = (a: MapWrites, b: MapWrites) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
const plain = (maps: MapWrites[]) =>
  maps.map((m) => ({ name: m.name, writes: m.writes.map(([k, v]) => [hex(k), hex(v)]), removes: m.removes.map(hex) }));

function sample(): EntryContent {
  return {
    seqno: 42,
    view: 3,
    claimsDigest: new Uint8Array(32),
    commitEvidenceDigest: secret.commitEvidenceDigest(3, 42),
    maxConflictVersion: 0,
    maps: [
      { name: 'records', writes: [[utf8('k1'), utf8('secret value')]], removes: [utf8('gone')] },
      { name: 'public:records', writes: [[utf8('k'), utf8('v')]], removes: [] },
    ],
  };
}

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'none';
  } catch (error) {
    if (!(error instanceof LedgerFormatError)) throw error;
    return error.code;
  }
}

describe('encodeEntry / decodeEntry', () => {
  it('round-trips any content, public maps in clear and private maps encrypted', () => {
    fc.assert(
      fc.property(contentArb, (content) => {
        const bytes = encodeEntry(content, secret);
        const decoded = decodeEntry(bytes, secret);
        expect(decoded.entryType).toBe(4);
        expect(decoded.seqno).toBe(content.seqno);
        expect(decoded.view).toBe(content.view);
        expect(decoded.isSnapshot).toBe(false);
        expect(decoded.authenticated).toBe(true);
        expect(hex(decoded.claimsDigest)).toBe(hex(content.claimsDigest));
        expect(hex(decoded.commitEvidenceDigest)).toBe(hex(content.commitEvidenceDigest));
        expect(decoded.maxConflictVersion).toBe(content.maxConflictVersion);
        const publicMaps = content.maps.filter(isPublic).sort(byName);
        const privateMaps = content.maps.filter((m) => !isPublic(m)).sort(byName);
        expect(plain(decoded.publicMaps)).toEqual(plain(publicMaps));
        expect(plain(decoded.privateMaps!)).toEqual(plain(privateMaps));
        expect(plain(decoded.maps)).toEqual(plain([...publicMaps, ...privateMaps]));
        for (const m of decoded.maps) expect(m.reads).toEqual([]);
        // Private bytes never appear in the clear: the private domain is exactly the ciphertext.
        expect(decoded.privateCiphertext.byteLength).toBe(
          privateMaps.reduce((n, m) => n + 40 + utf8(m.name).length + m.writes.reduce((w, [k, v]) => w + 16 + k.length + v.length, 0) + m.removes.reduce((r, k) => r + 8 + k.length, 0), 0),
        );
        // Without the secret the public part still decodes; the private part is withheld.
        const blind = decodeEntry(bytes);
        expect(blind.authenticated).toBe(false);
        expect(plain(blind.publicMaps)).toEqual(plain(publicMaps));
        expect(blind.privateMaps).toEqual(privateMaps.length === 0 ? [] : null);
      }),
      { numRuns: 150 },
    );
  });

  it('is deterministic: map order does not change the bytes', () => {
    fc.assert(
      fc.property(contentArb, fc.nat(), (content, seed) => {
        const shuffled = [...content.maps].sort((a, b) => ((a.name.length * 31 + seed) % 7) - ((b.name.length * 31 + seed) % 7));
        expect(hex(encodeEntry({ ...content, maps: shuffled }, secret))).toBe(hex(encodeEntry(content, secret)));
      }),
      { numRuns: 50 },
    );
  });

  it('lays bytes out exactly as CCF does (checked field by field, with an independent GCM)', () => {
    const bytes = encodeEntry(sample(), secret, { flags: EntryFlags.ForceLedgerChunkAfter });
    const buf = Buffer.from(bytes);
    expect(buf[0]).toBe(1);
    expect(buf[1]).toBe(1);
    expect(buf.readUIntLE(2, 6)).toBe(bytes.length - 8);
    const tag = buf.subarray(8, 24);
    const iv = buf.subarray(24, 36);
    expect(iv.readBigUInt64LE(0)).toBe(42n);
    expect(iv.readUInt32LE(8)).toBe(3);
    const publicLength = Number(buf.readBigUInt64LE(36));
    const publicDomain = buf.subarray(44, 44 + publicLength);
    const expectedPublic = Buffer.concat([
      Buffer.of(4),
      u64(42),
      Buffer.alloc(32),
      Buffer.from(secret.commitEvidenceDigest(3, 42)),
      u64(0),
      sized('public:records'),
      u64(0), // read version
      u64(0), // reads
      u64(1),
      sized('k'),
      sized('v'),
      u64(0), // removes
    ]);
    expect(publicDomain.toString('hex')).toBe(expectedPublic.toString('hex'));
    const decipher = createDecipheriv('aes-256-gcm', Buffer.alloc(32, 7), iv);
    decipher.setAAD(publicDomain);
    decipher.setAuthTag(tag);
    const privateDomain = Buffer.concat([decipher.update(buf.subarray(44 + publicLength)), decipher.final()]);
    const expectedPrivate = Buffer.concat([
      sized('records'),
      u64(0),
      u64(0),
      u64(1),
      sized('k1'),
      sized('secret value'),
      u64(1),
      sized('gone'),
    ]);
    expect(privateDomain.toString('hex')).toBe(expectedPrivate.toString('hex'));
    expect(decodeEntry(bytes, secret).flags).toBe(EntryFlags.ForceLedgerChunkAfter);
  });

  it('tags entries with no private domain too (as the real CCF ledgers show)', () => {
    const content = { ...sample(), maps: [{ name: 'public:x', writes: [[utf8('a'), utf8('b')]] as Array<[Uint8Array, Uint8Array]>, removes: [] }] };
    const bytes = encodeEntry(content, secret);
    const decoded = decodeEntry(bytes, secret);
    expect(decoded.privateCiphertext.byteLength).toBe(0);
    expect(decoded.tag.some((b) => b !== 0)).toBe(true);
    const tampered = bytes.slice();
    tampered[bytes.length - 9]! ^= 1; // inside the public domain's last value
    expect(codeOf(() => decodeEntry(tampered, secret))).toBe('LEDGER_DECRYPT_FAILED');
    expect(codeOf(() => decodeEntry(tampered))).toBe('none');
  });

  it('detects any change to the ciphertext, tag, IV or public domain when given the secret', () => {
    const bytes = encodeEntry(sample(), secret);
    const publicEnd = 44 + Number(Buffer.from(bytes).readBigUInt64LE(36));
    const regions = {
      tag: [8, 24],
      ivSeqno: [24, 32],
      ivView: [32, 36],
      publicLength: [36, 44],
      publicDomain: [44, publicEnd],
      ciphertext: [publicEnd, bytes.length],
    } as const;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(regions)), fc.nat(), fc.integer({ min: 1, max: 255 }), (region, at, xor) => {
        const [start, end] = regions[region as keyof typeof regions];
        const copy = bytes.slice();
        copy[start + (at % (end - start))]! ^= xor;
        const code = codeOf(() => decodeEntry(copy, secret));
        expect(code).not.toBe('none');
        if (region === 'tag' || region === 'ciphertext' || region === 'ivView') {
          // Structure is intact, so only the GCM check can notice (a flipped top view bit is caught as a
          // snapshot-bit mismatch first).
          expect(['LEDGER_DECRYPT_FAILED', 'LEDGER_IV_MISMATCH']).toContain(code);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('rejects another secret', () => {
    const bytes = encodeEntry(sample(), secret);
    expect(codeOf(() => decodeEntry(bytes, new LedgerSecret(new Uint8Array(32).fill(8))))).toBe('LEDGER_DECRYPT_FAILED');
  });

  it('reports header problems with their own codes', () => {
    const bytes = encodeEntry(sample(), secret);
    const badVersion = bytes.slice();
    badVersion[0] = 2;
    expect(codeOf(() => decodeEntry(badVersion))).toBe('LEDGER_BAD_VERSION');
    expect(codeOf(() => decodeEntry(bytes.subarray(0, bytes.length - 1)))).toBe('LEDGER_TRUNCATED');
    expect(codeOf(() => decodeEntry(bytes.subarray(0, 5)))).toBe('LEDGER_TRUNCATED');
    expect(codeOf(() => decodeEntry(Buffer.concat([bytes, Buffer.of(0)])))).toBe('LEDGER_TRAILING_BYTES');
    const badType = bytes.slice();
    badType[44] = 9;
    expect(codeOf(() => decodeEntry(badType))).toBe('LEDGER_BAD_ENTRY_TYPE');
    const badSeqno = bytes.slice();
    badSeqno[24] = 43;
    expect(codeOf(() => decodeEntry(badSeqno))).toBe('LEDGER_IV_MISMATCH');
  });

  it('never throws anything but LedgerFormatError on garbage or mutated entries', () => {
    const valid = [encodeEntry(sample(), secret), encodeEntry({ ...sample(), maps: [] }, secret)];
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
      const copy = bytes.slice();
      for (const [at, value] of edits) copy[at % copy.length] = value;
      return copy;
    });
    const cut = fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([bytes, n]) => bytes.subarray(0, n % bytes.length));
    // Size fields patched to match whatever follows, so decoding reaches the domains.
    const framed = fc.uint8Array({ minLength: 36, maxLength: 300 }).map((body) => {
      const out = Buffer.concat([Buffer.of(1, 0, 0, 0, 0, 0, 0, 0), body]);
      out.writeUIntLE(body.length, 2, 6);
      out.writeBigUInt64LE(BigInt(Math.max(0, body.length - 36) >> (body[0]! % 3)), 36);
      return new Uint8Array(out);
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated, cut, framed), fc.boolean(), (bytes, withSecret) => {
        codeOf(() => decodeEntry(bytes, withSecret ? secret : undefined));
      }),
      { numRuns: 1500 },
    );
  });

  it('decodes older entry types and replicated reads, which Synod never writes', () => {
    const publicDomain = Buffer.concat([
      Buffer.of(0), // type 0: no claims digest, no commit-evidence digest
      u64(9),
      u64(0),
      sized('public:m'),
      u64(7), // read version
      u64(1),
      sized('r'),
      u64(5),
      u64(0),
      u64(1),
      sized('gone'),
    ]);
    const iv = Buffer.concat([u64(9), Buffer.from([2, 0, 0, 0])]);
    const rest = Buffer.concat([Buffer.alloc(16), iv, u64(publicDomain.length), publicDomain]);
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUIntLE(rest.length, 2, 6);
    const decoded = decodeEntry(Buffer.concat([header, rest]));
    expect(decoded).toMatchObject({ entryType: 0, seqno: 9, view: 2, maxConflictVersion: 0, privateMaps: [] });
    expect(hex(decoded.claimsDigest)).toBe('00'.repeat(32));
    const [map] = decoded.publicMaps;
    expect(map!.readVersion).toBe(7);
    expect(map!.reads.map(([k, v]) => [Buffer.from(k).toString(), v])).toEqual([['r', 5]]);
    expect(map!.removes.map((k) => Buffer.from(k).toString())).toEqual(['gone']);
    // A private map name in the public domain would be plaintext that should have been encrypted.
    const leaked = Buffer.concat([header, rest]);
    leaked.set(Buffer.from('xxxxxxx'), leaked.indexOf('public:m'));
    expect(codeOf(() => decodeEntry(leaked))).toBe('LEDGER_MALFORMED');
    // A length beyond 2^53 is refused before anything is read or allocated.
    const huge = Buffer.concat([header, rest]);
    huge.writeUInt32LE(0xffffffff, 36 + 4);
    expect(codeOf(() => decodeEntry(huge))).toBe('LEDGER_MALFORMED');
  });

  it('refuses content it cannot encode', () => {
    expect(codeOf(() => encodeEntry({ ...sample(), view: 2 ** 31 }, secret))).toBe('LEDGER_INVALID_ARGUMENT');
    expect(codeOf(() => encodeEntry({ ...sample(), seqno: -1 }, secret))).toBe('LEDGER_INVALID_ARGUMENT');
    expect(codeOf(() => encodeEntry({ ...sample(), claimsDigest: new Uint8Array(31) }, secret))).toBe('LEDGER_INVALID_ARGUMENT');
    const twice = { ...sample(), maps: [...sample().maps, { name: 'records', writes: [], removes: [] }] };
    expect(codeOf(() => encodeEntry(twice, secret))).toBe('LEDGER_INVALID_ARGUMENT');
    expect(codeOf(() => encodeEntry(sample(), secret, { flags: 256 }))).toBe('LEDGER_INVALID_ARGUMENT');
  });
});

describe('LedgerSecret and leaves', () => {
  it('derives commit evidence as CCF does (HMAC with the truncated "Commit S" label)', () => {
    const key = randomBytes(32);
    const ledgerSecret = new LedgerSecret(key);
    const commitSecret = createHmac('sha256', key).update('Commit S').digest();
    const mac = createHmac('sha256', commitSecret).update('5.1234').digest('hex');
    expect(ledgerSecret.commitEvidence(5, 1234)).toBe(`ce:5.1234:${mac}`);
    expect(hex(ledgerSecret.commitEvidenceDigest(5, 1234))).toBe(hex(sha(utf8(`ce:5.1234:${mac}`))));
    expect(ledgerSecret.commitEvidence(5, 1235)).not.toBe(ledgerSecret.commitEvidence(5, 1234));
    expect(codeOf(() => new LedgerSecret(new Uint8Array(16)))).toBe('LEDGER_INVALID_ARGUMENT');
    expect(hex(ledgerSecret.exportKey())).toBe(key.toString('hex'));
  });

  it('computes the leaf H(write_set_digest ‖ H(commit_evidence) ‖ claims_digest)', () => {
    const bytes = encodeEntry(sample(), secret);
    const evidence = secret.commitEvidence(3, 42);
    const expected = sha(sha(bytes), sha(utf8(evidence)), new Uint8Array(32));
    expect(hex(writeSetDigest(bytes))).toBe(hex(sha(bytes)));
    expect(hex(leafOf(bytes, evidence, new Uint8Array(32)))).toBe(hex(expected));
    expect(hex(leafForEntry(bytes, decodeEntry(bytes)))).toBe(hex(expected));
  });
});

function u64(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(value));
  return out;
}

function sized(text: string): Buffer {
  return Buffer.concat([u64(Buffer.byteLength(text)), Buffer.from(text)]);
}
