// The driver (replicated.ts) between the Raft core and a host whose disk is slow: what it reports as
// committed must always be entries the host holds durably, in the core's version of the log.

import { describe, expect, it } from 'vitest';
import { ReplicatedConsensus, type DriverHooks } from './replicated.ts';
import type { Entry, Message } from './raft/types.ts';

const VOTERS = ['1', '2', '3'];

function entry(term: number, index: number, isSignature = false, configuration?: string[]): Entry {
  return { term, index, isSignature, data: new Uint8Array([term, index]), ...(configuration ? { configuration } : {}) };
}

/** A host whose flushes complete only when the test says so; every call is recorded in order. */
function slowHost() {
  const events: string[] = [];
  const ledger: Entry[] = [];
  let flushRequested = false;
  const hooks: DriverHooks = {
    append: (e) => {
      ledger.length = e.index - 1;
      ledger.push(e);
      events.push(`append ${e.term}.${e.index}`);
    },
    truncate: async (seqno) => {
      events.push(`truncate ${seqno}`);
      ledger.length = Math.min(ledger.length, seqno);
    },
    flush: () => {
      flushRequested = true;
    },
    writeHardState: async () => {},
    send: (_m: Message) => {},
    appended: () => {},
    truncated: () => {},
    roleChanged: () => {},
    log: () => {},
    fatal: (message) => {
      throw new Error(message);
    },
  };
  return {
    hooks, events, ledger,
    get flushRequested() {
      return flushRequested;
    },
    takeFlush() {
      const was = flushRequested;
      flushRequested = false;
      return was;
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('ReplicatedConsensus on a slow disk', () => {
  it('reports no commit over entries a pending truncation is about to replace', async () => {
    // Follower 2 holds 1..4 of term 1 durably (2 and 4 signatures), committed up to 2.
    const initial = [entry(1, 1, false, VOTERS), entry(1, 2, true), entry(1, 3), entry(1, 4, true)];
    const host = slowHost();
    host.ledger.push(...initial);
    const node = new ReplicatedConsensus({
      nodeId: '2', entries: initial, hardState: { term: 1, votedFor: '1' }, commitIndex: 2, hooks: host.hooks, seed: 7,
    });
    const reported: number[] = [];
    node.onCommit((seqno) => {
      reported.push(seqno);
      host.events.push(`commit ${seqno}`);
    });

    // Leader 1 (term 1) sends 5 and 6; the follower appends them and waits for its disk.
    node.step({ type: 'append', from: '1', to: '2', term: 1, prevIndex: 4, prevTerm: 1, entries: [entry(1, 5), entry(1, 6)], commit: 2 });
    await settle();
    expect(host.takeFlush()).toBe(true);

    // Meanwhile a new leader (3, term 2) replaces 3..6 with its own 3 and 4 (a signature) and has
    // committed 4. The core rolls back to 2 at once; the host has not truncated anything yet.
    node.step({
      type: 'append', from: '3', to: '2', term: 2, prevIndex: 2, prevTerm: 1,
      entries: [entry(2, 3), entry(2, 4, true)], commit: 4,
    });
    // The disk finishes the old batch (old 5 and 6 durable): nothing new may be reported committed,
    // because the host's 3..6 are the replaced entries.
    node.onLocalDurable(6);
    await settle();
    expect(reported.filter((s) => s > 2), host.events.join('\n')).toEqual([]);

    // The next Ready truncates to 2 and appends the new 3 and 4; once those are durable, 4 commits.
    await settle();
    expect(host.events).toContain('truncate 2');
    expect(host.takeFlush()).toBe(true);
    node.onLocalDurable(4);
    await settle();
    expect(reported).toContain(4);
    // And in the host's order of events, the commit of 4 comes after the truncation and the new 4.
    const order = host.events.filter((e) => e === 'truncate 2' || e === 'append 2.4' || e === 'commit 4');
    expect(order).toEqual(['truncate 2', 'append 2.4', 'commit 4']);
    expect(host.ledger.map((e) => `${e.term}.${e.index}`)).toEqual(['1.1', '1.2', '2.3', '2.4']);
  });
});
