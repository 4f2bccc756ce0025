// The /gov endpoints in process: an enclave started from genesis (Opening, three Accepted members, the
// default constitution) behind the real Frontend, requests signed by the client library.
import { beforeAll, describe, expect, it } from 'vitest';
import type { HostPort, ResponseMessage } from '../node/boundary.ts';
import { Enclave } from '../node/enclave/enclave.ts';
import { Frontend } from '../node/enclave/frontend.ts';
import { Tables, UNIT_KEY, parseJsonBytes, utf8 } from '../node/enclave/tables.ts';
import { createIdentity, idFromCertificate } from '../node/crypto/certs.ts';
import { governanceApp, govReadEndpoint, registerGovEndpoints } from './app.ts';
import { createMember, type TestMember } from './testing.ts';
import { GovTables } from './tables.ts';
import { defaultConstitution } from './default-constitution.ts';

const V = 'api-version=2024-07-01';
const COSE = { 'content-type': 'application/cose' };
const now = () => Math.floor(Date.now() / 1000);

function memoryHost(): HostPort & { enclave?: Enclave } {
  const entries: Uint8Array[] = [];
  const host: HostPort & { enclave?: Enclave } = {
    ledgerAppend(seqno, bytes) {
      entries[seqno - 1] = bytes;
    },
    ledgerFlush() {
      queueMicrotask(() => host.enclave?.onLedgerDurable(entries.length));
    },
    async ledgerTruncate(seqno) {
      entries.length = seqno;
    },
    ledgerCommit() {},
    async ledgerRead(seqno) {
      return entries[seqno - 1]?.slice();
    },
    async sealedWrite() {},
    log() {},
  };
  return host;
}

interface Answer {
  status: number;
  body: any;
}

let enclave: Enclave;
let frontend: Frontend;
let members: TestMember[];
let userCert: string;
let stranger: TestMember;

async function call(method: string, path: string, body: Uint8Array = new Uint8Array(0), headers: Record<string, string> = {}, query = V): Promise<Answer> {
  const answer: ResponseMessage = await frontend.handle({ method, path, query, headers, body });
  const text = typeof answer.body === 'string' ? answer.body : new TextDecoder().decode(answer.body);
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // text
  }
  return { status: answer.status, body: parsed };
}

async function signedPost(member: TestMember, path: string, payload: object | Uint8Array, msgType: string, proposalId?: string, createdAt = now()): Promise<Answer> {
  const body = await member.sign(payload, { msgType, createdAt, ...(proposalId ? { proposalId } : {}) });
  return call('POST', path, body, COSE);
}

const propose = (m: TestMember, proposal: object, createdAt?: number) => signedPost(m, '/gov/members/proposals:create', proposal, 'proposal', undefined, createdAt);
const vote = (m: TestMember, id: string, yes = true) =>
  signedPost(m, `/gov/members/proposals/${id}/ballots/${m.id}:submit`, { ballot: `export function vote(proposal, proposerId) { return ${yes}; }` }, 'ballot', id);

async function ack(m: TestMember): Promise<void> {
  const update = await signedPost(m, `/gov/members/state-digests/${m.id}:update`, new Uint8Array(0), 'state_digest');
  expect(update.status, JSON.stringify(update.body)).toBe(200);
  const acked = await signedPost(m, `/gov/members/state-digests/${m.id}:ack`, { memberId: m.id, stateDigest: update.body.stateDigest }, 'ack');
  expect(acked.status, JSON.stringify(acked.body)).toBe(204);
}

function serviceStatus(): string {
  return parseJsonBytes<{ status: string }>(enclave.store.get(Tables.serviceInfo, UNIT_KEY)!).status;
}

// Another module's /gov endpoint (as governance/recovery adds its own).
registerGovEndpoints(() => [govReadEndpoint('/gov/test/{name}:echo', (ctx) => ({ body: { name: ctx.params.name } }))]);

