// CCF's ledger Merkle tree (DESIGN.md "Merkle tree"), kept incrementally for auditing: SHA-256,
// inner node H(left ‖ right), an odd last node promoted unchanged. Leaf 0 is 32 zero bytes and
// leaf i is transaction i's leaf; the signature at seqno s signs the root over leaves 0..s-1 (checked
// against every signature in the real ledgers). With odd nodes promoted, the tree over n leaves is a
// left-to-right sequence of perfect subtrees ("peaks", sizes from n's binary digits), and the root
// is the peaks folded from the right: H(p1, H(p2, … H(pk-1, pk))). So appending is amortised O(1)
// hashes and a root costs O(log n), where rebuilding the tree would cost O(n) per signature.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../verify/encoding.ts';

interface Peak {
  hash: Uint8Array;
  /** log2 of the number of leaves under this peak. */
  height: number;
}

export class IncrementalMerkleTree {
  private readonly peaks: Peak[] = [];
  private leafCount = 0;

  get size(): number {
    return this.leafCount;
  }

  append(leaf: Uint8Array): void {
    if (!(leaf instanceof Uint8Array) || leaf.length !== 32) throw new TypeError('a leaf is a 32-byte digest');
    this.peaks.push({ hash: leaf, height: 0 });
    this.leafCount++;
    for (;;) {
      const n = this.peaks.length;
      if (n < 2 || this.peaks[n - 1]!.height !== this.peaks[n - 2]!.height) break;
      const right = this.peaks.pop()!;
      const left = this.peaks.pop()!;
      this.peaks.push({ hash: sha256(concatBytes(left.hash, right.hash)), height: left.height + 1 });
    }
  }

  /** Root over all leaves appended so far; throws on an empty tree. */
  root(): Uint8Array {
    if (this.peaks.length === 0) throw new RangeError('an empty tree has no root');
    let acc = this.peaks[this.peaks.length - 1]!.hash;
    for (let i = this.peaks.length - 2; i >= 0; i--) acc = sha256(concatBytes(this.peaks[i]!.hash, acc));
    return acc;
  }
}
