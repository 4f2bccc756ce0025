// The real CCF snapshots: each ends with the receipt of its evidence transaction, whose claims digest
// is SHA-256 of the snapshot entry. Verified against the service certificate, cross-checked with the
// ledger (snapshot_evidence hash, the root of a signature), and tampered with.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  LedgerFormatError,
  ReceiptError,
  ReceiptErrorCode,
  Tables,
  parseChunk,
  parseChunkName,
  parseEntry,
  splitSnapshot,
  verifySnapshot,
} from '../../src/index.ts';
import { bytesToHex } from '../../src/verify/encoding.ts';
import { serviceCertPem, serviceDir } from '../helpers/conformance.ts';
import { flipByte, outcome } from '../helpers/mutate.ts';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Per seqno: snapshot evidence hashes, signed roots, and the service certificate in effect. */
function ledgerFacts(service: string) {
  const dir = join(serviceDir(service), 'ledger');
  const evidence = new Map<number, string>();
  const roots = new Set<string>();
  const serviceCertAt: Array<[number, string]> = [];
  for (const meta of readdirSync(dir).map((n) => parseChunkName(n)!)) {
    const bytes = new Uint8Array(readFileSync(join(dir, meta.name)));
    for (const x of parseChunk(bytes, meta.complete).entries) {
      const e = parseEntry(bytes.subarray(x.offset, x.offset + x.length));
      const maps = e.publicDomain.maps;
      for (const [, v] of maps.get('public:ccf.internal.snapshot_evidence')?.writes ?? []) evidence.set(e.seqno, JSON.parse(text(v)).hash);
      for (const [, v] of maps.get(Tables.signatures)?.writes ?? []) roots.add(JSON.parse(text(v)).root);
      for (const [, v] of maps.get(Tables.serviceInfo)?.writes ?? []) serviceCertAt.push([e.seqno, JSON.parse(text(v)).cert]);
    }
  }
  const certAt = (seqno: number) => serviceCertAt.filter(([s]) => s <= seqno).sort((a, b) => a[0] - b[0]).at(-1)![1];
  return { evidence, roots, certAt };
}

const SNAPSHOTS = (['eol_service', 'expired_service', 'sgx_service'] as const).flatMap((service) =>
  readdirSync(join(serviceDir(service), 'snapshots')).map((name) => ({ service, name })),
);

describe.each(SNAPSHOTS)('$service/$name', ({ service, name }) => {
  const file = new Uint8Array(readFileSync(join(serviceDir(service), 'snapshots', name)));
  const facts = ledgerFacts(service);

  it('verifies, endorsed by the service identity in effect at its evidence transaction', () => {
    const { receipt } = splitSnapshot(file);
    const evidenceSeqno = Number(/^ce:\d+\.(\d+):/.exec((receipt as any).leaf_components.commit_evidence)![1]);
    const result = verifySnapshot(file, { serviceCert: facts.certAt(evidenceSeqno), name });
    expect(result.version).toBe(Number(name.split('_')[1]));
    expect(result.receipt.seqno).toBe(evidenceSeqno);
    expect(result.receipt.serviceKeyId).toBeDefined();
    // The ledger agrees: the evidence hash recorded at that seqno, and a signature over that root.
    expect(facts.evidence.get(evidenceSeqno)).toBe(bytesToHex(sha256(splitSnapshot(file).entry)));
    expect(result.receipt.claimsDigest).toBe(facts.evidence.get(evidenceSeqno));
    expect(facts.roots.has(result.receipt.root)).toBe(true);
  });

  it('any changed byte of the snapshot entry is caught by the claims digest', () => {
    const { entry } = splitSnapshot(file);
    let state = 17;
    const positions = [0, 1, 7, 8, 30, 40, entry.length - 1, ...Array.from({ length: 40 }, () => (state = (state * 48271) % 2147483647) % entry.length)];
    for (const i of positions) {
      const code = (() => {
        try {
          verifySnapshot(flipByte(file, i));
          return 'ACCEPTED';
        } catch (e) {
          if (e instanceof ReceiptError || e instanceof LedgerFormatError) return e.code;
          throw e;
        }
      })();
      expect(code, `byte ${i}`).not.toBe('ACCEPTED');
    }
    expect(outcome(() => verifySnapshot(flipByte(file, entry.length - 1)))).toBe(ReceiptErrorCode.claimsMismatch);
  });
});

describe('snapshot checks', () => {
  const name = 'snapshot_493_494.committed';
  const file = new Uint8Array(readFileSync(join(serviceDir('eol_service'), 'snapshots', name)));

  it('the file name must agree with the snapshot version and the evidence seqno', () => {
    expect(() => verifySnapshot(file, { name: 'snapshot_492_494.committed' })).toThrow(LedgerFormatError);
    expect(() => verifySnapshot(file, { name: 'snapshot_493_495.committed' })).toThrow(LedgerFormatError);
  });

  it('another service certificate does not endorse it; a snapshot without its receipt is rejected', () => {
    expect(outcome(() => verifySnapshot(file, { serviceCert: serviceCertPem('sgx_service') }))).toBe(ReceiptErrorCode.notEndorsed);
    expect(() => verifySnapshot(splitSnapshot(file).entry)).toThrow(/no evidence receipt/);
  });
});
