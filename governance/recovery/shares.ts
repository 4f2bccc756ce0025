// Recovery shares, as CCF's ShareManager issues them (src/node/share_manager.h, secret_share.h):
//
//   1. a fresh 32-byte wrapping key wraps the service's ledger secrets (AES-256-GCM, NIST SP 800-38D);
//      the wrapped blob is stored in the ledger, public:ccf.internal.recovery_shares;
//   2. the wrapping key is split by Shamir sharing (sharing.ts) into one share per recovery member (a
//      member with an encryption key), any `recovery_threshold` of which rebuild it;
//   3. each share is encrypted to its member's RSA public key with RSA-OAEP (SHA-256, RFC 8017 §7.1)
//      — CCF's member_enc_pubk.pem — and stored beside the wrapped secrets.
//
// So the ledger alone plus `threshold` decrypted shares give back every ledger secret. Differences from
// CCF: the wrapped blob holds all ledger secrets of the service with the seqno each starts at (CCF wraps
// only the latest and chains older ones in encrypted_ledger_secrets); the field is GF(2^8).

import { createCipheriv, createDecipheriv, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, constants } from 'node:crypto';
import type { Tx } from '../../node/kv/index.ts';
import { hmacSha256 } from '../../node/crypto/hash.ts';
import { UNIT_KEY, fromUtf8, jsonBytes, parseJsonBytes, utf8 } from '../../node/enclave/tables.ts';
import { combine, decodeShare, encodeShare, split, type Share } from './sharing.ts';
import { RecoveryTables, type RecoverySharesInfo } from './tables.ts';

export const WRAPPING_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAP_AAD = utf8('synod recovery: wrapped ledger secrets v1');
const SUBMITTED_LABEL = utf8('synod recovery: submitted shares v1');

export class RecoveryError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

/** One ledger secret and the first seqno it encrypts. */
export interface LedgerSecretRange {
  startSeqno: number;
  key: Uint8Array;
}

function aesGcmSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), ciphertext]));
}

function aesGcmOpen(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < IV_BYTES + TAG_BYTES) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]));
  } catch {
    return undefined;
  }
}

/** The ledger secrets, wrapped under `wrappingKey`. */
export function wrapLedgerSecrets(wrappingKey: Uint8Array, secrets: readonly LedgerSecretRange[]): Uint8Array {
  if (wrappingKey.length !== WRAPPING_KEY_BYTES) throw new RecoveryError('InvalidWrappingKey', 'the wrapping key is 32 bytes');
  if (secrets.length === 0) throw new RecoveryError('NoLedgerSecret', 'there is no ledger secret to wrap');
  const plaintext = jsonBytes(secrets.map((s) => ({ start_seqno: s.startSeqno, key: Buffer.from(s.key).toString('base64') })));
  try {
    return aesGcmSeal(wrappingKey, plaintext, WRAP_AAD);
  } finally {
    plaintext.fill(0);
  }
}

/** Inverse of wrapLedgerSecrets; a wrong key (e.g. from too few shares) fails to unwrap. */
export function unwrapLedgerSecrets(wrappingKey: Uint8Array, wrapped: Uint8Array): LedgerSecretRange[] {
  const plaintext = wrappingKey.length === WRAPPING_KEY_BYTES ? aesGcmOpen(wrappingKey, wrapped, WRAP_AAD) : undefined;
  if (plaintext === undefined) {
    throw new RecoveryError('RecoveryFailed', 'the recovered key fails to unwrap the ledger secrets: a submitted share is wrong or too few were given', 400);
  }
  try {
    const list = JSON.parse(fromUtf8(plaintext)) as Array<{ start_seqno: number; key: string }>;
    const out = list.map((s) => ({ startSeqno: s.start_seqno, key: new Uint8Array(Buffer.from(s.key, 'base64')) }));
    if (out.length === 0 || out.some((s, i) => !Number.isSafeInteger(s.startSeqno) || s.startSeqno < 1 || s.key.length !== 32 ||
      (i > 0 && s.startSeqno <= out[i - 1]!.startSeqno))) {
      throw new Error('bad list');
    }
    return out;
  } catch {
    throw new RecoveryError('RecoveryFailed', 'the unwrapped ledger secrets are malformed', 500);
  } finally {
    plaintext.fill(0);
  }
}

/** RSA-OAEP-256 encryption of a share to a member's encryption key (PEM, RSA). */
export function encryptShare(publicKeyPem: string, share: Uint8Array): Uint8Array {
  const key = createPublicKey(publicKeyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new RecoveryError('InvalidEncryptionKey', `member encryption keys are RSA (CCF), got ${key.asymmetricKeyType}`);
  return new Uint8Array(publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, share));
}

