// With a service certificate, every byte of the node certificate is authenticated: flipping any one
// (then re-encoding to PEM) must make verification fail, whether by a parse error, a node_id
// mismatch, a root signature failure or a broken endorsement.
import { describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../src/index.ts';
import { derToPem, pemToDer } from '../../src/verify/encoding.ts';
import { flipByte, outcome } from '../helpers/mutate.ts';
import { jsonReceipt, testService, testTx } from '../helpers/service.ts';

describe('endorsed receipt from a synthetic service', () => {
  const s = testService(11);
  const txs = Array.from({ length: 6 }, (_, i) => testTx(4, i + 10));
  const base = jsonReceipt(txs, 2, s.nodeKey, s.nodeCert);

  it('the unmodified receipt verifies (control)', () => {
    expect(outcome(() => verifyReceipt(base, { serviceCert: s.serviceCert }))).toBe('ACCEPTED');
  });

  it('every byte of the node certificate DER matters', () => {
    const der = pemToDer(base.cert);
    const accepted: number[] = [];
    const byCode: Record<string, number> = {};
    for (let i = 0; i < der.length; i++) {
      const code = outcome(() => verifyReceipt({ ...base, cert: derToPem(flipByte(der, i)) }, { serviceCert: s.serviceCert }));
      if (code === 'ACCEPTED') accepted.push(i);
      byCode[code] = (byCode[code] ?? 0) + 1;
    }
    expect(accepted).toEqual([]);
    // Bytes outside the key are caught by the endorsement; bytes of the key by node_id.
    expect(byCode.RECEIPT_NOT_ENDORSED).toBeGreaterThan(0);
    expect(byCode.RECEIPT_NODE_ID_MISMATCH).toBeGreaterThan(0);
  });
});
