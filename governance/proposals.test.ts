// The proposal/ballot state machine over public:ccf.gov.proposals and proposals_info.
import { describe, expect, it } from 'vitest';
import { Store } from '../node/kv/index.ts';
import { jsonBytes, parseJsonBytes, utf8 } from '../node/enclave/tables.ts';
import { GovTables } from './tables.ts';
import { createProposal, dropOpenProposals, readProposal, readProposalInfo, recordOutcome, removeFinishedProposals, submitBallot, withdrawProposal } from './proposals.ts';

const body = jsonBytes({ actions: [{ name: 'set_user', args: {} }] });
const ballot = 'export function vote(proposal, proposerId) { return true; }';

function fresh() {
  const store = new Store();
  const tx = store.begin();
  expect(createProposal(tx, 'p1', 'alice', body)).toMatchObject({ ok: true, info: { proposer_id: 'alice', state: 'Open', ballots: {} } });
  return tx;
}

describe('proposals', () => {
  it('files the body as signed and CCF-shaped info; refuses a duplicate ID', () => {
    const tx = fresh();
    expect(readProposal(tx, 'p1')).toEqual(body);
    expect(parseJsonBytes(tx.map(GovTables.proposalsInfo).get(utf8('p1'))!)).toEqual({ proposer_id: 'alice', state: 'Open', ballots: {} });
    expect(createProposal(tx, 'p1', 'bob', body)).toMatchObject({ ok: false, code: 'ProposalAlreadyExists' });
  });

  it('accepts one ballot per member on an Open proposal', () => {
    const tx = fresh();
    expect(submitBallot(tx, 'p1', 'alice', ballot).ok).toBe(true);
    expect(submitBallot(tx, 'p1', 'bob', ballot).ok).toBe(true);
    expect(submitBallot(tx, 'p1', 'bob', ballot)).toMatchObject({ ok: false, code: 'VoteAlreadyExists', status: 400 });
    expect(readProposalInfo(tx, 'p1')!.ballots).toEqual({ alice: ballot, bob: ballot });
    expect(submitBallot(tx, 'nope', 'bob', ballot)).toMatchObject({ ok: false, code: 'ProposalNotFound', status: 404 });
  });

  it('only the proposer withdraws; a withdrawn proposal takes no ballots and no outcome; withdrawing twice is idempotent', () => {
    const tx = fresh();
    expect(withdrawProposal(tx, 'p1', 'bob')).toMatchObject({ ok: false, code: 'AuthorizationFailed', status: 403 });
    expect(withdrawProposal(tx, 'p1', 'alice')).toMatchObject({ ok: true, info: { state: 'Withdrawn' } });
    expect(withdrawProposal(tx, 'p1', 'alice')).toMatchObject({ ok: true, info: { state: 'Withdrawn' } });
    expect(submitBallot(tx, 'p1', 'bob', ballot)).toMatchObject({ ok: false, code: 'ProposalNotOpen', status: 400 });
    expect(recordOutcome(tx, 'p1', { state: 'Accepted' })).toMatchObject({ ok: false, code: 'ProposalNotOpen' });
  });

  it('records final states with final votes and failures; final states are final', () => {
    for (const state of ['Accepted', 'Rejected', 'Failed', 'Dropped'] as const) {
      const tx = fresh();
      submitBallot(tx, 'p1', 'bob', ballot);
      const failure = state === 'Failed' ? { reason: 'apply threw', trace: 'at apply' } : undefined;
      expect(recordOutcome(tx, 'p1', { state, final_votes: { bob: true }, ...(failure ? { failure } : {}) }).ok).toBe(true);
      expect(readProposalInfo(tx, 'p1')).toEqual({ proposer_id: 'alice', state, ballots: { bob: ballot }, final_votes: { bob: true }, vote_failures: {}, ...(failure ? { failure } : {}) });
      expect(submitBallot(tx, 'p1', 'carol', ballot)).toMatchObject({ code: 'ProposalNotOpen' });
      expect(withdrawProposal(tx, 'p1', 'alice')).toMatchObject({ code: 'ProposalNotOpen' });
    }
    const tx = fresh();
    expect(recordOutcome(tx, 'p1', { state: 'Open', vote_failures: { bob: { reason: 'x' } } }).ok).toBe(true);
    expect(readProposalInfo(tx, 'p1')).toEqual({ proposer_id: 'alice', state: 'Open', ballots: {} });
    expect(recordOutcome(tx, 'p1', { state: 'Withdrawn' as 'Open' })).toMatchObject({ ok: false, code: 'InvalidState' });
  });

  it('drops other Open proposals and removes finished ones', () => {
    const tx = fresh();
    createProposal(tx, 'p2', 'bob', body);
    createProposal(tx, 'p3', 'bob', body);
    withdrawProposal(tx, 'p3', 'bob');
    expect(dropOpenProposals(tx, 'p1')).toEqual(['p2']);
    expect(readProposalInfo(tx, 'p2')!.state).toBe('Dropped');
    expect(readProposalInfo(tx, 'p1')!.state).toBe('Open');
    recordOutcome(tx, 'p1', { state: 'Accepted' });
    expect(removeFinishedProposals(tx, 'p1').sort()).toEqual(['p2', 'p3']);
    expect(readProposal(tx, 'p2')).toBeUndefined();
    expect(readProposalInfo(tx, 'p1')!.state).toBe('Accepted');
  });
});
