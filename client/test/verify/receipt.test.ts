import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { ReceiptErrorCode, verifyReceipt } from '../../src/index.ts';
import { bytesToHex, utf8ToBytes } from '../../src/verify/encoding.ts';
import { RECEIPT_FILES, realReceipt } from '../helpers/conformance.ts';
import { clone, outcome } from '../helpers/mutate.ts';
import { issueCert, jsonReceipt, testKey, testService, testTx, treeRoot } from '../helpers/service.ts';

describe('real CCF receipts', () => {
  it.each(RECEIPT_FILES)('%s verifies without a service certificate', (name) => {
    const receipt = realReceipt(name);
    const result = verifyReceipt(receipt);
    const [, txid] = /^ce:([0-9]+\.[0-9]+):/.exec(receipt.leaf_components.commit_evidence)!;
    expect(result.txid).toBe(txid);
    expect(result.nodeId).toBe(receipt.node_id);
    expect(result.serviceKeyId).toBeUndefined();
    expect(result.root).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(RECEIPT_FILES)('%s is not endorsed by an unrelated service certificate', (name) => {
    const { serviceCert } = testService(7);
    expect(outcome(() => verifyReceipt(realReceipt(name), { serviceCert }))).toBe(ReceiptErrorCode.notEndorsed);
  });

  it('claims are checked against the claims digest', () => {
    const receipt = realReceipt(RECEIPT_FILES[0]!);
    // The documented receipt has an all-zero claims digest, which no claims hash to.
    expect(outcome(() => verifyReceipt(receipt, { claims: new Uint8Array() }))).toBe(ReceiptErrorCode.claimsMismatch);
  });
});

describe('synthetic service: endorsement', () => {
  const s = testService(1);
  const txs = Array.from({ length: 11 }, (_, i) => testTx(2, i + 1));

  it('every transaction of the tree verifies and chains to the service key', () => {
    for (let i = 0; i < txs.length; i++) {
      const r = verifyReceipt(jsonReceipt(txs, i, s.nodeKey, s.nodeCert), { serviceCert: s.serviceCert });
      expect(r.root).toBe(bytesToHex(treeRoot(txs.map((t) => t.leaf))));
      expect(r.txid).toBe(`2.${i + 1}`);
      expect(r.serviceKeyId).toBe(s.serviceKey.id);
    }
  });

  it('a node certificate signed by another key is rejected', () => {
    const rogue = testKey(99);
    const cert = issueCert({ subject: s.nodeKey, subjectName: 'CCF Node', issuer: rogue, issuerName: 'CCF Service', serial: 5, ca: false });
    const receipt = jsonReceipt(txs, 3, s.nodeKey, cert);
    expect(verifyReceipt(receipt).txid).toBe('2.4'); // fine without a service certificate
    expect(outcome(() => verifyReceipt(receipt, { serviceCert: s.serviceCert }))).toBe(ReceiptErrorCode.notEndorsed);
  });

  it('without a service certificate: names the issuing service key; a certificate without AuthorityKeyIdentifier needs one', () => {
    const receipt = jsonReceipt(txs, 2, s.nodeKey, s.nodeCert);
    expect(verifyReceipt(receipt).issuerKeyId).toBe(s.serviceKey.id);
    expect(verifyReceipt(receipt, { serviceCert: s.serviceCert }).issuerKeyId).toBeUndefined();
    const bare = issueCert({ subject: s.nodeKey, subjectName: 'CCF Node', issuer: s.serviceKey, issuerName: 'CCF Service', serial: 8, ca: false, keyIds: false });
    const bareReceipt = jsonReceipt(txs, 2, s.nodeKey, bare);
    expect(outcome(() => verifyReceipt(bareReceipt))).toBe(ReceiptErrorCode.certInconsistent);
    expect(verifyReceipt(bareReceipt, { serviceCert: s.serviceCert }).serviceKeyId).toBe(s.serviceKey.id);
    // A certificate issued by another key is self-consistent: it verifies, and the other key is named,
    // for the caller to compare with the key it trusts (or to reject, given the service certificate).
    const rogue = testKey(98);
    const other = issueCert({ subject: s.nodeKey, subjectName: 'CCF Node', issuer: rogue, issuerName: 'CCF Service', serial: 8, ca: false });
    expect(verifyReceipt(jsonReceipt(txs, 2, s.nodeKey, other)).issuerKeyId).toBe(rogue.id);
  });

  it('serviceCerts: any one trusted identity suffices', () => {
    const other = testService(2);
    const receipt = jsonReceipt(txs, 0, s.nodeKey, s.nodeCert);
    expect(verifyReceipt(receipt, { serviceCerts: [other.serviceCert, s.serviceCert] }).serviceKeyId).toBe(s.serviceKey.id);
    expect(outcome(() => verifyReceipt(receipt, { serviceCerts: [other.serviceCert] }))).toBe(ReceiptErrorCode.notEndorsed);
  });

  it('service_endorsements chain an earlier identity to the current one (recovery)', () => {
    const old = testService(3); // node endorsed by the old service key
    const current = testService(4);
    // The current service endorses the old service key with a certificate, as CCF does after a recovery.
    const endorsement = issueCert({ subject: old.serviceKey, subjectName: 'CCF Service', issuer: current.serviceKey, issuerName: 'CCF Service', serial: 9, ca: true });
    const receipt = { ...jsonReceipt(txs, 5, old.nodeKey, old.nodeCert), service_endorsements: [endorsement] };
    expect(verifyReceipt(receipt, { serviceCert: current.serviceCert }).serviceKeyId).toBe(current.serviceKey.id);
    expect(outcome(() => verifyReceipt({ ...receipt, service_endorsements: [] }, { serviceCert: current.serviceCert }))).toBe(ReceiptErrorCode.notEndorsed);
    // An endorsement by a third key breaks the chain.
    const stray = issueCert({ subject: old.serviceKey, subjectName: 'CCF Service', issuer: testKey(77), issuerName: 'CCF Service', serial: 9, ca: true });
    expect(outcome(() => verifyReceipt({ ...receipt, service_endorsements: [stray] }, { serviceCert: current.serviceCert }))).toBe(ReceiptErrorCode.notEndorsed);
  });

  it('claims: the right claims verify, others do not', () => {
    const claims = utf8ToBytes('{"claim": 1}');
    const withClaims = [...txs.slice(0, 4), testTx(2, 5, claims), ...txs.slice(5)];
    const receipt = jsonReceipt(withClaims, 4, s.nodeKey, s.nodeCert);
    expect(verifyReceipt(receipt, { claims }).claimsDigest).toBe(bytesToHex(sha256(claims)));
    expect(outcome(() => verifyReceipt(receipt, { claims: utf8ToBytes('{"claim": 2}') }))).toBe(ReceiptErrorCode.claimsMismatch);
  });

  it('a signature-transaction receipt carries the root as its leaf, with an empty proof', () => {
    const full = jsonReceipt(txs, 0, s.nodeKey, s.nodeCert);
    const root = bytesToHex(treeRoot(txs.map((t) => t.leaf)));
    const { leaf_components: _, ...rest } = full;
    const sigReceipt = { ...rest, leaf: root, proof: [] };
    const r = verifyReceipt(sigReceipt, { serviceCert: s.serviceCert });
    expect(r).toMatchObject({ leafOnly: true, txid: undefined, root });
    expect(outcome(() => verifyReceipt({ ...sigReceipt, leaf: bytesToHex(sha256(utf8ToBytes('x'))) }))).toBe(ReceiptErrorCode.badSignature);
  });
});

describe('input validation', () => {
  const base = realReceipt(RECEIPT_FILES[1]!);
  const cases: Array<[string, (r: any) => unknown, string]> = [
    ['not an object', () => 'receipt', ReceiptErrorCode.malformed],
    ['null', () => null, ReceiptErrorCode.malformed],
    ['signature not base64', (r) => ({ ...r, signature: 'not base64!' }), ReceiptErrorCode.malformed],
    ['signature missing', ({ signature: _, ...r }) => r, ReceiptErrorCode.malformed],
    ['cert not a string', (r) => ({ ...r, cert: 5 }), ReceiptErrorCode.malformed],
    ['cert not a certificate', (r) => ({ ...r, cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }), ReceiptErrorCode.badCertificate],
    ['node_id uppercase', (r) => ({ ...r, node_id: r.node_id.toUpperCase() }), ReceiptErrorCode.malformed],
    ['proof not an array', (r) => ({ ...r, proof: {} }), ReceiptErrorCode.malformed],
    ['proof step with both sides', (r) => ({ ...r, proof: [{ left: '00'.repeat(32), right: '00'.repeat(32) }] }), ReceiptErrorCode.malformed],
    ['proof step too short', (r) => ({ ...r, proof: [{ left: '00'.repeat(31) }] }), ReceiptErrorCode.malformed],
    ['both leaf and leaf_components', (r) => ({ ...r, leaf: '00'.repeat(32) }), ReceiptErrorCode.malformed],
    ['neither leaf nor leaf_components', ({ leaf_components: _, ...r }) => r, ReceiptErrorCode.malformed],
    ['commit evidence with leading zero', (r) => ({ ...r, leaf_components: { ...r.leaf_components, commit_evidence: r.leaf_components.commit_evidence.replace('ce:2.', 'ce:02.') } }), ReceiptErrorCode.badCommitEvidence],
    ['commit evidence truncated', (r) => ({ ...r, leaf_components: { ...r.leaf_components, commit_evidence: r.leaf_components.commit_evidence.slice(0, -1) } }), ReceiptErrorCode.badCommitEvidence],
    ['service_endorsements not strings', (r) => ({ ...r, service_endorsements: [1] }), ReceiptErrorCode.malformed],
  ];
  it.each(cases)('%s', (_name, mutate, code) => {
    expect(outcome(() => verifyReceipt(mutate(clone(base))))).toBe(code);
  });

  it('a bad service certificate is reported as such', () => {
    expect(outcome(() => verifyReceipt(base, { serviceCert: 'nope' }))).toBe(ReceiptErrorCode.badCertificate);
  });
});

describe('property: a receipt verifies if and only if nothing was changed', () => {
  const s = testService(5);
  it('random trees, random transaction, random single mutation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('none', 'ws', 'ce', 'claims', 'proof', 'sig'),
        (n, pick, where, field) => {
          const txs = Array.from({ length: n }, (_, i) => testTx(3, i + 1));
          const index = pick % n;
          const receipt: any = jsonReceipt(txs, index, s.nodeKey, s.nodeCert);
          const hexFlip = (h: string) => {
            const i = where % h.length;
            return h.slice(0, i) + ((parseInt(h[i]!, 16) + 1) % 16).toString(16) + h.slice(i + 1);
          };
          if (field === 'ws') receipt.leaf_components.write_set_digest = hexFlip(receipt.leaf_components.write_set_digest);
          if (field === 'claims') receipt.leaf_components.claims_digest = hexFlip(receipt.leaf_components.claims_digest);
          if (field === 'ce') receipt.leaf_components.commit_evidence = receipt.leaf_components.commit_evidence.replace(/:([0-9a-f]{64})$/, (_m: string, h: string) => `:${hexFlip(h)}`);
          if (field === 'proof') {
            if (receipt.proof.length === 0) return; // a one-leaf tree has no path to mutate
            const step = receipt.proof[where % receipt.proof.length];
            const side = 'left' in step ? 'left' : 'right';
            step[side] = hexFlip(step[side]);
          }
          if (field === 'sig') {
            const sig = Buffer.from(receipt.signature, 'base64');
            sig[where % sig.length] ^= 0x80;
            receipt.signature = sig.toString('base64');
          }
          const result = outcome(() => verifyReceipt(receipt, { serviceCert: s.serviceCert }));
          expect(result === 'ACCEPTED').toBe(field === 'none');
        },
      ),
      { numRuns: 60, seed: 20250101 },
    );
  });
});
