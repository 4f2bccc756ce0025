// CCF's Merkle tree over transaction leaves, as CCF's history builds it with merklecpp: SHA-256 with no
// domain-separation prefixes, inner node = H(left ‖ right), an odd last node promoted unchanged (not
// hashed). Building level by level with promotion gives exactly the shape of RFC 6962 §2.1 (split at the
// largest power of two below n), so a proof here is an RFC 6962 audit path, listed leaf-side first.
// Leaf index = seqno; a new tree starts with leaf 0 = 32 zero bytes, as CCF's does.
//
// Receipts are built against the tree as of a past signature, so `root(size)` and `proof(index, size)`
// serve any size up to the current one. Every complete, aligned subtree is cached (level j holds the
// hashes of leaves [i·2^j, (i+1)·2^j) for each full block), so a root or proof costs O(log n) hashes for
// the right edge of the requested size plus O(log n) lookups. Appending costs one hash per level that
// completes (amortised one). Memory is ~64 bytes per leaf in flat buffers.
//
// `compact(index)` forgets leaves below `index` (kept: the "peaks", the maximal aligned blocks covering
// [0, index)); every node a root or proof at or above `index` needs is then either stored or a peak.

import { hash } from 'node:crypto';
import { MerkleError } from './errors.ts';

export type ProofStep = { left: Uint8Array } | { right: Uint8Array };

export const HASH_BYTES = 32;
/** Leaves held in memory at once; level 0 alone takes 32 bytes per leaf (2^26 leaves = 2 GiB). */
export const MERKLE_LEAVES_IN_MEMORY_MAX = 2 ** 26;
/** Leaf indexes are seqnos, JS numbers exact up to 2^53. */
export const MERKLE_SIZE_MAX = Number.MAX_SAFE_INTEGER;
/** A path in a tree of at most 2^53 leaves has at most 53 steps. */
export const MERKLE_PROOF_STEPS_MAX = 64;
/** Serialized form: format u8, from u64, size u64, then peaks and leaves (see `serialize`). */
const SERIAL_FORMAT = 1;
const SERIAL_HEADER_BYTES = 1 + 8 + 8;
const LEVEL_CAPACITY_MIN_NODES = 16;
/** Tree sizes whose right edge (≤ 53 hashes each) is kept for reuse. */
const EDGE_CACHE_SIZES_MAX = 64;
const ZERO_LEAF = new Uint8Array(HASH_BYTES);

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`merkle assertion failed: ${message}`);
}

// One scratch buffer: hashing a 64-byte concatenation one-shot is ~1.7× faster than streaming update().
const pairScratch = new Uint8Array(2 * HASH_BYTES);

/** H(left ‖ right) as a fresh Uint8Array. */
export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  pairScratch.set(left, 0);
  pairScratch.set(right, HASH_BYTES);
  const digest = hash('sha256', pairScratch, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, HASH_BYTES);
}

function assertHash(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength !== HASH_BYTES) {
    throw new MerkleError('MERKLE_INVALID_LEAF', `${what} must be a ${HASH_BYTES}-byte Uint8Array`);
  }
}

/** Root of the tree a proof describes: left → H(sibling ‖ current), right → H(current ‖ sibling). */
export function foldProof(leaf: Uint8Array, proof: readonly ProofStep[]): Uint8Array {
  assertHash(leaf, 'leaf');
  if (!Array.isArray(proof) || proof.length > MERKLE_PROOF_STEPS_MAX) {
    throw new MerkleError('MERKLE_INVALID_PROOF', `a proof is an array of at most ${MERKLE_PROOF_STEPS_MAX} steps`);
  }
  let current = leaf;
  for (const step of proof) {
    const isLeft = typeof step === 'object' && step !== null && 'left' in step;
    const isRight = typeof step === 'object' && step !== null && 'right' in step;
    if (isLeft === isRight) {
      throw new MerkleError('MERKLE_INVALID_PROOF', 'each proof step has exactly one of `left` or `right`');
    }
    const sibling = isLeft ? (step as { left: unknown }).left : (step as { right: unknown }).right;
    if (!(sibling instanceof Uint8Array) || sibling.byteLength !== HASH_BYTES) {
      throw new MerkleError('MERKLE_INVALID_PROOF', `each proof step holds a ${HASH_BYTES}-byte hash`);
    }
    current = isLeft ? hashPair(sibling, current) : hashPair(current, sibling);
  }
  return current === leaf ? leaf.slice() : current;
}

