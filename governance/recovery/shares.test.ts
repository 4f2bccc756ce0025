// Recovery shares in a store: issued to recovery members (RSA-OAEP-256), decrypted on the member's
// side (the client's WebCrypto code, cross-checked against node:crypto), recombined to unwrap the ledger
// secrets; thresholds and key types are checked.

import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Tx } from '../../node/kv/index.ts';
import { Tables, UNIT_KEY, jsonBytes, utf8 } from '../../node/enclave/tables.ts';
import { storeWith } from '../testing.ts';
import { decryptRecoveryShare } from '../../client/src/gov/recovery.ts';
import { decodeShare, type Share } from './sharing.ts';
import {
  RecoveryError, clearSubmittedShares, decryptShare, issueRecoveryShares, readRecoveryShares, recoverLedgerSecrets,
  storeSubmittedShare, submittedShares, submittedSharesKey,
} from './shares.ts';
import { RecoveryTables } from './tables.ts';

function rsa() {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const members = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)].map((id) => ({ id, keys: rsa() }));

function setup(threshold: number, statuses: string[] = ['Active', 'Active', 'Active']) {
  return (tx: Tx) => {
    tx.map(Tables.serviceConfig).set(UNIT_KEY, jsonBytes({ recovery_threshold: threshold }));
    members.forEach((m, i) => {
      tx.map(Tables.memberInfo).set(utf8(m.id), jsonBytes({ status: statuses[i] }));
      tx.map(Tables.memberEncryptionKeys).set(utf8(m.id), utf8(m.keys.publicPem));
    });
  };
}

describe('recovery shares', () => {
  it('any threshold of decrypted shares unwraps the ledger secrets; the client decrypts as the node encrypts', async () => {
    const secrets = [{ startSeqno: 1, key: new Uint8Array(randomBytes(32)) }, { startSeqno: 40, key: new Uint8Array(randomBytes(32)) }];
    const store = storeWith((tx) => {
      setup(2)(tx);
      expect(issueRecoveryShares(tx, secrets, { includeAccepted: false })).toBe(3);
    });
    const tx = store.begin();
    const info = readRecoveryShares(tx)!;
    expect(info.threshold).toBe(2);
    expect(Object.keys(info.encrypted_shares).sort()).toEqual(members.map((m) => m.id));
    const shares: Share[] = [];
    for (const m of members) {
      const encrypted = new Uint8Array(Buffer.from(info.encrypted_shares[m.id]!, 'base64'));
      const viaClient = await decryptRecoveryShare(m.keys.privatePem, encrypted);
      expect(viaClient).toEqual(decryptShare(m.keys.privatePem, encrypted));
      shares.push(decodeShare(viaClient, 32));
    }
    for (const pair of [[0, 1], [1, 2], [0, 2]]) {
      expect(recoverLedgerSecrets(info, pair.map((i) => shares[i]!))).toEqual(secrets);
    }
    expect(() => recoverLedgerSecrets(info, [shares[1]!])).toThrow(RecoveryError);
    // Nothing in the table is the secret in plaintext.
    const raw = Buffer.from(tx.map(RecoveryTables.recoveryShares).get(UNIT_KEY)!);
    for (const s of secrets) expect(raw.includes(Buffer.from(s.key))).toBe(false);
    expect(raw.includes(Buffer.from(Buffer.from(secrets[0]!.key).toString('base64')))).toBe(false);
  });

  it('only members with encryption keys and the right status, and not fewer than the threshold', () => {
    storeWith((tx) => {
      setup(1, ['Active', 'Accepted', 'Retired'])(tx);
      expect(issueRecoveryShares(tx, [{ startSeqno: 1, key: new Uint8Array(32) }], { includeAccepted: false })).toBe(1);
      expect(issueRecoveryShares(tx, [{ startSeqno: 1, key: new Uint8Array(32) }], { includeAccepted: true })).toBe(2);
      tx.map(Tables.serviceConfig).set(UNIT_KEY, jsonBytes({ recovery_threshold: 3 }));
      expect(() => issueRecoveryShares(tx, [{ startSeqno: 1, key: new Uint8Array(32) }], { includeAccepted: true })).toThrow(/exceeds/);
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      tx.map(Tables.serviceConfig).set(UNIT_KEY, jsonBytes({ recovery_threshold: 1 }));
      tx.map(Tables.memberEncryptionKeys).set(utf8(members[0]!.id), utf8(ec));
      expect(() => issueRecoveryShares(tx, [{ startSeqno: 1, key: new Uint8Array(32) }], { includeAccepted: false })).toThrow(/RSA/);
    });
  });

  it('submitted shares are stored encrypted and read back only with the service key', () => {
    const key = submittedSharesKey(new Uint8Array(randomBytes(32)));
    const share = new Uint8Array([5, ...randomBytes(32)]);
    storeWith((tx) => {
      storeSubmittedShare(tx, key, members[0]!.id, share);
      const stored = Buffer.from(tx.map(RecoveryTables.submittedShares).get(utf8(members[0]!.id))!);
      expect(stored.includes(Buffer.from(share.subarray(1)))).toBe(false);
      expect(submittedShares(tx, key)).toEqual([{ x: 5, y: share.slice(1) }]);
      expect(() => submittedShares(tx, submittedSharesKey(new Uint8Array(32)))).toThrow(RecoveryError);
      clearSubmittedShares(tx);
      expect(submittedShares(tx, key)).toEqual([]);
    });
  });
});