/** The member side: its share, decrypted with its encryption private key. */
export function decryptShare(privateKeyPem: string, encrypted: Uint8Array): Uint8Array {
  return new Uint8Array(privateDecrypt({ key: privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encrypted));
}

/** Recovery members: members with an encryption key, Active (or Accepted before the service opens). */
export function recoveryMembers(tx: Tx, includeAccepted: boolean): Array<{ id: string; encryptionKeyPem: string }> {
  const out: Array<{ id: string; encryptionKeyPem: string }> = [];
  tx.map(RecoveryTables.memberEncryptionKeys).forEach((value, key) => {
    const info = tx.map(RecoveryTables.memberInfo).get(key);
    const status = info === undefined ? undefined : parseJsonBytes<{ status?: string }>(info).status;
    if (status === 'Active' || (includeAccepted && status === 'Accepted')) out.push({ id: fromUtf8(key), encryptionKeyPem: fromUtf8(value) });
  });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function recoveryThreshold(tx: Tx): number {
  const raw = tx.map(RecoveryTables.serviceConfig).get(UNIT_KEY);
  const threshold = raw === undefined ? 1 : Number(parseJsonBytes<{ recovery_threshold?: number }>(raw).recovery_threshold ?? 1);
  return Number.isInteger(threshold) && threshold >= 1 ? threshold : 1;
}

/**
 * Issues fresh shares of a fresh wrapping key to the recovery members and stores them with the wrapped
 * ledger secrets. Returns how many were issued (0: no recovery member, nothing written). Throws when the
 * threshold exceeds the recovery members (CCF refuses that too).
 */
export function issueRecoveryShares(tx: Tx, secrets: readonly LedgerSecretRange[], options: { includeAccepted: boolean }): number {
  const members = recoveryMembers(tx, options.includeAccepted);
  if (members.length === 0) return 0;
  const threshold = recoveryThreshold(tx);
  if (threshold > members.length) {
    throw new RecoveryError('InvalidThreshold', `recovery threshold ${threshold} exceeds the ${members.length} recovery member(s)`);
  }
  const wrappingKey = new Uint8Array(randomBytes(WRAPPING_KEY_BYTES));
  try {
    const shares = split(wrappingKey, members.length, threshold);
    const encrypted: Record<string, string> = {};
    members.forEach((member, i) => {
      const plain = encodeShare(shares[i]!);
      encrypted[member.id] = Buffer.from(encryptShare(member.encryptionKeyPem, plain)).toString('base64');
      plain.fill(0);
      shares[i]!.y.fill(0);
    });
    const info: RecoverySharesInfo = {
      wrapped_latest_ledger_secret: Buffer.from(wrapLedgerSecrets(wrappingKey, secrets)).toString('base64'),
      encrypted_shares: encrypted,
      threshold,
      ledger_secret_start_seqnos: secrets.map((s) => s.startSeqno),
    };
    tx.map(RecoveryTables.recoveryShares).set(UNIT_KEY, jsonBytes(info));
    return members.length;
  } finally {
    wrappingKey.fill(0);
  }
}

export function readRecoveryShares(tx: Tx): RecoverySharesInfo | undefined {
  const raw = tx.map(RecoveryTables.recoveryShares).get(UNIT_KEY);
  return raw === undefined ? undefined : parseJsonBytes<RecoverySharesInfo>(raw);
}

/** The key submitted shares are kept under: derived from the recovering service's own ledger secret. */
export function submittedSharesKey(serviceLedgerSecret: Uint8Array): Uint8Array {
  return hmacSha256(serviceLedgerSecret, SUBMITTED_LABEL);
}

export function storeSubmittedShare(tx: Tx, key: Uint8Array, memberId: string, share: Uint8Array): void {
  tx.map(RecoveryTables.submittedShares).set(utf8(memberId), utf8(Buffer.from(aesGcmSeal(key, share, utf8(memberId))).toString('base64')));
}

export function submittedShares(tx: Tx, key: Uint8Array): Share[] {
  const shares: Share[] = [];
  tx.map(RecoveryTables.submittedShares).forEach((value, memberKey) => {
    const plain = aesGcmOpen(key, new Uint8Array(Buffer.from(fromUtf8(value), 'base64')), memberKey);
    if (plain === undefined) throw new RecoveryError('InternalError', `the submitted share of ${fromUtf8(memberKey)} does not decrypt`, 500);
    shares.push(decodeShare(plain, WRAPPING_KEY_BYTES));
  });
  return shares;
}

export function clearSubmittedShares(tx: Tx): void {
  const keys: Uint8Array[] = [];
  tx.map(RecoveryTables.submittedShares).forEach((_v, k) => keys.push(k));
  for (const k of keys) tx.map(RecoveryTables.submittedShares).delete(k);
}

/** Rebuilds the wrapping key from `shares` and unwraps the ledger secrets recorded in `info`. */
export function recoverLedgerSecrets(info: RecoverySharesInfo, shares: readonly Share[]): LedgerSecretRange[] {
  const key = combine(shares);
  try {
    return unwrapLedgerSecrets(key, new Uint8Array(Buffer.from(info.wrapped_latest_ledger_secret, 'base64')));
  } finally {
    key.fill(0);
  }
}
