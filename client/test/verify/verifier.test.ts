import { describe, expect, it } from 'vitest';
import { ReceiptErrorCode, ReceiptVerifier, UsageError } from '../../src/index.ts';
import { RECEIPT_FILES, realReceipt } from '../helpers/conformance.ts';
import { clone } from '../helpers/mutate.ts';
import { coseReceipt, jsonReceipt, testService, testTx } from '../helpers/service.ts';

describe('ReceiptVerifier', () => {
  const s = testService(41);
  const txs = Array.from({ length: 20 }, (_, i) => testTx(2, i + 1));

  it('N receipts under one signature cost one root verification and one endorsement', () => {
    const verifier = new ReceiptVerifier({ serviceCert: s.serviceCert });
    const receipts = txs.map((_, i) => jsonReceipt(txs, i, s.nodeKey, s.nodeCert));
    const results = verifier.verifyBatch(receipts);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.map((r) => (r.ok ? r.receipt.txid : ''))).toEqual(txs.map((_, i) => `2.${i + 1}`));
    expect(verifier.stats).toEqual({ verifications: 2, cacheHits: 2 * (txs.length - 1) });
  });

  it('a cached root does not excuse a changed leaf or signature', () => {
    const verifier = new ReceiptVerifier({ serviceCert: s.serviceCert });
    const good = jsonReceipt(txs, 3, s.nodeKey, s.nodeCert);
    const badLeaf = clone(good);
    badLeaf.leaf_components.write_set_digest = '00'.repeat(32);
    const otherSig = clone(good);
    // Same root, a different (still valid-looking) signature encoding: a different cache key.
    otherSig.signature = jsonReceipt(txs, 4, s.nodeKey, s.nodeCert).signature.replace(/^MG/, 'MH');
    const [a, b, c] = verifier.verifyBatch([good, badLeaf, otherSig]);
    expect(a!.ok).toBe(true);
    expect(b!.ok ? 'ok' : b!.error.code).toBe(ReceiptErrorCode.badSignature);
    expect(c!.ok).toBe(false);
  });

  it('mixes JSON and COSE receipts; failures do not stop the batch', () => {
    const verifier = new ReceiptVerifier({ serviceCert: s.serviceCert });
    const results = verifier.verifyBatch([
      coseReceipt(txs, 0, s.serviceKey),
      'garbage',
      jsonReceipt(txs, 1, s.nodeKey, s.nodeCert),
      coseReceipt(txs, 2, s.serviceKey),
    ]);
    expect(results.map((r) => (r.ok ? r.receipt.format : r.error.code))).toEqual(['cose', ReceiptErrorCode.malformed, 'json', 'cose']);
    // COSE: 1 signature over the shared root, reused; JSON: root + endorsement.
    expect(verifier.stats.verifications).toBe(3);
  });

  it('real receipts verify through the class as well', () => {
    const verifier = new ReceiptVerifier();
    for (const name of RECEIPT_FILES) expect(verifier.verify(realReceipt(name)).format).toBe('json');
  });

  it('the cache is bounded', () => {
    const verifier = new ReceiptVerifier({ cacheEntriesMax: 1 });
    const a = realReceipt(RECEIPT_FILES[0]!);
    const b = realReceipt(RECEIPT_FILES[1]!);
    verifier.verifyBatch([a, b, a, b]);
    // Per receipt: the root signature, and (no service certificate) the node certificate's issuer.
    expect(verifier.stats).toEqual({ verifications: 8, cacheHits: 0 });
    expect(() => new ReceiptVerifier({ cacheEntriesMax: 0 })).toThrow(UsageError);
  });
});
