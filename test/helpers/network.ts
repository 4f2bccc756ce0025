// Starting a real single-node Synod service for end-to-end tests: identities on disk, a node process on
// loopback, and HTTPS clients for user0 and for anonymous calls.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentities } from '../../node/sandbox/main.ts';
import { REPO_ROOT, startNode, type NodeProcess } from '../../node/sandbox/supervisor.ts';
import { HttpsClient } from './https.ts';

export interface TestNetwork {
  workspace: string;
  common: string;
  dataDir: string;
  config: Record<string, unknown> & { dataDir: string };
  node: NodeProcess;
  serviceCert: string;
  user: HttpsClient;
  anonymous: HttpsClient;
  /** Starts the node again on the same data folder (after a kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The logging sample: the JS bundle the sandbox deploys, or the native TypeScript one (for comparison). */
export type LoggingApp = 'js' | 'native';

export const LOGGING_JS_BUNDLE = join(REPO_ROOT, 'samples', 'logging-js');

export async function startTestNetwork(
  extraConfig: Record<string, unknown> = {},
  app: LoggingApp = 'js',
  genesisExtra: Record<string, unknown> = {},
): Promise<TestNetwork> {
  const workspace = mkdtempSync(join(tmpdir(), 'synod-e2e-'));
  const common = join(workspace, 'sandbox_common');
  const dataDir = join(workspace, 'node0');
  await createIdentities(common, 1, 1);
  const config = {
    dataDir,
    rpcAddress: '127.0.0.1:0',
    serviceCertFile: join(common, 'service_cert.pem'),
    genesis: {
      members: [{ certFile: join(common, 'member0_cert.pem'), encryptionPublicKeyFile: join(common, 'member0_enc_pubk.pem') }],
      users: [{ certFile: join(common, 'user0_cert.pem') }],
      open: true,
      ...(app === 'js' ? { jsAppDir: LOGGING_JS_BUNDLE } : {}),
      ...genesisExtra,
    },
    nativeApps: app === 'native' ? ['logging'] : [],
    ...extraConfig,
  };
  const network = {} as TestNetwork;
  const connect = async (node: NodeProcess): Promise<void> => {
    network.user?.close();
    network.anonymous?.close();
    const serviceCert = readFileSync(join(common, 'service_cert.pem'), 'utf8');
    const url = `https://${node.status.rpcAddress}`;
    Object.assign(network, {
      node,
      serviceCert,
      user: new HttpsClient({ url, ca: serviceCert, cert: readFileSync(join(common, 'user0_cert.pem'), 'utf8'), key: readFileSync(join(common, 'user0_privk.pem'), 'utf8') }),
      anonymous: new HttpsClient({ url, ca: serviceCert }),
    });
  };
  await connect(await startNode(config));
  Object.assign(network, {
    workspace,
    common,
    dataDir,
    config,
    async restart() {
      // Keep the port so that clients and receipts refer to the same address.
      const node = await startNode({ ...config, rpcAddress: network.node.status.rpcAddress });
      await connect(node);
    },
    async stop() {
      network.user.close();
      network.anonymous.close();
      await network.node.kill('SIGTERM');
      rmSync(workspace, { recursive: true, force: true });
    },
  });
  return network;
}
