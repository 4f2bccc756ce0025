// Governance end to end on a real node process over HTTPS (CCF's /gov API, COSE_Sign1 requests signed
// with the members' key files): the service starts Opening with two Accepted members; they ack and
// become Active; a third member is added by vote and acks; a user is added and the app deployed by
// vote, and the user can call it only once the service is opened by vote; a proposal short of a
// majority stays Open, a withdrawn one takes no ballots, an invalid one is refused by validate with its
// description; set_constitution replaces the constitution and drops the Open proposals. Tests run in
// order on one node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundleDir } from '../../app-sdk/src/bundle.ts';
import { idFromCertificate } from '../../node/crypto/certs.ts';
import { defaultConstitution } from '../../governance/default-constitution.ts';
import { startGovTestNode, type GovTestNode } from '../../governance/testing.ts';
import { LOGGING_JS_BUNDLE } from '../helpers/network.ts';

let gov: GovTestNode;

beforeAll(async () => {
  gov = await startGovTestNode({ members: 3, genesisMembers: 2, users: 2, genesisUsers: 0 });
}, 60_000);

afterAll(async () => {
  await gov?.stop();
});

describe('governance on a real node', () => {
  it('genesis members start Accepted and become Active by acking the state digest', async () => {
    const [m0, m1] = gov.members;
    expect((await gov.get('/gov/service/info')).body.status).toBe('Opening');
    const early = await gov.propose(m0!, { actions: [{ name: 'set_user', args: { cert: gov.read('user0_cert.pem') } }] });
    expect(early.status).toBe(403);
    await gov.ack(m0!);
    await gov.ack(m1!);
    const listed = (await gov.get('/gov/service/members')).body.value;
    expect(Object.fromEntries(listed.map((m: { memberId: string; status: string }) => [m.memberId, m.status]))).toEqual({ [m0!.id]: 'Active', [m1!.id]: 'Active' });
  });

  it('adds a member by vote; the new member acks, becomes Active and counts for the majority', async () => {
    const [m0, m1, m2] = gov.members;
    const p = await gov.propose(m0!, { actions: [{ name: 'set_member', args: { cert: m2!.certPem, encryption_pub_key: gov.read('member2_enc_pubk.pem'), member_data: { name: 'member2' } } }] });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect((await gov.vote(m0!, p.body.proposalId)).body.proposalState).toBe('Open'); // 1 of 2 is not a strict majority
    expect((await gov.vote(m1!, p.body.proposalId)).body.proposalState).toBe('Accepted');
    expect((await gov.get(`/gov/service/members/${m2!.id}`)).body).toMatchObject({ status: 'Accepted', memberData: { name: 'member2' }, publicEncryptionKey: gov.read('member2_enc_pubk.pem') });
    await gov.ack(m2!);
    expect((await gov.get(`/gov/service/members/${m2!.id}`)).body.status).toBe('Active');
  });

  it('adds a user and deploys the app by vote; the user calls the app only once the service is Open', async () => {
    const [m0, m1, m2] = gov.members;
    const user0 = gov.user(0);
    const deploy = await gov.propose(m1!, { actions: [
      { name: 'set_user', args: { cert: gov.read('user0_cert.pem'), user_data: { team: 'a' } } },
      { name: 'set_js_app', args: { bundle: readBundleDir(LOGGING_JS_BUNDLE), disable_bytecode_cache: false } },
    ] });
    expect((await gov.vote(m0!, deploy.body.proposalId)).body.proposalState).toBe('Open');
    expect((await gov.vote(m2!, deploy.body.proposalId)).body.proposalState).toBe('Accepted'); // 2 of 3
    expect((await gov.get(`/gov/service/users/${idFromCertificate(gov.read('user0_cert.pem'))}`)).body).toMatchObject({ userData: { team: 'a' } });
    expect(Object.keys((await gov.get('/gov/service/javascript-app')).body.endpoints)).toContain('/log/private');
    // Deployed, but the service is still Opening: users are refused.
    const early = await user0.post('/app/log/private', { id: 1, msg: 'too early' });
    expect(early.status).toBe(503);
    expect(early.json().error.code).toBe('ServiceNotOpen');

    const wrong = await gov.propose(m0!, { actions: [{ name: 'transition_service_to_open', args: { next_service_identity: gov.read('member0_cert.pem') } }] });
    await gov.vote(m0!, wrong.body.proposalId);
    expect((await gov.vote(m1!, wrong.body.proposalId)).body).toMatchObject({ proposalState: 'Failed', failure: { reason: expect.stringMatching(/next_service_identity/) } });
    expect((await gov.get('/gov/service/info')).body.status).toBe('Opening');
    const open = await gov.propose(m0!, { actions: [{ name: 'transition_service_to_open', args: { next_service_identity: gov.serviceCert } }] });
    await gov.vote(m0!, open.body.proposalId);
    expect((await gov.vote(m1!, open.body.proposalId)).body.proposalState).toBe('Accepted');
    expect((await gov.get('/gov/service/info')).body.status).toBe('Open');
    const write = await user0.post('/app/log/private', { id: 1, msg: 'hello' });
    expect(write.status, write.text()).toBe(200);
    expect((await user0.get('/app/log/private?id=1')).json()).toEqual({ msg: 'hello' });
  });

  let openId: string;
  it('a proposal short of a majority stays Open; a majority against rejects another', async () => {
    const [m0, m1, m2] = gov.members;
    const p = await gov.propose(m2!, { actions: [{ name: 'set_user', args: { cert: gov.read('user1_cert.pem') } }] });
    openId = p.body.proposalId;
    expect((await gov.vote(m0!, openId, true)).body.proposalState).toBe('Open');
    expect((await gov.vote(m1!, openId, false)).body).toMatchObject({ proposalState: 'Open', ballotCount: 2 });
    expect((await gov.get(`/gov/members/proposals/${openId}`)).body).toMatchObject({ proposalState: 'Open', proposerId: m2!.id });

    const rejected = await gov.propose(m0!, { actions: [{ name: 'remove_js_app', args: {} }] });
    await gov.vote(m1!, rejected.body.proposalId, false);
    const final = await gov.vote(m2!, rejected.body.proposalId, false);
    expect(final.body).toMatchObject({ proposalState: 'Rejected', finalVotes: { [m1!.id]: false, [m2!.id]: false } });
    expect(Object.keys((await gov.get('/gov/service/javascript-app')).body.endpoints)).toContain('/log/private');
  });

  it('only the proposer withdraws; a withdrawn proposal cannot be voted on', async () => {
    const [m0, , m2] = gov.members;
    const byOther = await gov.post(m0!, `/gov/members/proposals/${openId}:withdraw`, new Uint8Array(0), 'withdrawal', { proposalId: openId });
    expect(byOther.status).toBe(403);
    const withdrawn = await gov.post(m2!, `/gov/members/proposals/${openId}:withdraw`, new Uint8Array(0), 'withdrawal', { proposalId: openId });
    expect(withdrawn.body).toMatchObject({ proposalId: openId, proposalState: 'Withdrawn' });
    const late = await gov.vote(gov.members[1]!, openId);
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('ProposalNotOpen');
  });

  it('a proposal with an invalid action is refused by validate, with its description', async () => {
    const refused = await gov.propose(gov.members[0]!, { actions: [{ name: 'launch_rockets', args: {} }] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({ code: 'ProposalFailedToValidate', message: 'Proposal failed to validate: launch_rockets: no such action' });
    const bad = await gov.propose(gov.members[0]!, { actions: [{ name: 'set_recovery_threshold', args: { recovery_threshold: 0 } }] });
    expect(bad.body.error.message).toMatch(/recovery_threshold must be at least 1/);
  });

  it('node, trust and configuration actions write CCF\'s tables', async () => {
    const [m0, m1] = gov.members;
    const measurement = 'ab'.repeat(32);
    const p = await gov.propose(m0!, { actions: [
      { name: 'add_virtual_measurement', args: { measurement } },
      { name: 'add_snp_host_data', args: { host_data: 'cd'.repeat(32) } },
      { name: 'set_recovery_threshold', args: { recovery_threshold: 2 } },
      { name: 'set_service_configuration', args: { recent_cose_proposals_window_size: 50 } },
      { name: 'trigger_snapshot', args: {} },
    ] });
    await gov.vote(m0!, p.body.proposalId);
    const done = await gov.vote(m1!, p.body.proposalId);
    expect(done.body.proposalState, JSON.stringify(done.body)).toBe('Accepted');
    const policy = (await gov.get('/gov/service/join-policy')).body;
    expect(policy.virtual.measurements).toContain(measurement);
    expect(policy.snp.hostData).toMatchObject({ ['cd'.repeat(32)]: '' });
    expect((await gov.get('/gov/service/info')).body).toMatchObject({ recoveryThreshold: 2, configuration: { recentCoseProposalsWindowSize: 50 } });
  });

  it('set_constitution replaces the constitution and drops the other Open proposals', async () => {
    const [m0, m1] = gov.members;
    const pending = await gov.propose(m1!, { actions: [{ name: 'set_user', args: { cert: gov.read('user1_cert.pem') } }] });
    const replacement = `${defaultConstitution()}\n// amended by vote\n`;
    const p = await gov.propose(m0!, { actions: [{ name: 'set_constitution', args: { constitution: replacement } }] });
    await gov.vote(m0!, p.body.proposalId);
    expect((await gov.vote(m1!, p.body.proposalId)).body.proposalState).toBe('Accepted');
    expect((await gov.get('/gov/service/constitution')).body).toBe(replacement);
    expect((await gov.get(`/gov/members/proposals/${pending.body.proposalId}`)).body.proposalState).toBe('Dropped');
  });
});
