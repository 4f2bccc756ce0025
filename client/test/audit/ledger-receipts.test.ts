// Receipts built from the real ledgers, verified by the receipt verifier (an independent path from
// the auditor): signature-transaction receipts {leaf: root, proof: []} with the node certificate and
// the service identity in effect, leaf receipts for CCF 1.x entries (leaf = write-set digest), and
// the real COSE signatures' protected header compared with the layout our COSE receipts use.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type LedgerEntry,
  Tables,
  decodeCoseSign1,
  entryLeaf,
  parseChunk,
  parseChunkName,
  parseEntry,
  publicKeyId,
  parseCertificate,
  verifyCoseSign1,
  verifyReceipt,
  writeSetDigest,
} from '../../src/index.ts';
import { base64ToBytes, bytesToHex, hexToBytes } from '../../src/verify/encoding.ts';
import { serviceDir, serviceNames } from '../helpers/conformance.ts';
import { ccfProtectedHeader, testKey, testService, treePath } from '../helpers/service.ts';
import { decode } from 'cborg';

function readEntries(service: string): LedgerEntry[] {
  const dir = join(serviceDir(service), 'ledger');
  const names = readdirSync(dir).map((n) => parseChunkName(n)!).sort((a, b) => a.firstSeqno - b.firstSeqno);
  return names.flatMap((meta) => {
    const bytes = new Uint8Array(readFileSync(join(dir, meta.name)));
    return parseChunk(bytes, meta.complete).entries.map((x) => parseEntry(bytes.subarray(x.offset, x.offset + x.length), x.offset));
  });
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface SignatureCase {
  seqno: number;
  record: Record<string, any>;
  nodeCert: string;
  serviceCert: string;
  leaves: Uint8Array[];
  cose: Uint8Array | undefined;
}

/** Walks a ledger keeping what a receipt needs at each signature. */
function signatureCases(service: string): SignatureCase[] {
  const leaves: Uint8Array[] = [new Uint8Array(32)];
  const nodeCerts = new Map<string, string>();
  let serviceCert = '';
  const cases: SignatureCase[] = [];
  for (const entry of readEntries(service)) {
    const maps = entry.publicDomain.maps;
    for (const [, v] of maps.get(Tables.serviceInfo)?.writes ?? []) serviceCert = JSON.parse(text(v)).cert;
    for (const [k, v] of maps.get(Tables.nodesInfo)?.writes ?? []) {
      const info = JSON.parse(text(v));
      if (info.cert) nodeCerts.set(text(k), info.cert);
    }
    for (const [k, v] of maps.get(Tables.endorsedNodeCerts)?.writes ?? []) nodeCerts.set(text(k), text(v));
    const sig = maps.get(Tables.signatures)?.writes[0];
    if (sig) {
      const record = JSON.parse(text(sig[1]));
      const cose = maps.get(Tables.coseSignatures)?.writes[0];
      cases.push({
        seqno: entry.seqno,
        record,
        nodeCert: record.cert ?? nodeCerts.get(record.node)!,
        serviceCert,
        leaves: [...leaves],
        cose: cose ? base64ToBytes(JSON.parse(text(cose[1]))) : undefined,
      });
    }
    leaves.push(entryLeaf(entry));
  }
  return cases;
}

describe.each(serviceNames())('%s', (service) => {
  const cases = signatureCases(service);
  const sample = [...cases.slice(0, 6), ...cases.slice(-3)];

  it('signature receipts verify, endorsed by the service identity in effect', () => {
    for (const c of sample) {
      const receipt = { cert: c.nodeCert, node_id: c.record.node, signature: c.record.sig, leaf: c.record.root, proof: [] };
      const result = verifyReceipt(receipt, { serviceCert: c.serviceCert });
      expect(result.root).toBe(c.record.root);
      expect(result.serviceKeyId).toBe(publicKeyId(parseCertificate(c.serviceCert).publicKey));
    }
    // Without the service certificate, the key that endorsed the node is recovered from the node
    // certificate: it is the service identity in effect, as recorded in the ledger.
    for (const c of sample) {
      const receipt = { cert: c.nodeCert, node_id: c.record.node, signature: c.record.sig, leaf: c.record.root, proof: [] };
      expect(verifyReceipt(receipt).issuerKeyId).toBe(publicKeyId(parseCertificate(c.serviceCert).publicKey));
    }
    // …and not by an unrelated service key.
    const c = sample[0]!;
    const receipt = { cert: c.nodeCert, node_id: c.record.node, signature: c.record.sig, leaf: c.record.root, proof: [] };
    expect(() => verifyReceipt(receipt, { serviceCert: testService(5).serviceCert })).toThrow(/not signed by any given service certificate/);
  });

  it('leaf receipts for transactions under a signature verify (path from the rebuilt tree)', () => {
    const c = cases[Math.min(3, cases.length - 1)]!;
    for (let index = 1; index < c.leaves.length; index++) {
      const proof = treePath(c.leaves, index).map((s) => (s.left ? { left: bytesToHex(s.hash) } : { right: bytesToHex(s.hash) }));
      const receipt = { cert: c.nodeCert, node_id: c.record.node, signature: c.record.sig, leaf: bytesToHex(c.leaves[index]!), proof };
      expect(verifyReceipt(receipt, { serviceCert: c.serviceCert }).root).toBe(c.record.root);
    }
  });

  const withCose = cases.filter((c) => c.cose);
  if (withCose.length > 0) it('real COSE signatures: CCF protected header layout, signature over the root', () => {
    for (const c of withCose.slice(0, 5)) {
      const m = decodeCoseSign1(c.cose!);
      const service = parseCertificate(c.serviceCert).publicKey;
      expect([...m.protectedHeader.keys()]).toEqual([1, 4, 395, 15, 'ccf.v1']);
      expect(text(m.protectedHeader.get(4) as Uint8Array)).toBe(publicKeyId(service));
      expect(m.protectedHeader.get(395)).toBe(2);
      expect((m.protectedHeader.get('ccf.v1') as Map<string, string>).get('txid')).toBe(`${c.record.view}.${c.seqno}`);
      expect(m.payload).toBeNull();
      expect(verifyCoseSign1(m, service, hexToBytes(c.record.root))).toBe(true);
      expect(verifyCoseSign1(m, service, new Uint8Array(32))).toBe(false);
      // Our test receipts lay the header out the same way: same labels, order and value types.
      const ours = decode(ccfProtectedHeader(testKey(1), '2.2'), { useMaps: true }) as Map<unknown, unknown>;
      expect([...ours.keys()]).toEqual([...m.protectedHeader.keys()]);
      expect([...(ours.get(15) as Map<number, unknown>).keys()].sort()).toEqual([...(m.protectedHeader.get(15) as Map<number, unknown>).keys()].sort());
    }
  });
});

describe('CCF 1.x entries', () => {
  it('the leaf of a type-0 entry is its write-set digest', () => {
    const entry = readEntries('eol_service')[0]!;
    expect(entry.publicDomain.entryType).toBe(0);
    expect(entryLeaf(entry)).toEqual(writeSetDigest(entry));
  });
});
