// Offline recovery of the ledger secrets from the recovery shares a service keeps in its own ledger, for
// an auditor who holds the ledger files and the encryption private keys (member<i>_enc_privk.pem) of at
// least `threshold` recovery members — and no ledger secret. Then the decrypting audit runs with what
// was recovered.
//
// What the ledger holds (public map public:ccf.internal.recovery_shares, unit key, JSON):
//   {wrapped_latest_ledger_secret: base64, encrypted_shares: {memberId: base64}, threshold,
//    ledger_secret_start_seqnos: [...]}
// - each encrypted share is RSA-OAEP (SHA-256) of the member's share `x ‖ y` (y: 32 bytes);
// - the shares are a Shamir split over GF(2^8) (reduction polynomial x^8+x^4+x^3+x+1), byte by byte, of
//   a 32-byte wrapping key; any `threshold` of them give it back by interpolation at x = 0;
// - the wrapped blob is IV (12) ‖ GCM tag (16) ‖ AES-256-GCM ciphertext, AAD "synod recovery: wrapped
//   ledger secrets v1", of JSON [{start_seqno, key: base64}], oldest first.
//
// Written for the client on its own from that description (DESIGN.md: independent implementations check
// each other), with WebCrypto only; the one file system access is the ledger reader's.
import { LedgerFormatError, SynodClientError, UsageError, UsageErrorCode } from '../errors.ts';
import { parseChunk } from '../ledger/chunk.ts';
import { parseEntry } from '../ledger/entry.ts';
import { listLedgerFiles, readLedgerFile } from '../ledger/files.ts';
import { decryptRecoveryShare } from '../gov/recovery.ts';
import { type DecryptingAuditOptions, type DecryptingAuditReport, auditLedger } from './decrypting-audit.ts';

export const RECOVERY_SHARES_MAP = 'public:ccf.internal.recovery_shares';
const WRAPPING_KEY_LENGTH = 32;
const WRAP_IV_LENGTH = 12;
const WRAP_TAG_LENGTH = 16;
const WRAP_LABEL = 'synod recovery: wrapped ledger secrets v1';

/** Stable codes of RecoverySharesError. */
export const RecoverySharesErrorCode = {
  /** The ledger holds no recovery-share record (no recovery member with an encryption key). */
  noRecord: 'RECOVERY_NO_SHARES_RECORD',
  /** The record (or a share in it) is not in the expected format. */
  malformed: 'RECOVERY_MALFORMED_RECORD',
  /** Fewer shares decrypted with the given keys than the record's threshold. */
  tooFewShares: 'RECOVERY_TOO_FEW_SHARES',
  /** The combined key does not authenticate the wrapped ledger secrets. */
  unwrapFailed: 'RECOVERY_UNWRAP_FAILED',
} as const;
export type RecoverySharesErrorCode = (typeof RecoverySharesErrorCode)[keyof typeof RecoverySharesErrorCode];

/** The ledger secrets could not be recovered from the ledger's recovery shares with the keys given. */
export class RecoverySharesError extends SynodClientError {
  declare readonly code: RecoverySharesErrorCode;
  constructor(code: RecoverySharesErrorCode, message: string) {
    super(code, message);
  }
}

/** A decoded share: the evaluation point and the polynomials' values there, one byte per secret byte. */
export interface SecretShare {
  x: number;
  y: Uint8Array;
}

/** A recovered ledger secret and the first seqno it encrypts (it applies until the next one starts). */
export interface RecoveredLedgerSecret {
  startSeqno: number;
  key: Uint8Array;
}

// ---------------------------------------------------------------------------------------------------
// GF(2^8), computed directly (no log tables): carry-less multiplication reduced by 0x11b, and inversion
// as a^254 (the multiplicative group has order 255).

function gfTimes(a: number, b: number): number {
  let product = 0;
  let addend = a;
  for (let bits = b; bits !== 0; bits >>>= 1) {
    if (bits & 1) product ^= addend;
    addend <<= 1;
    if (addend & 0x100) addend ^= 0x11b;
  }
  return product;
}

function gfInverse(a: number): number {
  if (a === 0) throw new RecoverySharesError(RecoverySharesErrorCode.malformed, 'two shares have the same x: no inverse of 0');
  // 254 = 0b11111110: square-and-multiply from the top bit.
  let result = 1;
  for (let bit = 7; bit >= 0; bit--) {
    result = gfTimes(result, result);
    if ((254 >> bit) & 1) result = gfTimes(result, a);
  }
  return result;
}

