// Governance on a 3-node network (real node processes, replication): members, users and the app are
// governed through a backup (it forwards governance writes to the primary) and every node ends up with
// the same governance state. The cluster is created and opened by the sandbox's bootstrap (member0, by
// vote, through these endpoints); member1 and member2 are added by vote and ack; a user is added and
// the app redeployed by vote, and the user's write through a backup succeeds; a proposal short of a
// majority stays Open, a withdrawn one takes no ballots, an invalid one is refused by validate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBundleDir } from '../../app-sdk/src/bundle.ts';
import { createIdentity, idFromCertificate } from '../../node/crypto/certs.ts';
import { govRequests, memberFromPem, type GovRequests, type TestMember } from '../../governance/testing.ts';
import { HttpsClient } from '../helpers/https.ts';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.ts';
import { LOGGING_JS_BUNDLE } from '../helpers/network.ts';

describe('governance on a 3-node network', () => {
  let cluster: Cluster;
  let members: TestMember[];
  let backup: GovRequests;
  let primary: GovRequests;
  let backupIndex: number;
  let user: { certPem: string; privateKeyPem: string };
  const clients: HttpsClient[] = [];
  const client = (i: number) => {
    const c = cluster.anonymousClient(i);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, nodeConfig: { signatureDelayMs: 10 } });
    const read = (f: string) => readFileSync(join(cluster.common, f), 'utf8');
    const extra = await Promise.all([createIdentity('member1', 'P-384'), createIdentity('member2', 'P-256')]);
    members = [memberFromPem(read('member0_cert.pem'), read('member0_privk.pem')), ...extra.map((m) => memberFromPem(m.certPem, m.privateKeyPem))];
    const p = await waitFor('a primary', () => cluster.primary());
    backupIndex = (p + 1) % 3;
    primary = govRequests(client(p));
    backup = govRequests(client(backupIndex));
    const u = await createIdentity('user1', 'P-256');
    user = { certPem: u.certPem, privateKeyPem: u.privateKeyPem };
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  it('adds two members by vote through a backup; each acks and becomes Active on every node', async () => {
    const [m0, m1, m2] = members as [TestMember, TestMember, TestMember];
    expect((await backup.get('/gov/service/info')).body.status).toBe('Open'); // opened by the bootstrap's vote
    const add1 = await backup.propose(m0, { actions: [{ name: 'set_member', args: { cert: m1.certPem } }] });
    expect(add1.status, JSON.stringify(add1.body)).toBe(200);
    expect((await backup.vote(m0, add1.body.proposalId)).body.proposalState).toBe('Accepted'); // 1 of 1
    await backup.ack(m1);
    const add2 = await backup.propose(m1, { actions: [{ name: 'set_member', args: { cert: m2.certPem, member_data: { n: 2 } } }] });
    expect((await backup.vote(m0, add2.body.proposalId)).body.proposalState).toBe('Open'); // 1 of 2
    expect((await backup.vote(m1, add2.body.proposalId)).body.proposalState).toBe('Accepted');
    await backup.ack(m2);
    for (let i = 0; i < 3; i++) {
      const node = govRequests(client(i));
      await waitFor(`node ${i} to see three Active members`, async () => {
        const listed = (await node.get('/gov/service/members')).body.value as Array<{ memberId: string; status: string }>;
        return listed.length === 3 && listed.every((m) => m.status === 'Active') ? true : undefined;
      });
    }
  });

  it('adds a user and redeploys the app by vote; the user writes through a backup', async () => {
    const [m0, m1, m2] = members as [TestMember, TestMember, TestMember];
    const p = await backup.propose(m2, { actions: [
      { name: 'set_user', args: { cert: user.certPem } },
      { name: 'set_js_app', args: { bundle: readBundleDir(LOGGING_JS_BUNDLE), disable_bytecode_cache: false } },
    ] });
    expect((await backup.vote(m0, p.body.proposalId)).body.proposalState).toBe('Open');
    expect((await backup.vote(m1, p.body.proposalId)).body.proposalState).toBe('Accepted'); // 2 of 3
    const userClient = new HttpsClient({ url: `https://${cluster.nodes[backupIndex]!.rpcAddress}`, ca: cluster.serviceCert, cert: user.certPem, key: user.privateKeyPem });
    clients.push(userClient);
    const written = await waitFor('the new user to be known on the backup', async () => {
      const res = await userClient.post('/app/log/private', { id: 42, msg: 'governed' });
      return res.status === 200 ? res : undefined;
    });
    expect(written.headers['x-ms-ccf-transaction-id']).toMatch(/^\d+\.\d+$/);
    expect((await primary.get(`/gov/service/users/${idFromCertificate(user.certPem)}`)).status).toBe(200);
  });

  it('a proposal short of a majority stays Open, a withdrawn one takes no ballots, an invalid one is refused', async () => {
    const [m0, m1, m2] = members as [TestMember, TestMember, TestMember];
    const p = await backup.propose(m0, { actions: [{ name: 'set_member_data', args: { member_id: m2.id, member_data: { n: 3 } } }] });
    expect((await backup.vote(m0, p.body.proposalId, true)).body.proposalState).toBe('Open');
    expect((await backup.vote(m1, p.body.proposalId, false)).body).toMatchObject({ proposalState: 'Open', ballotCount: 2 });
    for (let i = 0; i < 3; i++) {
      const node = govRequests(client(i));
      await waitFor(`node ${i} to see the Open proposal`, async () => ((await node.get(`/gov/members/proposals/${p.body.proposalId}`)).body.proposalState === 'Open' ? true : undefined));
    }
    expect((await backup.withdraw(m1, p.body.proposalId)).status).toBe(403);
    expect((await backup.withdraw(m0, p.body.proposalId)).body.proposalState).toBe('Withdrawn');
    const late = await backup.vote(m2, p.body.proposalId);
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('ProposalNotOpen');
    const invalid = await backup.propose(m2, { actions: [{ name: 'set_user', args: { cert: 'not a certificate' } }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'ProposalFailedToValidate', message: expect.stringMatching(/set_user at position 0 failed validation: cert must be a PEM certificate/) });
  });
});
