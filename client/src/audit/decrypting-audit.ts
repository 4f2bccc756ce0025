// The ledger audit, with the ledger secret: everything audit.ts checks, plus every entry's GCM tag
// (which authenticates its private domain and, as AAD, its public domain) and the shape of each
// decrypted private domain; it counts private maps and writes, and can hand each decrypted write to
// the caller. Without a secret it is exactly audit.ts. The decryption is a second pass over the
// files, kept apart so that the public audit stays one readable module; the report's failure is the
// earlier of the two passes' first failures, in ledger order. A tampered private domain is thus
// reported at its own entry, where without the secret it would surface only at the next signature.
import { LedgerFormatError, UsageError, UsageErrorCode } from '../errors.ts';
import { type ParsedChunk, parseChunk } from '../ledger/chunk.ts';
import { type LedgerEntry, parseEntry } from '../ledger/entry.ts';
import { type LedgerDirectory, listLedgerFiles, readLedgerFile } from '../ledger/files.ts';
import { LEDGER_SECRET_BYTES, decryptPrivateDomain, importLedgerSecret, parsePrivateDomain } from '../ledger/private-domain.ts';
import { type AuditOptions, auditLedger as auditPublic } from './audit.ts';
import type { AuditCheck, AuditFailure, AuditReport } from './report.ts';

/** The check a decryption failure names (in addition to AuditCheck's). */
export const PrivateDomainCheck = 'private-domain';
export type DecryptingAuditCheck = AuditCheck | typeof PrivateDomainCheck;

export interface DecryptingAuditFailure extends Omit<AuditFailure, 'check'> {
  check: DecryptingAuditCheck;
}

/** One decrypted write (value) or removal (value undefined) of a private map. */
export interface PrivateWrite {
  txid: string;
  seqno: number;
  map: string;
  key: Uint8Array;
  value: Uint8Array | undefined;
}

export interface PrivateDomainCounts {
  /** Entries whose GCM tag verified under the secret (all of them, when the audit passes). */
  entriesAuthenticated: number;
  entriesWithPrivateDomain: number;
  /** Distinct private maps written or removed from. */
  privateMaps: number;
  privateWrites: number;
  privateRemoves: number;
  maps: Record<string, { writes: number; removes: number }>;
}

export interface DecryptingAuditOptions extends AuditOptions {
  /** The 32-byte ledger secret that encrypted the ledger's private domains. */
  ledgerSecret?: Uint8Array;
  /**
   * Instead of ledgerSecret, for a ledger whose secret was rotated (rekey): every secret with the first
   * seqno it encrypts, in increasing order; each applies until the next one starts.
   */
  ledgerSecrets?: ReadonlyArray<{ startSeqno: number; key: Uint8Array }>;
  /** Called with every decrypted private write, in ledger order. */
  onPrivateWrite?: (write: PrivateWrite) => void;
}

export interface DecryptingAuditReport extends Omit<AuditReport, 'failure'> {
  failure: DecryptingAuditFailure | undefined;
  /** Present when a ledger secret was given. */
  privateDomain: PrivateDomainCounts | undefined;
}

/** Audits the ledger in `dir`; with `ledgerSecret`, also decrypts and authenticates every entry. */
export async function auditLedger(dir: string, options: DecryptingAuditOptions): Promise<DecryptingAuditReport> {
  const secret = options?.ledgerSecret;
  if (secret !== undefined && (!(secret instanceof Uint8Array) || secret.length !== LEDGER_SECRET_BYTES)) {
    throw new UsageError(UsageErrorCode.invalidArgument, `ledgerSecret must be ${LEDGER_SECRET_BYTES} bytes`);
  }
  const ranges = options?.ledgerSecrets;
  if (ranges !== undefined && (secret !== undefined || !Array.isArray(ranges) || ranges.length === 0 ||
    ranges.some((r, i) => !Number.isSafeInteger(r?.startSeqno) || (i > 0 && r.startSeqno <= ranges[i - 1]!.startSeqno)))) {
    throw new UsageError(UsageErrorCode.invalidArgument, 'ledgerSecrets must be a non-empty list of {startSeqno, key} with increasing startSeqno, and excludes ledgerSecret');
  }
  if (options?.onPrivateWrite !== undefined && typeof options.onPrivateWrite !== 'function') {
    throw new UsageError(UsageErrorCode.invalidArgument, 'onPrivateWrite must be a function');
  }
  const report = await auditPublic(dir, options);
  if (secret === undefined && ranges === undefined) return { ...report, privateDomain: undefined };
  const keys = await Promise.all((ranges ?? [{ startSeqno: 1, key: secret! }]).map(async (r) => ({ startSeqno: r.startSeqno as number, key: await importLedgerSecret(r.key) })));
  // The secret of the last range that starts at or before the seqno (the first for earlier seqnos).
  const key = (seqno: number): CryptoKey => {
    let chosen = keys[0]!;
    for (const k of keys) if (k.startSeqno <= seqno) chosen = k;
    return chosen.key;
  };
  let directory: LedgerDirectory;
  try {
    directory = await listLedgerFiles(dir);
  } catch (e) {
    if (e instanceof LedgerFormatError) return { ...report, privateDomain: emptyCounts() };
    throw e;
  }
  const decrypted = await decryptAll(directory, key, options.onPrivateWrite);
  const failure = earlier(directory, report.failure, decrypted.failure);
  return { ...report, ok: failure === undefined, failure, privateDomain: decrypted.counts };
}

