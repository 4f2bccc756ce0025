import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { base64ToBytes, bytesToBase64, bytesToHex, derToPem, hexToBytes, pemToDer, pemToDerAll } from '../../src/verify/encoding.ts';

describe('encodings', () => {
  it('base64 round-trips and agrees with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = bytesToBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(base64ToBytes(text)).toEqual(bytes);
      }),
      { seed: 1 },
    );
  });

  it('hex round-trips and agrees with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(bytesToHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
        expect(hexToBytes(bytesToHex(bytes))).toEqual(bytes);
      }),
      { seed: 2 },
    );
  });

  it.each(['QQ', 'QQ=', 'QR==', 'Q Q==', 'QQ==\n', '====', 'QUJD='])('rejects non-canonical base64 %j', (text) => {
    expect(() => base64ToBytes(text)).toThrow(TypeError);
  });

  it.each(['0', 'zz', '0x00'])('rejects bad hex %j', (text) => {
    expect(() => hexToBytes(text)).toThrow(TypeError);
  });

  it('PEM: round-trip, several blocks, labels', () => {
    const a = Uint8Array.from({ length: 100 }, (_, i) => i);
    const b = Uint8Array.of(1, 2, 3);
    const both = derToPem(a) + derToPem(b) + derToPem(b, 'PUBLIC KEY');
    expect(pemToDerAll(both)).toEqual([a, b]);
    expect(pemToDer(derToPem(b, 'PUBLIC KEY'), 'PUBLIC KEY')).toEqual(b);
    expect(() => pemToDer(both)).toThrow(TypeError);
  });
});
