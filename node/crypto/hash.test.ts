import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { equalBytes, fromHex, hmacSha256, hmacSha256With, sha256, toHex } from './hash.ts';
import { CryptoError } from './errors.ts';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('sha256', () => {
  it('matches FIPS 180-4 published vectors', () => {
    expect(toHex(sha256(ascii('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(toHex(sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('hashes several parts as their concatenation, and agrees with @noble/hashes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 5 }), (parts) => {
        const joined = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
        let offset = 0;
        for (const part of parts) {
          joined.set(part, offset);
          offset += part.byteLength;
        }
        const ours = sha256(...parts);
        expect(ours).toEqual(nobleSha256(joined));
        expect(ours.byteLength).toBe(32);
      }),
      { numRuns: 200 },
    );
  });

  it('returns a plain Uint8Array that owns exactly its 32 bytes', () => {
    const digest = sha256(ascii('x'));
    expect(Buffer.isBuffer(digest)).toBe(false);
    expect(digest.buffer.byteLength).toBe(32);
  });

  it('hashes subarray views by their visible bytes only', () => {
    const backing = ascii('__abc__');
    expect(toHex(sha256(backing.subarray(2, 5)))).toBe(toHex(sha256(ascii('abc'))));
  });

  it('rejects non-bytes input', () => {
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(CryptoError);
  });
});

describe('hmacSha256With (precomputed pads)', () => {
  it('equals OpenSSL HMAC-SHA256 for keys shorter than, equal to and longer than the block, and any data', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 150 }), fc.uint8Array({ maxLength: 300 }), (key, data) => {
      expect(toHex(hmacSha256With(key)(data))).toBe(toHex(hmacSha256(key, data)));
    }), { numRuns: 300 });
    for (const length of [0, 32, 63, 64, 65, 200]) {
      const key = new Uint8Array(length).fill(7);
      expect(toHex(hmacSha256With(key)(ascii('x')))).toBe(toHex(hmacSha256(key, ascii('x'))));
    }
  });
});

describe('hmacSha256', () => {
  it('matches RFC 4231 test cases 1 and 2', () => {
    const key1 = new Uint8Array(20).fill(0x0b);
    expect(toHex(hmacSha256(key1, ascii('Hi There')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(toHex(hmacSha256(ascii('Jefe'), ascii('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('agrees with @noble/hashes for random keys and data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (key, data) => {
        expect(hmacSha256(key, data)).toEqual(nobleHmac(nobleSha256, key, data));
      }),
      { numRuns: 100 },
    );
  });
});

describe('hex', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).toMatch(/^[0-9a-f]*$/);
        expect(fromHex(hex)).toEqual(bytes);
        expect(fromHex(hex.toUpperCase())).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects odd lengths and non-hex characters with a stable code', () => {
    for (const bad of ['0', 'abc', 'zz', '0g', ' 00', '00 ', '0x00', '-1']) {
      let error: unknown;
      try {
        fromHex(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as CryptoError).code).toBe('CRYPTO_INVALID_HEX');
    }
  });

  it('decodes the empty string to empty bytes', () => {
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });
});

describe('equalBytes', () => {
  it('agrees with element-wise comparison', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        const naive = a.length === b.length && a.every((value, i) => value === b[i]);
        expect(equalBytes(a, b)).toBe(naive);
        expect(equalBytes(a, a.slice())).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