/**
 * The secret the shares interpolate at x = 0. Each share contributes y_i · Π_{j≠i} x_j / Π_{j≠i} (x_i + x_j)
 * (addition is XOR). Fewer shares than the threshold give a wrong value, not an error: unwrapping detects it.
 */
export function combineSecretShares(shares: readonly SecretShare[]): Uint8Array {
  if (shares.length === 0) throw new RecoverySharesError(RecoverySharesErrorCode.tooFewShares, 'no share to combine');
  const width = shares[0]!.y.length;
  const points = shares.map((s) => s.x);
  if (new Set(points).size !== points.length) throw new RecoverySharesError(RecoverySharesErrorCode.malformed, 'two shares have the same x');
  if (shares.some((s) => s.y.length !== width || !Number.isInteger(s.x) || s.x < 1 || s.x > 255)) {
    throw new RecoverySharesError(RecoverySharesErrorCode.malformed, 'the shares do not have the same length, or an x is outside 1..255');
  }
  const weights = points.map((xi, i) => {
    let numerator = 1;
    let denominator = 1;
    points.forEach((xj, j) => {
      if (j === i) return;
      numerator = gfTimes(numerator, xj);
      denominator = gfTimes(denominator, xi ^ xj);
    });
    return gfTimes(numerator, gfInverse(denominator));
  });
  const secret = new Uint8Array(width);
  for (let byte = 0; byte < width; byte++) {
    let sum = 0;
    for (let i = 0; i < shares.length; i++) sum ^= gfTimes(weights[i]!, shares[i]!.y[byte]!);
    secret[byte] = sum;
  }
  return secret;
}

/** A serialised share `x ‖ y` (x ≠ 0). */
export function parseSecretShare(bytes: Uint8Array): SecretShare {
  if (bytes.length < 2 || bytes[0] === 0) throw new RecoverySharesError(RecoverySharesErrorCode.malformed, 'a share is x (1..255) followed by at least one byte');
  return { x: bytes[0]!, y: bytes.slice(1) };
}

// ---------------------------------------------------------------------------------------------------
// Unwrapping.

function fromBase64(text: unknown, what: string): Uint8Array {
  if (typeof text !== 'string') throw new RecoverySharesError(RecoverySharesErrorCode.malformed, `${what} is not a base64 string`);
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new RecoverySharesError(RecoverySharesErrorCode.malformed, `${what} is not base64`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Opens the wrapped ledger secrets with the wrapping key; RECOVERY_UNWRAP_FAILED for a wrong key. */
export async function unwrapRecoveredSecrets(wrappingKey: Uint8Array, wrapped: Uint8Array): Promise<RecoveredLedgerSecret[]> {
  const unwrapFailed = (): RecoverySharesError =>
    new RecoverySharesError(
      RecoverySharesErrorCode.unwrapFailed,
      'the key combined from the decrypted shares does not open the wrapped ledger secrets (AES-GCM tag mismatch): too few shares, a wrong member encryption key, or an altered record',
    );
  if (wrappingKey.length !== WRAPPING_KEY_LENGTH || wrapped.length < WRAP_IV_LENGTH + WRAP_TAG_LENGTH) throw unwrapFailed();
  const iv = wrapped.slice(0, WRAP_IV_LENGTH);
  const tag = wrapped.subarray(WRAP_IV_LENGTH, WRAP_IV_LENGTH + WRAP_TAG_LENGTH);
  // WebCrypto takes the tag after the ciphertext.
  const sealed = new Uint8Array(wrapped.length - WRAP_IV_LENGTH);
  sealed.set(wrapped.subarray(WRAP_IV_LENGTH + WRAP_TAG_LENGTH));
  sealed.set(tag, sealed.length - WRAP_TAG_LENGTH);
  const key = await crypto.subtle.importKey('raw', new Uint8Array(wrappingKey), { name: 'AES-GCM' }, false, ['decrypt']);
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(WRAP_LABEL), tagLength: WRAP_TAG_LENGTH * 8 }, key, sealed),
    );
  } catch {
    throw unwrapFailed();
  }
  try {
    return parseSecretList(new TextDecoder().decode(plaintext));
  } finally {
    plaintext.fill(0);
  }
}

