// The core's API contract: what it refuses (as values, not exceptions), what it asserts (programmer
// errors), how it restarts from storage, and the Ready/advance protocol, including writes still in
// progress when a rollback reaches into them.

import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.ts';
import { type RaftNode, createRaftNode } from './raft.ts';
import { Rng } from './rng.ts';
import type { AppendEntries, Entry, HardState, Message, Ready } from './types.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const entry = (term: number, index: number, isSignature = false, configuration?: string[]): Entry => ({
  term, index, isSignature, data: bytes(`${term}.${index}`), ...(configuration ? { configuration } : {}),
});
const genesis = entry(1, 1, true, ['1', '2', '3']);

function start(id: string, init: { hardState?: HardState; entries?: Entry[]; commit?: number } = {}) {
  const storage = new MemoryStorage({ hardState: init.hardState ?? { term: 1, votedFor: undefined }, entries: init.entries ?? [genesis] });
  const created = createRaftNode({ id, storage, rng: new Rng(Number(id)), commitIndex: init.commit ?? 1 });
  if (!created.ok) throw new Error(created.error);
  return { node: created.node, storage };
}

/** Processes Ready values synchronously until there are none; returns the messages sent. */
function drain(node: RaftNode, storage: MemoryStorage): Message[] {
  const sent: Message[] = [];
  while (node.hasReady()) {
    const rd = node.ready();
    storage.persist(rd);
    sent.push(...rd.messages);
    node.advance(rd);
  }
  return sent;
}

function singleNode() {
  const solo = entry(1, 1, true, ['1']);
  const { node, storage } = start('1', { entries: [solo] });
  node.campaign();
  drain(node, storage);
  return { node, storage };
}

function append(overrides: Partial<AppendEntries> = {}): AppendEntries {
  return { type: 'append', from: '2', to: '1', term: 2, prevIndex: 1, prevTerm: 1, entries: [], commit: 1, ...overrides };
}

describe('single-node network', () => {
  it('elects itself, asks for a signature, and commits only after its own durable write', () => {
    const { node, storage } = singleNode();
    expect(node.role).toBe('leader');
    expect(node.term).toBe(2);
    expect(node.needsSignature).toBe(true);
    expect(node.propose([entry(2, 2)])).toEqual({ ok: false, reason: 'signature-required' });
    expect(node.propose([entry(2, 2, true), entry(2, 3)])).toEqual({ ok: true, lastIndex: 3 });
    expect(node.commitIndex).toBe(1);
    const rd = node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(node.commitIndex).toBe(1); // not durable yet
    storage.persist(rd);
    node.advance(rd);
    expect(node.commitIndex).toBe(2); // the signature, not the entry after it
    const next = node.ready();
    expect(next.committedEntries.map((e) => e.index)).toEqual([2]);
    node.advance(next);
  });

  it('answers proposals it cannot take with a reason', () => {
    const { node, storage } = singleNode();
    node.propose([entry(2, 2, true)]);
    drain(node, storage);
    expect(node.propose([entry(2, 4)])).toEqual({ ok: false, reason: 'wrong-position', expected: { term: 2, index: 3 } });
    expect(node.propose([entry(1, 3)])).toMatchObject({ ok: false, reason: 'wrong-position' });
    expect(node.propose([{ ...entry(2, 3), configuration: [] }])).toEqual({ ok: false, reason: 'invalid-configuration' });
    expect(node.propose([{ ...entry(2, 3), configuration: ['1', '1'] }])).toEqual({ ok: false, reason: 'invalid-configuration' });
    const follower = start('2').node;
    expect(follower.propose([entry(1, 2)])).toEqual({ ok: false, reason: 'not-leader' });
  });

  it('applies back-pressure to entries but never to signatures', () => {
    const solo = entry(1, 1, true, ['1']);
    const storage = new MemoryStorage({ hardState: { term: 1, votedFor: undefined }, entries: [solo] });
    const created = createRaftNode({ id: '1', storage, rng: new Rng(1), commitIndex: 1, limits: { uncommittedEntriesMax: 3 } });
    if (!created.ok) throw new Error(created.error);
    const node = created.node;
    node.campaign();
    drain(node, storage);
    expect(node.propose([entry(2, 2, true), entry(2, 3), entry(2, 4)]).ok).toBe(true);
    expect(node.propose([entry(2, 5)])).toEqual({ ok: false, reason: 'too-many-uncommitted' });
    expect(node.propose([entry(2, 5, true)]).ok).toBe(true);
  });
});

