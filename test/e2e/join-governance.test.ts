// Joining an Open service is governed: a node whose measurement is not trusted is refused with a clear
// error; once members trust its measurement by vote it may ask again, and it stays Pending until members
// vote transition_node_to_trusted; then it receives the secrets, catches up and votes in the quorum.
// `synod verify-service` then verifies both nodes' attestations offline. Removing the node by vote takes
// it out of the configuration again.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, auditLedger, createGovernanceClient, proposal, removeNode, transitionNodeToTrusted } from '@synod/client';
import { startNode, type NodeProcess } from '../../node/sandbox/supervisor.ts';
import { verifyServiceCommand } from '../../client/src/cli/verify-service.ts';
import { startCluster, waitFor, writeUntilCommitted, type Cluster } from '../helpers/cluster.ts';

/** Another build's measurement (the virtual platform lets a launcher state it; nothing hardware-backed). */
const OTHER_MEASUREMENT = 'ab'.repeat(32);

describe('joining an open service by governance', () => {
  let cluster: Cluster;
  let joiner: NodeProcess | undefined;

  beforeAll(async () => {
    // Snapshots every 10 transactions, so the joiner starts from one.
    cluster = await startCluster({ nodes: 1, nodeConfig: { snapshotTxInterval: 10 } });
  }, 120_000);

  afterAll(async () => {
    await joiner?.kill('SIGTERM');
    await cluster?.stop();
  });

  it('refuses an untrusted attestation, then admits the node once members trust it, and removes it by vote', async () => {
    const gov = createGovernanceClient({
      url: `https://${cluster.nodes[0]!.rpcAddress}`,
      serviceCert: cluster.serviceCert,
      member: { certPem: readFileSync(join(cluster.common, 'member0_cert.pem'), 'utf8'), keyPem: readFileSync(join(cluster.common, 'member0_privk.pem'), 'utf8') },
    });
    const passed = async (...actions: ReturnType<typeof action>[]): Promise<void> => {
      const p = await gov.propose(proposal(...actions));
      const info = p.proposalState === 'Accepted' ? p : await gov.vote(p.proposalId);
      expect(info.proposalState).toBe('Accepted');
    };
    const config = {
      dataDir: join(cluster.workspace, 'joiner'),
      rpcAddress: '127.0.0.1:0',
      nodeToNodeAddress: '127.0.0.1:0',
      nativeApps: ['logging'],
      join: { target: cluster.nodes[0]!.rpcAddress, serviceCertFile: join(cluster.common, 'service_cert.pem') },
    };
    const env = { SYNOD_VIRTUAL_MEASUREMENT: OTHER_MEASUREMENT };
    const refused = await startNode(config, { env }).then(() => 'started', (e: Error) => e.message);
    expect(refused).toMatch(/exited/);
    const log = readFileSync(join(config.dataDir, 'node.log'), 'utf8');
    expect(log).toMatch(/join refused .*VIRTUAL_MEASUREMENT_UNTRUSTED/);
    expect(existsSync(join(config.dataDir, 'sealed_secrets.bin'))).toBe(false);

    await passed(action('add_virtual_measurement', { measurement: OTHER_MEASUREMENT }));
    // Records written before the join reach the joiner through the snapshot, not its ledger.
    const early = cluster.userClient(0);
    for (let id = 100; id < 125; id++) expect((await early.request('POST', '/app/log/private', { id, msg: `early ${id}` })).status).toBe(200);
    await waitFor('a committed snapshot', async () => (readdirSync(join(cluster.nodes[0]!.config.dataDir, 'snapshots')).some((f) => f.endsWith('.committed')) ? true : undefined));
    early.close();
    const starting = startNode(config, { env });
    const anonymous = cluster.anonymousClient(0);
    const pending = await waitFor('the joiner to be Pending', async () => {
      const nodes = (await anonymous.request('GET', '/node/network/nodes')).json<{ nodes: Array<{ node_id: string; status: string }> }>().nodes;
      return nodes.find((n) => n.status === 'Pending')?.node_id;
    });
    // Pending: it is not a voter and has not received anything.
    await new Promise((r) => setTimeout(r, 500));
    await passed(transitionNodeToTrusted(pending));
    joiner = await starting;
    expect(joiner.status.nodeId).toBe(pending);

    const user = cluster.userClient(0);
    const write = await user.request('POST', '/app/log/private', { id: 5, msg: 'replicated to the new node' });
    expect(write.status).toBe(200);
    const txid = String(write.headers['x-ms-ccf-transaction-id']);
    const { HttpsClient } = await import('../helpers/https.ts');
    const onJoiner = new HttpsClient({ url: `https://${joiner.status.rpcAddress}`, ca: cluster.serviceCert, cert: cluster.userCert, key: cluster.userKey });
    await waitFor('the write to commit on the joiner', async () => {
      const s = (await onJoiner.request('GET', `/app/tx?transaction_id=${txid}`)).json<{ status: string }>().status;
      return s === 'Committed' ? true : undefined;
    });
    expect((await onJoiner.request('GET', '/app/log/private?id=5')).json<{ msg: string }>().msg).toBe('replicated to the new node');
    // It joined from the service's snapshot: its ledger starts after it, and it holds the earlier records.
    expect(readFileSync(join(config.dataDir, 'node.log'), 'utf8')).toMatch(/joining from the service's snapshot at seqno \d+/);
    expect(readdirSync(join(config.dataDir, 'ledger')).some((f) => /^ledger_1(-|$|\.)/.test(f))).toBe(false);
    expect((await onJoiner.request('GET', '/app/log/private?id=110')).json<{ msg: string }>().msg).toBe('early 110');
    onJoiner.close();

    // Killed and restarted, it starts from that snapshot and its ledger, and catches up.
    await joiner.kill('SIGKILL');
    const { join: _join, ...restartConfig } = config;
    // Same RPC address as the one its record publishes (the node-to-node port is kept in its data folder).
    joiner = await startNode({ ...restartConfig, rpcAddress: joiner.status.rpcAddress }, { env });
    expect(readFileSync(join(config.dataDir, 'node.log'), 'utf8')).toMatch(/starting from the snapshot at seqno \d+/);
    const onRestarted = new HttpsClient({ url: `https://${joiner.status.rpcAddress}`, ca: cluster.serviceCert, cert: cluster.userCert, key: cluster.userKey });
    // With two voters, the restart may move the primary and roll back a write made meanwhile: write until
    // one commits, then read it on the restarted node.
    await waitFor('a new write committed on the restarted joiner', async () => {
      const later = await user.request('POST', '/app/log/private', { id: 6, msg: 'after the restart' });
      if (later.status !== 200) return undefined;
      const txid = later.headers['x-ms-ccf-transaction-id'];
      for (let i = 0; i < 30; i++) {
        const s = (await onRestarted.request('GET', `/app/tx?transaction_id=${txid}`)).json<{ status: string }>().status;
        if (s === 'Committed') return true;
        if (s === 'Invalid') return undefined;
        await new Promise((r) => setTimeout(r, 100));
      }
      return undefined;
    }, 30_000);
    expect((await onRestarted.request('GET', '/app/log/private?id=6')).json<{ msg: string }>().msg).toBe('after the restart');
    expect((await onRestarted.request('GET', '/app/log/private?id=120')).json<{ msg: string }>().msg).toBe('early 120');
    onRestarted.close();

    // The whole network's attestation checks out offline, and only with both measurements expected.
    const out: string[] = [];
    const sink = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    const verifyArgs = ['--server', cluster.nodes[0]!.rpcAddress, '--service-cert', join(cluster.common, 'service_cert.pem'), '--json'];
    const ownMeasurement = (await anonymous.request('GET', '/node/quotes/self')).json<{ measurement: string }>().measurement;
    expect(await verifyServiceCommand([...verifyArgs, '--expect-measurement', ownMeasurement, '--expect-measurement', OTHER_MEASUREMENT], sink), out.join('')).toBe(0);
    expect(await verifyServiceCommand([...verifyArgs, '--expect-measurement', ownMeasurement], sink)).toBe(1);

    // Removed by vote: the configuration shrinks back to the first node, which keeps committing alone.
    await passed(removeNode(pending));
    // The removed node may have been primary (it handed over): write until a write commits on the first node.
    await writeUntilCommitted('a write committed without the removed node', async () => cluster.userClient(0),
      '/app/log/private', { id: 6, msg: 'after removal' });
    const nodes = (await anonymous.request('GET', '/node/network/nodes')).json<{ nodes: Array<{ node_id: string; status: string }> }>().nodes;
    expect(nodes.find((n) => n.node_id === pending)?.status ?? 'Removed').not.toBe('Trusted');

    // Distrusting the measurement again is visible in /gov/service/join-policy and recorded in the ledger.
    const policy = async (): Promise<string[]> => (await anonymous.request('GET', '/gov/service/join-policy?api-version=2024-07-01'))
      .json<{ virtual: { measurements: string[] } }>().virtual.measurements;
    expect(await policy()).toContain(OTHER_MEASUREMENT);
    await passed(action('remove_virtual_measurement', { measurement: OTHER_MEASUREMENT }));
    expect(await policy()).not.toContain(OTHER_MEASUREMENT);
    user.close();
    anonymous.close();
    // The ledger files alone show it: audited offline once the node has stopped (and flushed).
    await cluster.kill(0, 'SIGTERM');
    const report = await auditLedger(join(cluster.nodes[0]!.config.dataDir, 'ledger'), { serviceCert: cluster.serviceCert });
    expect(report.failure).toBeUndefined();
    const removal = report.proposals.find((p) => p.actions.includes('remove_virtual_measurement'));
    expect(removal?.finalState).toBe('Accepted');
  }, 120_000);
});
