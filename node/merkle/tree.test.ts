import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MerkleError } from './errors.ts';
import { MerkleTree, foldProof, verifyProof, type ProofStep } from './tree.ts';

const h = (...parts: Uint8Array[]) => {
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return new Uint8Array(hasher.digest());
};
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const leafOf = (n: number) => h(new TextEncoder().encode(`leaf ${n}`));

// Naive model, written the way CCF describes its tree: build level by level, pairing neighbours and
// promoting an odd last node unchanged. The implementation splits at powers of two instead.
function naiveLevels(leaves: Uint8Array[]): Uint8Array[][] {
  const levels = [leaves];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const above: Uint8Array[] = [];
    for (let i = 0; i < below.length; i += 2) above.push(i + 1 < below.length ? h(below[i]!, below[i + 1]!) : below[i]!);
    levels.push(above);
  }
  return levels;
}
const naiveRoot = (leaves: Uint8Array[]) => naiveLevels(leaves).at(-1)![0]!;
function naiveProof(leaves: Uint8Array[], index: number): ProofStep[] {
  const steps: ProofStep[] = [];
  let i = index;
  for (const level of naiveLevels(leaves).slice(0, -1)) {
    if (i % 2 === 1) steps.push({ left: level[i - 1]! });
    else if (i + 1 < level.length) steps.push({ right: level[i + 1]! });
    i = Math.floor(i / 2);
  }
  return steps;
}

function buildTree(count: number): { tree: MerkleTree; leaves: Uint8Array[] } {
  const tree = new MerkleTree();
  const leaves = [new Uint8Array(32)];
  for (let n = 1; n < count; n++) {
    const leaf = leafOf(n);
    tree.append(leaf);
    leaves.push(leaf);
  }
  return { tree, leaves };
}

const stepsHex = (proof: ProofStep[]) => proof.map((s) => ('left' in s ? `L${hex(s.left)}` : `R${hex(s.right)}`));

