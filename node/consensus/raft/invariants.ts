// Safety invariants of Raft with CCF's rules, checked from outside the core while a test runs. The
// checker mirrors every node's log through the core's observer hooks and keeps a global record of what
// has ever been committed; each hook checks one rule incrementally, so the scenario interpreter and the
// simulator can afford to check after every single step:
//   - election safety: at most one leader per term;
//   - log matching: an (index, term) position holds the same entry, after the same previous term, on
//     every node and at every time (so equal positions imply equal prefixes);
//   - leader completeness: a new leader's log (after its rollback) holds every committed entry;
//   - commit rule: a commit index is always a signature entry, and a leader's is of its own term;
//   - committed entries never change or disappear: every node that commits an index commits the same
//     entry there, no node rolls back an entry that was committed, and commit never decreases within a
//     node's life (a stale leader may still append its own entries at indices committed elsewhere:
//     that is allowed, as long as nobody commits them);
//   - state machine safety: no two nodes apply different entries at one index, and each applies in order.

import type { Entry, HardState, NodeId, RaftObserver, Role } from './types.ts';

interface Slot {
  readonly term: number;
  readonly key: string;
  readonly isSignature: boolean;
}

interface NodeMirror {
  log: Slot[]; // log[i - 1] is index i
  commit: number;
  applied: number;
  role: Role;
  term: number;
}

/** A printable identity for an entry: its flags and data (tests put a unique label in the data). */
export function entryKey(e: Entry): string {
  const flags = `${e.isSignature ? 'S' : ''}${e.configuration ? `C(${e.configuration.join(',')})` : ''}`;
  return `${flags}:${new TextDecoder().decode(e.data)}`;
}

export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly leaders = new Map<number, NodeId>();
  /** committed[i - 1] is the entry committed at index i (by anyone, ever). */
  private readonly committed: Slot[] = [];
  private readonly positions = new Map<string, { key: string; prevTerm: number }>();
  private readonly nodes = new Map<NodeId, NodeMirror>();

  /** Observer hooks to pass to every node created while this checker runs. */
  readonly observer: RaftObserver = {
    appended: (id, entries) => this.onAppended(id, entries),
    truncated: (id, after) => this.onTruncated(id, after),
    roleChanged: (id, role, term) => this.onRoleChanged(id, role, term),
    committed: (id, commit) => this.onCommitted(id, commit),
  };

  get committedIndex(): number {
    return this.committed.length;
  }

  /** A node (re)starts from durable state: its log is what storage holds, its commit the persisted one. */
  started(id: NodeId, hardState: HardState, entries: readonly Entry[], commit: number, applied = 0): void {
    const mirror: NodeMirror = { log: [], commit: 0, applied, role: 'follower', term: hardState.term };
    this.nodes.set(id, mirror);
    this.onAppended(id, entries);
    this.onCommitted(id, commit, true);
  }

  /** The driver applied these entries to its state machine, in this order. */
  applied(id: NodeId, entries: readonly Entry[]): void {
    const node = this.node(id);
    for (const e of entries) {
      if (e.index !== node.applied + 1) this.fail(`${id} applied index ${e.index} after ${node.applied}`);
      const c = this.committed[e.index - 1];
      if (!c || c.term !== e.term || c.key !== entryKey(e)) {
        this.fail(`state machine safety: ${id} applied ${e.term}.${e.index} ${entryKey(e)} but committed is ${c ? `${c.term}.${e.index} ${c.key}` : 'nothing'}`);
      }
      if (e.index > node.commit) this.fail(`${id} applied ${e.index} beyond its commit ${node.commit}`);
      node.applied = e.index;
    }
  }

  private node(id: NodeId): NodeMirror {
    let node = this.nodes.get(id);
    if (!node) {
      node = { log: [], commit: 0, applied: 0, role: 'follower', term: 0 };
      this.nodes.set(id, node);
    }
    return node;
  }

  private fail(message: string): void {
    this.violations.push(message);
  }

  private onAppended(id: NodeId, entries: readonly Entry[]): void {
    const node = this.node(id);
    for (const e of entries) {
      if (e.index !== node.log.length + 1) this.fail(`${id} appended index ${e.index} after ${node.log.length}`);
      const prevTerm = e.index === 1 ? 0 : node.log[e.index - 2]?.term ?? -1;
      const slot: Slot = { term: e.term, key: entryKey(e), isSignature: e.isSignature };
      const position = `${e.term}.${e.index}`;
      const seen = this.positions.get(position);
      if (seen && (seen.key !== slot.key || seen.prevTerm !== prevTerm)) {
        this.fail(`log matching: ${id} holds ${position} ${slot.key} after term ${prevTerm}, elsewhere ${seen.key} after term ${seen.prevTerm}`);
      } else if (!seen) {
        this.positions.set(position, { key: slot.key, prevTerm });
      }
      node.log[e.index - 1] = slot;
      node.log.length = e.index;
    }
  }

  private onTruncated(id: NodeId, after: number): void {
    const node = this.node(id);
    if (after < node.commit) this.fail(`${id} rolled back to ${after}, below its commit ${node.commit}`);
    for (let i = after + 1; i <= node.log.length; i++) {
      const c = this.committed[i - 1];
      const mine = node.log[i - 1]!;
      if (c && c.term === mine.term && c.key === mine.key) this.fail(`committed entry disappeared: ${id} rolled back ${c.term}.${i}`);
    }
    node.log.length = Math.min(node.log.length, after);
  }

  private onRoleChanged(id: NodeId, role: Role, term: number): void {
    const node = this.node(id);
    if (term < node.term) this.fail(`${id} term went from ${node.term} back to ${term}`);
    node.role = role;
    node.term = term;
    if (role !== 'leader') return;
    const other = this.leaders.get(term);
    if (other !== undefined && other !== id) this.fail(`election safety: ${other} and ${id} both lead term ${term}`);
    this.leaders.set(term, id);
    for (let i = 1; i <= this.committed.length; i++) {
      const c = this.committed[i - 1]!;
      const mine = node.log[i - 1];
      if (!mine || mine.term !== c.term || mine.key !== c.key) {
        this.fail(`leader completeness: ${id} leads term ${term} without committed ${c.term}.${i}`);
        return;
      }
    }
  }

  private onCommitted(id: NodeId, commit: number, restarting = false): void {
    const node = this.node(id);
    if (commit < node.commit && !restarting) this.fail(`${id} commit went from ${node.commit} back to ${commit}`);
    if (commit === 0) {
      node.commit = 0;
      return;
    }
    const at = node.log[commit - 1];
    if (!at) {
      this.fail(`${id} committed ${commit} beyond its log (${node.log.length})`);
      return;
    }
    if (!at.isSignature) this.fail(`commit rule: ${id} committed ${at.term}.${commit}, which is not a signature`);
    if (node.role === 'leader' && at.term !== node.term) {
      this.fail(`commit rule: leader ${id} of term ${node.term} committed through a signature of term ${at.term}`);
    }
    const from = restarting ? 1 : node.commit + 1;
    for (let i = from; i <= commit; i++) {
      const mine = node.log[i - 1]!;
      const c = this.committed[i - 1];
      if (c === undefined) this.committed.push(mine);
      else if (c.term !== mine.term || c.key !== mine.key) {
        this.fail(`committed entry changed: ${id} committed ${mine.term}.${i} ${mine.key}, already committed ${c.term}.${i} ${c.key}`);
      }
    }
    node.commit = commit;
  }
}
