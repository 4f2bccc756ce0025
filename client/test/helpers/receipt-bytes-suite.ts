// Exhaustive byte flips of the decoded signature of both real receipts, and of the node certificate
// of the real receipts (re-encoded to PEM after each flip).
//
// A real receipt is verified without its service certificate (CCF did not publish it), so the node
// certificate's bytes outside its public key are authenticated by nothing: CCF's own verifier would
// accept a changed serial number there too. This test therefore asserts the precise boundary: a flip
// is accepted only when the certificate still parses to the very same public key. The endorsed
// variant in receipt-certificate-bytes.test.ts shows every byte matters once a service cert is given.
import { describe, expect, it } from 'vitest';
import { parseCertificate, verifyReceipt } from '../../src/index.ts';
import { base64ToBytes, bytesToBase64, derToPem, equalBytes, pemToDer } from '../../src/verify/encoding.ts';
import { realReceipt } from './conformance.ts';
import { clone, flipByte, outcome } from './mutate.ts';

export function receiptSignatureBytesSuite(name: string): void {
  describe(name, () => {
    const base = realReceipt(name);

    it('every byte of the DER signature matters (two different flips per byte)', () => {
      const sig = base64ToBytes(base.signature);
      const accepted: string[] = [];
      for (let i = 0; i < sig.length; i++) {
        for (const mask of [0x01, 0x80]) {
          const r = { ...clone(base), signature: bytesToBase64(flipByte(sig, i, mask)) };
          if (outcome(() => verifyReceipt(r)) === 'ACCEPTED') accepted.push(`${i}^${mask}`);
        }
      }
      expect(accepted).toEqual([]);
    });

    it('a flipped certificate byte is accepted only if the public key is untouched', () => {
      const der = pemToDer(base.cert);
      const original = parseCertificate(der).publicKey.spkiDer;
      let rejected = 0;
      const acceptedWithOtherKey: number[] = [];
      for (let i = 0; i < der.length; i++) {
        const flipped = flipByte(der, i);
        const code = outcome(() => verifyReceipt({ ...clone(base), cert: derToPem(flipped) }));
        if (code !== 'ACCEPTED') {
          rejected++;
          continue;
        }
        const key = parseCertificate(flipped).publicKey.spkiDer;
        if (!equalBytes(key, original)) acceptedWithOtherKey.push(i);
      }
      expect(acceptedWithOtherKey).toEqual([]);
      // Every byte of the public key itself (120-byte SPKI for P-384) is among the rejected flips.
      expect(rejected).toBeGreaterThanOrEqual(original.length);
    });
  });
}
