// Rebuilds the core's state from durable storage at start. Storage is written by the untrusted host, so
// everything read here is checked: entries contiguous from index 1, terms non-decreasing and not beyond
// the persisted term, the commit index within the log and at a signature. A failed check is a return
// value (the node refuses to start and says why), never an assertion.

import { type Configuration, Configurations } from './configurations.ts';
import type { RaftLimits } from './limits.ts';
import type { HardState, NodeId, Storage } from './types.ts';
import { entryProblem, isIndex, isNodeId } from './validate.ts';
import { ViewHistory } from './view-history.ts';

/** Entries read from storage per call while rebuilding. */
const restoreChunkEntries = 1024;

export interface RestoredState {
  readonly hardState: HardState;
  readonly history: ViewHistory;
  /** Signature indices above the commit index, ascending. */
  readonly signatures: number[];
  readonly configurations: Configurations;
  /** This node voted in a committed configuration that a later committed one dropped. */
  readonly retired: boolean;
  readonly everCommittedVoter: boolean;
}

export type RestoreResult = { ok: true; state: RestoredState } | { ok: false; error: string };

export function restoreFromStorage(storage: Storage, self: NodeId, limits: RaftLimits): RestoreResult {
  const fail = (error: string): RestoreResult => ({ ok: false, error: `storage: ${error}` });
  const hs = storage.hardState();
  if (!isIndex(hs.term)) return fail('hard state term is not a non-negative integer');
  if (hs.votedFor !== undefined && !isNodeId(hs.votedFor, limits)) return fail('hard state vote is not a node id');
  if (!isIndex(hs.commit)) return fail('hard state commit is not a non-negative integer');
  const last = storage.lastIndex();
  if (!isIndex(last)) return fail('last index is not a non-negative integer');
  if (hs.commit > last) return fail(`commit ${hs.commit} is beyond the last entry ${last}`);

  const history = new ViewHistory();
  const signatures: number[] = [];
  const configurations: Configuration[] = [];
  let commitIsSignature = hs.commit === 0;
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
      if (e.term > hs.term) return fail(`entry ${e.index} has term ${e.term} beyond the persisted term ${hs.term}`);
      history.append(e.index, e.term);
      if (e.isSignature && e.index > hs.commit) signatures.push(e.index);
      if (e.isSignature && e.index === hs.commit) commitIsSignature = true;
      if (e.configuration) configurations.push({ index: e.index, voters: e.configuration });
    }
  }
  if (!commitIsSignature) return fail(`commit ${hs.commit} is not at a signature`);

  const committedConfigs = configurations.filter((c) => c.index <= hs.commit);
  const everCommittedVoter = committedConfigs.some((c) => c.voters.includes(self));
  const base = committedConfigs[committedConfigs.length - 1];
  const retired = everCommittedVoter && base !== undefined && !base.voters.includes(self);
  const tracker = new Configurations(configurations);
  tracker.committed(hs.commit);
  return { ok: true, state: { hardState: hs, history, signatures, configurations: tracker, retired, everCommittedVoter } };
}
