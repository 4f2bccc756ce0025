// Shape checks for everything handed to the core from outside: peer messages (after the driver decoded
// them) and entries read back from storage. They return a reason instead of throwing: a malformed input
// is an expected operating error, reported and dropped, never an assertion.

import type { RaftLimits } from './limits.ts';
import type { Entry, Message, NodeId } from './types.ts';

export function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isNodeId(value: unknown, limits: RaftLimits): value is NodeId {
  return typeof value === 'string' && value.length > 0 && value.length <= limits.nodeIdLengthMax;
}

/** A configuration: a non-empty list of distinct node ids, bounded in size. */
export function configurationProblem(voters: unknown, limits: RaftLimits): string | undefined {
  if (!Array.isArray(voters)) return 'configuration is not a list';
  if (voters.length === 0) return 'configuration has no voters';
  if (voters.length > limits.votersPerConfigurationMax) return `configuration has more than ${limits.votersPerConfigurationMax} voters`;
  if (!voters.every((v) => isNodeId(v, limits))) return 'configuration holds an invalid node id';
  if (new Set(voters).size !== voters.length) return 'configuration repeats a node id';
  return undefined;
}

/** One entry's own fields (its position relative to neighbours is checked by the caller). */
export function entryProblem(entry: unknown, limits: RaftLimits): string | undefined {
  if (typeof entry !== 'object' || entry === null) return 'entry is not an object';
  const e = entry as Partial<Entry>;
  if (!isIndex(e.index) || e.index < 1) return 'entry index is not a positive integer';
  if (!isIndex(e.term) || e.term < 1) return `entry ${e.index} has no valid term`;
  if (typeof e.isSignature !== 'boolean') return `entry ${e.index} has no signature flag`;
  if (!(e.data instanceof Uint8Array)) return `entry ${e.index} data is not bytes`;
  if (e.configuration !== undefined) {
    const problem = configurationProblem(e.configuration, limits);
    if (problem) return `entry ${e.index}: ${problem}`;
  }
  return undefined;
}

export function messageProblem(message: unknown, limits: RaftLimits): string | undefined {
  if (typeof message !== 'object' || message === null) return 'message is not an object';
  const m = message as Record<string, unknown>;
  if (!isNodeId(m.from, limits) || !isNodeId(m.to, limits)) return 'bad sender or recipient';
  if (m.from === m.to) return 'message to self';
  if (!isIndex(m.term)) return 'bad term';
  const msg = message as Message;
  switch (msg.type) {
    case 'append':
      return appendProblem(msg, limits);
    case 'append-response':
      if (!isIndex(msg.commit)) return 'bad commit';
      if (msg.success === true) return isIndex(msg.matchIndex) ? undefined : 'bad match index';
      if (msg.success !== false) return 'bad success flag';
      if (!isIndex(msg.rejectedIndex) || !isIndex(msg.hintIndex) || !isIndex(msg.hintTerm)) return 'bad rejection hint';
      return msg.hintIndex <= msg.rejectedIndex ? undefined : 'hint beyond the rejected index';
    case 'vote':
      if (typeof msg.preVote !== 'boolean' || typeof msg.transfer !== 'boolean') return 'bad vote flags';
      if (!isIndex(msg.lastSignatureIndex) || !isIndex(msg.lastSignatureTerm)) return 'bad last signature';
      return msg.lastSignatureTerm <= msg.term && msg.term >= 1 ? undefined : 'last signature term beyond the election term';
    case 'vote-response':
      return typeof msg.preVote === 'boolean' && typeof msg.granted === 'boolean' ? undefined : 'bad vote response flags';
    case 'timeout-now':
      return undefined;
    default:
      return 'unknown message type';
  }
}

function appendProblem(m: Extract<Message, { type: 'append' }>, limits: RaftLimits): string | undefined {
  if (!isIndex(m.prevIndex) || !isIndex(m.prevTerm) || !isIndex(m.commit)) return 'bad append header';
  if (m.prevTerm > m.term) return 'previous term beyond the message term';
  if (!Array.isArray(m.entries)) return 'entries are not a list';
  if (m.entries.length > limits.entriesPerIncomingAppendMax) return `more than ${limits.entriesPerIncomingAppendMax} entries`;
  let previousTerm = m.prevTerm;
  for (let k = 0; k < m.entries.length; k++) {
    const e = m.entries[k];
    const problem = entryProblem(e, limits);
    if (problem) return problem;
    if (e!.index !== m.prevIndex + 1 + k) return `entry ${k} is at index ${e!.index}, not ${m.prevIndex + 1 + k}`;
    if (e!.term < previousTerm || e!.term > m.term) return `entry ${e!.index} has term ${e!.term} out of order`;
    previousTerm = e!.term;
  }
  return undefined;
}
