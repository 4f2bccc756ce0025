// A real multi-node Synod network for end-to-end tests: identities on disk, one node process per node on
// loopback (their own data folders), the first creating the service and the others joining it while it
// is Opening, then the members open it through governance, exactly as the sandbox does.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentities } from '../../node/sandbox/main.ts';
import { bootstrapService } from '../../node/sandbox/bootstrap.ts';
import { startNode, type NodeProcess } from '../../node/sandbox/supervisor.ts';
import { readBundleDir } from '../../app-sdk/src/bundle.ts';
import { HttpsClient } from './https.ts';
import { LOGGING_JS_BUNDLE } from './network.ts';

export interface ClusterNode {
  config: Record<string, unknown> & { dataDir: string };
  process: NodeProcess | undefined;
  nodeId: string;
  rpcAddress: string;
}

export interface Cluster {
  workspace: string;
  common: string;
  serviceCert: string;
  nodes: ClusterNode[];
  userCert: string;
  userKey: string;
  /** An HTTPS client of user0 to node `i` (new for each call; close it). */
  userClient(i: number): HttpsClient;
  anonymousClient(i: number): HttpsClient;
  /** Index of the node that says it is primary (asks the live nodes), or undefined. */
  primary(): Promise<number | undefined>;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: number;
  /** Extra node configuration for every node (e.g. signatureDelayMs). */
  nodeConfig?: Record<string, unknown>;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 3;
  const workspace = mkdtempSync(join(tmpdir(), 'synod-cluster-'));
  const common = join(workspace, 'common');
  await createIdentities(common, 1, 1);
  const serviceCertFile = join(common, 'service_cert.pem');
  const base = { rpcAddress: '127.0.0.1:0', nodeToNodeAddress: '127.0.0.1:0', nativeApps: ['logging'], ...options.nodeConfig };
  const nodes: ClusterNode[] = [];
  const launch = async (config: ClusterNode['config']): Promise<ClusterNode> => {
    const process = await startNode(config);
    return { config, process, nodeId: process.status.nodeId, rpcAddress: process.status.rpcAddress };
  };
  try {
    nodes.push(await launch({
      ...base,
      dataDir: join(workspace, 'node0'),
      serviceCertFile,
      genesis: {
        members: [{ certFile: join(common, 'member0_cert.pem'), encryptionPublicKeyFile: join(common, 'member0_enc_pubk.pem') }],
        users: [{ certFile: join(common, 'user0_cert.pem') }],
        open: false,
      },
    }));
    for (let i = 1; i < count; i++) {
      nodes.push(await launch({ ...base, dataDir: join(workspace, `node${i}`), join: { target: nodes[0]!.rpcAddress, serviceCertFile } }));
    }
    await bootstrapService({
      nodeAddress: nodes[0]!.rpcAddress,
      serviceCertPem: readFileSync(serviceCertFile, 'utf8'),
      members: [{ certPem: readFileSync(join(common, 'member0_cert.pem'), 'utf8'), keyPem: readFileSync(join(common, 'member0_privk.pem'), 'utf8') }],
      bundle: readBundleDir(LOGGING_JS_BUNDLE),
    });
  } catch (error) {
    await Promise.all(nodes.map((n) => n.process?.kill('SIGKILL')));
    if (!process.env.SYNOD_KEEP_WORKSPACE) rmSync(workspace, { recursive: true, force: true });
    throw error;
  }
  const serviceCert = readFileSync(serviceCertFile, 'utf8');
  const userCert = readFileSync(join(common, 'user0_cert.pem'), 'utf8');
  const userKey = readFileSync(join(common, 'user0_privk.pem'), 'utf8');
  const cluster: Cluster = {
    workspace, common, serviceCert, nodes, userCert, userKey,
    userClient: (i) => new HttpsClient({ url: `https://${nodes[i]!.rpcAddress}`, ca: serviceCert, cert: userCert, key: userKey }),
    anonymousClient: (i) => new HttpsClient({ url: `https://${nodes[i]!.rpcAddress}`, ca: serviceCert }),
    async primary() {
      for (let i = 0; i < nodes.length; i++) {
        if (!nodes[i]!.process) continue;
        const client = cluster.anonymousClient(i);
        try {
          const network = (await client.request('GET', '/node/network')).json<{ primary_id: string | null }>();
          const found = nodes.findIndex((n) => n.nodeId === network.primary_id);
          if (found >= 0 && nodes[found]!.process) {
            const own = (await cluster.anonymousClient(found).request('GET', '/node/network').catch(() => undefined))?.json<{ primary_id: string | null }>();
            if (own?.primary_id === nodes[found]!.nodeId) return found;
          }
        } catch {
          // This node is not answering; ask the next.
        } finally {
          client.close();
        }
      }
      return undefined;
    },
    async kill(i, signal = 'SIGKILL') {
      await nodes[i]!.process?.kill(signal);
      nodes[i]!.process = undefined;
    },
    async restart(i) {
      const node = nodes[i]!;
      const { join: _join, genesis: _genesis, ...config } = node.config;
      // Same data folder (and node-to-node port, kept there); a new RPC port.
      node.process = await startNode({ ...config, dataDir: node.config.dataDir });
      node.rpcAddress = node.process.status.rpcAddress;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.process?.kill('SIGTERM')));
      if (!process.env.SYNOD_KEEP_WORKSPACE) rmSync(workspace, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Waits until `predicate` holds, polling; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Writes `body` to `path` through `client()` until one such write commits, and returns its TxID. A write
 * acknowledged by a primary that then loses its office (an election, a hand-over) is rolled back and
 * reported Invalid — correct behaviour, so a test that needs "a committed write" must write again.
 */
export async function writeUntilCommitted(
  what: string, client: () => Promise<HttpsClient>, path: string, body: unknown, timeoutMs = 30_000,
): Promise<string> {
  return waitFor(what, async () => {
    const c = await client();
    try {
      const written = await c.request('POST', path, body);
      if (written.status !== 200) return undefined;
      const txid = String(written.headers['x-ms-ccf-transaction-id']);
      for (let i = 0; i < 50; i++) {
        const s = (await c.request('GET', `/app/tx?transaction_id=${txid}`)).json<{ status: string }>().status;
        if (s === 'Committed') return txid;
        if (s === 'Invalid') return undefined;
        await new Promise((r) => setTimeout(r, 100));
      }
      return undefined;
    } finally {
      c.close();
    }
  }, timeoutMs);
}
