// What the enclave remembers about every transaction in its ledger so it can answer receipts without
// re-reading the disk: each entry's write-set digest and claims digest, and every signature transaction.
// Memory per transaction is 32 bytes plus the Merkle tree's leaf; claims digests are stored only when set.

import { toHex } from '../crypto/hash.ts';
import type { MerkleTree, ProofStep } from '../merkle/tree.ts';

const DIGEST_BYTES = 32;
const ZERO_DIGEST = new Uint8Array(DIGEST_BYTES);
const INITIAL_CAPACITY = 1024;

export interface SignatureInfo {
  seqno: number;
  view: number;
  root: Uint8Array;
  /** DER ECDSA signature of the node over the root. */
  signature: Uint8Array;
  nodeId: string;
  nodeCertPem: string;
  /** Tagged COSE_Sign1 over the root with the service key. */
  coseSignature?: Uint8Array;
}

export class TransactionHistory {
  private digests = new Uint8Array(INITIAL_CAPACITY * DIGEST_BYTES);
  private count = 0; // entries recorded: seqnos base+1..count
  /** A node that started from a snapshot knows no digest at or before this seqno. */
  private base = 0;
  private readonly claims = new Map<number, Uint8Array>();
  private readonly signatures: SignatureInfo[] = [];

  get lastSeqno(): number {
    return this.count;
  }

  /** The seqno this history starts after (0, or a snapshot's seqno). */
  get firstSeqno(): number {
    return this.base + 1;
  }

  /** Starts an empty history after a snapshot at `seqno`: earlier transactions have no digests here. */
  startAfter(seqno: number, signature: SignatureInfo | undefined): void {
    if (this.count !== 0 || !Number.isSafeInteger(seqno) || seqno < 0) throw new Error('history: startAfter on a used history');
    this.base = seqno;
    this.count = seqno;
    if (signature) this.signatures.push(signature);
  }

  record(seqno: number, writeSetDigest: Uint8Array, claimsDigest: Uint8Array): void {
    if (seqno !== this.count + 1) throw new Error(`history: record ${seqno} after ${this.count}`);
    if ((this.count - this.base + 1) * DIGEST_BYTES > this.digests.length) {
      const grown = new Uint8Array(this.digests.length * 2);
      grown.set(this.digests);
      this.digests = grown;
    }
    this.digests.set(writeSetDigest, (this.count - this.base) * DIGEST_BYTES);
    if (!isZero(claimsDigest)) this.claims.set(seqno, claimsDigest.slice());
    this.count = seqno;
  }

  recordSignature(info: SignatureInfo): void {
    const last = this.signatures[this.signatures.length - 1];
    if (last && last.seqno >= info.seqno) throw new Error('history: signatures out of order');
    this.signatures.push(info);
  }

  writeSetDigest(seqno: number): Uint8Array {
    this.assertKnown(seqno);
    return this.digests.subarray((seqno - this.base - 1) * DIGEST_BYTES, (seqno - this.base) * DIGEST_BYTES);
  }

  claimsDigest(seqno: number): Uint8Array {
    return this.claims.get(seqno) ?? ZERO_DIGEST;
  }

  /** The signature transaction at `seqno`, if there is one. */
  signatureAt(seqno: number): SignatureInfo | undefined {
    const found = this.firstSignatureAtOrAfter(seqno);
    return found && found.seqno === seqno ? found : undefined;
  }

  /** The first signature whose root covers `seqno`: the earliest signature at a seqno after it. */
  coveringSignature(seqno: number): SignatureInfo | undefined {
    return this.firstSignatureAtOrAfter(seqno + 1);
  }

  lastSignature(): SignatureInfo | undefined {
    return this.signatures[this.signatures.length - 1];
  }

  /** Forget everything after `seqno` (rollback). */
  truncate(seqno: number): void {
    if (seqno >= this.count) return;
    for (const key of this.claims.keys()) if (key > seqno) this.claims.delete(key);
    while (this.signatures.length > 0 && this.signatures[this.signatures.length - 1]!.seqno > seqno) this.signatures.pop();
    this.count = seqno;
  }

  private firstSignatureAtOrAfter(seqno: number): SignatureInfo | undefined {
    let low = 0;
    let high = this.signatures.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.signatures[middle]!.seqno < seqno) low = middle + 1;
      else high = middle;
    }
    return this.signatures[low];
  }

  private assertKnown(seqno: number): void {
    if (!Number.isInteger(seqno) || seqno <= this.base || seqno > this.count) throw new Error(`history: unknown seqno ${seqno}`);
  }
}

export interface JsonReceipt {
  cert: string;
  node_id: string;
  signature: string;
  proof: Array<{ left: string } | { right: string }>;
  leaf_components?: { write_set_digest: string; commit_evidence: string; claims_digest: string };
  leaf?: string;
}

/** CCF's JSON receipt for `seqno`, proven against the signature that covers it. */
export function jsonReceipt(
  seqno: number,
  history: TransactionHistory,
  tree: MerkleTree,
  commitEvidence: string,
): JsonReceipt | undefined {
  const signatureTx = history.signatureAt(seqno);
  if (signatureTx) {
    return { ...signatureFields(signatureTx), leaf: toHex(signatureTx.root), proof: [] };
  }
  const covering = history.coveringSignature(seqno);
  if (!covering) return undefined;
  return {
    ...signatureFields(covering),
    proof: proofToJson(tree.proof(seqno, covering.seqno)),
    leaf_components: {
      write_set_digest: toHex(history.writeSetDigest(seqno)),
      commit_evidence: commitEvidence,
      claims_digest: toHex(history.claimsDigest(seqno)),
    },
  };
}

function signatureFields(sig: SignatureInfo): { cert: string; node_id: string; signature: string } {
  return { cert: sig.nodeCertPem, node_id: sig.nodeId, signature: Buffer.from(sig.signature).toString('base64') };
}

function proofToJson(proof: readonly ProofStep[]): JsonReceipt['proof'] {
  return proof.map((step) => ('left' in step ? { left: toHex(step.left) } : { right: toHex(step.right) }));
}

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}