function emptyCounts(): PrivateDomainCounts {
  return { entriesAuthenticated: 0, entriesWithPrivateDomain: 0, privateMaps: 0, privateWrites: 0, privateRemoves: 0, maps: {} };
}

/**
 * Decrypts every entry in order until the first that does not authenticate or whose private domain
 * is malformed. Structural damage ends the pass silently: the public audit reports it.
 */
async function decryptAll(
  directory: LedgerDirectory,
  key: (seqno: number) => CryptoKey,
  onWrite: DecryptingAuditOptions['onPrivateWrite'],
): Promise<{ counts: PrivateDomainCounts; failure: DecryptingAuditFailure | undefined }> {
  const counts = emptyCounts();
  for (const file of directory.files) {
    const bytes = await readLedgerFile(file);
    let chunk: ParsedChunk;
    try {
      chunk = parseChunk(bytes, file.complete);
    } catch {
      return { counts, failure: undefined };
    }
    for (const extent of chunk.entries) {
      let entry: LedgerEntry;
      try {
        entry = parseEntry(bytes.subarray(extent.offset, extent.offset + extent.length), extent.offset);
      } catch {
        return { counts, failure: undefined };
      }
      const message = await decryptEntry(entry, key(entry.seqno), counts, onWrite);
      if (message) return { counts, failure: { file: file.name, offset: extent.offset, seqno: entry.seqno, check: PrivateDomainCheck, message } };
    }
  }
  return { counts, failure: undefined };
}

/** Decrypts and counts one entry; returns a failure message, or undefined when it is sound. */
async function decryptEntry(
  entry: LedgerEntry,
  key: CryptoKey,
  counts: PrivateDomainCounts,
  onWrite: DecryptingAuditOptions['onPrivateWrite'],
): Promise<string | undefined> {
  const plaintext = await decryptPrivateDomain(entry, key);
  // The private domain is the tail of the entry: its offset within the entry is what precedes it.
  const privateStart = entry.bytes.length - entry.privateDomain.length;
  if (!plaintext) {
    const where = entry.privateDomain.length > 0 ? `its private domain (entry bytes ${privateStart}..${entry.bytes.length - 1}), ` : '';
    return `entry ${entry.view}.${entry.seqno} does not authenticate under this ledger secret (AES-GCM tag mismatch): ${where}its public domain, IV or tag was altered, or another secret encrypted it`;
  }
  counts.entriesAuthenticated++;
  if (plaintext.length === 0) return undefined;
  counts.entriesWithPrivateDomain++;
  let maps;
  try {
    maps = parsePrivateDomain(plaintext);
  } catch (e) {
    return `entry ${entry.view}.${entry.seqno}: the decrypted private domain is malformed: ${(e as Error).message} (byte offsets within the plaintext)`;
  }
  const txid = `${entry.view}.${entry.seqno}`;
  for (const [map, changes] of maps) {
    const tally = (counts.maps[map] ??= { writes: 0, removes: 0 });
    tally.writes += changes.writes.length;
    tally.removes += changes.removes.length;
    counts.privateWrites += changes.writes.length;
    counts.privateRemoves += changes.removes.length;
    for (const [k, value] of changes.writes) onWrite?.({ txid, seqno: entry.seqno, map, key: k, value });
    for (const k of changes.removes) onWrite?.({ txid, seqno: entry.seqno, map, key: k, value: undefined });
  }
  counts.privateMaps = Object.keys(counts.maps).length;
  return undefined;
}

/** The failure that comes first in the ledger (by file, then offset); the public audit's on a tie. */
function earlier(
  directory: LedgerDirectory,
  a: AuditFailure | undefined,
  b: DecryptingAuditFailure | undefined,
): DecryptingAuditFailure | undefined {
  if (!a || !b) return a ?? b;
  // A failure that names no chunk file (ledger-files) is about the whole directory: it comes first.
  const rank = (f: DecryptingAuditFailure): [number, number] => [directory.files.findIndex((x) => x.name === f.file), f.offset];
  const [fileA, offsetA] = rank(a);
  const [fileB, offsetB] = rank(b);
  return fileB < fileA || (fileB === fileA && offsetB < offsetA) ? b : a;
}
