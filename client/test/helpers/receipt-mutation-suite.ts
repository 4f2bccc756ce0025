// Exhaustive single-change tests on the two real CCF receipts: every hex character of every digest,
// every character of the commit evidence and node_id, every proof step swapped or removed. Each
// change must make verification fail; the test also records which check caught it.
import { describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../src/index.ts';
import { realReceipt } from './conformance.ts';
import { clone, flipChar, outcome } from './mutate.ts';

type Mutation = { what: string; receipt: any };

function* fieldMutations(base: any): Generator<Mutation> {
  for (const field of ['write_set_digest', 'claims_digest', 'commit_evidence'] as const) {
    const value: string = base.leaf_components[field];
    for (let i = 0; i < value.length; i++) {
      const r = clone(base);
      r.leaf_components[field] = flipChar(value, i);
      yield { what: `${field}[${i}]`, receipt: r };
    }
  }
  for (let i = 0; i < base.node_id.length; i++) {
    yield { what: `node_id[${i}]`, receipt: { ...clone(base), node_id: flipChar(base.node_id, i) } };
  }
}

function* proofStructureMutations(base: any): Generator<Mutation> {
  for (let k = 0; k < base.proof.length; k++) {
    const step = base.proof[k];
    const swapped = clone(base);
    swapped.proof[k] = 'left' in step ? { right: step.left } : { left: step.right };
    yield { what: `proof[${k}] side swapped`, receipt: swapped };
    const removed = clone(base);
    removed.proof.splice(k, 1);
    yield { what: `proof[${k}] removed`, receipt: removed };
  }
  const extra = clone(base);
  extra.proof.push({ right: '00'.repeat(32) });
  yield { what: 'proof step appended', receipt: extra };
  const reversed = clone(base);
  reversed.proof.reverse();
  yield { what: 'proof reversed', receipt: reversed };
}

function* proofHashMutations(base: any, stepIndex: number): Generator<Mutation> {
  const step = base.proof[stepIndex];
  const side = 'left' in step ? 'left' : 'right';
  for (let i = 0; i < step[side].length; i++) {
    const r = clone(base);
    r.proof[stepIndex][side] = flipChar(step[side], i);
    yield { what: `proof[${stepIndex}].${side}[${i}]`, receipt: r };
  }
}

function expectAllRejected(mutations: Iterable<Mutation>): Record<string, number> {
  const byCode: Record<string, number> = {};
  const accepted: string[] = [];
  for (const m of mutations) {
    const code = outcome(() => verifyReceipt(m.receipt));
    if (code === 'ACCEPTED') accepted.push(m.what);
    byCode[code] = (byCode[code] ?? 0) + 1;
  }
  expect(accepted).toEqual([]);
  return byCode;
}

export function receiptMutationSuite(name: string, part: 'fields' | 'proof'): void {
  describe(name, () => {
    const base = realReceipt(name);

    it('the unmodified receipt verifies (control)', () => {
      expect(outcome(() => verifyReceipt(clone(base)))).toBe('ACCEPTED');
    });

    if (part === 'fields') it('every character of write_set_digest, claims_digest, commit_evidence and node_id matters', () => {
      const byCode = expectAllRejected(fieldMutations(base));
      const total = Object.values(byCode).reduce((a, b) => a + b, 0);
      expect(total).toBe(64 + 64 + base.leaf_components.commit_evidence.length + 64);
      expect(byCode.RECEIPT_NODE_ID_MISMATCH).toBe(64);
    });

    if (part === 'fields') it('swapping the side of any step, removing any step, appending or reordering fails', () => {
      const byCode = expectAllRejected(proofStructureMutations(base));
      expect(byCode.RECEIPT_BAD_SIGNATURE).toBe(2 * base.proof.length + 2);
    });

    const stepIndexes: number[] = base.proof.map((_: unknown, k: number) => k);
    if (part === 'proof') it.each(stepIndexes)('every hex character of proof[%i] matters', (k) => {
      const byCode = expectAllRejected(proofHashMutations(base, k));
      expect(byCode).toEqual({ RECEIPT_BAD_SIGNATURE: 64 });
    });
  });
}
