// The client's own share combination and unwrap against governance/recovery's split and wrap (the
// node's implementation): every threshold subset of the node's shares rebuilds the wrapping key with the
// client's interpolation and unwraps the node's blob; every subset below the threshold gives a key that
// does not unwrap. The RSA-OAEP share encryption is checked across the two as well.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { split, encodeShare } from '../../../governance/recovery/sharing.ts';
import { encryptShare, wrapLedgerSecrets } from '../../../governance/recovery/shares.ts';
import {
  RecoverySharesError,
  RecoverySharesErrorCode,
  combineSecretShares,
  parseSecretShare,
  unwrapRecoveredSecrets,
} from '../../src/audit/recovery-shares.ts';
import { decryptRecoveryShare } from '../../src/gov/recovery.ts';
import { auditLedger } from '../../src/audit/decrypting-audit.ts';

/** Every subset of {0..n-1} of size k, as index lists. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsets(n - 1, k - 1).map((s) => [...s, n - 1]), ...subsets(n - 1, k)];
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('recovery shares: client combine and unwrap against the node implementation', () => {
  for (const [count, threshold] of [[1, 1], [3, 2], [5, 3], [4, 4]] as const) {
    it(`${threshold} of ${count}: every subset of size >= ${threshold} recovers, every smaller one fails to unwrap`, async () => {
      const wrappingKey = new Uint8Array(randomBytes(32));
      const secrets = [
        { startSeqno: 1, key: new Uint8Array(randomBytes(32)) },
        { startSeqno: 42, key: new Uint8Array(randomBytes(32)) },
      ];
      const wrapped = wrapLedgerSecrets(wrappingKey, secrets);
      const shares = split(wrappingKey, count, threshold).map((s) => parseSecretShare(encodeShare(s)));
      for (let size = 1; size <= count; size++) {
        for (const subset of subsets(count, size)) {
          const combined = combineSecretShares(subset.map((i) => shares[i]!));
          if (size >= threshold) {
            expect(Buffer.from(combined).equals(Buffer.from(wrappingKey))).toBe(true);
            const recovered = await unwrapRecoveredSecrets(combined, wrapped);
            expect(recovered.map((s) => s.startSeqno)).toEqual([1, 42]);
            expect(recovered.map((s) => Buffer.from(s.key).toString('hex'))).toEqual(secrets.map((s) => Buffer.from(s.key).toString('hex')));
          } else {
            expect(Buffer.from(combined).equals(Buffer.from(wrappingKey))).toBe(false);
            const error = await unwrapRecoveredSecrets(combined, wrapped).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(RecoverySharesError);
            expect((error as RecoverySharesError).code).toBe(RecoverySharesErrorCode.unwrapFailed);
          }
        }
        await yieldNow();
      }
    });
  }

  it('a tampered wrapped blob or a flipped share byte does not unwrap', async () => {
    const wrappingKey = new Uint8Array(randomBytes(32));
    const wrapped = wrapLedgerSecrets(wrappingKey, [{ startSeqno: 1, key: new Uint8Array(randomBytes(32)) }]);
    const shares = split(wrappingKey, 3, 2).map((s) => parseSecretShare(encodeShare(s)));
    await expect(unwrapRecoveredSecrets(combineSecretShares(shares.slice(0, 2)), wrapped)).resolves.toHaveLength(1);
    const altered = wrapped.slice();
    altered[altered.length - 1]! ^= 1;
    await expect(unwrapRecoveredSecrets(combineSecretShares(shares.slice(0, 2)), altered)).rejects.toMatchObject({ code: RecoverySharesErrorCode.unwrapFailed });
    shares[0]!.y[5]! ^= 0x10;
    await expect(unwrapRecoveredSecrets(combineSecretShares(shares.slice(0, 2)), wrapped)).rejects.toMatchObject({ code: RecoverySharesErrorCode.unwrapFailed });
  });

  it('rejects duplicate or zero x and mismatched lengths', () => {
    expect(() => parseSecretShare(new Uint8Array([0, 1, 2]))).toThrow(RecoverySharesError);
    expect(() => combineSecretShares([{ x: 1, y: new Uint8Array(2) }, { x: 1, y: new Uint8Array(2) }])).toThrow(/same x/);
    expect(() => combineSecretShares([{ x: 1, y: new Uint8Array(2) }, { x: 2, y: new Uint8Array(3) }])).toThrow(/length/);
  });

  it('a share the node encrypted to a member key decrypts with WebCrypto and the member private key only', async () => {
    const member = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const share = encodeShare(split(new Uint8Array(randomBytes(32)), 2, 2)[1]!);
    const encrypted = encryptShare(member.publicKey.export({ type: 'spki', format: 'pem' }).toString(), share);
    const decrypted = await decryptRecoveryShare(member.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), encrypted);
    expect(Buffer.from(decrypted).equals(Buffer.from(share))).toBe(true);
    await expect(decryptRecoveryShare(other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), encrypted)).rejects.toThrow(/does not decrypt/);
  });

  it('the decrypting audit refuses ledgerSecrets that are empty, out of order, or given with ledgerSecret', async () => {
    const key = new Uint8Array(32);
    const cert = '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n';
    for (const bad of [
      { ledgerSecrets: [] },
      { ledgerSecrets: [{ startSeqno: 5, key }, { startSeqno: 5, key }] },
      { ledgerSecrets: [{ startSeqno: 1, key }], ledgerSecret: key },
    ]) {
      await expect(auditLedger('/nonexistent', { serviceCert: cert, ...bad })).rejects.toThrow(/ledgerSecrets must be/);
    }
  });
});
