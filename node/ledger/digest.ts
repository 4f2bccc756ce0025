// The Merkle leaf of a ledger entry, as CCF computes it (CCF's ccf::entry_leaf; DESIGN.md "Leaf"):
// leaf = SHA-256(write_set_digest ‖ SHA-256(commit_evidence) ‖ claims_digest), where write_set_digest
// is the SHA-256 of the whole serialised entry, header included. That is the leaf of every entry Synod
// writes (type 4). Older CCF entries carry fewer components and CCF hashes only those present — type 3:
// H(wsd ‖ H(ce)); type 2: H(wsd ‖ claims); type 0: wsd itself — which `leafForEntry` reproduces; the real
// CCF ledgers in conformance/ check out this way at every signature.

import { sha256 } from '../crypto/hash.ts';
import { invalidArgument } from './errors.ts';
import { EntryType, type DecodedEntry } from './entry.ts';

const DIGEST_BYTES = 32;
const utf8 = new TextEncoder();

/** SHA-256 of the whole serialised entry. */
export function writeSetDigest(entryBytes: Uint8Array): Uint8Array {
  if (!(entryBytes instanceof Uint8Array)) throw invalidArgument('writeSetDigest takes the entry bytes');
  return sha256(entryBytes);
}

/** SHA-256 of the commit evidence string (`ce:{view}.{seqno}:{hex}`). */
export function commitEvidenceDigest(commitEvidence: string): Uint8Array {
  if (typeof commitEvidence !== 'string') throw invalidArgument('commit evidence is a string');
  return sha256(utf8.encode(commitEvidence));
}

/** The leaf from its three components, the commit evidence already hashed (as entries store it). */
export function leafFromDigests(
  writeSetDigestBytes: Uint8Array,
  commitEvidenceDigestBytes: Uint8Array,
  claimsDigest: Uint8Array,
): Uint8Array {
  for (const [what, value] of [
    ['write-set digest', writeSetDigestBytes],
    ['commit-evidence digest', commitEvidenceDigestBytes],
    ['claims digest', claimsDigest],
  ] as const) {
    if (!(value instanceof Uint8Array) || value.byteLength !== DIGEST_BYTES) throw invalidArgument(`${what} must be 32 bytes`);
  }
  return sha256(writeSetDigestBytes, commitEvidenceDigestBytes, claimsDigest);
}

/** The Merkle leaf of an entry: H(write_set_digest ‖ H(commit_evidence) ‖ claims_digest). */
export function leafOf(entryBytes: Uint8Array, commitEvidence: string, claimsDigest: Uint8Array): Uint8Array {
  return leafFromDigests(writeSetDigest(entryBytes), commitEvidenceDigest(commitEvidence), claimsDigest);
}

/** The leaf CCF computes for a decoded entry of any type (see the header comment). */
export function leafForEntry(entryBytes: Uint8Array, entry: Pick<DecodedEntry, 'entryType' | 'commitEvidenceDigest' | 'claimsDigest'>): Uint8Array {
  const digest = writeSetDigest(entryBytes);
  switch (entry.entryType) {
    case EntryType.WriteSet:
      return digest;
    case EntryType.WriteSetWithClaims:
      return sha256(digest, entry.claimsDigest);
    case EntryType.WriteSetWithCommitEvidence:
      return sha256(digest, entry.commitEvidenceDigest);
    case EntryType.WriteSetWithCommitEvidenceAndClaims:
      return leafFromDigests(digest, entry.commitEvidenceDigest, entry.claimsDigest);
    default:
      // Snapshots live outside the ledger and are never leaves of the tree.
      throw invalidArgument(`entry type ${String((entry as { entryType: unknown }).entryType)} has no leaf`);
  }
}
