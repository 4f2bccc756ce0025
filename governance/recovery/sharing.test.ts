import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { combine, decodeShare, encodeShare, split, SharingError } from './sharing.ts';
import { unwrapLedgerSecrets, wrapLedgerSecrets } from './shares.ts';

const subsetOf = <T>(items: readonly T[], size: number) =>
  fc.shuffledSubarray(items as T[], { minLength: size, maxLength: size });

describe('Shamir sharing over GF(2^8)', () => {
  it('any threshold-sized subset gives the secret back', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 48 }),
      fc.integer({ min: 1, max: 8 }).chain((count) => fc.tuple(fc.constant(count), fc.integer({ min: 1, max: count }))),
      fc.integer(),
      (secret, [count, threshold], seed) => {
        const shares = split(secret, count, threshold);
        const picked = fc.sample(subsetOf(shares, threshold), { numRuns: 1, seed })[0]!;
        expect(combine(picked)).toEqual(secret);
        // More than the threshold works too.
        expect(combine(shares)).toEqual(secret);
      },
    ), { numRuns: 200 });
  });

  it('fewer shares than the threshold give a wrong key that fails to unwrap', () => {
    fc.assert(fc.property(
      fc.integer({ min: 2, max: 6 }).chain((threshold) => fc.tuple(fc.integer({ min: threshold, max: 7 }), fc.constant(threshold))),
      fc.integer(),
      ([count, threshold], seed) => {
        const wrappingKey = new Uint8Array(randomBytes(32));
        const wrapped = wrapLedgerSecrets(wrappingKey, [{ startSeqno: 1, key: new Uint8Array(randomBytes(32)) }]);
        const shares = split(wrappingKey, count, threshold);
        const picked = fc.sample(subsetOf(shares, threshold - 1), { numRuns: 1, seed })[0]!;
        const guess = combine(picked);
        expect(() => unwrapLedgerSecrets(guess, wrapped)).toThrow(/unwrap/);
        expect(unwrapLedgerSecrets(combine(shares.slice(0, threshold)), wrapped)[0]!.startSeqno).toBe(1);
      },
    ), { numRuns: 100 });
  });

  it('threshold − 1 shares say nothing about the secret: every secret is consistent with them', () => {
    // For t = 2, one share (x, y) is consistent with every secret s: the line through (0, s) and (x, y).
    const secretA = new Uint8Array([0x00]);
    const [share] = split(secretA, 3, 2);
    for (let s = 0; s < 256; s++) {
      const other = { x: share!.x === 1 ? 2 : 1, y: new Uint8Array([0]) };
      // Find the y for `other` that makes (share, other) interpolate to s: it exists for every s.
      let found = false;
      for (let y = 0; y < 256 && !found; y++) {
        other.y[0] = y;
        found = combine([share!, other])[0] === s;
      }
      expect(found).toBe(true);
    }
  });

  it('encodes and decodes shares, and refuses bad input', () => {
    const shares = split(new Uint8Array(32).fill(7), 5, 3);
    for (const s of shares) expect(decodeShare(encodeShare(s), 32)).toEqual(s);
    expect(() => split(new Uint8Array(0), 3, 2)).toThrow(SharingError);
    expect(() => split(new Uint8Array(4), 3, 4)).toThrow(SharingError);
    expect(() => split(new Uint8Array(4), 256, 2)).toThrow(SharingError);
    expect(() => combine([shares[0]!, shares[0]!])).toThrow(/x = /);
    expect(() => decodeShare(new Uint8Array([0, 1, 2]))).toThrow(SharingError);
    expect(() => decodeShare(new Uint8Array([1, 2]), 32)).toThrow(SharingError);
  });
});
