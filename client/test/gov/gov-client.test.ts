// GovernanceClient against a fake CCF governance service (helpers/fake-gov.ts): the requests it sends
// (paths, api-version, COSE headers, bodies) and what it makes of the answers and errors.
import { describe, expect, it } from 'vitest';
import {
  ACCEPT_BALLOT,
  GovHeader,
  GovernanceClient,
  InvalidRequestError,
  NotFoundError,
  UsageError,
  certificateId,
  decodeCoseSign1,
  proposal,
  setJsApp,
  setMember,
  setUser,
  transitionNodeToTrusted,
  transitionServiceToOpen,
} from '../../src/index.ts';
import { FakeGovService } from '../helpers/fake-gov.ts';
import { makeIdentity } from '../helpers/identities.ts';

const service = makeIdentity('service', 'P-384');
const m0 = makeIdentity('member0', 'P-384');
const m1 = makeIdentity('member1', 'P-256');
const m2 = makeIdentity('member2', 'P-384');
const user = makeIdentity('user1', 'P-384');

function setup(active = true) {
  const fake = new FakeGovService([m0, m1, m2].map((m) => ({ certPem: m.certPem, status: active ? ('Active' as const) : ('Accepted' as const) })), service.certPem);
  const gov = (m: typeof m0) => new GovernanceClient(fake.client({ certPem: m.certPem, keyPem: m.keyPem }));
  return { fake, g0: gov(m0), g1: gov(m1), g2: gov(m2), reader: new GovernanceClient(fake.client()) };
}

