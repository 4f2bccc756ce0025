// The Merkle tree as CCF stores it in `public:ccf.internal.tree`: merklecpp's serialisation of the
// segment [from, to] of the tree (CCF's signature transaction writes the tree up to its own seqno − 1).
// Big-endian, unlike everything else in the ledger:
//
//   leaf count u64 BE (= to − from + 1) | from u64 BE | leaves [from, to] (32 bytes each)
//   | one hash per set bit of `from`, lowest bit first: the roots of the complete aligned subtrees that
//     summarise the flushed leaves [0, from) (merklecpp walks the left edge down to `from` and writes the
//     left siblings bottom-up)
//
// Checked against the trees in CCF's own snapshots (conformance/ccf/services/*/snapshots): the root over
// leaves [0, to] of the parsed tree equals the root the signature at to + 1 signed.
//
// Our MerkleTree's own `serialize` carries the same information (its peaks are these hashes, highest
// first), so conversion goes through it and node/merkle stays as it is.

import { HASH_BYTES, MERKLE_LEAVES_IN_MEMORY_MAX, MerkleTree } from '../merkle/tree.ts';
import { invalidArgument, malformed } from './errors.ts';

const HEADER_BYTES = 16;
/** node/merkle's serialised form: format u8 = 1 | from u64 LE | size u64 LE | peaks (highest first) | leaves. */
const OWN_FORMAT = 1;
const OWN_HEADER_BYTES = 17;

/** Levels of the set bits of n, lowest first. */
function bitLevels(n: number): number[] {
  const levels: number[] = [];
  for (let j = 0, rest = n; rest > 0; j++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) levels.push(j);
  return levels;
}

/**
 * merklecpp's serialisation of leaves [from, to] of `tree` (with the hashes that stand for [0, from)).
 * `from` defaults to `to`: the smallest form (at most 54 hashes) that still lets the reader compute every
 * root and every proof for leaves at or after `to`.
 */
export function serializeCcfTree(tree: MerkleTree, to: number, from: number = to): Uint8Array {
  if (!(tree instanceof MerkleTree)) throw invalidArgument('serializeCcfTree needs a MerkleTree');
  if (!Number.isSafeInteger(to) || !Number.isSafeInteger(from) || from < tree.firstIndex || from > to || to >= tree.size) {
    throw invalidArgument(`cannot serialise tree leaves [${from}, ${to}]: the tree holds [${tree.firstIndex}, ${tree.size})`);
  }
  const own = tree.serialize(from);
  const peaks = bitLevels(from).length;
  const count = to - from + 1;
  const out = new Uint8Array(HEADER_BYTES + (count + peaks) * HASH_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(count), false);
  view.setBigUint64(8, BigInt(from), false);
  const ownPeaks = OWN_HEADER_BYTES;
  const ownLeaves = ownPeaks + peaks * HASH_BYTES;
  out.set(own.subarray(ownLeaves, ownLeaves + count * HASH_BYTES), HEADER_BYTES);
  // Ours are highest level first; merklecpp's lowest first.
  let offset = HEADER_BYTES + count * HASH_BYTES;
  for (let i = peaks - 1; i >= 0; i--, offset += HASH_BYTES) {
    out.set(own.subarray(ownPeaks + i * HASH_BYTES, ownPeaks + (i + 1) * HASH_BYTES), offset);
  }
  return out;
}

export interface ParsedCcfTree {
  tree: MerkleTree;
  /** First leaf held (leaves below are summarised). */
  from: number;
  /** Last leaf held: the tree has `to + 1` leaves. */
  to: number;
}

/** Parses merklecpp's serialisation (hostile input: every length is checked before use). */
export function parseCcfTree(bytes: Uint8Array): ParsedCcfTree {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('parseCcfTree takes bytes');
  if (bytes.byteLength < HEADER_BYTES) throw malformed(`a serialised Merkle tree of ${bytes.byteLength} bytes has no header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getBigUint64(0, false);
  const from = view.getBigUint64(8, false);
  if (count < 1n || count > BigInt(MERKLE_LEAVES_IN_MEMORY_MAX)) throw malformed(`a serialised Merkle tree with ${count} leaves`);
  if (from + count > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`a serialised Merkle tree from leaf ${from} is too large`);
  const first = Number(from);
  const leaves = Number(count);
  const levels = bitLevels(first);
  const expected = HEADER_BYTES + (leaves + levels.length) * HASH_BYTES;
  if (bytes.byteLength !== expected) {
    throw malformed(`a serialised Merkle tree of ${leaves} leaves from ${first} is ${expected} bytes, not ${bytes.byteLength}`);
  }
  const own = new Uint8Array(OWN_HEADER_BYTES + (levels.length + leaves) * HASH_BYTES);
  const ownView = new DataView(own.buffer);
  own[0] = OWN_FORMAT;
  ownView.setBigUint64(1, from, true);
  ownView.setBigUint64(9, from + count, true);
  const extras = HEADER_BYTES + leaves * HASH_BYTES;
  for (let i = 0; i < levels.length; i++) {
    const src = extras + (levels.length - 1 - i) * HASH_BYTES;
    own.set(bytes.subarray(src, src + HASH_BYTES), OWN_HEADER_BYTES + i * HASH_BYTES);
  }
  own.set(bytes.subarray(HEADER_BYTES, extras), OWN_HEADER_BYTES + levels.length * HASH_BYTES);
  let tree: MerkleTree;
  try {
    tree = MerkleTree.deserialize(own);
  } catch (error) {
    throw malformed('the serialised Merkle tree does not load', error);
  }
  return { tree, from: first, to: first + leaves - 1 };
}
