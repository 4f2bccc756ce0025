// CCF ledger entries (DESIGN.md "Ledger entry"; CCF's python ccf.ledger is the reference reader).
// Layout, little-endian:
//   header:  version u8 | flags u8 | size u48 (bytes after the header)
//   GCM:     tag (16) | IV (12) = seqno u64 ‖ view u32 (top bit set for snapshots)
//   public domain length u64 | public domain | private domain (AES-256-GCM ciphertext, may be empty)
// The public domain starts with the entry type and the transaction's version (= seqno), then the
// digests the entry type carries, the max-conflict version, and the maps' writes and removals.
import { sha256 } from '@noble/hashes/sha2.js';
import { LedgerErrorCode, LedgerFormatError } from '../errors.ts';
import { concatBytes } from '../verify/encoding.ts';
import { ByteReader } from './bytes.ts';

export const ENTRY_HEADER_BYTES = 8;
export const GCM_TAG_BYTES = 16;
export const GCM_IV_BYTES = 12;
/** Header, GCM tag and IV, public-domain length: the fixed part before the public domain. */
export const ENTRY_FIXED_BYTES = ENTRY_HEADER_BYTES + GCM_TAG_BYTES + GCM_IV_BYTES + 8;
export const ENTRY_FORMAT_VERSION = 1;
const SNAPSHOT_VIEW_BIT = 0x8000_0000;

/** What the public domain carries besides the write set (CCF's EntryType). */
export const EntryType = {
  writeSet: 0,
  snapshot: 1,
  writeSetWithClaims: 2,
  writeSetWithCommitEvidence: 3,
  writeSetWithCommitEvidenceAndClaims: 4,
} as const;

export interface MapChanges {
  writes: Array<[key: Uint8Array, value: Uint8Array]>;
  removes: Uint8Array[];
}

export interface PublicDomain {
  entryType: number;
  /** The transaction's version, i.e. its seqno. */
  version: number;
  claimsDigest: Uint8Array | undefined;
  commitEvidenceDigest: Uint8Array | undefined;
  maxConflictVersion: number;
  maps: Map<string, MapChanges>;
}

export interface LedgerEntry {
  /** The whole serialized entry, header included: what write_set_digest hashes. */
  bytes: Uint8Array;
  formatVersion: number;
  flags: number;
  gcmTag: Uint8Array;
  iv: Uint8Array;
  seqno: number;
  view: number;
  publicDomainBytes: Uint8Array;
  privateDomain: Uint8Array;
  publicDomain: PublicDomain;
}

/** Bytes of the entry starting at `offset` (header plus size); checks only that they are present. */
export function entryExtent(file: Uint8Array, offset: number): number {
  const r = new ByteReader(file.subarray(offset), offset);
  r.u8('entry version');
  r.u8('entry flags');
  const size = r.u48('entry size');
  if (size > r.remaining) throw r.fail(`entry of ${size} bytes runs past the end (${r.remaining} bytes left)`, 2);
  return ENTRY_HEADER_BYTES + size;
}

/** Parses one complete serialized entry. `base` is its offset in the file, for error positions. */
export function parseEntry(bytes: Uint8Array, base = 0): LedgerEntry {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('an entry must be bytes');
  const r = new ByteReader(bytes, base);
  const formatVersion = r.u8('entry version');
  if (formatVersion !== ENTRY_FORMAT_VERSION) throw r.fail(`unsupported entry format version ${formatVersion}`, 0);
  const flags = r.u8('entry flags');
  const size = r.u48('entry size');
  if (size !== r.remaining) throw r.fail(`entry size field says ${size} bytes, ${r.remaining} follow`, 2);
  const gcmTag = r.take(GCM_TAG_BYTES, 'GCM tag');
  const iv = r.take(GCM_IV_BYTES, 'GCM IV');
  const ivView = new DataView(iv.buffer, iv.byteOffset, iv.byteLength);
  const seqno = Number(ivView.getBigUint64(0, true));
  const rawView = ivView.getUint32(8, true);
  if ((rawView & SNAPSHOT_VIEW_BIT) !== 0) throw r.fail('IV marks a snapshot, not a ledger entry', ENTRY_HEADER_BYTES + GCM_TAG_BYTES + 8);
  const publicSize = r.u64('public domain length');
  const publicStart = r.position;
  const publicDomainBytes = r.take(publicSize, 'public domain');
  const privateDomain = r.take(r.remaining, 'private domain');
  const publicDomain = parsePublicDomain(publicDomainBytes, base + publicStart);
  // Paired check: the version inside the signed public domain must agree with the clear-text IV.
  if (publicDomain.version !== seqno) {
    throw new LedgerFormatError(LedgerErrorCode.badEntry, `public domain version ${publicDomain.version} differs from IV seqno ${seqno}`, base);
  }
  return { bytes, formatVersion, flags, gcmTag, iv, seqno, view: rawView, publicDomainBytes, privateDomain, publicDomain };
}

