import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { IncrementalMerkleTree } from '../../src/index.ts';
import { treeRoot } from '../helpers/service.ts';

const leaf = (i: number) => sha256(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 7));

describe('IncrementalMerkleTree', () => {
  it('matches the naive level-by-level tree (odd node promoted) after every append', () => {
    const tree = new IncrementalMerkleTree();
    const leaves: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      tree.append(leaf(i));
      leaves.push(leaf(i));
      expect(tree.root()).toEqual(treeRoot(leaves));
    }
    expect(tree.size).toBe(300);
  });

  it('property: same root as the naive model for any leaf sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 70 }), (leaves) => {
        const tree = new IncrementalMerkleTree();
        leaves.forEach((l) => tree.append(l));
        expect(tree.root()).toEqual(treeRoot(leaves));
      }),
      { seed: 3, numRuns: 200 },
    );
  });

  it('rejects bad input and has no root when empty', () => {
    const tree = new IncrementalMerkleTree();
    expect(() => tree.root()).toThrow(RangeError);
    expect(() => tree.append(new Uint8Array(31))).toThrow(TypeError);
  });
});