/** True iff `proof` folds `leaf` to `root`. Malformed proofs throw (they are caller bugs, not forgeries). */
export function verifyProof(leaf: Uint8Array, proof: readonly ProofStep[], root: Uint8Array): boolean {
  assertHash(root, 'root');
  const folded = foldProof(leaf, proof);
  for (let i = 0; i < HASH_BYTES; i++) if (folded[i] !== root[i]) return false;
  return true;
}

/** Hashes of the complete aligned nodes of one level, from index `base` on, in one growable buffer. */
class Level {
  base: number;
  count = 0;
  bytes = new Uint8Array(LEVEL_CAPACITY_MIN_NODES * HASH_BYTES);

  constructor(base: number) {
    this.base = base;
  }

  get next(): number {
    return this.base + this.count;
  }

  get(index: number): Uint8Array | undefined {
    const offset = index - this.base;
    if (offset < 0 || offset >= this.count) return undefined;
    return this.bytes.subarray(offset * HASH_BYTES, (offset + 1) * HASH_BYTES);
  }

  push(node: Uint8Array): void {
    if ((this.count + 1) * HASH_BYTES > this.bytes.byteLength) {
      const grown = new Uint8Array(this.bytes.byteLength * 2);
      grown.set(this.bytes.subarray(0, this.count * HASH_BYTES));
      this.bytes = grown;
    }
    this.bytes.set(node, this.count * HASH_BYTES);
    this.count += 1;
  }

  /** Keeps nodes [base, end). */
  truncate(end: number): void {
    this.count = Math.max(0, Math.min(this.count, end - this.base));
  }

  /** Forgets nodes below `base`. */
  dropBelow(base: number): void {
    assert(base >= this.base, 'levels only move forward');
    const shift = Math.min(base - this.base, this.count);
    this.bytes.copyWithin(0, shift * HASH_BYTES, this.count * HASH_BYTES);
    this.count -= shift;
    this.base = base;
  }
}

const EMPTY = Symbol('empty Merkle tree');

export class MerkleTree {
  /** First leaf index still held; leaves below it are summarised by `#peaks`. */
  #from = 0;
  #size = 0;
  /** level → hash of the maximal aligned block of [0, from) at that level (one per set bit of from). */
  #peaks = new Map<number, Uint8Array>();
  #levels: Level[] = [];
  /** Right edges of recently used sizes: receipts come in bursts against the same signature's size. */
  #edges = new Map<number, Uint8Array[]>();

  /** A tree holding leaf 0 = 32 zero bytes. (The argument is internal, for `deserialize`.) */
  constructor(empty?: typeof EMPTY) {
    if (empty !== EMPTY) this.append(ZERO_LEAF);
  }

  /** Number of leaves, i.e. one more than the last seqno appended. */
  get size(): number {
    return this.#size;
  }

  /** Lowest leaf index that `leaf` and `proof` can still serve (0 unless compacted). */
  get firstIndex(): number {
    return this.#from;
  }

