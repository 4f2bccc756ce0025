// Disaster recovery drill (issue 6): a service with three recovery members and threshold 2 writes
// private data before and after a ledger rekey; every node is stopped; a new node started from the old ledger files recovers it as a
// new service: Recovering, the members vote transition_service_to_open (WaitingForRecoveryShares), and
// with one share the private data stays unreadable; with the second (submitted by `synod gov
// recovery-share`) the service opens with the same history, a new identity that names the previous one,
// and the private data back.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { createIdentities } from '../../node/sandbox/main.ts';
import { startNode, type NodeProcess } from '../../node/sandbox/supervisor.ts';
import { HttpsClient } from '../helpers/https.ts';
import { govRequests, memberFromPem, passProposal, type GovRequests } from '../../governance/testing.ts';
import { createGovernanceClient } from '../../client/src/gov/node.ts';
import { submitRecoveryShare } from '../../client/src/gov/recovery.ts';
import { transitionNodeToTrusted } from '../../client/src/gov/proposals.ts';
import { govCommand } from '../../client/src/cli/gov-commands.ts';
import { verifyReceipt } from '../../client/src/verify/receipt.ts';

const workspace = mkdtempSync(join(tmpdir(), 'synod-recovery-'));
const common = join(workspace, 'sandbox_common');
const read = (file: string) => readFileSync(join(common, file), 'utf8');
const running: NodeProcess[] = [];
const clients: HttpsClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  for (const node of running) await node.kill('SIGKILL').catch(() => undefined);
  rmSync(workspace, { recursive: true, force: true });
});

function connect(node: NodeProcess, serviceCert: string): { anonymous: HttpsClient; user: HttpsClient; gov: GovRequests } {
  const url = `https://${node.status.rpcAddress}`;
  const anonymous = new HttpsClient({ url, ca: serviceCert });
  const user = new HttpsClient({ url, ca: serviceCert, cert: read('user0_cert.pem'), key: read('user0_privk.pem') });
  clients.push(anonymous, user);
  return { anonymous, user, gov: govRequests(anonymous) };
}


