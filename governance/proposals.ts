// The proposal and ballot state machine, over the maps CCF uses:
//   public:ccf.gov.proposals       proposal ID → the proposal body bytes as signed
//   public:ccf.gov.proposals_info  proposal ID → ProposalInfo (JSON, CCF's field names)
// States: Open → Accepted | Rejected | Withdrawn | Failed | Dropped; every state but Open is final.
//   Accepted  the constitution's resolve accepted it and apply succeeded;
//   Rejected  resolve rejected it;
//   Failed    validate, a ballot, resolve or apply threw (the reason is kept in `failure`/`vote_failures`);
//   Withdrawn its proposer withdrew it while Open;
//   Dropped   it was Open when something invalidated it (CCF's default constitution drops every other
//             Open proposal when set_constitution applies).
// Every function is pure over a Tx: it reads and writes only these maps, and reports a refusal with
// CCF's error code and HTTP status instead of throwing. Resolution (running the constitution) is in
// constitution.ts; `recordOutcome` is how it files the result.

import type { Tx } from '../node/kv/index.ts';
import { fromUtf8, jsonBytes, parseJsonBytes, utf8 } from '../node/enclave/tables.ts';
import { GovTables } from './tables.ts';

export type ProposalState = 'Open' | 'Accepted' | 'Withdrawn' | 'Rejected' | 'Failed' | 'Dropped';
export const PROPOSAL_STATES: readonly ProposalState[] = ['Open', 'Accepted', 'Withdrawn', 'Rejected', 'Failed', 'Dropped'];

export interface Failure {
  reason: string;
  trace?: string;
}

/** CCF's ProposalInfo, as public:ccf.gov.proposals_info holds it. */
export interface ProposalInfo {
  proposer_id: string;
  state: ProposalState;
  /** member ID → ballot script (JS module source exporting `vote`). */
  ballots: Record<string, string>;
  /** Set when the proposal is resolved: member ID → that member's vote. */
  final_votes?: Record<string, boolean>;
  vote_failures?: Record<string, Failure>;
  failure?: Failure;
}

export type GovProposalErrorCode = 'ProposalNotFound' | 'ProposalNotOpen' | 'VoteAlreadyExists' | 'AuthorizationFailed' | 'ProposalAlreadyExists' | 'InvalidState';

export interface ProposalError {
  ok: false;
  code: GovProposalErrorCode;
  status: 400 | 403 | 404 | 409;
  message: string;
}

function fail(code: GovProposalErrorCode, status: ProposalError['status'], message: string): ProposalError {
  return { ok: false, code, status, message };
}

export function readProposalInfo(tx: Tx, proposalId: string): ProposalInfo | undefined {
  const raw = tx.map(GovTables.proposalsInfo).get(utf8(proposalId));
  return raw === undefined ? undefined : parseJsonBytes<ProposalInfo>(raw);
}

export function readProposal(tx: Tx, proposalId: string): Uint8Array | undefined {
  return tx.map(GovTables.proposals).get(utf8(proposalId));
}

function writeInfo(tx: Tx, proposalId: string, info: ProposalInfo): void {
  tx.map(GovTables.proposalsInfo).set(utf8(proposalId), jsonBytes(info));
}

/** Files a new Open proposal (the body bytes exactly as signed) with no ballots. */
export function createProposal(tx: Tx, proposalId: string, proposerId: string, body: Uint8Array): { ok: true; info: ProposalInfo } | ProposalError {
  if (tx.map(GovTables.proposals).has(utf8(proposalId)) || tx.map(GovTables.proposalsInfo).has(utf8(proposalId))) {
    return fail('ProposalAlreadyExists', 409, `proposal ${proposalId} already exists`);
  }
  const info: ProposalInfo = { proposer_id: proposerId, state: 'Open', ballots: {} };
  tx.map(GovTables.proposals).set(utf8(proposalId), body.slice());
  writeInfo(tx, proposalId, info);
  return { ok: true, info };
}

function openInfo(tx: Tx, proposalId: string): { ok: true; info: ProposalInfo } | ProposalError {
  const info = readProposalInfo(tx, proposalId);
  if (!info) return fail('ProposalNotFound', 404, `could not find proposal ${proposalId}`);
  if (info.state !== 'Open') return fail('ProposalNotOpen', 400, `proposal ${proposalId} is currently in state ${info.state} - only Open proposals can receive votes`);
  return { ok: true, info };
}

