// Rebuilds the core's state from durable storage at start. Storage is written by the untrusted host, so
// everything read here is checked: entries contiguous from index 1 with non-decreasing terms, the
// commit index the driver remembers within the log and at a signature. A failed check is a return value
// (the node refuses to start and says why), never an assertion.
//
// A crash may keep entries of a term whose hard state was not yet durable (ledger and hard state are
// separate files). The node then restarts in that term without a vote: any vote or acknowledgement it
// sent in that term was sent after a sync that would have made the hard state durable too, so it sent
// none, and taking the term without a vote is what it would have done on the first message of the term.

import { type Configuration, Configurations } from './configurations.ts';
import type { RaftLimits } from './limits.ts';
import type { HardState, NodeId, Storage } from './types.ts';
import { entryProblem, isIndex, isNodeId } from './validate.ts';
import { ViewHistory } from './view-history.ts';

/** Entries read from storage per call while rebuilding. */
const restoreChunkEntries = 1024;

export interface RestoredState {
  /** The hard state to run with (see above: it may be newer than the stored one). */
  readonly hardState: HardState;
  readonly storedHardState: HardState;
  readonly commit: number;
  readonly history: ViewHistory;
  /** Signature indices above the commit index, ascending. */
  readonly signatures: number[];
  readonly configurations: Configurations;
  /** This node voted in a committed configuration that a later committed one dropped. */
  readonly retired: boolean;
  readonly everCommittedVoter: boolean;
}

export type RestoreResult = { ok: true; state: RestoredState } | { ok: false; error: string };

export function restoreFromStorage(storage: Storage, self: NodeId, limits: RaftLimits, commit: number): RestoreResult {
  const fail = (error: string): RestoreResult => ({ ok: false, error: `storage: ${error}` });
  const stored = storage.hardState();
  if (!isIndex(stored.term)) return fail('hard state term is not a non-negative integer');
  if (stored.votedFor !== undefined && !isNodeId(stored.votedFor, limits)) return fail('hard state vote is not a node id');
  if (!isIndex(commit)) return fail('commit index is not a non-negative integer');
  const last = storage.lastIndex();
  if (!isIndex(last)) return fail('last index is not a non-negative integer');
  if (commit > last) return fail(`commit ${commit} is beyond the last entry ${last}`);

  const history = new ViewHistory();
  const signatures: number[] = [];
  const configurations: Configuration[] = [];
  let commitIsSignature = commit === 0;
  for (let low = 1; low <= last; low += restoreChunkEntries) {
    const high = Math.min(last + 1, low + restoreChunkEntries);
    const chunk = storage.entries(low, high);
    if (chunk.length !== high - low) return fail(`read ${chunk.length} entries for [${low}, ${high})`);
    for (let k = 0; k < chunk.length; k++) {
      const e = chunk[k]!;
      const problem = entryProblem(e, limits);
      if (problem) return fail(problem);
      if (e.index !== low + k) return fail(`entry at position ${low + k} says index ${e.index}`);
      if (e.term < history.lastTerm()) return fail(`entry ${e.index} has term ${e.term} after term ${history.lastTerm()}`);
      history.append(e.index, e.term);
      if (e.isSignature && e.index > commit) signatures.push(e.index);
      if (e.isSignature && e.index === commit) commitIsSignature = true;
      if (e.configuration) configurations.push({ index: e.index, voters: e.configuration });
    }
  }
  if (!commitIsSignature) return fail(`commit ${commit} is not at a signature`);
  const hardState: HardState = stored.term >= history.lastTerm() ? stored : { term: history.lastTerm(), votedFor: undefined };

  const committedConfigs = configurations.filter((c) => c.index <= commit);
  const everCommittedVoter = committedConfigs.some((c) => c.voters.includes(self));
  const base = committedConfigs[committedConfigs.length - 1];
  const retired = everCommittedVoter && base !== undefined && !base.voters.includes(self);
  const tracker = new Configurations(configurations);
  tracker.committed(commit);
  return { ok: true, state: { hardState, storedHardState: stored, commit, history, signatures, configurations: tracker, retired, everCommittedVoter } };
}
