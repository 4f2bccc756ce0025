// Governance refuses what it must, on a real node: each hostile request gets a clear 4xx with CCF's
// error code, and nothing is written (the node's last TxID does not move, the proposals and members
// are as before). Unsigned and badly signed requests, a non-member, a user (TLS certificate or COSE
// signature), a replayed or stale proposal, a replayed ballot, a ballot for another member's ID or for
// another proposal, a request of the wrong message type, and a constitution that tries to read a
// private map.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity } from '../../node/crypto/certs.ts';
import { loadIdentity } from '../../client/src/client/identity.ts';
import { signCoseRequest } from '../../client/src/client/cose-sign.ts';
import { defaultConstitution } from '../../governance/default-constitution.ts';
import { startGovTestNode, type GovAnswer, type GovTestNode } from '../../governance/testing.ts';
import type { HttpResponse } from '../helpers/https.ts';

let gov: GovTestNode;
let openId: string;
const COSE = { 'content-type': 'application/cose' };
const PROPOSE = '/gov/members/proposals:create?api-version=2024-07-01';
const now = () => Math.floor(Date.now() / 1000);
const someProposal = () => ({ actions: [{ name: 'set_member_data', args: { member_id: gov.members[0]!.id, member_data: { at: Date.now() } } }] });

/** What a refused request must leave as it was: the last committed TxID, the proposals and the members' states. */
async function state(): Promise<string> {
  const txid = await gov.lastTxid();
  const proposals = (await gov.get('/gov/members/proposals')).body.value.map((p: Record<string, unknown>) => [p.proposalId, p.proposalState, p.ballotCount]);
  const members = (await gov.get('/gov/service/members')).body.value.map((m: Record<string, unknown>) => [m.memberId, m.status]);
  return JSON.stringify({ txid, proposals, members });
}

/** Sends `attempt`, expects `status` and `code`, and checks that nothing changed. */
async function refused(attempt: () => Promise<GovAnswer | HttpResponse>, status: number, code: string | RegExp, message?: RegExp): Promise<void> {
  const before = await state();
  const res = await attempt();
  const body = 'json' in res ? (res.body.length > 0 ? res.json() : undefined) : res.body;
  expect(res.status, JSON.stringify(body)).toBe(status);
  if (typeof code === 'string') expect(body.error.code).toBe(code);
  else expect(body.error.code).toMatch(code);
  if (message) expect(body.error.message).toMatch(message);
  expect(await state()).toBe(before);
}

beforeAll(async () => {
  gov = await startGovTestNode({ members: 3, users: 1 });
  for (const m of gov.members) await gov.ack(m);
  const p = await gov.propose(gov.members[0]!, someProposal());
  expect(p.status, JSON.stringify(p.body)).toBe(200);
  openId = p.body.proposalId;
}, 60_000);

afterAll(async () => {
  await gov?.stop();
});