/** Parses the public domain of a ledger (not snapshot) entry. */
export function parsePublicDomain(bytes: Uint8Array, base = 0): PublicDomain {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('a public domain must be bytes');
  const r = new ByteReader(bytes, base);
  const entryType = r.u8('entry type');
  if (entryType === EntryType.snapshot || entryType > EntryType.writeSetWithCommitEvidenceAndClaims) {
    throw r.fail(`entry type ${entryType} is not a ledger write set`, 0);
  }
  const version = r.i64('version');
  const hasClaims = entryType === EntryType.writeSetWithClaims || entryType === EntryType.writeSetWithCommitEvidenceAndClaims;
  const hasEvidence = entryType === EntryType.writeSetWithCommitEvidence || entryType === EntryType.writeSetWithCommitEvidenceAndClaims;
  const claimsDigest = hasClaims ? r.take(32, 'claims digest') : undefined;
  const commitEvidenceDigest = hasEvidence ? r.take(32, 'commit evidence digest') : undefined;
  const maxConflictVersion = r.i64('max conflict version');
  const maps = new Map<string, MapChanges>();
  while (r.remaining > 0) {
    const nameStart = r.position;
    const name = new TextDecoder().decode(r.sized('map name'));
    if (maps.has(name)) throw r.fail(`map ${name} appears twice`, nameStart);
    maps.set(name, readMapChanges(r, name));
  }
  return { entryType, version, claimsDigest, commitEvidenceDigest, maxConflictVersion, maps };
}

/** One map's changes after its name (shared by the public and the decrypted private domain). */
export function readMapChanges(r: ByteReader, name: string): MapChanges {
  r.u64(`${name}: read version`);
  const readCount = r.u64(`${name}: read count`);
  if (readCount !== 0) throw r.fail(`${name}: ledger entries carry no reads, found ${readCount}`);
  const writeCount = r.u64(`${name}: write count`);
  // Each write takes at least two 8-byte lengths: a bound that stops absurd counts before looping.
  if (writeCount * 16 > r.remaining) throw r.fail(`${name}: ${writeCount} writes cannot fit`);
  const writes: MapChanges['writes'] = [];
  for (let i = 0; i < writeCount; i++) writes.push([r.sized(`${name}: key`), r.sized(`${name}: value`)]);
  const removeCount = r.u64(`${name}: remove count`);
  if (removeCount * 8 > r.remaining) throw r.fail(`${name}: ${removeCount} removals cannot fit`);
  const removes: Uint8Array[] = [];
  for (let i = 0; i < removeCount; i++) removes.push(r.sized(`${name}: removed key`));
  return { writes, removes };
}

/** SHA-256 of the whole serialized entry (CCF's write_set_digest). */
export function writeSetDigest(entry: LedgerEntry): Uint8Array {
  return sha256(entry.bytes);
}

/**
 * The entry's Merkle leaf, by entry type, as CCF computes it: H(ws ‖ ce ‖ claims) when both digests
 * are carried, H(ws ‖ ce) or H(ws ‖ claims) when one is, and the write-set digest itself for the
 * oldest (1.x) entries. Verified against the real ledgers for types 0, 3 and 4; type 2 follows CCF's
 * source (no real ledger here holds one).
 */
export function entryLeaf(entry: LedgerEntry): Uint8Array {
  const ws = writeSetDigest(entry);
  const { commitEvidenceDigest: ce, claimsDigest: claims } = entry.publicDomain;
  if (ce && claims) return sha256(concatBytes(ws, ce, claims));
  if (ce) return sha256(concatBytes(ws, ce));
  if (claims) return sha256(concatBytes(ws, claims));
  return ws;
}