async function serviceStatus(gov: GovRequests): Promise<string> {
  return (await gov.get('/gov/service/info')).body.status;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('disaster recovery drill', () => {
  it('recovers the private state from the ledger files with a threshold of member shares', { timeout: 90_000 }, async () => {
    await createIdentities(common, 3, 1);
    const members = [0, 1, 2].map((i) => memberFromPem(read(`member${i}_cert.pem`), read(`member${i}_privk.pem`)));
    const oldDir = join(workspace, 'node0');
    const old = await startNode({
      dataDir: oldDir, rpcAddress: '127.0.0.1:0', serviceCertFile: join(common, 'service_cert.pem'), signatureDelayMs: 5,
      nativeApps: ['logging'],
      genesis: {
        members: [0, 1, 2].map((i) => ({ certFile: join(common, `member${i}_cert.pem`), encryptionPublicKeyFile: join(common, `member${i}_enc_pubk.pem`) })),
        users: [{ certFile: join(common, 'user0_cert.pem') }],
        open: true,
      },
    });
    running.push(old);
    const oldCert = read('service_cert.pem');
    const before = connect(old, oldCert);
    for (const m of members) await before.gov.ack(m);
    await passProposal(before.gov, members, [{ name: 'set_recovery_threshold', args: { recovery_threshold: 2 } }]);
    const early = await before.user.post('/app/log/private', { id: 41, msg: 'written before the rekey' });
    expect(early.status).toBe(200);
    // A ledger rekey by proposal: later entries use a new ledger secret, and the shares cover both.
    await passProposal(before.gov, members, [{ name: 'trigger_ledger_rekey', args: {} }]);
    await new Promise((r) => setTimeout(r, 300));
    const written = await before.user.post('/app/log/private', { id: 42, msg: 'the private recipe' });
    expect(written.status).toBe(200);
    const txid = String(written.headers['x-ms-ccf-transaction-id']);
    await before.user.waitForCommit(txid);
    // Let the reissued shares (threshold 2) and a signature after them reach the ledger.
    await new Promise((r) => setTimeout(r, 500));

    // Every node is lost. The ledger files never held the private data in plaintext.
    await old.kill('SIGKILL');
    const ledgerDir = join(oldDir, 'ledger');
    for (const file of readdirSync(ledgerDir)) expect(readFileSync(join(ledgerDir, file)).includes('the private recipe')).toBe(false);
    expect(readdirSync(ledgerDir).some((file) => readFileSync(join(ledgerDir, file)).includes('public:ccf.internal.encrypted_ledger_secrets'))).toBe(true);

    const fresh = await startNode({
      dataDir: join(workspace, 'node1'), rpcAddress: '127.0.0.1:0', serviceCertFile: join(common, 'service_cert_recovered.pem'),
      signatureDelayMs: 5, nativeApps: ['logging'],
      recover: { previousLedgerDir: ledgerDir, previousServiceCertFile: join(common, 'service_cert.pem') },
    });
    running.push(fresh);
    const newCert = read('service_cert_recovered.pem');
    expect(newCert).not.toBe(oldCert);
    const after = connect(fresh, newCert);
    expect(await serviceStatus(after.gov)).toBe('Recovering');
    // The new identity names and endorses the previous one.
    const identity = (await after.anonymous.get('/node/service/previous_identity')).json() as Record<string, string>;
    expect(identity.previous_service_identity!.trim()).toBe(oldCert.trim());
    const endorsement = new X509Certificate(identity.previous_service_identity_endorsement!);
    expect(endorsement.verify(new X509Certificate(newCert).publicKey)).toBe(true);
    expect(endorsement.publicKey.export({ type: 'spki', format: 'der' }).equals(new X509Certificate(oldCert).publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    const info = (await after.gov.get('/gov/service/info')).body;
    expect(JSON.stringify(info)).not.toContain('the private recipe');
    expect((await after.user.get('/app/log/private?id=42')).status).not.toBe(200);

    await passProposal(after.gov, members, [{
      name: 'transition_service_to_open', args: { previous_service_identity: oldCert, next_service_identity: newCert },
    }]);
    expect(await serviceStatus(after.gov)).toBe('WaitingForRecoveryShares');

    // A bogus share and a good one: the key they give does not unwrap the secrets; both are dropped.
    const bogus = new Uint8Array(33).fill(7);
    const bad = await after.gov.post(members[2]!, `/gov/recovery/members/${members[2]!.id}:recover`, { share: Buffer.from(bogus).toString('base64') }, 'recovery_share');
    expect(bad.status, JSON.stringify(bad.body)).toBe(200);
    expect(bad.body.message).toMatch(/^1\/2/);
    const gov0first = createGovernanceClient({ url: `https://${fresh.status.rpcAddress}`, serviceCert: newCert, member: { certPem: read('member0_cert.pem'), keyPem: read('member0_privk.pem') } });
    try {
      await expect(submitRecoveryShare(gov0first, read('member0_enc_privk.pem'))).rejects.toThrow(/RecoveryFailed|fails to unwrap/);
    } finally {
      gov0first.close();
    }
    expect(await serviceStatus(after.gov)).toBe('WaitingForRecoveryShares');
    expect((await after.user.get('/app/log/private?id=42')).status).not.toBe(200);

    // One share, below the threshold: still unreadable.
    const gov0 = createGovernanceClient({ url: `https://${fresh.status.rpcAddress}`, serviceCert: newCert, member: { certPem: read('member0_cert.pem'), keyPem: read('member0_privk.pem') } });
    try {
      const first = await submitRecoveryShare(gov0, read('member0_enc_privk.pem'));
      expect(first.message).toMatch(/^1\/2 recovery shares/);
    } finally {
      gov0.close();
    }
    expect(await serviceStatus(after.gov)).toBe('WaitingForRecoveryShares');
    expect((await after.user.get('/app/log/private?id=42')).status).not.toBe(200);
    // A member without the right encryption key cannot submit a share for itself.
    const wrongKey = createGovernanceClient({ url: `https://${fresh.status.rpcAddress}`, serviceCert: newCert, member: { certPem: read('member2_cert.pem'), keyPem: read('member2_privk.pem') } });
    try {
      await expect(submitRecoveryShare(wrongKey, read('member1_enc_privk.pem'))).rejects.toThrow(/does not decrypt/);
    } finally {
      wrongKey.close();
    }

    // The second share, through the CLI: the threshold is met and the service reopens.
    const out: string[] = [];
    const code = await govCommand(['recovery-share', '--server', `https://${fresh.status.rpcAddress}`, '--workspace', workspace,
      '--service-cert', join(common, 'service_cert_recovered.pem'), '--member-name', 'member1', '--json'], { stdout: (t) => out.push(t) });
    expect(code).toBe(0);
    expect(JSON.parse(out[0]!).message).toMatch(/2\/2 recovery shares.*End of recovery/);
    await until('the service to open', async () => ((await serviceStatus(after.gov)) === 'Open' ? true : undefined));

    const back = await after.user.get('/app/log/private?id=42');
    expect(back.status).toBe(200);
    expect(back.json()).toEqual({ msg: 'the private recipe' });
    expect((await after.user.get('/app/log/private?id=41')).json()).toEqual({ msg: 'written before the rekey' });
    // The same history: the old transaction is committed in the recovered service, and new writes continue it.
    const status = (await after.anonymous.get(`/app/tx?transaction_id=${txid}`)).json() as { status: string };
    expect(status.status).toBe('Committed');
    // Its receipt, signed by a node of the previous service, verifies against the new service certificate.
    const receipt = (await after.anonymous.get(`/app/receipt?transaction_id=${txid}`)).json() as { service_endorsements?: string[] };
    expect(receipt.service_endorsements).toHaveLength(1);
    expect(() => verifyReceipt(receipt, { serviceCert: newCert })).not.toThrow();
    expect(() => verifyReceipt({ ...receipt, service_endorsements: [] }, { serviceCert: newCert })).toThrow();
    const next = await after.user.post('/app/log/private', { id: 43, msg: 'after recovery' });
    expect(next.status).toBe(200);
    const [oldView, oldSeqno] = txid.split('.').map(Number) as [number, number];
    const [newView, newSeqno] = String(next.headers['x-ms-ccf-transaction-id']).split('.').map(Number) as [number, number];
    expect(newSeqno).toBeGreaterThan(oldSeqno);
    expect(newView).toBeGreaterThan(oldView);
    const recovered = (await after.gov.get('/gov/service/info')).body;
    expect(recovered.status).toBe('Open');
    // New shares were issued for the recovered service.
    expect((await after.gov.get(`/gov/recovery/encrypted-shares/${members[2]!.id}`)).status).toBe(200);
    await after.user.waitForCommit(String(next.headers['x-ms-ccf-transaction-id']));

    // The recovered node restarts from its own folder: it unseals both ledger secrets and replays it all.
    await fresh.kill('SIGTERM');
    const restarted = await startNode({
      dataDir: join(workspace, 'node1'), rpcAddress: fresh.status.rpcAddress, serviceCertFile: join(common, 'service_cert_recovered.pem'),
      signatureDelayMs: 5, nativeApps: ['logging'],
      recover: { previousLedgerDir: ledgerDir, previousServiceCertFile: join(common, 'service_cert.pem') },
    });
    running.push(restarted);
    const again = connect(restarted, newCert);
    expect(await serviceStatus(again.gov)).toBe('Open');
    expect((await again.user.get('/app/log/private?id=42')).json()).toEqual({ msg: 'the private recipe' });
    expect((await again.user.get('/app/log/private?id=43')).json()).toEqual({ msg: 'after recovery' });

    // A node joining the recovered service receives every ledger secret and reads the whole history.
    const joining = startNode({
      dataDir: join(workspace, 'node2'), rpcAddress: '127.0.0.1:0', nodeToNodeAddress: '127.0.0.1:0', nativeApps: ['logging'], signatureDelayMs: 5,
      join: { target: restarted.status.rpcAddress, serviceCertFile: join(common, 'service_cert_recovered.pem') },
    });
    const pending = await until('the joiner to be Pending', async () => {
      const nodes = (await again.anonymous.get('/node/network/nodes')).json() as { nodes: Array<{ node_id: string; status: string }> };
      return nodes.nodes.find((n) => n.status === 'Pending')?.node_id;
    }, 20_000);
    await passProposal(again.gov, members, [transitionNodeToTrusted(pending)]);
    const joiner = await joining;
    running.push(joiner);
    const onJoiner = connect(joiner, newCert);
    const late = await again.user.post('/app/log/private', { id: 44, msg: 'replicated' });
    const lateTxid = String(late.headers['x-ms-ccf-transaction-id']);
    await until('the write to commit on the joiner', async () => {
      const st = (await onJoiner.anonymous.get(`/app/tx?transaction_id=${lateTxid}`)).json() as { status: string };
      return st.status === 'Committed' ? true : undefined;
    }, 20_000);
    expect((await onJoiner.user.get('/app/log/private?id=42')).json()).toEqual({ msg: 'the private recipe' });
  });
});