describe('MerkleTree shape (CCF: promote odd last node, leaf 0 = zeros)', () => {
  it('starts with one zero leaf and hashes pairs without prefixes', () => {
    const tree = new MerkleTree();
    const zero = new Uint8Array(32);
    expect(tree.size).toBe(1);
    expect(hex(tree.root())).toBe(hex(zero));
    const l1 = leafOf(1);
    const l2 = leafOf(2);
    tree.append(l1);
    expect(hex(tree.root())).toBe(hex(h(zero, l1)));
    tree.append(l2);
    // The odd third leaf is promoted, not hashed on its own.
    expect(hex(tree.root())).toBe(hex(h(h(zero, l1), l2)));
    expect(tree.proof(2)).toEqual([{ left: h(zero, l1) }]);
    expect(tree.proof(0)).toEqual([{ right: l1 }, { right: l2 }]);
  });

  it('root(size) equals the naive recomputation for every past size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5 }), (count, stride) => {
        const { tree, leaves } = buildTree(count);
        for (let size = count; size >= 1; size -= stride) {
          expect(hex(tree.root(size))).toBe(hex(naiveRoot(leaves.slice(0, size))));
        }
      }),
      { numRuns: 25 },
    );
  });

  it('proof(index, size) equals the naive path and folds to root(size)', () => {
    const { tree, leaves } = buildTree(700);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 700 }), fc.nat(), (size, seed) => {
        const index = seed % size;
        const proof = tree.proof(index, size);
        expect(stepsHex(proof)).toEqual(stepsHex(naiveProof(leaves.slice(0, size), index)));
        expect(hex(foldProof(leaves[index]!, proof))).toBe(hex(tree.root(size)));
      }),
      { numRuns: 300 },
    );
  });

  it('a proof verifies if and only if leaf, proof and root are unmodified', () => {
    const { tree, leaves } = buildTree(300);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 300 }), fc.nat(), fc.nat(), fc.nat(255), (size, seed, where, bit) => {
        const index = seed % size;
        const proof = tree.proof(index, size);
        const root = tree.root(size);
        const leaf = tree.leaf(index);
        expect(verifyProof(leaf, proof, root)).toBe(true);
        const flip = (bytes: Uint8Array) => {
          const copy = bytes.slice();
          copy[bit >> 3]! ^= 1 << (bit & 7);
          return copy;
        };
        expect(verifyProof(flip(leaf), proof, root)).toBe(false);
        expect(verifyProof(leaf, proof, flip(root))).toBe(false);
        const k = where % proof.length;
        const step = proof[k]!;
        const flipped = proof.map((s, i) =>
          i !== k ? s : 'left' in s ? { left: flip(s.left) } : { right: flip(s.right) },
        );
        expect(verifyProof(leaf, flipped, root)).toBe(false);
        const swapped = proof.map((s, i) => (i !== k ? s : 'left' in step ? { right: step.left } : { left: step.right }));
        expect(verifyProof(leaf, swapped, root)).toBe(false);
        expect(verifyProof(leaf, proof.slice(0, -1), root)).toBe(false);
        expect(leaves[index]).toEqual(leaf);
      }),
      { numRuns: 200 },
    );
  });

  it('truncate then re-append equals building fresh', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.integer({ min: 0, max: 100 }), (count, seed, extra) => {
        const { tree } = buildTree(count);
        const cut = 1 + (seed % count);
        for (let size = cut; size <= count; size++) tree.proof(0, size); // warm the right-edge cache
        tree.truncate(cut);
        expect(tree.size).toBe(cut);
        const other = randomBytes(32);
        const fresh = buildTree(cut).tree;
        for (let n = 0; n < extra; n++) {
          tree.append(h(other, leafOf(n)));
          fresh.append(h(other, leafOf(n)));
        }
        expect(tree.size).toBe(fresh.size);
        expect(hex(tree.root())).toBe(hex(fresh.root()));
        const index = seed % tree.size;
        expect(stepsHex(tree.proof(index))).toEqual(stepsHex(fresh.proof(index)));
      }),
      { numRuns: 60 },
    );
  });

  it('rejects bad leaves, sizes and indexes with stable codes', () => {
    const { tree } = buildTree(10);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(MerkleError);
        return (error as MerkleError).code;
      }
      return 'none';
    };
    expect(code(() => tree.append(new Uint8Array(31)))).toBe('MERKLE_INVALID_LEAF');
    expect(code(() => tree.root(0))).toBe('MERKLE_SIZE_OUT_OF_RANGE');
    expect(code(() => tree.root(11))).toBe('MERKLE_SIZE_OUT_OF_RANGE');
    expect(code(() => tree.proof(5, 5))).toBe('MERKLE_INDEX_OUT_OF_RANGE');
    expect(code(() => tree.proof(-1))).toBe('MERKLE_INDEX_OUT_OF_RANGE');
    expect(code(() => tree.proof(1.5))).toBe('MERKLE_INDEX_OUT_OF_RANGE');
    expect(code(() => tree.truncate(0))).toBe('MERKLE_SIZE_OUT_OF_RANGE');
    expect(code(() => foldProof(leafOf(1), [{ left: new Uint8Array(3) }]))).toBe('MERKLE_INVALID_PROOF');
    expect(code(() => foldProof(leafOf(1), [{} as ProofStep]))).toBe('MERKLE_INVALID_PROOF');
    expect(tree.size).toBe(10);
  });

  it('hands out copies: mutating a returned proof or root does not corrupt the tree', () => {
    const { tree, leaves } = buildTree(9);
    const before = hex(tree.root(7));
    const proof = tree.proof(3, 7);
    for (const step of proof) ('left' in step ? step.left : step.right).fill(0);
    tree.root(7).fill(0);
    tree.root().fill(0);
    expect(hex(tree.root(7))).toBe(before);
    expect(hex(tree.root())).toBe(hex(naiveRoot(leaves)));
  });
});

