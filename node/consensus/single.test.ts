import { describe, expect, it } from 'vitest';
import { SingleNodeConsensus } from './single.ts';
import type { ReplicatedEntry } from './seam.ts';

function setup(view = 1) {
  const appended: ReplicatedEntry[] = [];
  let flushes = 0;
  const consensus = new SingleNodeConsensus('n0', { append: (e) => appended.push(e), flush: () => flushes++ }, {
    view, lastSeqno: 0, commitSeqno: 0, views: [],
  });
  const commits: number[] = [];
  consensus.onCommit((s) => commits.push(s));
  return { consensus, appended, commits, flushes: () => flushes };
}

const entry = (seqno: number, isSignature = false, view = 1): ReplicatedEntry => ({ seqno, view, bytes: new Uint8Array([seqno]), isSignature });

describe('single-node consensus', () => {
  it('commits only up to the last durable signature', () => {
    const { consensus, commits } = setup();
    consensus.replicate([entry(1), entry(2, true), entry(3), entry(4), entry(5, true), entry(6)]);
    consensus.onLocalDurable(1);
    expect(consensus.commitSeqno).toBe(0);
    consensus.onLocalDurable(4);
    expect(consensus.commitSeqno).toBe(2);
    consensus.onLocalDurable(6);
    expect(consensus.commitSeqno).toBe(5);
    expect(commits).toEqual([2, 5]);
  });

  it('refuses gaps and entries from another view', () => {
    const { consensus } = setup();
    consensus.replicate([entry(1)]);
    expect(() => consensus.replicate([entry(3)])).toThrow(/after 1/);
    expect(() => consensus.replicate([entry(2, false, 2)])).toThrow(/view/);
  });

  it('knows the view of every seqno across restarts', () => {
    const appended: ReplicatedEntry[] = [];
    const consensus = new SingleNodeConsensus('n0', { append: (e) => appended.push(e), flush: () => {} }, {
      view: 3, lastSeqno: 10, commitSeqno: 10, views: [{ view: 1, startSeqno: 1 }, { view: 2, startSeqno: 6 }],
    });
    consensus.replicate([entry(11, true, 3)]);
    expect(consensus.viewOf(5)).toBe(1);
    expect(consensus.viewOf(6)).toBe(2);
    expect(consensus.viewOf(11)).toBe(3);
    expect(consensus.viewOf(12)).toBeUndefined();
    expect(consensus.viewOf(0)).toBeUndefined();
  });
});