beforeAll(async () => {
  members = await Promise.all([createMember('member0'), createMember('member1', 'P-256'), createMember('member2')]);
  stranger = await createMember('stranger');
  userCert = (await createIdentity('user0', 'P-256')).certPem;
  const host = memoryHost();
  enclave = await Enclave.start({
    host,
    options: { signatureTxCount: 1000, signatureDelayMs: 5 },
    sealingKey: new Uint8Array(32).fill(3),
    ledger: { entries: [] },
    genesis: { members: members.map((m) => ({ certPem: m.certPem })), users: [], open: false },
    addresses: { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] },
  });
  host.enclave = enclave;
  frontend = new Frontend(enclave, [governanceApp(enclave)], host);
});

describe('/gov on a node', () => {
  it('routes CCF paths, requires api-version, and serves the service state before it is Open', async () => {
    expect((await call('GET', '/gov/service/info', undefined, {}, '')).body.error.code).toBe('MissingApiVersionParameter');
    expect((await call('GET', '/gov/service/info', undefined, {}, 'api-version=1999-01-01')).body.error.code).toBe('UnsupportedApiVersionValue');
    const info = await call('GET', '/gov/service/info');
    expect(info.body).toMatchObject({ status: 'Opening', certificate: enclave.serviceCertPem, recoveryThreshold: 1 });
    const listed = await call('GET', '/gov/service/members');
    expect(listed.body.value.map((m: { memberId: string; status: string }) => [m.memberId, m.status]).sort())
      .toEqual(members.map((m) => [m.id, 'Accepted']).sort());
    expect((await call('GET', '/gov/service/constitution')).body).toBe(defaultConstitution());
    expect((await call('GET', '/gov/service/nodes')).body.value).toMatchObject([{ nodeId: enclave.nodeId, status: 'Trusted' }]);
    expect((await call('GET', '/gov/members/proposals')).body).toEqual({ value: [] });
    expect((await call('GET', '/gov/test/abc:echo')).body).toEqual({ name: 'abc' });
    expect((await call('GET', '/gov/test/abc:echo', undefined, {}, '')).status).toBe(400);
  });

  it('an Accepted member cannot propose; it acks the state digest and becomes Active', async () => {
    const early = await propose(members[0]!, { actions: [{ name: 'set_user', args: { cert: userCert } }] });
    expect(early.status).toBe(403);
    expect(early.body.error.code).toBe('MemberNotActive');
    enclave.emitSignature();
    const update = await signedPost(members[0]!, `/gov/members/state-digests/${members[0]!.id}:update`, new Uint8Array(0), 'state_digest');
    expect(update.body).toEqual({ memberId: members[0]!.id, stateDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await call('GET', `/gov/members/state-digests/${members[0]!.id}`)).body).toEqual(update.body);
    const wrong = await signedPost(members[0]!, `/gov/members/state-digests/${members[0]!.id}:ack`, { stateDigest: '00'.repeat(32) }, 'ack');
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('StateDigestMismatch');
    const otherPath = await signedPost(members[0]!, `/gov/members/state-digests/${members[1]!.id}:ack`, { stateDigest: update.body.stateDigest }, 'ack');
    expect(otherPath.status).toBe(401);
    for (const m of members) await ack(m);
    const listed = (await call('GET', '/gov/service/members')).body.value;
    expect(listed.every((m: { status: string }) => m.status === 'Active')).toBe(true);
  });

  let openId: string;
  it('a proposal stays Open without a strict majority, is Accepted with one, and applies', async () => {
    const created = await propose(members[0]!, { actions: [{ name: 'set_user', args: { cert: userCert } }, { name: 'transition_service_to_open', args: {} }] });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toEqual({ proposalId: expect.stringMatching(/^[0-9a-f]{64}$/), proposerId: members[0]!.id, proposalState: 'Open', ballotCount: 0 });
    const id = created.body.proposalId;
    expect((await vote(members[0]!, id)).body).toMatchObject({ proposalState: 'Open', ballotCount: 1 });
    expect(serviceStatus()).toBe('Opening');
    const accepted = await vote(members[1]!, id);
    expect(accepted.body).toMatchObject({ proposalState: 'Accepted', ballotCount: 2, finalVotes: { [members[0]!.id]: true, [members[1]!.id]: true }, voteFailures: {} });
    expect(serviceStatus()).toBe('Open');
    expect(enclave.store.get(Tables.userCerts, utf8(idFromCertificate(userCert)))).toBeDefined();
    expect((await call('GET', `/gov/members/proposals/${id}/actions`)).body.actions.map((a: { name: string }) => a.name)).toEqual(['set_user', 'transition_service_to_open']);
    expect((await call('GET', `/gov/members/proposals/${id}/ballots/${members[1]!.id}`)).body).toEqual({ script: expect.stringContaining('return true') });
    expect((await vote(members[2]!, id)).body.error.code).toBe('ProposalNotOpen');

    const open = await propose(members[1]!, { actions: [{ name: 'set_member_data', args: { member_id: members[2]!.id, member_data: { x: 1 } } }] });
    openId = open.body.proposalId;
    expect((await vote(members[0]!, openId, false)).body.proposalState).toBe('Open');
    expect((await call('GET', `/gov/members/proposals/${openId}`)).body).toMatchObject({ proposalState: 'Open', ballotCount: 1 });
  });

  it('only the proposer withdraws; a withdrawn proposal takes no ballots', async () => {
    const byOther = await signedPost(members[0]!, `/gov/members/proposals/${openId}:withdraw`, new Uint8Array(0), 'withdrawal', openId);
    expect(byOther.status).toBe(403);
    const withdrawn = await signedPost(members[1]!, `/gov/members/proposals/${openId}:withdraw`, new Uint8Array(0), 'withdrawal', openId);
    expect(withdrawn.body).toMatchObject({ proposalId: openId, proposalState: 'Withdrawn' });
    const late = await vote(members[2]!, openId);
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('ProposalNotOpen');
    const version = enclave.store.version;
    const again = await signedPost(members[1]!, `/gov/members/proposals/${openId}:withdraw`, new Uint8Array(0), 'withdrawal', openId);
    expect(again.body).toMatchObject({ proposalId: openId, proposalState: 'Withdrawn' });
    expect(enclave.store.version).toBe(version); // nothing written
    const unknown = await signedPost(members[1]!, `/gov/members/proposals/${'0'.repeat(64)}:withdraw`, new Uint8Array(0), 'withdrawal', '0'.repeat(64));
    expect(unknown.status).toBe(204);
  });

  it('validate refuses an invalid action with its description', async () => {
    const refused = await propose(members[0]!, { actions: [{ name: 'no_such_action', args: {} }] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'ProposalFailedToValidate', message: expect.stringMatching(/no_such_action/) });
    const badArgs = await propose(members[0]!, { actions: [{ name: 'add_snp_measurement', args: { measurement: 'zz' } }] });
    expect(badArgs.body.error.message).toMatch(/measurement/);
  });

  it('a proposal whose apply fails is Failed, with the reason, and changes nothing else', async () => {
    const before = enclave.store.get(Tables.memberInfo, utf8(members[2]!.id));
    const p = await propose(members[0]!, { actions: [
      { name: 'set_member_data', args: { member_id: members[2]!.id, member_data: { y: 2 } } },
      { name: 'set_node_data', args: { node_id: 'ab'.repeat(32), node_data: {} } },
    ] });
    await vote(members[0]!, p.body.proposalId);
    const failed = await vote(members[1]!, p.body.proposalId);
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ proposalState: 'Failed', failure: { reason: expect.stringMatching(/^Failed to apply\(\): Error: No such node/) } });
    expect(enclave.store.get(Tables.memberInfo, utf8(members[2]!.id))).toEqual(before);
  });

  it('every signed request is recorded in cose_history', async () => {
    const raw = enclave.store.get(GovTables.coseHistory, utf8(members[1]!.id));
    expect(raw).toBeDefined();
    const bytes = Buffer.from(parseJsonBytes<string>(raw!), 'base64');
    expect(bytes[0]).toBe(0xd2);
  });
});