  append(leaf: Uint8Array): void {
    assertHash(leaf, 'leaf');
    if (this.#size - this.#from >= MERKLE_LEAVES_IN_MEMORY_MAX || this.#size >= MERKLE_SIZE_MAX) {
      throw new MerkleError('MERKLE_CAPACITY_EXCEEDED', 'the tree is full: compact it before appending');
    }
    this.#levelAt(0).push(leaf);
    this.#size += 1;
    // Each time the new node is a right child, its parent has just become complete.
    let index = this.#size - 1;
    for (let j = 0; index % 2 === 1; j++) {
      const parent = (index - 1) / 2;
      const upper = this.#levelAt(j + 1);
      assert(upper.next === parent, 'parent level is contiguous');
      const level = this.#levels[j]!;
      const offset = (index - 1 - level.base) * HASH_BYTES;
      // Both children stored side by side are already the 64 bytes to hash; otherwise the left is a peak.
      upper.push(offset >= 0 ? hash('sha256', level.bytes.subarray(offset, offset + 2 * HASH_BYTES), 'buffer') : hashPair(this.#node(j, index - 1), this.#node(j, index)));
      index = parent;
    }
  }

  leaf(index: number): Uint8Array {
    this.#checkIndex(index, this.#size);
    return this.#node(0, index).slice();
  }

  /** Root over leaves [0, size). */
  root(size: number = this.#size): Uint8Array {
    this.#checkSize(size);
    const edge = this.#rightEdge(size);
    return edge[edge.length - 1]!.slice();
  }

  /** Path of leaf `index` in the tree of `size` leaves, leaf side first. */
  proof(index: number, size: number = this.#size): ProofStep[] {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    const edge = this.#rightEdge(size);
    const steps: ProofStep[] = [];
    let i = index;
    let count = size;
    for (let j = 0; count > 1; j++) {
      if (i % 2 === 1) {
        steps.push({ left: this.#node(j, i - 1).slice() });
      } else if (i + 1 < count) {
        // Only the last node of a level can be partial; partial nodes come from the right edge.
        const complete = (i + 2) * 2 ** j <= size;
        steps.push({ right: (complete ? this.#node(j, i + 1) : edge[j]!).slice() });
      }
      i = Math.floor(i / 2);
      count = Math.ceil(count / 2);
    }
    return steps;
  }

  /** Drops leaves >= size (rollback). A size at or beyond the current size changes nothing. */
  truncate(size: number): void {
    if (!Number.isSafeInteger(size) || size < Math.max(1, this.#from)) {
      throw new MerkleError(
        'MERKLE_SIZE_OUT_OF_RANGE',
        `cannot truncate to ${size}: the tree keeps at least leaf 0 and cannot go below its compaction point ${this.#from}`,
      );
    }
    if (size >= this.#size) return;
    for (let j = 0; j < this.#levels.length; j++) this.#levels[j]!.truncate(Math.floor(size / 2 ** j));
    this.#size = size;
    for (const cached of this.#edges.keys()) if (cached > size) this.#edges.delete(cached);
  }

  /** Forgets leaves below `index`; roots of sizes >= index and proofs of leaves >= index still work. */
  compact(index: number): void {
    if (!Number.isSafeInteger(index) || index < this.#from || index > this.#size) {
      throw new MerkleError('MERKLE_INDEX_OUT_OF_RANGE', `cannot compact to ${index}: outside [${this.#from}, ${this.#size}]`);
    }
    const peaks = new Map<number, Uint8Array>();
    for (let j = 0; 2 ** j <= index; j++) {
      const blocks = Math.floor(index / 2 ** j);
      if (blocks % 2 === 1) peaks.set(j, this.#node(j, blocks - 1).slice());
    }
    for (let j = 0; j < this.#levels.length; j++) this.#levels[j]!.dropBelow(Math.floor(index / 2 ** j));
    this.#peaks = peaks;
    this.#from = index;
    this.#edges.clear();
  }

  /**
   * Compact form, for snapshots. Layout (little-endian): format u8 = 1, from u64, size u64, then the
   * peaks of [0, from) (32 bytes each, highest level first, i.e. left to right), then leaves
   * [from, size) (32 bytes each). `fromIndex` defaults to the tree's own compaction point.
   */
  serialize(fromIndex: number = this.#from): Uint8Array {
    if (!Number.isSafeInteger(fromIndex) || fromIndex < this.#from || fromIndex > this.#size) {
      throw new MerkleError('MERKLE_INDEX_OUT_OF_RANGE', `cannot serialize from ${fromIndex}: outside [${this.#from}, ${this.#size}]`);
    }
    const peakLevels = peakLevelsOf(fromIndex);
    const out = new Uint8Array(SERIAL_HEADER_BYTES + (peakLevels.length + this.#size - fromIndex) * HASH_BYTES);
    const view = new DataView(out.buffer);
    out[0] = SERIAL_FORMAT;
    view.setBigUint64(1, BigInt(fromIndex), true);
    view.setBigUint64(9, BigInt(this.#size), true);
    let offset = SERIAL_HEADER_BYTES;
    for (const j of peakLevels) {
      out.set(this.#node(j, Math.floor(fromIndex / 2 ** j) - 1), offset);
      offset += HASH_BYTES;
    }
    for (let i = fromIndex; i < this.#size; i++, offset += HASH_BYTES) out.set(this.#node(0, i), offset);
    assert(offset === out.byteLength, 'serialized length');
    return out;
  }

  static deserialize(bytes: Uint8Array): MerkleTree {
    const bad = (why: string) => new MerkleError('MERKLE_BAD_SERIALIZATION', `not a serialized Merkle tree: ${why}`);
    if (!(bytes instanceof Uint8Array) || bytes.byteLength < SERIAL_HEADER_BYTES) throw bad('too short');
    if (bytes[0] !== SERIAL_FORMAT) throw bad(`unknown format ${bytes[0]}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const from = Number(view.getBigUint64(1, true));
    const size = Number(view.getBigUint64(9, true));
    if (size < 1 || size > MERKLE_SIZE_MAX || from > size) throw bad(`from ${from}, size ${size}`);
    if (size - from > MERKLE_LEAVES_IN_MEMORY_MAX) throw bad(`${size - from} leaves is more than a tree holds`);
    const peakLevels = peakLevelsOf(from);
    const expected = SERIAL_HEADER_BYTES + (peakLevels.length + size - from) * HASH_BYTES;
    if (bytes.byteLength !== expected) throw bad(`length ${bytes.byteLength}, expected ${expected}`);
    const tree = new MerkleTree(EMPTY);
    let offset = SERIAL_HEADER_BYTES;
    for (const j of peakLevels) {
      tree.#peaks.set(j, bytes.slice(offset, offset + HASH_BYTES));
      offset += HASH_BYTES;
    }
    tree.#from = from;
    tree.#size = from;
    for (; offset < bytes.byteLength; offset += HASH_BYTES) tree.append(bytes.subarray(offset, offset + HASH_BYTES));
    assert(tree.#size === size, 'deserialized size');
    return tree;
  }

  #levelAt(j: number): Level {
    assert(j <= this.#levels.length, 'levels are created in order');
    if (j === this.#levels.length) this.#levels.push(new Level(Math.floor(this.#from / 2 ** j)));
    return this.#levels[j]!;
  }

  /** Hash of the complete node `i` at level `j` (a view into storage: copy before handing out). */
  #node(j: number, i: number): Uint8Array {
    const stored = this.#levels[j]?.get(i);
    if (stored !== undefined) return stored;
    const peak = this.#peaks.get(j);
    if (peak !== undefined && i === Math.floor(this.#from / 2 ** j) - 1) return peak;
    throw new Error(`merkle assertion failed: node ${i} at level ${j} is neither stored nor a peak`);
  }

  /**
   * Hashes of the last node of each level in the tree of `size` leaves, from the lowest level whose last
   * node is partial (below it they are complete and stored) up to the root (the last element).
   */
  #rightEdge(size: number): Uint8Array[] {
    const cached = this.#edges.get(size);
    if (cached !== undefined) return cached;
    let j = 0;
    while (size % 2 ** (j + 1) === 0) j++;
    const edge: Uint8Array[] = [];
    let count = size / 2 ** j;
    // A copy: stored nodes move when the tree is compacted.
    edge[j] = this.#node(j, count - 1).slice();
    for (; count > 1; j++) {
      const last = count - 1;
      edge[j + 1] = last % 2 === 1 ? hashPair(this.#node(j, last - 1), edge[j]!) : edge[j]!;
      count = Math.ceil(count / 2);
    }
    if (this.#edges.size >= EDGE_CACHE_SIZES_MAX) this.#edges.delete(this.#edges.keys().next().value!);
    this.#edges.set(size, edge);
    return edge;
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < Math.max(1, this.#from) || size > this.#size) {
      throw new MerkleError(
        'MERKLE_SIZE_OUT_OF_RANGE',
        `tree size ${size} is outside [${Math.max(1, this.#from)}, ${this.#size}]`,
      );
    }
  }

  #checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < this.#from || index >= size) {
      throw new MerkleError('MERKLE_INDEX_OUT_OF_RANGE', `leaf ${index} is outside [${this.#from}, ${size})`);
    }
  }
}

/** Levels of the peaks of [0, n): the set bits of n, highest first (left-to-right order of the blocks). */
function peakLevelsOf(n: number): number[] {
  const levels: number[] = [];
  for (let j = 0; 2 ** j <= n; j++) if (Math.floor(n / 2 ** j) % 2 === 1) levels.push(j);
  return levels.reverse();
}