describe('GovernanceClient', () => {
  it('proposes with a signed COSE_Sign1 body to proposals:create?api-version=2024-07-01', async () => {
    const { fake, g0 } = setup();
    const p = proposal(setUser(user.certPem));
    const info = await g0.propose(p);
    expect(info).toMatchObject({ proposerId: certificateId(m0.certPem), proposalState: 'Open', ballotCount: 0 });
    expect(info.txid).toMatch(/^2\.\d+$/);
    const sent = fake.requests.at(-1)!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/gov/members/proposals:create?api-version=2024-07-01');
    expect(sent.headers['content-type']).toBe('application/cose');
    const cose = decodeCoseSign1(sent.body!);
    expect(cose.protectedHeader.get(GovHeader.msgType)).toBe('proposal');
    expect(cose.protectedHeader.has(GovHeader.proposalId)).toBe(false);
    expect(Math.abs(Number(cose.protectedHeader.get(GovHeader.createdAt)) - Date.now() / 1000)).toBeLessThan(60);
    expect(JSON.parse(new TextDecoder().decode(cose.payload!))).toEqual(p);
    expect(await g0.getActions(info.proposalId)).toEqual(p);
  });

  it('votes until a strict majority accepts; ballots carry the proposal ID header and the script', async () => {
    const { fake, g0, g1, g2 } = setup();
    const { proposalId } = await g0.propose(proposal(setMember(makeIdentity('member3').certPem)));
    const first = await g0.vote(proposalId);
    expect(first).toMatchObject({ proposalState: 'Open', ballotCount: 1 });
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe(`/gov/members/proposals/${proposalId}/ballots/${g0.memberId}:submit?api-version=2024-07-01`);
    const cose = decodeCoseSign1(sent.body!);
    expect(cose.protectedHeader.get(GovHeader.msgType)).toBe('ballot');
    expect(cose.protectedHeader.get(GovHeader.proposalId)).toBe(proposalId);
    expect(JSON.parse(new TextDecoder().decode(cose.payload!))).toEqual({ ballot: ACCEPT_BALLOT });
    expect(await g0.getBallot(proposalId)).toBe(ACCEPT_BALLOT);
    const second = await g1.vote(proposalId, true);
    expect(second.proposalState).toBe('Accepted');
    expect(second.finalVotes).toEqual({ [g0.memberId!]: true, [g1.memberId!]: true });
    // A finished proposal takes no more ballots: CCF's ProposalNotOpen, as a typed 400.
    const late = await g2.vote(proposalId, false).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(InvalidRequestError);
    expect((late as InvalidRequestError).code).toBe('ProposalNotOpen');
  });

  it('a rejecting ballot and a custom script; a second ballot by the same member is refused', async () => {
    const { g0, g1, g2 } = setup();
    const { proposalId } = await g0.propose(proposal(setUser(user.certPem)));
    expect((await g1.vote(proposalId, false)).proposalState).toBe('Open');
    await expect(g1.vote(proposalId, true)).rejects.toMatchObject({ code: 'VoteAlreadyExists', status: 400 });
    expect((await g2.vote(proposalId, 'export function vote(p, id) { return false }')).proposalState).toBe('Rejected');
    await expect(g0.vote(proposalId, 'return true')).rejects.toBeInstanceOf(UsageError);
  });

  it('withdraws: the proposal becomes Withdrawn and takes no ballots; an unknown one answers 204 (undefined)', async () => {
    const { fake, g0, g1 } = setup();
    const { proposalId } = await g0.propose(proposal(setUser(user.certPem)));
    await expect(g1.withdraw(proposalId)).rejects.toMatchObject({ status: 403, code: 'AuthorizationFailed' });
    const withdrawn = await g0.withdraw(proposalId);
    expect(withdrawn?.proposalState).toBe('Withdrawn');
    const cose = decodeCoseSign1(fake.requests.at(-1)!.body!);
    expect(cose.protectedHeader.get(GovHeader.msgType)).toBe('withdrawal');
    expect(cose.protectedHeader.get(GovHeader.proposalId)).toBe(proposalId);
    await expect(g1.vote(proposalId)).rejects.toMatchObject({ code: 'ProposalNotOpen' });
    expect(await g0.withdraw('ab'.repeat(32))).toBeUndefined();
  });

  it('a proposal with an unknown action is refused with the constitution\'s description', async () => {
    const { g0 } = setup();
    const refused = await g0.propose({ actions: [{ name: 'no_such_action', args: {} }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect(refused).toMatchObject({ code: 'ProposalFailedToValidate' });
    expect((refused as Error).message).toMatch(/no_such_action: no such action/);
    await expect(g0.propose({ actions: [] })).rejects.toBeInstanceOf(UsageError);
    await expect(g0.propose('{not json')).rejects.toThrow(/not JSON/);
  });

  it('lists and reads proposals, service state (following nextLink), constitution and app', async () => {
    const { g0, reader } = setup();
    const a = await g0.propose(proposal(setUser(user.certPem)));
    const b = await g0.propose(proposal(transitionServiceToOpen(service.certPem)));
    const listed = await reader.listProposals();
    expect(listed.map((p) => p.proposalId).sort()).toEqual([a.proposalId, b.proposalId].sort());
    expect((await reader.getProposal(a.proposalId)).proposalState).toBe('Open');
    await expect(reader.getProposal('ef'.repeat(32))).rejects.toBeInstanceOf(NotFoundError);
    expect((await reader.serviceInfo()).status).toBe('Opening');
    expect((await reader.members()).map((m) => m.status)).toEqual(['Active', 'Active', 'Active']);
    expect((await reader.nodes()).map((n) => n.status)).toEqual(['Trusted', 'Pending']);
    expect(await reader.constitution()).toBe('export function validate() {}');
    expect(Object.keys((await reader.javascriptApp()).endpoints)).toEqual(['/log/private']);
    // Writes need a member.
    await expect(reader.propose(proposal(setUser(user.certPem)))).rejects.toBeInstanceOf(UsageError);
    await expect(reader.ack()).rejects.toBeInstanceOf(UsageError);
  });

  it('an Accepted member acks the state digest and becomes Active; a stale digest is refused', async () => {
    const { fake, g0 } = setup(false);
    await expect(g0.propose(proposal(setUser(user.certPem)))).rejects.toMatchObject({ status: 401 });
    const digest = await g0.stateDigest();
    expect(digest).toEqual({ memberId: g0.memberId, stateDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const update = decodeCoseSign1(fake.requests.at(-1)!.body!);
    expect(update.protectedHeader.get(GovHeader.msgType)).toBe('state_digest');
    await expect(g0.ack({ memberId: g0.memberId!, stateDigest: '00'.repeat(32) })).rejects.toMatchObject({ code: 'StateDigestMismatch' });
    await g0.ack(digest);
    const ack = decodeCoseSign1(fake.requests.at(-1)!.body!);
    expect(ack.protectedHeader.get(GovHeader.msgType)).toBe('ack');
    expect(JSON.parse(new TextDecoder().decode(ack.payload!))).toEqual(digest);
    expect((await g0.members()).find((m) => m.memberId === g0.memberId)?.status).toBe('Active');
    // ack() with no digest asks for one first.
    const g1 = new GovernanceClient(fake.client({ certPem: m1.certPem, keyPem: m1.keyPem }));
    await g1.ack();
    expect(fake.members.get(g1.memberId!)!.status).toBe('Active');
  });

  it('refuses a client that would not sign as a member, and bad IDs', () => {
    const { fake, g0 } = setup();
    expect(() => new GovernanceClient(fake.client({ certPem: m0.certPem, keyPem: m0.keyPem }), { apiVersion: 'latest' })).toThrow(/apiVersion/);
    expect(() => transitionNodeToTrusted('not-an-id')).toThrow(UsageError);
    expect(transitionNodeToTrusted('ab'.repeat(32), { validFrom: '2026-01-01T00:00:00.000Z' })).toEqual({
      name: 'transition_node_to_trusted',
      args: { node_id: 'ab'.repeat(32), valid_from: '2026-01-01T00:00:00.000Z' },
    });
    expect(() => setJsApp({ metadata: null, modules: [] } as never)).toThrow(UsageError);
    return expect(g0.getProposal('../etc')).rejects.toBeInstanceOf(UsageError);
  });
});
