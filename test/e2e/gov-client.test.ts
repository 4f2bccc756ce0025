// Governance end to end on a real node, through the client library's governance client and the
// `synod gov` CLI: a service that starts Opening (genesis with two Accepted members and one user);
// members ack (→ Active); the app is deployed and the service opened by vote (the sandbox's
// bootstrapService); a member and a user are added by vote and can act; a proposal without a majority
// stays Open, a withdrawn one takes no ballots, an invalid one is refused by validate(); the CLI's
// --json output; and the offline governance history of the run's ledger lists every proposal, ballot
// and outcome. Tests run in order on one node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GovernanceClient,
  InvalidRequestError,
  SynodClient,
  certificateId,
  createClient,
  createGovernanceClient,
  proposal,
  setMember,
  setUser,
} from '../../client/src/index.ts';
import { ExitCode, main } from '../../client/src/cli/main.ts';
import { readBundleDir } from '../../app-sdk/src/bundle.ts';
import { createIdentities } from '../../node/sandbox/main.ts';
import { bootstrapService } from '../../node/sandbox/bootstrap.ts';
import { startNode, type NodeProcess } from '../../node/sandbox/supervisor.ts';
import { LOGGING_JS_BUNDLE } from '../helpers/network.ts';

let workspace: string;
let common: string;
let dataDir: string;
let node: NodeProcess;
let url: string;
let serviceCert: string;
const gov: GovernanceClient[] = [];
/** Every proposal this run created, with the outcome and the voters the ledger must show. */
const created = new Map<string, { state: string; voters: string[] }>();

const read = (name: string): string => readFileSync(join(common, name), 'utf8');
const member = (i: number) => ({ certPem: read(`member${i}_cert.pem`), keyPem: read(`member${i}_privk.pem`) });
const memberId = (i: number): string => certificateId(read(`member${i}_cert.pem`));

function userClient(i: number): SynodClient {
  return createClient({ url, serviceCert, identity: { certPem: read(`user${i}_cert.pem`), keyPem: read(`user${i}_privk.pem`) } });
}

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`) });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'synod-gov-e2e-'));
  common = join(workspace, 'sandbox_common');
  dataDir = join(workspace, 'sandbox_0');
  await createIdentities(common, 3, 2);
  node = await startNode({
    dataDir,
    rpcAddress: '127.0.0.1:0',
    serviceCertFile: join(common, 'service_cert.pem'),
    signatureDelayMs: 5,
    genesis: {
      // member2 and user1 are added by governance below.
      members: [0, 1].map((i) => ({ certFile: join(common, `member${i}_cert.pem`), encryptionPublicKeyFile: join(common, `member${i}_enc_pubk.pem`) })),
      users: [{ certFile: join(common, 'user0_cert.pem') }],
      open: false,
    },
  });
  url = `https://${node.status.rpcAddress}`;
  serviceCert = read('service_cert.pem');
  for (const i of [0, 1, 2]) gov.push(createGovernanceClient({ url, serviceCert, member: member(i) }));
});

