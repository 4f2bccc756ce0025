// The sandbox: `npm start` (or `synod sandbox`). It creates a workspace with member and user identities
// under the file names CCF's sandbox uses, starts the network's node processes, and prints what a
// newcomer needs: the URL, where the service certificate and identities are, and curl commands to paste.

import { existsSync, rmSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createIdentity } from '../crypto/certs.ts';
import { REPO_ROOT, startNode, writeText, type NodeProcess } from './supervisor.ts';

const USAGE = `usage: npm start -- [options]
  --workspace <dir>   where identities, certificates and node data go (default: ./workspace)
  --port <n>          RPC port of the first node (default: 8000; 0 picks a free port)
  --members <n>       number of members to create (default: 1)
  --users <n>         number of users to create (default: 1)
  --app <dir>         JS app bundle folder (app.json + src/) to deploy (default: samples/logging-js)
  --keep              restart the nodes from the existing workspace instead of starting afresh
  --help              this text`;

export interface SandboxOptions {
  workspace: string;
  port: number;
  members: number;
  users: number;
  keep: boolean;
  app: string;
}

export function parseSandboxArgs(argv: string[]): SandboxOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      workspace: { type: 'string', default: 'workspace' },
      port: { type: 'string', default: '8000' },
      members: { type: 'string', default: '1' },
      users: { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
      app: { type: 'string', default: join(REPO_ROOT, 'samples', 'logging-js') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const count = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got "${raw}"`);
    return n;
  };
  return {
    workspace: resolve(values.workspace),
    port: count('port', values.port, 0, 65535),
    members: count('members', values.members, 1, 100),
    users: count('users', values.users, 0, 100),
    keep: values.keep,
    app: resolve(values.app),
  };
}

/** Creates member and user identities in `<workspace>/sandbox_common`, named as CCF's sandbox names them. */
export async function createIdentities(common: string, members: number, users: number): Promise<void> {
  for (let i = 0; i < members; i++) {
    const id = await createIdentity(`member${i}`, 'P-384');
    writeText(join(common, `member${i}_cert.pem`), id.certPem);
    writeText(join(common, `member${i}_privk.pem`), id.privateKeyPem);
    const enc = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeText(join(common, `member${i}_enc_pubk.pem`), enc.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    writeText(join(common, `member${i}_enc_privk.pem`), enc.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }
  for (let i = 0; i < users; i++) {
    const id = await createIdentity(`user${i}`, 'P-384');
    writeText(join(common, `user${i}_cert.pem`), id.certPem);
    writeText(join(common, `user${i}_privk.pem`), id.privateKeyPem);
  }
}

export async function startSandbox(options: SandboxOptions, echo = false): Promise<{ nodes: NodeProcess[]; common: string }> {
  const common = join(options.workspace, 'sandbox_common');
  const nodeDir = join(options.workspace, 'sandbox_0');
  if (!options.keep) {
    rmSync(common, { recursive: true, force: true });
    rmSync(nodeDir, { recursive: true, force: true });
  } else if (!existsSync(join(nodeDir, 'node.json'))) {
    throw new Error(`--keep: no sandbox to restart in ${options.workspace}`);
  }
  if (!options.keep) await createIdentities(common, options.members, options.users);
  const config = {
    dataDir: nodeDir,
    rpcAddress: `127.0.0.1:${options.port}`,
    serviceCertFile: join(common, 'service_cert.pem'),
    genesis: {
      members: Array.from({ length: options.members }, (_, i) => ({
        certFile: join(common, `member${i}_cert.pem`),
        encryptionPublicKeyFile: join(common, `member${i}_enc_pubk.pem`),
      })),
      users: Array.from({ length: options.users }, (_, i) => ({ certFile: join(common, `user${i}_cert.pem`) })),
      open: true,
      jsAppDir: options.app,
    },
  };
  const node = await startNode(config, { echo });
  return { nodes: [node], common };
}

function banner(nodes: NodeProcess[], common: string): string {
  const url = `https://${nodes[0]!.status.rpcAddress}`;
  const rel = (p: string): string => {
    const r = relative(process.cwd(), p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };
  const cacert = rel(join(common, 'service_cert.pem'));
  const user = `--cert ${rel(join(common, 'user0_cert.pem'))} --key ${rel(join(common, 'user0_privk.pem'))}`;
  return [
    '',
    `Synod sandbox is running: ${nodes.length} node${nodes.length === 1 ? '' : 's'}, service open, JS app deployed.`,
    '',
    `  URL                  ${url}`,
    `  service certificate  ${cacert}`,
    `  identities           ${rel(common)}/ (member0_*, user0_*)`,
    `  node data and log    ${rel(join(common, '..', 'sandbox_0'))}/`,
    '',
    'Try it:',
    `  curl --cacert ${cacert} ${user} -X POST ${url}/app/log/private -H 'content-type: application/json' -d '{"id": 1, "msg": "hello"}' -i`,
    `  curl --cacert ${cacert} ${user} "${url}/app/log/private?id=1"`,
    `  curl --cacert ${cacert} "${url}/app/commit"`,
    `  curl --cacert ${cacert} "${url}/app/receipt?transaction_id=<txid from x-ms-ccf-transaction-id>"`,
    `  curl --cacert ${cacert} ${url}/node/network`,
    '',
    'Press Ctrl-C to stop. `npm start -- --keep` restarts from the same ledger.',
    '',
  ].join('\n');
}

export async function runSandbox(argv: string[]): Promise<number> {
  let options: SandboxOptions | undefined;
  try {
    options = parseSandboxArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  process.stdout.write(`Starting Synod sandbox in ${options.workspace} …\n`);
  const { nodes, common } = await startSandbox(options);
  process.stdout.write(banner(nodes, common));
  await new Promise<void>((resolveStop) => {
    const stop = (): void => {
      process.stdout.write('\nStopping nodes …\n');
      void Promise.all(nodes.map((n) => n.kill('SIGTERM'))).then(() => resolveStop());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    for (const node of nodes) {
      void node.exited.then((code) => {
        process.stderr.write(`node ${node.status.nodeId.slice(0, 12)} exited (${code}); its log: ${node.logFile}\n`);
        process.stderr.write(readFileSync(node.logFile, 'utf8').split('\n').slice(-10).join('\n'));
      });
    }
  });
  return 0;
}