describe('MerkleTree compaction and serialization', () => {
  it('compact keeps every root and proof at or above the compaction point', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 160 }), fc.nat(), fc.integer({ min: 0, max: 40 }), (count, seed, extra) => {
        const { tree, leaves } = buildTree(count);
        const from = seed % (count + 1);
        tree.root(count); // warm the right-edge cache, which compaction must not leave stale
        tree.compact(from);
        expect(tree.firstIndex).toBe(from);
        for (let n = 0; n < extra; n++) {
          tree.append(leafOf(1000 + n));
          leaves.push(leafOf(1000 + n));
        }
        const stride = 1 + (seed % 9);
        for (let size = Math.max(1, from); size <= leaves.length; size += stride) {
          expect(hex(tree.root(size))).toBe(hex(naiveRoot(leaves.slice(0, size))));
        }
        for (let index = from; index < leaves.length; index += stride) {
          const size = index + 1 + ((seed + index) % (leaves.length - index));
          expect(stepsHex(tree.proof(index, size))).toEqual(stepsHex(naiveProof(leaves.slice(0, size), index)));
        }
        if (from > 0) expect(() => tree.leaf(from - 1)).toThrow(MerkleError);
      }),
      { numRuns: 30 },
    );
  });

  it('serialize/deserialize round-trips from any point and keeps growing identically', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.integer({ min: 0, max: 40 }), (count, seed, extra) => {
        const { tree } = buildTree(count);
        const from = seed % (count + 1);
        const bytes = tree.serialize(from);
        expect(bytes.byteLength).toBe(17 + 32 * (popcount(from) + count - from));
        const copy = MerkleTree.deserialize(bytes);
        expect(copy.size).toBe(count);
        expect(copy.firstIndex).toBe(from);
        expect(hex(copy.serialize())).toBe(hex(bytes));
        for (let n = 0; n < extra; n++) {
          tree.append(leafOf(500 + n));
          copy.append(leafOf(500 + n));
        }
        expect(hex(copy.root())).toBe(hex(tree.root()));
        for (let index = from; index < tree.size; index += 7) {
          expect(stepsHex(copy.proof(index))).toEqual(stepsHex(tree.proof(index)));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('deserialize rejects corrupt input with MERKLE_BAD_SERIALIZATION, never another error', () => {
    const good = buildTree(37).tree.serialize(5);
    const corruptions = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.nat(good.byteLength - 1), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
        const copy = good.slice();
        copy[at]! ^= xor;
        return copy;
      }),
      fc.nat(good.byteLength - 1).map((cut) => good.slice(0, cut)),
    );
    fc.assert(
      fc.property(corruptions, (bytes) => {
        try {
          MerkleTree.deserialize(bytes);
        } catch (error) {
          expect((error as MerkleError).code).toBe('MERKLE_BAD_SERIALIZATION');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('MerkleTree at scale', () => {
  it('serves proofs against past sizes in O(log n) on a large tree', () => {
    const count = 1 << 17;
    const tree = new MerkleTree();
    const leaf = new Uint8Array(32);
    for (let n = 1; n < count; n++) {
      leaf[0] = n & 255;
      leaf[1] = (n >> 8) & 255;
      leaf[2] = n >> 16;
      tree.append(leaf);
    }
    const started = performance.now();
    let checked = 0;
    for (let k = 0; k < 2000; k++) {
      const size = 1 + ((k * 7919 + 13) % count);
      const index = (k * 104729) % size;
      const proof = tree.proof(index, size);
      if (k % 50 === 0) {
        expect(verifyProof(tree.leaf(index), proof, tree.root(size))).toBe(true);
        checked++;
      }
    }
    const perProofMs = (performance.now() - started) / 2000;
    expect(checked).toBe(40);
    // A linear-time proof would cost milliseconds at this size; O(log n) costs tens of microseconds.
    expect(perProofMs).toBeLessThan(1);
  });
});

function popcount(n: number): number {
  let bits = 0;
  for (; n > 0; n = Math.floor(n / 2)) bits += n % 2;
  return bits;
}