describe('messages from peers', () => {
  it('drops malformed messages with a reason', () => {
    const { node } = start('1');
    const bad: unknown[] = [
      null,
      { ...append(), type: 'nonsense' },
      append({ term: -1 }),
      append({ prevTerm: 3 }),
      append({ entries: [entry(2, 3)] }), // gap after prevIndex 1
      append({ entries: [entry(3, 2)] }), // entry term beyond the message term
      append({ entries: [entry(2, 2), entry(1, 3)] }), // terms going backwards
      append({ entries: [{ ...entry(2, 2), data: 'x' as unknown as Uint8Array }] }),
      append({ entries: [{ ...entry(2, 2), configuration: ['1', '1'] }] }),
      { type: 'append-response', from: '2', to: '1', term: 2, success: false, rejectedIndex: 3, hintIndex: 4, hintTerm: 1, commit: 0 },
      { type: 'vote', from: '2', to: '1', term: 2, preVote: false, transfer: false, lastSignatureIndex: 1, lastSignatureTerm: 3 },
      { type: 'vote', from: '1', to: '1', term: 2, preVote: false, transfer: false, lastSignatureIndex: 1, lastSignatureTerm: 1 },
    ];
    for (const m of bad) expect(node.step(m as Message)).toEqual({ ok: false, reason: 'malformed' });
    expect(node.term).toBe(1);
    expect(node.step(append({ to: '3' }))).toEqual({ ok: false, reason: 'misaddressed' });
  });

  it('answers a stale leader with its own term so that the stale leader steps down', () => {
    const { node, storage } = start('1', { hardState: { term: 5, votedFor: undefined } });
    expect(node.step(append({ term: 3 }))).toEqual({ ok: false, reason: 'stale-term' });
    const [reply] = drain(node, storage);
    expect(reply).toMatchObject({ type: 'append-response', success: false, term: 5, to: '2' });
  });

  it('ignores campaigns while it heard from a leader within the election timeout', () => {
    const { node, storage } = start('1');
    node.step(append());
    drain(node, storage);
    const vote: Message = { type: 'vote', from: '3', to: '1', term: 3, preVote: true, transfer: false, lastSignatureIndex: 1, lastSignatureTerm: 1 };
    expect(node.step(vote)).toEqual({ ok: false, reason: 'in-lease' });
    expect(node.step({ ...vote, preVote: false, transfer: true })).toEqual({ ok: true });
    expect(node.term).toBe(3);
  });

  it('grants votes by the last signature, not the last entry', () => {
    // 1 holds 2.2 (a signature) and two unsigned entries after it.
    const { node, storage } = start('1', { hardState: { term: 2, votedFor: undefined }, entries: [genesis, entry(2, 2, true), entry(2, 3), entry(2, 4)] });
    const ask = (lastSignatureIndex: number, lastSignatureTerm: number, from: string): boolean => {
      node.step({ type: 'vote', from, to: '1', term: 3, preVote: true, transfer: false, lastSignatureIndex, lastSignatureTerm });
      const reply = drain(node, storage).find((m) => m.type === 'vote-response');
      return reply?.type === 'vote-response' && reply.granted;
    };
    expect(ask(2, 2, '2')).toBe(true); // shorter log, same last signature
    expect(ask(1, 1, '3')).toBe(false); // older signature
  });
});

