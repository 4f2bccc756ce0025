import { createHash, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { p384 } from '@noble/curves/nist.js';
import { digestSigner, generateKeyPair, verifyDigest } from './keys.ts';
import { NoncePool } from './nonces.ts';

const until = async (what: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('NoncePool', () => {
  it('fills from its worker thread; every pair is k with r = x(k·G), each handed out once', async () => {
    const pool = new NoncePool({ opensslCurve: 'secp384r1', order: p384.Point.Fn.ORDER, size: 48, batch: 16, lowWater: 8 });
    try {
      await until(() => pool.available >= 8);
      const seen = new Set<bigint>();
      for (let i = 0; i < 40; i++) {
        const nonce = pool.take() ?? (await until(() => pool.available > 0), pool.take());
        expect(nonce).toBeDefined();
        const { k, r } = nonce!;
        expect(k > 0n && k < p384.Point.Fn.ORDER).toBe(true);
        expect(p384.Point.BASE.multiply(k).toAffine().x % p384.Point.Fn.ORDER).toBe(r);
        expect(seen.has(k)).toBe(false);
        seen.add(k);
      }
    } finally {
      await pool.close();
    }
  });

  it('signers using it make signatures that noble and OpenSSL verify, DER and r ‖ s; an empty pool falls back', async () => {
    const pool = new NoncePool({ opensslCurve: 'secp384r1', order: p384.Point.Fn.ORDER, size: 48, batch: 8, lowWater: 4 });
    try {
      const pair = generateKeyPair('P-384');
      const der = digestSigner(pair.privateKeyPem, { nonces: pool });
      const raw = digestSigner(pair.privateKeyPem, { nonces: pool, encoding: 'ieee-p1363' });
      // Right away the pool may be empty: the signer computes its own nonce.
      for (let i = 0; i < 30; i++) {
        const message = new TextEncoder().encode(`message ${i}`);
        const digest = new Uint8Array(createHash('sha384').update(message).digest());
        const a = der(digest);
        expect(verifyDigest(pair.publicKeyDer, digest, a)).toBe(true);
        expect(nodeVerify('sha384', message, pair.publicKeyPem, a)).toBe(true);
        const b = raw(digest);
        expect(b.byteLength).toBe(96);
        expect(nodeVerify('sha384', message, { key: pair.publicKeyPem, dsaEncoding: 'ieee-p1363' }, b)).toBe(true);
        if (i === 10) await until(() => pool.available > 0);
      }
    } finally {
      await pool.close();
    }
  });
});
