// Active configurations and quorums, CCF style ("reconfiguration in one transaction"). A configuration
// entry takes effect as soon as it is appended to a log (not when committed) and is forgotten if that
// entry is rolled back. The active configurations are the latest one at or below the commit index plus
// every later one; a decision (commit, election, check-quorum) needs a majority of EACH of them, so a
// pending change needs both the old and the new voters.

import { assert } from './assert.ts';
import type { NodeId } from './types.ts';

export interface Configuration {
  /** Index of the entry that introduced this configuration (0 for none). */
  readonly index: number;
  readonly voters: readonly NodeId[];
}

export class Configurations {
  private list: Configuration[];

  constructor(initial: readonly Configuration[] = []) {
    this.list = [];
    for (const c of initial) this.appended(c.index, c.voters);
  }

  appended(index: number, voters: readonly NodeId[]): void {
    const last = this.list[this.list.length - 1];
    assert(!last || index > last.index, () => `configuration at ${index} after one at ${last!.index}`);
    this.list.push({ index, voters: [...voters].sort() });
  }

  /** The entries after `lastIndex` were rolled back: so were their configurations. */
  truncatedAfter(lastIndex: number): void {
    while (this.list.length > 0 && this.list[this.list.length - 1]!.index > lastIndex) this.list.pop();
  }

  /** Forgets configurations superseded by one at or below `commit`. */
  committed(commit: number): void {
    let keepFrom = 0;
    for (let k = 0; k < this.list.length; k++) if (this.list[k]!.index <= commit) keepFrom = k;
    if (keepFrom > 0) this.list = this.list.slice(keepFrom);
  }

  active(): readonly Configuration[] {
    return this.list;
  }

  latest(): Configuration | undefined {
    return this.list[this.list.length - 1];
  }

  /** Whether `id` votes in at least one active configuration. */
  includes(id: NodeId): boolean {
    return this.list.some((c) => c.voters.includes(id));
  }

  /** Every voter of every active configuration, sorted. */
  allVoters(): NodeId[] {
    const all = new Set<NodeId>();
    for (const c of this.list) for (const v of c.voters) all.add(v);
    return [...all].sort();
  }

  /** True when at least one configuration is known and all changes are committed. */
  isStable(): boolean {
    return this.list.length === 1;
  }
}

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index replicated on a majority of every active configuration, given each voter's match
 * index. With no configuration at all nothing is agreed (0).
 */
export function agreedIndex(configurations: readonly Configuration[], matchOf: (id: NodeId) => number): number {
  if (configurations.length === 0) return 0;
  let agreed = Number.POSITIVE_INFINITY;
  for (const c of configurations) {
    const matches = c.voters.map(matchOf).sort((a, b) => b - a);
    agreed = Math.min(agreed, matches[majority(c.voters.length) - 1] ?? 0);
  }
  return agreed;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** An election is won with a granted majority in every active configuration, lost once any cannot get one. */
export function voteOutcome(configurations: readonly Configuration[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  if (configurations.length === 0) return 'lost';
  let allWon = true;
  for (const c of configurations) {
    let granted = 0;
    let rejected = 0;
    for (const v of c.voters) {
      const vote = votes.get(v);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    const needed = majority(c.voters.length);
    if (c.voters.length - rejected < needed) return 'lost';
    if (granted < needed) allWon = false;
  }
  return allWon ? 'won' : 'pending';
}

/** Check-quorum: whether a majority of every active configuration was heard from recently. */
export function quorumActive(configurations: readonly Configuration[], isActive: (id: NodeId) => boolean): boolean {
  return configurations.every((c) => c.voters.filter(isActive).length >= majority(c.voters.length));
}