afterAll(async () => {
  for (const g of gov) g.close();
  await node?.kill('SIGTERM');
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

describe('governance through the client, on a real node', () => {
  it('genesis members are Accepted; each acks its state digest and becomes Active', async () => {
    expect((await gov[0]!.serviceInfo()).status).toBe('Opening');
    const before = await gov[0]!.members();
    expect(before.map((m) => m.status)).toEqual(['Accepted', 'Accepted']);
    // An Accepted member may not propose yet (CCF: 401 from the active-member policy).
    const early = await gov[0]!.propose(proposal(setUser(read('user1_cert.pem')))).catch((e: unknown) => e);
    expect([401, 403]).toContain((early as { status?: number }).status);
    for (const i of [0, 1]) {
      const digest = await gov[i]!.stateDigest();
      expect(digest).toMatchObject({ memberId: memberId(i), stateDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
      await gov[i]!.ack(digest);
    }
    const after = await gov[0]!.members();
    expect(Object.fromEntries(after.map((m) => [m.memberId, m.status]))).toEqual({ [memberId(0)]: 'Active', [memberId(1)]: 'Active' });
  });

  it('deploys the app and opens the service by vote (the sandbox bootstrap); users can then call the app', async () => {
    const user0 = userClient(0);
    try {
      await expect(user0.post('/app/log/private', { id: 1, msg: 'too early' })).rejects.toMatchObject({ status: expect.any(Number) });
      const result = await bootstrapService({ nodeAddress: node.status.rpcAddress, serviceCertPem: serviceCert, members: [member(0), member(1)], bundle: readBundleDir(LOGGING_JS_BUNDLE) });
      expect(result.opened).toBe(true);
      expect(result.activated).toEqual([]); // both acked already
      expect(result.proposal).toMatchObject({ proposalState: 'Accepted', ballotCount: 2 });
      created.set(result.proposal!.proposalId, { state: 'Accepted', voters: [memberId(0), memberId(1)] });
      expect((await gov[0]!.serviceInfo()).status).toBe('Open');
      expect(Object.keys((await gov[0]!.javascriptApp()).endpoints)).toContain('/log/private');
      const write = await user0.post('/app/log/private', { id: 1, msg: 'hello' });
      expect(write.status).toBe(200);
      expect((await user0.get('/app/log/private?id=1')).json()).toEqual({ msg: 'hello' });
    } finally {
      user0.close();
    }
  });

  it('adds a member by vote; the new member acks and becomes Active, and can then vote', async () => {
    const p = await gov[0]!.propose(proposal(setMember(read('member2_cert.pem'), read('member2_enc_pubk.pem'))));
    expect(p).toMatchObject({ proposalState: 'Open', proposerId: memberId(0), ballotCount: 0 });
    expect((await gov[0]!.vote(p.proposalId)).proposalState).toBe('Open'); // 1 of 2 is no majority
    const accepted = await gov[1]!.vote(p.proposalId);
    expect(accepted.proposalState).toBe('Accepted');
    created.set(p.proposalId, { state: 'Accepted', voters: [memberId(0), memberId(1)] });
    expect((await gov[0]!.member(memberId(2))).status).toBe('Accepted');
    await gov[2]!.ack();
    expect((await gov[0]!.member(memberId(2))).status).toBe('Active');
  });

  it('adds a user by vote, who can then call the app', async () => {
    const user1 = userClient(1);
    try {
      await expect(user1.post('/app/log/private', { id: 2, msg: 'x' })).rejects.toMatchObject({ status: 401 });
      const p = await gov[1]!.propose(proposal(setUser(read('user1_cert.pem'))));
      // Three Active members now: two votes are a majority.
      expect((await gov[1]!.vote(p.proposalId)).proposalState).toBe('Open');
      expect((await gov[2]!.vote(p.proposalId)).proposalState).toBe('Accepted');
      created.set(p.proposalId, { state: 'Accepted', voters: [memberId(1), memberId(2)] });
      expect((await gov[0]!.users()).map((u) => u.userId)).toContain(certificateId(read('user1_cert.pem')));
      expect((await user1.post('/app/log/private', { id: 2, msg: 'from user1' })).status).toBe(200);
    } finally {
      user1.close();
    }
  });

  let openId: string;
  it('a proposal without a majority stays Open; a withdrawn one takes no ballots', async () => {
    const p = await gov[0]!.propose(proposal(setUser(read('member2_cert.pem'))));
    openId = p.proposalId;
    expect((await gov[0]!.vote(openId, true)).proposalState).toBe('Open');
    expect((await gov[1]!.vote(openId, false)).proposalState).toBe('Open'); // 1 for, 1 against, of 3
    const info = await gov[2]!.getProposal(openId);
    expect(info).toMatchObject({ proposalState: 'Open', ballotCount: 2 });
    expect(await gov[2]!.getBallot(openId, memberId(1))).toMatch(/return false/);
    expect((await gov[2]!.listProposals()).find((x) => x.proposalId === openId)?.proposalState).toBe('Open');

    await expect(gov[1]!.withdraw(openId)).rejects.toMatchObject({ status: 403 }); // only the proposer
    const withdrawn = await gov[0]!.withdraw(openId);
    expect(withdrawn?.proposalState).toBe('Withdrawn');
    const late = await gov[2]!.vote(openId, true).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(InvalidRequestError);
    expect(late).toMatchObject({ code: 'ProposalNotOpen' });
    created.set(openId, { state: 'Withdrawn', voters: [memberId(0), memberId(1)] });
  });

  it('a proposal with an invalid action is refused by validate(), with its description', async () => {
    const refused = await gov[0]!.propose({ actions: [{ name: 'no_such_action', args: {} }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect(refused).toMatchObject({ status: 400, code: 'ProposalFailedToValidate' });
    expect((refused as InvalidRequestError).serviceMessage).toMatch(/no_such_action/);
    const badArgs = await gov[0]!.propose({ actions: [{ name: 'set_user', args: { cert: 'not a certificate' } }] }).catch((e: unknown) => e);
    expect(badArgs).toMatchObject({ code: 'ProposalFailedToValidate' });
    expect((badArgs as InvalidRequestError).serviceMessage).toMatch(/cert/);
  });

  it('synod gov list / show / info --json, and a refused request exits 4 with the service code', async () => {
    const connection = ['--server', url, '--workspace', workspace];
    const list = await cli(['gov', 'list', '--json', ...connection]);
    expect(list.code, list.stderr).toBe(ExitCode.ok);
    const listed = JSON.parse(list.stdout);
    expect(listed.ok).toBe(true);
    expect(listed.proposals.find((p: { proposalId: string }) => p.proposalId === openId)).toMatchObject({ proposalState: 'Withdrawn', proposerId: memberId(0) });
    const show = JSON.parse((await cli(['gov', 'show', openId, '--json', ...connection])).stdout);
    expect(show.proposal).toMatchObject({ proposalId: openId, proposalState: 'Withdrawn' });
    expect(show.actions).toEqual([{ name: 'set_user', args: { cert: read('member2_cert.pem') } }]);
    const info = JSON.parse((await cli(['gov', 'info', '--json', ...connection])).stdout);
    expect(info.service.status).toBe('Open');
    expect(info.members).toHaveLength(3);
    expect(info.nodes.map((n: { status: string }) => n.status)).toEqual(['Trusted']);
    // member1 proposes through the CLI with its own files, then member0 withdraws nothing of theirs.
    const proposed = await cli(['gov', 'propose', '--action', 'no_such_action', '--json', '--member-name', 'member1', ...connection]);
    expect(proposed.code).toBe(ExitCode.requestFailed);
    expect(JSON.parse(proposed.stdout)).toMatchObject({ ok: false, error: { code: 'ProposalFailedToValidate', status: 400 } });
  });

  it('the offline governance history of this ledger lists every proposal, ballot and outcome', async () => {
    // Let the last governance write be signed and committed, so the whole history is vouched for.
    const reader = createClient({ url, serviceCert });
    try {
      await reader.waitForCommit(await reader.commit());
    } finally {
      reader.close();
    }
    const ledger = join(dataDir, 'ledger');
    const run = await cli(['gov', 'history', ledger, '--json', '--workspace', workspace]);
    expect(run.code, run.stdout + run.stderr).toBe(ExitCode.ok);
    const history = JSON.parse(run.stdout);
    expect(history.ok).toBe(true);
    expect(history.counts.memberSignaturesVerified).toBe(history.counts.governanceRequests);
    expect(history.counts.governanceRequests).toBeGreaterThanOrEqual(12); // acks, proposals, ballots, withdrawal
    const byId = new Map<string, { finalState: string; ballots: Array<{ member: string }>; proposer: string; actions: string[] }>(
      history.proposals.map((p: { id: string }) => [p.id, p]),
    );
    expect([...byId.keys()].sort()).toEqual([...created.keys()].sort());
    for (const [id, expected] of created) {
      const p = byId.get(id)!;
      expect(p.finalState, id).toBe(expected.state);
      expect(p.ballots.map((b) => b.member).sort(), id).toEqual([...expected.voters].sort());
    }
    expect(byId.get(openId)!.actions).toEqual(['set_user']);
    const human = await cli(['gov', 'history', ledger, '--workspace', workspace]);
    expect(human.stdout).toMatch(/audit passed/);
    for (const id of created.keys()) expect(human.stdout).toContain(id.slice(0, 16));
    expect(human.stdout).toMatch(/→ Withdrawn/);
    expect(human.stdout).toMatch(/ballot by [0-9a-f]{16} at \d+\.\d+: for/);
  });
});