function parseSecretList(json: string): RecoveredLedgerSecret[] {
  const bad = (why: string): RecoverySharesError => new RecoverySharesError(RecoverySharesErrorCode.malformed, `the unwrapped ledger secrets are malformed: ${why}`);
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw bad('not JSON');
  }
  if (!Array.isArray(list) || list.length === 0) throw bad('not a non-empty list');
  const out: RecoveredLedgerSecret[] = [];
  for (const item of list as Array<Record<string, unknown>>) {
    const startSeqno = item?.start_seqno;
    if (typeof startSeqno !== 'number' || !Number.isSafeInteger(startSeqno) || startSeqno < 1) throw bad('a start_seqno is not a positive integer');
    if (out.length > 0 && startSeqno <= out[out.length - 1]!.startSeqno) throw bad('the start seqnos do not increase');
    const key = fromBase64(item.key, 'a ledger secret');
    if (key.length !== 32) throw bad('a ledger secret is not 32 bytes');
    out.push({ startSeqno, key });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The record in the ledger, and the recovery.

/** The latest recovery-share record in a ledger, where it was written. */
export interface RecoverySharesRecord {
  seqno: number;
  txid: string;
  threshold: number;
  wrapped: Uint8Array;
  encryptedShares: Map<string, Uint8Array>;
  ledgerSecretStartSeqnos: number[];
}

/**
 * Scans the public domain of every entry in `dir` for writes to public:ccf.internal.recovery_shares and
 * returns the last; undefined when there is none. Stops quietly at structural damage (the audit reports
 * it), using what was read before.
 */
export async function readLatestRecoverySharesRecord(dir: string): Promise<RecoverySharesRecord | undefined> {
  let latest: { seqno: number; txid: string; value: Uint8Array } | undefined;
  let directory;
  try {
    directory = await listLedgerFiles(dir);
  } catch (e) {
    if (e instanceof LedgerFormatError) return undefined;
    throw e;
  }
  scan: for (const file of directory.files) {
    const bytes = await readLedgerFile(file);
    try {
      for (const extent of parseChunk(bytes, file.complete).entries) {
        const entry = parseEntry(bytes.subarray(extent.offset, extent.offset + extent.length), extent.offset);
        const writes = entry.publicDomain.maps.get(RECOVERY_SHARES_MAP)?.writes;
        const value = writes?.[writes.length - 1]?.[1];
        if (value !== undefined) latest = { seqno: entry.seqno, txid: `${entry.view}.${entry.seqno}`, value };
      }
    } catch (e) {
      if (e instanceof LedgerFormatError) break scan;
      throw e;
    }
  }
  return latest && decodeRecord(latest.seqno, latest.txid, latest.value);
}

function decodeRecord(seqno: number, txid: string, value: Uint8Array): RecoverySharesRecord {
  const bad = (why: string): RecoverySharesError =>
    new RecoverySharesError(RecoverySharesErrorCode.malformed, `the recovery-share record at ${txid} (${RECOVERY_SHARES_MAP}) is malformed: ${why}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(new TextDecoder().decode(value)) as Record<string, unknown>;
  } catch {
    throw bad('not JSON');
  }
  if (body === null || typeof body !== 'object') throw bad('not an object');
  const threshold = body.threshold;
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1 || threshold > 255) throw bad('threshold is not 1..255');
  const shares = body.encrypted_shares;
  if (shares === null || typeof shares !== 'object' || Array.isArray(shares)) throw bad('encrypted_shares is not an object');
  const encryptedShares = new Map<string, Uint8Array>();
  for (const [member, text] of Object.entries(shares as Record<string, unknown>)) encryptedShares.set(member, fromBase64(text, `the encrypted share of ${member}`));
  const starts = body.ledger_secret_start_seqnos;
  const ledgerSecretStartSeqnos = Array.isArray(starts) && starts.every((s) => typeof s === 'number') ? (starts as number[]) : [];
  return { seqno, txid, threshold, wrapped: fromBase64(body.wrapped_latest_ledger_secret, 'wrapped_latest_ledger_secret'), encryptedShares, ledgerSecretStartSeqnos };
}

export interface RecoveredLedgerSecrets {
  secrets: RecoveredLedgerSecret[];
  /** The record the secrets came from. */
  recordTxid: string;
  threshold: number;
  /** Members whose share one of the given keys decrypted, sorted. */
  members: string[];
}

/**
 * Recovers the ledger secrets of the ledger in `dir` from its latest recovery-share record and the
 * encryption private keys (PKCS#8 PEM) of recovery members. Throws RecoverySharesError when the ledger has
 * no record, the keys decrypt fewer shares than the threshold, or the combined key does not unwrap.
 */
export async function recoverLedgerSecretsFromShares(dir: string, memberEncryptionKeys: readonly string[]): Promise<RecoveredLedgerSecrets> {
  const record = await readLatestRecoverySharesRecord(dir);
  if (record === undefined) {
    throw new RecoverySharesError(
      RecoverySharesErrorCode.noRecord,
      `the ledger in ${dir} holds no recovery shares (${RECOVERY_SHARES_MAP}): its members had no encryption keys, or the ledger is damaged before the genesis transaction ends`,
    );
  }
  const decrypted = new Map<string, SecretShare>();
  for (const pem of memberEncryptionKeys) {
    for (const [member, ciphertext] of record.encryptedShares) {
      if (decrypted.has(member)) continue;
      let plain: Uint8Array;
      try {
        plain = await decryptRecoveryShare(pem, ciphertext);
      } catch (e) {
        // A key that does not open this share is expected (another member's); anything else is a key
        // that is not an RSA PKCS#8 private key: the caller's mistake.
        if (e instanceof UsageError && /does not decrypt/.test(e.message)) continue;
        if (e instanceof UsageError) throw e;
        throw new UsageError(UsageErrorCode.invalidArgument, `a member encryption key is not an RSA private key (PKCS#8 PEM, as member<i>_enc_privk.pem): ${(e as Error).message}`);
      }
      decrypted.set(member, parseSecretShare(plain));
      plain.fill(0);
    }
  }
  const members = [...decrypted.keys()].sort();
  if (decrypted.size < record.threshold) {
    throw new RecoverySharesError(
      RecoverySharesErrorCode.tooFewShares,
      `cannot recover the ledger secret: the given member encryption key(s) decrypt ${decrypted.size} of the ${record.encryptedShares.size} recovery share(s) ` +
        `recorded at ${record.txid}, and the recovery threshold is ${record.threshold}` +
        (members.length > 0 ? ` (decrypted: ${members.join(', ')})` : ''),
    );
  }
  const shares = [...decrypted.values()];
  const wrappingKey = combineSecretShares(shares);
  try {
    const secrets = await unwrapRecoveredSecrets(wrappingKey, record.wrapped);
    return { secrets, recordTxid: record.txid, threshold: record.threshold, members };
  } finally {
    wrappingKey.fill(0);
    for (const s of shares) s.y.fill(0);
  }
}

