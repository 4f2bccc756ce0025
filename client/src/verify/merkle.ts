// CCF's Merkle-tree arithmetic as receipts use it (DESIGN.md "Merkle tree", "Leaf"): plain SHA-256
// with no domain separation, leaf = H(write_set_digest ‖ H(commit_evidence) ‖ claims_digest), and an
// inclusion path folded from the leaf up to the root that the service signed.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from './encoding.ts';

export const DIGEST_BYTES = 32;

/** One step of an inclusion path: the sibling digest and on which side of the running hash it sits. */
export interface PathStep {
  side: 'left' | 'right';
  hash: Uint8Array;
}

/** Commit evidence of transaction view.seqno: `ce:{view}.{seqno}:{64 lowercase hex}`. */
export interface CommitEvidence {
  view: number;
  seqno: number;
  secret: string;
}

const COMMIT_EVIDENCE_RE = /^ce:(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15}):([0-9a-f]{64})$/;

/** Parses the commit evidence string, or returns undefined when it does not have CCF's shape. */
export function parseCommitEvidence(text: string): CommitEvidence | undefined {
  const m = typeof text === 'string' ? COMMIT_EVIDENCE_RE.exec(text) : null;
  if (!m) return undefined;
  const view = Number(m[1]);
  const seqno = Number(m[2]);
  if (!Number.isSafeInteger(view) || !Number.isSafeInteger(seqno)) return undefined;
  return { view, seqno, secret: m[3]! };
}

/** H(write_set_digest ‖ H(commit_evidence) ‖ claims_digest), the leaf of a 2.x+ transaction. */
export function leafDigest(writeSetDigest: Uint8Array, commitEvidence: string, claimsDigest: Uint8Array): Uint8Array {
  if (writeSetDigest.length !== DIGEST_BYTES || claimsDigest.length !== DIGEST_BYTES) {
    throw new TypeError('digests must be 32 bytes');
  }
  return sha256(concatBytes(writeSetDigest, sha256(utf8ToBytes(commitEvidence)), claimsDigest));
}

/** Folds an inclusion path: a left sibling gives H(sibling ‖ current), a right one H(current ‖ sibling). */
export function foldPath(leaf: Uint8Array, path: readonly PathStep[]): Uint8Array {
  let current = leaf;
  for (const step of path) {
    if (step.hash.length !== DIGEST_BYTES) throw new TypeError('path digests must be 32 bytes');
    current = step.side === 'left' ? sha256(concatBytes(step.hash, current)) : sha256(concatBytes(current, step.hash));
  }
  return current;
}
