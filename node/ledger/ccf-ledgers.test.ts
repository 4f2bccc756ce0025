// Conformance against the real CCF ledgers in conformance/ccf/services: every chunk file splits and
// re-assembles byte for byte, every entry's public domain decodes, seqnos run without gaps, at every
// signature transaction the Merkle root of the leaves before it — computed with our tree from our
// decoding — equals the root CCF signed and the node's ECDSA signature over it verifies, and our encoder
// re-creates CCF's public-only entries byte for byte (all but the GCM tag, which needs CCF's secret).

import { p384 } from '@noble/curves/nist.js';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MerkleTree } from '../merkle/tree.ts';
import { buildChunk, decodeEntry, encodeEntry, EntryType, LedgerSecret, leafForEntry, readEntryHeader, splitChunk, type DecodedEntry } from './index.ts';
import { CCF_CONFORMANCE } from '../../test/helpers/conformance.ts';

const SERVICES = `${CCF_CONFORMANCE}/services`;
const SIGNATURES = 'public:ccf.internal.signatures';

interface SignatureJson {
  seqno: number;
  view: number;
  root: string;
  sig: string;
  cert?: string;
}

function chunkFiles(service: string): Array<{ name: string; first: number; last?: number; committed: boolean }> {
  return readdirSync(`${SERVICES}/${service}/ledger`)
    .map((name) => {
      const match = /^ledger_(\d+)(?:-(\d+))?(\.committed)?$/.exec(name);
      if (!match) throw new Error(`unexpected file ${name}`);
      return { name, first: Number(match[1]), ...(match[2] ? { last: Number(match[2]) } : {}), committed: match[3] !== undefined };
    })
    .sort((a, b) => a.first - b.first);
}

function signatureOf(entry: DecodedEntry): SignatureJson | undefined {
  const value = entry.publicMaps.find((m) => m.name === SIGNATURES)?.writes[0]?.[1];
  return value === undefined ? undefined : (JSON.parse(Buffer.from(value).toString('utf8')) as SignatureJson);
}

function verifyPrehashed(certPem: string, digest: Uint8Array, derSignature: Uint8Array): boolean {
  const jwk = new X509Certificate(certPem).publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return p384.verify(derSignature, digest, point, { prehash: false, format: 'der', lowS: false });
}

describe('real CCF ledgers', () => {
  for (const service of readdirSync(SERVICES).sort()) {
    it(`${service}: chunks split and rebuild byte for byte; entries decode; signed roots match`, () => {
      const tree = new MerkleTree();
      let signatures = 0;
      let verified = 0;
      for (const chunk of chunkFiles(service)) {
        const file = new Uint8Array(readFileSync(`${SERVICES}/${service}/ledger/${chunk.name}`));
        const split = splitChunk(file);
        expect(split.tornTail).toBeNull();
        expect(split.tableOffset !== 0).toBe(chunk.last !== undefined);
        expect(Buffer.from(buildChunk(split.entries.map((e) => e.bytes), split.tableOffset !== 0)).equals(file)).toBe(true);
        if (chunk.last !== undefined) expect(split.entries.length).toBe(chunk.last - chunk.first + 1);
        let lastEntry: DecodedEntry | undefined;
        for (const [i, stored] of split.entries.entries()) {
          const entry = decodeEntry(stored.bytes);
          expect(entry.seqno).toBe(chunk.first + i);
          expect(tree.size).toBe(entry.seqno);
          const signature = signatureOf(entry);
          if (signature !== undefined) {
            signatures++;
            expect(signature.seqno).toBe(entry.seqno);
            expect(signature.view).toBe(entry.view);
            const root = tree.root(entry.seqno);
            expect(Buffer.from(root).toString('hex')).toBe(signature.root);
            if (signature.cert) {
              expect(verifyPrehashed(signature.cert, root, Buffer.from(signature.sig, 'base64'))).toBe(true);
              verified++;
            }
          }
          tree.append(leafForEntry(stored.bytes, entry));
          lastEntry = entry;
        }
        // Committed chunks end on a signature transaction.
        if (chunk.committed) expect(signatureOf(lastEntry!)).toBeDefined();
      }
      expect(signatures).toBeGreaterThan(0);
      expect(verified).toBeGreaterThan(0);
    });
  }

  it('our encoder reproduces every public-only CCF entry byte for byte, bar the GCM tag', () => {
    // Same seqno, view, digests and maps: the only byte that may differ is the tag (another secret).
    const secret = new LedgerSecret(new Uint8Array(32).fill(1));
    let compared = 0;
    for (const service of readdirSync(SERVICES)) {
      for (const chunk of chunkFiles(service)) {
        for (const stored of splitChunk(new Uint8Array(readFileSync(`${SERVICES}/${service}/ledger/${chunk.name}`))).entries) {
          const entry = decodeEntry(stored.bytes);
          if (entry.entryType !== EntryType.WriteSetWithCommitEvidenceAndClaims || entry.privateCiphertext.byteLength > 0) continue;
          const { seqno, view, claimsDigest, commitEvidenceDigest, maxConflictVersion, flags } = entry;
          const ours = Buffer.from(encodeEntry({ seqno, view, claimsDigest, commitEvidenceDigest, maxConflictVersion, maps: entry.publicMaps }, secret, { flags }));
          const theirs = Buffer.from(stored.bytes);
          ours.fill(0, 8, 24);
          theirs.fill(0, 8, 24);
          expect(ours.equals(theirs), `${service} seqno ${seqno}`).toBe(true);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('snapshots decode as type-1 entries with the snapshot IV bit and view 0', () => {
    let count = 0;
    for (const service of readdirSync(SERVICES)) {
      let names: string[] = [];
      try {
        names = readdirSync(`${SERVICES}/${service}/snapshots`);
      } catch {
        continue;
      }
      for (const name of names) {
        const file = new Uint8Array(readFileSync(`${SERVICES}/${service}/snapshots/${name}`));
        const { entryBytes } = readEntryHeader(file, 0);
        // A committed snapshot file carries its receipt after the entry.
        const entry = decodeEntry(file.subarray(0, entryBytes));
        expect(entry.entryType).toBe(EntryType.Snapshot);
        expect(entry.isSnapshot).toBe(true);
        expect(entry.view).toBe(0);
        expect(entry.seqno).toBe(Number(/^snapshot_(\d+)_/.exec(name)![1]));
        expect(entry.snapshot!.hashAtSnapshot.byteLength).toBe(32);
        expect(entry.snapshot!.viewHistory.length).toBeGreaterThan(0);
        expect(entry.snapshot!.publicMaps.map((m) => m.name)).toContain('public:ccf.gov.service.info');
        count++;
      }
    }
    expect(count).toBe(4);
  });
});
