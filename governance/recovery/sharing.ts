// Shamir secret sharing (Shamir, "How to share a secret", CACM 1979) over GF(2^8), byte by byte: each
// byte of the secret is the constant term of its own random polynomial of degree threshold−1; share i
// holds the polynomials evaluated at x = i. Any `threshold` shares give the secret back by Lagrange
// interpolation at 0; fewer give a value independent of the secret (each byte uniformly distributed).
//
// The field is GF(2^8) with AES's reduction polynomial x^8 + x^4 + x^3 + x + 1 (FIPS 197 §4.2).
// CCF shares over a prime field (src/crypto/sharing.h); a byte-wise binary field is the other classic
// choice and keeps the arithmetic exact and constant-size. A share is serialised as x ‖ y-bytes.

import { randomBytes } from 'node:crypto';

/** Most shares one split can produce: x runs over the non-zero field elements. */
export const SHARES_MAX = 255;
/** Largest secret this module splits; the recovery wrapping key is 32 bytes. */
export const SECRET_BYTES_MAX = 1024;

export class SharingError extends Error {
  readonly code = 'SharingError';
}

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
(() => {
  // 3 generates the multiplicative group of this field.
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x ^= (x << 1) ^ ((x & 0x80) !== 0 ? 0x11b : 0);
    x &= 0xff;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
})();

function mul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a]! + LOG[b]!]!;
}

function div(a: number, b: number): number {
  if (b === 0) throw new SharingError('division by zero in GF(2^8)');
  if (a === 0) return 0;
  return EXP[LOG[a]! + 255 - LOG[b]!]!;
}

export interface Share {
  /** The evaluation point, 1..255. */
  x: number;
  y: Uint8Array;
}

/** Splits `secret` into `count` shares, any `threshold` of which recombine it. */
export function split(secret: Uint8Array, count: number, threshold: number, random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n))): Share[] {
  if (!(secret instanceof Uint8Array) || secret.length === 0 || secret.length > SECRET_BYTES_MAX) {
    throw new SharingError(`the secret must be 1..${SECRET_BYTES_MAX} bytes`);
  }
  if (!Number.isInteger(count) || count < 1 || count > SHARES_MAX) throw new SharingError(`share count must be 1..${SHARES_MAX}, got ${count}`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > count) {
    throw new SharingError(`threshold must be 1..${count} (the share count), got ${threshold}`);
  }
  // coefficients[j][b]: coefficient of x^j for byte b; j = 0 is the secret.
  const coefficients: Uint8Array[] = [secret];
  for (let j = 1; j < threshold; j++) coefficients.push(random(secret.length));
  const shares: Share[] = [];
  for (let x = 1; x <= count; x++) {
    const y = new Uint8Array(secret.length);
    for (let b = 0; b < secret.length; b++) {
      // Horner's rule from the highest coefficient down.
      let acc = 0;
      for (let j = threshold - 1; j >= 0; j--) acc = mul(acc, x) ^ coefficients[j]![b]!;
      y[b] = acc;
    }
    shares.push({ x, y });
  }
  for (let j = 1; j < threshold; j++) coefficients[j]!.fill(0);
  return shares;
}

/**
 * Interpolates the shares at 0. Given fewer shares than the threshold the result is a wrong secret, not
 * an error: the caller detects it by failing to unwrap what the secret protects.
 */
export function combine(shares: readonly Share[]): Uint8Array {
  if (!Array.isArray(shares) || shares.length === 0) throw new SharingError('combine needs at least one share');
  const length = shares[0]!.y.length;
  const seen = new Set<number>();
  for (const share of shares) {
    if (!Number.isInteger(share.x) || share.x < 1 || share.x > SHARES_MAX) throw new SharingError(`share x must be 1..${SHARES_MAX}`);
    if (seen.has(share.x)) throw new SharingError(`two shares have x = ${share.x}`);
    seen.add(share.x);
    if (!(share.y instanceof Uint8Array) || share.y.length !== length) throw new SharingError('shares have different lengths');
  }
  const secret = new Uint8Array(length);
  for (let i = 0; i < shares.length; i++) {
    // Lagrange basis at 0: Π_{j≠i} x_j / (x_j − x_i); subtraction is XOR in GF(2^8).
    let basis = 1;
    const xi = shares[i]!.x;
    for (let j = 0; j < shares.length; j++) {
      if (j === i) continue;
      const xj = shares[j]!.x;
      basis = mul(basis, div(xj, xj ^ xi));
    }
    const y = shares[i]!.y;
    for (let b = 0; b < length; b++) secret[b]! ^= mul(basis, y[b]!);
  }
  return secret;
}

export function encodeShare(share: Share): Uint8Array {
  const out = new Uint8Array(1 + share.y.length);
  out[0] = share.x;
  out.set(share.y, 1);
  return out;
}

export function decodeShare(bytes: Uint8Array, expectedLength?: number): Share {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2 || bytes.length > SECRET_BYTES_MAX + 1) throw new SharingError('a share is x ‖ y: at least 2 bytes');
  if (expectedLength !== undefined && bytes.length !== expectedLength + 1) throw new SharingError(`a share here is ${expectedLength + 1} bytes, got ${bytes.length}`);
  if (bytes[0] === 0) throw new SharingError('share x must not be 0');
  return { x: bytes[0]!, y: bytes.slice(1) };
}