/** Adds a member's ballot to an Open proposal; a member votes once (CCF: VoteAlreadyExists). */
export function submitBallot(tx: Tx, proposalId: string, memberId: string, ballot: string): { ok: true; info: ProposalInfo } | ProposalError {
  const open = openInfo(tx, proposalId);
  if (!open.ok) return open;
  const { info } = open;
  if (Object.hasOwn(info.ballots, memberId)) return fail('VoteAlreadyExists', 400, `member ${memberId} has already voted on proposal ${proposalId}`);
  info.ballots[memberId] = ballot;
  writeInfo(tx, proposalId, info);
  return { ok: true, info };
}

/**
 * The proposer withdraws an Open proposal. Withdrawing an already Withdrawn proposal succeeds and
 * changes nothing (CCF answers with the proposal as it is); any other final state is refused.
 */
export function withdrawProposal(tx: Tx, proposalId: string, memberId: string): { ok: true; info: ProposalInfo } | ProposalError {
  const info = readProposalInfo(tx, proposalId);
  if (!info) return fail('ProposalNotFound', 404, `could not find proposal ${proposalId}`);
  if (info.proposer_id !== memberId) return fail('AuthorizationFailed', 403, `proposal ${proposalId} can only be withdrawn by its proposer ${info.proposer_id}, not ${memberId}`);
  if (info.state === 'Withdrawn') return { ok: true, info };
  if (info.state !== 'Open') return fail('ProposalNotOpen', 400, `proposal ${proposalId} is currently in state ${info.state} and cannot be withdrawn`);
  info.state = 'Withdrawn';
  writeInfo(tx, proposalId, info);
  return { ok: true, info };
}

export interface Outcome {
  state: Exclude<ProposalState, 'Open' | 'Withdrawn'> | 'Open';
  final_votes?: Record<string, boolean>;
  vote_failures?: Record<string, Failure>;
  failure?: Failure;
}

/** Files the result of resolving an Open proposal. */
export function recordOutcome(tx: Tx, proposalId: string, outcome: Outcome): { ok: true; info: ProposalInfo } | ProposalError {
  const open = openInfo(tx, proposalId);
  if (!open.ok) return open;
  const info: ProposalInfo = { ...open.info, state: outcome.state };
  // As CCF: votes and vote failures become permanent only when the proposal leaves Open (both then
  // present, possibly empty); while Open nothing but the state is written.
  if (outcome.state !== 'Open') {
    info.final_votes = outcome.final_votes ?? {};
    info.vote_failures = outcome.vote_failures ?? {};
  }
  if (outcome.failure) info.failure = outcome.failure;
  if (!PROPOSAL_STATES.includes(info.state) || info.state === 'Withdrawn') return fail('InvalidState', 400, `${String(outcome.state)} is not an outcome of resolution`);
  writeInfo(tx, proposalId, info);
  return { ok: true, info };
}

function allInfo(tx: Tx): Array<[string, ProposalInfo]> {
  const entries: Array<[string, ProposalInfo]> = [];
  tx.map(GovTables.proposalsInfo).forEach((value, key) => entries.push([fromUtf8(key), parseJsonBytes<ProposalInfo>(value)]));
  return entries;
}

/** Marks every Open proposal but `exceptId` Dropped; returns the dropped IDs. */
export function dropOpenProposals(tx: Tx, exceptId?: string): string[] {
  const dropped: string[] = [];
  for (const [id, info] of allInfo(tx)) {
    if (id === exceptId || info.state !== 'Open') continue;
    writeInfo(tx, id, { ...info, state: 'Dropped' });
    dropped.push(id);
  }
  return dropped;
}

/**
 * Removes every finished proposal but `exceptId` from both maps, as CCF does when a proposal
 * completes, so the maps hold Open proposals and the latest finished one; the ledger keeps the rest.
 */
export function removeFinishedProposals(tx: Tx, exceptId?: string): string[] {
  const removed: string[] = [];
  for (const [id, info] of allInfo(tx)) {
    if (id === exceptId || info.state === 'Open') continue;
    tx.map(GovTables.proposalsInfo).delete(utf8(id));
    tx.map(GovTables.proposals).delete(utf8(id));
    removed.push(id);
  }
  return removed;
}
