// Batch receipt verification with a root cache. Receipts issued under one signature transaction share
// its Merkle root and signature; the costly part of verifying each is the same ECDSA verification
// (and the same node-certificate endorsement). ReceiptVerifier remembers each (key, digest,
// signature) triple that verified, so a batch of N receipts under one signature costs one root
// verification and one endorsement verification, while every receipt still has its own leaf and
// path recomputed: a changed byte anywhere still changes the digest and misses the cache.
import { ReceiptError, ReceiptErrorCode, UsageError, UsageErrorCode } from '../errors.ts';
import { verifyCoseReceiptWith } from './cose-receipt.ts';
import { type VerifiedReceipt, verifyJsonReceiptWith } from './receipt.ts';
import { type ServiceCertOptions, MemoizingChecker, loadServiceCerts } from './trust.ts';
import type { ParsedCertificate } from './x509.ts';

/** Distinct verified signatures remembered by default (~200 bytes each). */
export const CACHE_ENTRIES_MAX_DEFAULT = 10_000;

export interface ReceiptVerifierOptions extends ServiceCertOptions {
  cacheEntriesMax?: number;
}

export type BatchResult = { ok: true; receipt: VerifiedReceipt } | { ok: false; error: ReceiptError };

export class ReceiptVerifier {
  private readonly serviceCerts: readonly ParsedCertificate[];
  private readonly checker: MemoizingChecker;

  constructor(options: ReceiptVerifierOptions = {}) {
    const entriesMax = options.cacheEntriesMax ?? CACHE_ENTRIES_MAX_DEFAULT;
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) {
      throw new UsageError(UsageErrorCode.invalidArgument, 'cacheEntriesMax must be a positive integer');
    }
    this.serviceCerts = loadServiceCerts(options);
    this.checker = new MemoizingChecker(entriesMax);
  }

  /** Verifies one receipt: bytes are a COSE receipt, anything else a JSON receipt (parsed object). */
  verify(receipt: unknown, options: { claims?: Uint8Array } = {}): VerifiedReceipt {
    const opts = { claims: options.claims };
    if (receipt instanceof Uint8Array) return verifyCoseReceiptWith(receipt, opts, this.serviceCerts, this.checker);
    return verifyJsonReceiptWith(receipt, opts, this.serviceCerts, this.checker);
  }

  /** Verifies each receipt independently; one bad receipt does not stop the others. */
  verifyBatch(receipts: readonly unknown[]): BatchResult[] {
    if (!Array.isArray(receipts)) throw new UsageError(UsageErrorCode.invalidArgument, 'receipts must be an array');
    return receipts.map((receipt): BatchResult => {
      try {
        return { ok: true, receipt: this.verify(receipt) };
      } catch (e) {
        if (e instanceof ReceiptError) return { ok: false, error: e };
        return { ok: false, error: new ReceiptError(ReceiptErrorCode.malformed, (e as Error).message) };
      }
    });
  }

  /** ECDSA verifications actually computed, and requests answered from the cache. */
  get stats(): { verifications: number; cacheHits: number } {
    return { verifications: this.checker.verifications, cacheHits: this.checker.hits };
  }
}
