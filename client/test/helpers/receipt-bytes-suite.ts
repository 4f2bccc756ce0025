// Exhaustive byte flips of the decoded signature of a real receipt, and of its node certificate
// (re-encoded to PEM after each flip). The receipt is verified without its service certificate (CCF
// did not publish it): CCF's own verifier then reads only the certificate's key, so a changed serial
// number would pass it. Ours also requires the certificate's signature to be by the key its
// AuthorityKeyIdentifier names (found by ECDSA public-key recovery), so every byte matters here too.
import { describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../src/index.ts';
import { base64ToBytes, bytesToBase64, derToPem, pemToDer } from '../../src/verify/encoding.ts';
import { realReceipt } from './conformance.ts';
import { clone, flipByte, outcome } from './mutate.ts';

export function receiptSignatureBytesSuite(name: string): void {
  describe(name, () => {
    const base = realReceipt(name);

    it('every byte of the DER signature matters', () => {
      const sig = base64ToBytes(base.signature);
      const accepted: string[] = [];
      for (let i = 0; i < sig.length; i++) {
        const r = { ...clone(base), signature: bytesToBase64(flipByte(sig, i)) };
        if (outcome(() => verifyReceipt(r)) === 'ACCEPTED') accepted.push(`${i}`);
      }
      expect(accepted).toEqual([]);
    });

  });
}

/** The node certificate's bytes and the issuer it names (split out: each flip costs a key recovery). */
export function receiptCertificateBytesSuite(name: string): void {
  describe(name, () => {
    const base = realReceipt(name);

    it('every byte of the node certificate DER matters, even without a service certificate', () => {
      const der = pemToDer(base.cert);
      const accepted: number[] = [];
      const byCode: Record<string, number> = {};
      for (let i = 0; i < der.length; i++) {
        const code = outcome(() => verifyReceipt({ ...clone(base), cert: derToPem(flipByte(der, i)) }));
        if (code === 'ACCEPTED') accepted.push(i);
        byCode[code] = (byCode[code] ?? 0) + 1;
      }
      expect(accepted).toEqual([]);
      // Bytes of the key change the node ID; the other bytes break the certificate's own signature
      // by the key its AuthorityKeyIdentifier names.
      expect(byCode.RECEIPT_NODE_ID_MISMATCH).toBeGreaterThan(0);
      expect(byCode.RECEIPT_CERT_INCONSISTENT).toBeGreaterThan(100);
    });

    it('names the key that endorsed the node (recovered from the certificate), deterministically', () => {
      const a = verifyReceipt(clone(base));
      expect(a.issuerKeyId).toMatch(/^[0-9a-f]{64}$/);
      expect(verifyReceipt(clone(base)).issuerKeyId).toBe(a.issuerKeyId);
      expect(a.issuerKeyId).not.toBe(a.nodeId);
    });
  });
}
