// The sandbox (`npm start`) on three nodes: identities under CCF's names, the service opened by the
// members' vote with the sample app, any node accepting writes (backups forward them), and `--keep`
// bringing the same service back from the nodes' data folders.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxOptions } from '../../node/sandbox/main.ts';
import type { NodeProcess } from '../../node/sandbox/supervisor.ts';
import { HttpsClient } from '../helpers/https.ts';
import { LOGGING_JS_BUNDLE } from '../helpers/network.ts';
import { waitFor } from '../helpers/cluster.ts';

describe('sandbox', () => {
  const workspace = mkdtempSync(join(tmpdir(), 'synod-sandbox-'));
  let nodes: NodeProcess[] = [];

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    if (!process.env.SYNOD_KEEP_WORKSPACE) rmSync(workspace, { recursive: true, force: true });
  });

  it('starts three nodes, opens the service by vote, and comes back with --keep', async () => {
    const options: SandboxOptions = { workspace, port: 0, nodes: 3, members: 1, users: 1, keep: false, app: LOGGING_JS_BUNDLE };
    ({ nodes } = await startSandbox(options));
    expect(nodes).toHaveLength(3);
    const common = join(workspace, 'sandbox_common');
    const ca = readFileSync(join(common, 'service_cert.pem'), 'utf8');
    const user = (i: number): HttpsClient => new HttpsClient({
      url: `https://${nodes[i]!.status.rpcAddress}`, ca,
      cert: readFileSync(join(common, 'user0_cert.pem'), 'utf8'), key: readFileSync(join(common, 'user0_privk.pem'), 'utf8'),
    });
    const network = (await user(0).request('GET', '/node/network')).json<{ service_status: string; primary_id: string }>();
    expect(network.service_status).toBe('Open');
    expect(nodes.map((n) => n.status.nodeId)).toContain(network.primary_id);
    const backup = nodes.findIndex((n) => n.status.nodeId !== network.primary_id);
    // A backup that has not yet applied the opening answers 503 ServiceNotOpen for a moment: retry.
    const written = await waitFor('a write through a backup', async () => {
      const r = await user(backup).request('POST', '/app/log/private', { id: 1, msg: 'through a backup' });
      if (r.status === 503) return undefined;
      return r;
    });
    expect(written.status, written.text()).toBe(200);
    const txid = String(written.headers['x-ms-ccf-transaction-id']);
    await waitFor('the write to commit', async () => {
      const r = await user(backup).request('GET', `/app/tx?transaction_id=${txid}`);
      return r.json<{ status: string }>().status === 'Committed' ? true : undefined;
    });

    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    ({ nodes } = await startSandbox({ ...options, keep: true }));
    const client = user(0);
    await waitFor('the restarted service to commit the old write', async () => {
      const r = await client.request('GET', `/app/tx?transaction_id=${txid}`);
      return r.json<{ status: string }>().status === 'Committed' ? true : undefined;
    }, 30_000);
    const read = await waitFor('a primary to serve reads', async () => {
      const r = await client.request('GET', '/app/log/private?id=1');
      return r.status === 200 ? r.json<{ msg: string }>().msg : undefined;
    });
    expect(read).toBe('through a backup');
  }, 180_000);
});