export interface RecoverySharesAuditOptions extends Omit<DecryptingAuditOptions, 'ledgerSecret'> {
  /** Encryption private keys (PKCS#8 PEM, member<i>_enc_privk.pem) of at least `threshold` recovery members. */
  memberEncryptionKeys: readonly string[];
}

export interface RecoverySharesAuditReport extends DecryptingAuditReport {
  recovery: { recordTxid: string; threshold: number; members: string[]; ledgerSecretStartSeqnos: number[] };
}

/**
 * The decrypting audit of `dir` with the ledger secret(s) recovered from the ledger's own recovery shares
 * (several after a rekey, each applied from its start seqno). Throws RecoverySharesError when they cannot
 * be recovered; otherwise the report is the decrypting audit's, with where the secrets came from.
 */
export async function auditLedgerWithRecoveryShares(dir: string, options: RecoverySharesAuditOptions): Promise<RecoverySharesAuditReport> {
  const recovered = await recoverLedgerSecretsFromShares(dir, options.memberEncryptionKeys);
  const { memberEncryptionKeys: _keys, ...rest } = options;
  const recovery = {
    recordTxid: recovered.recordTxid,
    threshold: recovered.threshold,
    members: recovered.members,
    ledgerSecretStartSeqnos: recovered.secrets.map((s) => s.startSeqno),
  };
  try {
    const report = await auditLedger(dir, { ...rest, ...ledgerSecretOptions(recovered.secrets) });
    return { ...report, recovery };
  } finally {
    for (const s of recovered.secrets) s.key.fill(0);
  }
}

function ledgerSecretOptions(secrets: RecoveredLedgerSecret[]): Pick<DecryptingAuditOptions, 'ledgerSecret' | 'ledgerSecrets'> {
  return secrets.length === 1 ? { ledgerSecret: secrets[0]!.key } : { ledgerSecrets: secrets };
}