describe('governance security on a real node', () => {
  it('refuses an unsigned request', async () => {
    await refused(() => gov.anonymous.post(PROPOSE, someProposal()), 401, 'Unauthorized', /member_cose_sign1/);
    await refused(() => gov.anonymous.post(PROPOSE, Buffer.from([0xd2, 0x84]), COSE), 401, 'Unauthorized', /not valid CBOR|COSE_Sign1/);
  });

  it('refuses a badly signed request', async () => {
    const body = Buffer.from(await gov.members[0]!.sign(someProposal(), { msgType: 'proposal', createdAt: now() }));
    body[body.length - 5]! ^= 0x01; // inside the signature
    await refused(() => gov.anonymous.post(PROPOSE, body, COSE), 401, 'Unauthorized', /signature does not verify/);
    // The payload changed after signing: the signature no longer covers it.
    const other = Buffer.from(await gov.members[0]!.sign({ actions: [] }, { msgType: 'proposal', createdAt: now() }));
    const tampered = Buffer.from(other.toString('latin1').replace('{"actions":[]}', '{"actions":[{}]}'), 'latin1');
    await refused(() => gov.anonymous.post(PROPOSE, tampered, COSE), 401, 'Unauthorized');
  });

  it('refuses a request signed by a non-member', async () => {
    const outsider = await createIdentity('outsider', 'P-384');
    const identity = loadIdentity({ certPem: outsider.certPem, keyPem: outsider.privateKeyPem, role: 'member' });
    const body = await signCoseRequest(identity, new TextEncoder().encode(JSON.stringify(someProposal())), { msgType: 'proposal' });
    await refused(() => gov.anonymous.post(PROPOSE, Buffer.from(body), COSE), 401, 'Unauthorized', /not a registered member/);
  });

  it('refuses a user calling a governance endpoint, with a TLS certificate or a COSE signature', async () => {
    const user = gov.user(0);
    await refused(() => user.post(PROPOSE, someProposal()), 401, 'Unauthorized');
    const asUser = loadIdentity({ certPem: gov.read('user0_cert.pem'), keyPem: gov.read('user0_privk.pem'), role: 'user' });
    const userSigned = await signCoseRequest(asUser, new TextEncoder().encode(JSON.stringify(someProposal())), { msgType: 'proposal' });
    await refused(() => user.post(PROPOSE, Buffer.from(userSigned), COSE), 401, 'Unauthorized');
    // The user's key with governance headers: still not a member.
    const asMember = loadIdentity({ certPem: gov.read('user0_cert.pem'), keyPem: gov.read('user0_privk.pem'), role: 'member' });
    const govSigned = await signCoseRequest(asMember, new TextEncoder().encode(JSON.stringify(someProposal())), { msgType: 'proposal' });
    await refused(() => user.post(PROPOSE, Buffer.from(govSigned), COSE), 401, 'Unauthorized', /not a registered member/);
    const ballot = await signCoseRequest(asMember, new TextEncoder().encode(JSON.stringify({ ballot: 'export function vote() { return true; }' })), { msgType: 'ballot', proposalId: openId });
    await refused(() => user.post(`/gov/members/proposals/${openId}/ballots/${asMember.id}:submit?api-version=2024-07-01`, Buffer.from(ballot), COSE), 401, 'Unauthorized');
  });

  it('refuses a replayed proposal and one created too long ago', async () => {
    const body = Buffer.from(await gov.members[1]!.sign(someProposal(), { msgType: 'proposal', createdAt: now() }));
    const first = await gov.anonymous.post(PROPOSE, body, COSE);
    expect(first.status, first.text()).toBe(200);
    await refused(() => gov.anonymous.post(PROPOSE, body, COSE), 400, 'ProposalReplay', /already exists as proposal|replay/);
    const stale = Buffer.from(await gov.members[1]!.sign(someProposal(), { msgType: 'proposal', createdAt: now() - 3600 }));
    await refused(() => gov.anonymous.post(PROPOSE, stale, COSE), 400, 'ProposalCreatedTooLongAgo');
  });

  it('refuses a replayed ballot, a ballot for another member\'s ID, and one naming another proposal', async () => {
    const [m0, m1, m2] = gov.members;
    const ballot = { ballot: 'export function vote() { return false; }' };
    const path = (member: string) => `/gov/members/proposals/${openId}/ballots/${member}:submit?api-version=2024-07-01`;
    const signed = Buffer.from(await m1!.sign(ballot, { msgType: 'ballot', proposalId: openId, createdAt: now() }));
    const first = await gov.anonymous.post(path(m1!.id), signed, COSE);
    expect(first.status, first.text()).toBe(200);
    expect(first.json().proposalState).toBe('Open');
    await refused(() => gov.anonymous.post(path(m1!.id), signed, COSE), 400, 'VoteAlreadyExists');
    // m2's ballot path, signed by m0.
    const forOther = Buffer.from(await m0!.sign(ballot, { msgType: 'ballot', proposalId: openId }));
    await refused(() => gov.anonymous.post(path(m2!.id), forOther, COSE), 401, 'InvalidAuthenticationInfo', /path names member/);
    // A ballot signed for another proposal, sent to this one.
    const elsewhere = Buffer.from(await m2!.sign(ballot, { msgType: 'ballot', proposalId: 'ab'.repeat(32) }));
    await refused(() => gov.anonymous.post(path(m2!.id), elsewhere, COSE), 400, 'InvalidCoseHeader');
    // A proposal-typed signature on a ballot path.
    const wrongType = Buffer.from(await m2!.sign(ballot, { msgType: 'proposal' }));
    await refused(() => gov.anonymous.post(path(m2!.id), wrongType, COSE), 400, 'InvalidCoseHeader');
  });

  it('refuses requests without api-version', async () => {
    const body = Buffer.from(await gov.members[0]!.sign(someProposal(), { msgType: 'proposal' }));
    await refused(() => gov.anonymous.post('/gov/members/proposals:create', body, COSE), 400, 'MissingApiVersionParameter');
  });

  it('a constitution cannot read a private map: validate fails with a 400, apply fails the proposal and reads nothing', async () => {
    const [m0, m1] = gov.members;
    // The default constitution plus two actions that try to read the app's private map.
    const prying = `${defaultConstitution()}
actions.set('peek_at_validate', new Action(() => { ccf.kv['records'].get(ccf.strToBuf('1')); }, () => {}));
actions.set('peek_at_apply', new Action(() => {}, () => { ccf.kv['records'].get(ccf.strToBuf('1')); }));
`;
    const p = await gov.propose(m0!, { actions: [{ name: 'set_constitution', args: { constitution: prying } }] });
    await gov.vote(m0!, p.body.proposalId);
    expect((await gov.vote(m1!, p.body.proposalId)).body.proposalState).toBe('Accepted');

    await refused(() => gov.propose(m0!, { actions: [{ name: 'peek_at_validate', args: {} }] }), 400, 'ProposalFailedToValidate', /Cannot call get on map 'records': it is not accessible/);
    const applyPeek = await gov.propose(m0!, { actions: [{ name: 'peek_at_apply', args: {} }] });
    await gov.vote(m0!, applyPeek.body.proposalId);
    const failed = await gov.vote(m1!, applyPeek.body.proposalId);
    expect(failed.body).toMatchObject({ proposalState: 'Failed', failure: { reason: expect.stringMatching(/^Failed to apply\(\): .*'records': it is not accessible/) } });
  });
});