describe('restarting from storage', () => {
  it('refuses storage that fails validation, saying why', () => {
    const fails = (init: { hardState?: HardState; entries: Entry[] }, commit: number, pattern: RegExp) => {
      const storage = new MemoryStorage({ hardState: init.hardState ?? { term: 3, votedFor: undefined }, entries: init.entries });
      const created = createRaftNode({ id: '1', storage, rng: new Rng(1), commitIndex: commit });
      expect(created.ok).toBe(false);
      if (!created.ok) expect(created.error).toMatch(pattern);
    };
    fails({ entries: [genesis] }, 2, /beyond the last entry/);
    fails({ entries: [genesis, entry(1, 2)] }, 2, /not at a signature/);
    fails({ entries: [genesis, entry(1, 3)] }, 1, /says index 3/);
    fails({ entries: [genesis, entry(2, 2), entry(1, 3)] }, 1, /term 1 after term 2/);
    fails({ entries: [genesis], hardState: { term: -1, votedFor: undefined } }, 1, /term/);
    fails({ entries: [{ ...genesis, data: 'x' as unknown as Uint8Array }] }, 0, /data is not bytes/);
  });

  it('takes the term of a durable entry newer than the durable hard state, without a vote', () => {
    const { node } = start('1', { hardState: { term: 2, votedFor: '2' }, entries: [genesis, entry(3, 2)] });
    expect(node.term).toBe(3);
    expect(node.status().votedFor).toBeUndefined();
  });

  it('restores the commit index the driver recorded and re-delivers committed entries after applied', () => {
    const storage = new MemoryStorage({ hardState: { term: 2, votedFor: undefined }, entries: [genesis, entry(2, 2, true), entry(2, 3), entry(2, 4, true)] });
    const created = createRaftNode({ id: '1', storage, rng: new Rng(1), commitIndex: 4, appliedIndex: 2 });
    if (!created.ok) throw new Error(created.error);
    const rd = created.node.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([3, 4]);
    expect(createRaftNode({ id: '1', storage, rng: new Rng(1), commitIndex: 2, appliedIndex: 4 }).ok).toBe(false);
  });
});

describe('the Ready protocol', () => {
  it('asserts on misuse: a second ready() before advance(), or advance() of another Ready', () => {
    const { node } = start('1');
    node.campaign();
    const rd = node.ready();
    expect(() => node.ready()).toThrow(/before advance/);
    const forged: Ready = { ...rd };
    expect(() => node.advance(forged)).toThrow(/not the outstanding one/);
    node.advance(rd);
  });

  it('reports a rollback that reaches into entries handed out but not yet durable', () => {
    const { node, storage } = start('1');
    // A leader of term 2 sends 2.2..2.4; the driver starts writing them.
    node.step(append({ entries: [entry(2, 2, true), entry(2, 3), entry(2, 4)], commit: 1 }));
    const writing = node.ready();
    expect(writing.entries.map((e) => `${e.term}.${e.index}`)).toEqual(['2.2', '2.3', '2.4']);
    expect(writing.hardState).toEqual({ term: 2, votedFor: undefined });
    // Before the write completes, a leader of term 3 replaces 2.3 and 2.4.
    node.step(append({ from: '3', term: 3, prevIndex: 2, prevTerm: 2, entries: [entry(3, 3, true)], commit: 1 }));
    storage.persist(writing);
    node.advance(writing);
    expect(node.status().persistedIndex).toBe(2);
    const next = node.ready();
    expect(next.truncateAfter).toBe(2);
    expect(next.entries.map((e) => `${e.term}.${e.index}`)).toEqual(['3.3']);
    storage.persist(next);
    node.advance(next);
    expect(storage.entries(1, 4).map((e) => `${e.term}.${e.index}`)).toEqual(['1.1', '2.2', '3.3']);
    expect(node.status().persistedIndex).toBe(3);
  });

  it('acknowledges only what matched the leader, never a stale suffix', () => {
    const { node, storage } = start('1', { hardState: { term: 2, votedFor: undefined }, entries: [genesis, entry(2, 2, true), entry(2, 3), entry(2, 4)] });
    node.step(append({ term: 3, from: '3', prevIndex: 2, prevTerm: 2, entries: [] }));
    const [reply] = drain(node, storage);
    expect(reply).toMatchObject({ type: 'append-response', success: true, matchIndex: 2 });
  });

  it('answers a failed consistency check with a hint that skips a whole term', () => {
    const { node, storage } = start('1', {
      hardState: { term: 2, votedFor: undefined },
      entries: [genesis, entry(2, 2, true), entry(2, 3), entry(2, 4), entry(2, 5), entry(2, 6)],
    });
    node.step(append({ term: 4, from: '3', prevIndex: 9, prevTerm: 4 }));
    let [reply] = drain(node, storage);
    expect(reply).toMatchObject({ success: false, rejectedIndex: 9, hintIndex: 6, hintTerm: 2 });
    node.step(append({ term: 4, from: '3', prevIndex: 6, prevTerm: 3 }));
    [reply] = drain(node, storage);
    expect(reply).toMatchObject({ success: false, rejectedIndex: 6, hintIndex: 6, hintTerm: 2 });
    node.step(append({ term: 4, from: '3', prevIndex: 5, prevTerm: 1 }));
    [reply] = drain(node, storage);
    expect(reply).toMatchObject({ success: false, rejectedIndex: 5, hintIndex: 1, hintTerm: 1 });
  });
});
