// CCF snapshot files: `snapshot_<version>_<evidence seqno>.committed` holds one serialized snapshot
// entry (the same header as a ledger entry, with the top bit of the IV's view set), followed by the
// JSON receipt of the transaction that recorded its evidence. Observed in the real snapshots: that
// receipt's claims digest is SHA-256 of the snapshot entry, which is also the `hash` CCF writes to
// public:ccf.internal.snapshot_evidence. So verifying the receipt with the snapshot entry as its
// claims proves the snapshot is the one the service committed to.
import { LedgerErrorCode, LedgerFormatError } from '../errors.ts';
import { bytesToUtf8 } from '../verify/encoding.ts';
import { type VerifiedReceipt, type VerifyReceiptOptions, verifyReceipt } from '../verify/receipt.ts';
import { ByteReader } from './bytes.ts';
import { ENTRY_HEADER_BYTES, GCM_TAG_BYTES } from './entry.ts';

const SNAPSHOT_VIEW_BIT = 0x8000_0000;
const NAME_RE = /^snapshot_([1-9][0-9]{0,15})_([1-9][0-9]{0,15})\.committed$/;

export interface SnapshotName {
  version: number;
  evidenceSeqno: number;
}

export function parseSnapshotName(name: string): SnapshotName | undefined {
  const m = NAME_RE.exec(name);
  return m ? { version: Number(m[1]), evidenceSeqno: Number(m[2]) } : undefined;
}

export interface SplitSnapshot {
  /** The serialized snapshot entry, header included. */
  entry: Uint8Array;
  /** Seqno the snapshot was taken at (its IV). */
  version: number;
  receipt: unknown;
}

/** Splits a committed snapshot file into its entry and its evidence receipt. */
export function splitSnapshot(file: Uint8Array): SplitSnapshot {
  const r = new ByteReader(file, 0, LedgerErrorCode.badEntry);
  r.u8('snapshot entry version');
  r.u8('snapshot entry flags');
  const size = r.u48('snapshot entry size');
  if (size > r.remaining) throw r.fail(`snapshot entry of ${size} bytes runs past the end of the file`, 2);
  r.take(GCM_TAG_BYTES, 'GCM tag');
  const version = r.u64('snapshot IV seqno');
  const view = r.u32('snapshot IV view');
  if ((view & SNAPSHOT_VIEW_BIT) === 0) throw r.fail('IV does not mark a snapshot', ENTRY_HEADER_BYTES + GCM_TAG_BYTES + 8);
  const entry = file.subarray(0, ENTRY_HEADER_BYTES + size);
  const tail = file.subarray(ENTRY_HEADER_BYTES + size);
  if (tail.length === 0) throw new LedgerFormatError(LedgerErrorCode.badEntry, 'snapshot has no evidence receipt (not committed?)', entry.length);
  let receipt: unknown;
  try {
    receipt = JSON.parse(bytesToUtf8(tail));
  } catch {
    throw new LedgerFormatError(LedgerErrorCode.badValue, 'the bytes after the snapshot entry are not a JSON receipt', entry.length);
  }
  return { entry, version, receipt };
}

export interface VerifiedSnapshot {
  version: number;
  receipt: VerifiedReceipt;
}

/**
 * Verifies a committed snapshot file: its evidence receipt verifies (with the service certificate
 * when given) and has the snapshot entry as its claims. `name`, when given, must agree with both.
 */
export function verifySnapshot(file: Uint8Array, options: VerifyReceiptOptions & { name?: string } = {}): VerifiedSnapshot {
  if (!(file instanceof Uint8Array)) throw new LedgerFormatError(LedgerErrorCode.badEntry, 'a snapshot must be bytes');
  const { entry, version, receipt } = splitSnapshot(file);
  const verified = verifyReceipt(receipt, { ...options, claims: entry });
  if (options.name !== undefined) {
    const name = parseSnapshotName(options.name);
    if (!name || name.version !== version || name.evidenceSeqno !== verified.seqno) {
      throw new LedgerFormatError(
        LedgerErrorCode.badFileSet,
        `${options.name} does not name a snapshot at ${version} with evidence at ${verified.seqno ?? '?'}`,
      );
    }
  }
  return { version, receipt: verified };
}
