// The sandbox: `npm start` (or `synod sandbox`). It creates a workspace with member and user identities
// under the file names CCF's sandbox uses, starts the network's node processes, and prints what a
// newcomer needs: the URL, where the service certificate and identities are, and curl commands to paste.

import { existsSync, rmSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createIdentity } from '../crypto/certs.ts';
import { readBundleDir } from '../../app-sdk/src/bundle.ts';
import { bootstrapService } from './bootstrap.ts';
import { REPO_ROOT, startNode, writeText, type NodeProcess } from './supervisor.ts';

const USAGE = `usage: npm start -- [options]
  --workspace <dir>   where identities, certificates and node data go (default: ./workspace)
  --port <n>          RPC port of the first node (default: 8000; the others take the next ports; 0 picks free ports)
  --nodes <n>         number of nodes (default: 3); they join the first while the service is Opening
  --members <n>       number of members to create (default: 1)
  --users <n>         number of users to create (default: 1)
  --app <dir>         JS app bundle folder (app.json + src/) to deploy (default: samples/logging-js)
  --keep              restart the nodes from the existing workspace instead of starting afresh
  --help              this text`;

export interface SandboxOptions {
  workspace: string;
  port: number;
  nodes: number;
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
      nodes: { type: 'string', default: '3' },
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
    nodes: count('nodes', values.nodes, 1, 9),
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
  const nodeDirs = Array.from({ length: options.nodes }, (_, i) => join(options.workspace, `sandbox_${i}`));
  if (!options.keep) {
    rmSync(common, { recursive: true, force: true });
    for (let i = 0; i < 10; i++) rmSync(join(options.workspace, `sandbox_${i}`), { recursive: true, force: true });
  } else if (!nodeDirs.every((dir) => existsSync(join(dir, 'node.json')))) {
    throw new Error(`--keep: no ${options.nodes}-node sandbox to restart in ${options.workspace}`);
  }
  if (!options.keep) await createIdentities(common, options.members, options.users);
  const serviceCertFile = join(common, 'service_cert.pem');
  const port = (i: number): number => (options.port === 0 ? 0 : options.port + i);
  const n2nPort = (i: number): number => (options.port === 0 ? 0 : options.port + 100 + i);
  const first = {
    dataDir: nodeDirs[0]!,
    rpcAddress: `127.0.0.1:${port(0)}`,
    nodeToNodeAddress: `127.0.0.1:${n2nPort(0)}`,
    serviceCertFile,
    genesis: {
      members: Array.from({ length: options.members }, (_, i) => ({
        certFile: join(common, `member${i}_cert.pem`),
        encryptionPublicKeyFile: join(common, `member${i}_enc_pubk.pem`),
      })),
      users: Array.from({ length: options.users }, (_, i) => ({ certFile: join(common, `user${i}_cert.pem`) })),
      // As CCF: the service starts Opening; the members open it by governance (bootstrap.ts).
      open: false,
    },
  };
  const nodes: NodeProcess[] = [];
  try {
    nodes.push(await startNode(first, { echo }));
    if (options.keep) {
      // Restart every node from its own data folder; together they elect a primary again.
      nodes.push(...await Promise.all(nodeDirs.slice(1).map((dir, k) => startNode({
        dataDir: dir, rpcAddress: `127.0.0.1:${port(k + 1)}`, nodeToNodeAddress: `127.0.0.1:${n2nPort(k + 1)}`,
      }, { echo }))));
      return { nodes, common };
    }
    // Joiners are admitted (Trusted) at once while the service is Opening, one after the other so that
    // each configuration change commits before the next.
    for (let i = 1; i < options.nodes; i++) {
      nodes.push(await startNode({
        dataDir: nodeDirs[i]!,
        rpcAddress: `127.0.0.1:${port(i)}`,
        nodeToNodeAddress: `127.0.0.1:${n2nPort(i)}`,
        join: { target: nodes[0]!.status.rpcAddress, serviceCertFile },
      }, { echo }));
    }
    await bootstrapService({
      nodeAddress: nodes[0]!.status.rpcAddress,
      serviceCertPem: readFileSync(serviceCertFile, 'utf8'),
      members: Array.from({ length: options.members }, (_, i) => ({
        certPem: readFileSync(join(common, `member${i}_cert.pem`), 'utf8'),
        keyPem: readFileSync(join(common, `member${i}_privk.pem`), 'utf8'),
      })),
      bundle: readBundleDir(options.app),
      log: echo ? (line) => process.stderr.write(`${line}\n`) : undefined,
    });
  } catch (error) {
    await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
    throw error;
  }
  return { nodes, common };
}

/** Asks a node which node is primary (GET /node/network). */
async function primaryOf(nodes: NodeProcess[], common: string): Promise<string | undefined> {
  const { request } = await import('node:https');
  const ca = readFileSync(join(common, 'service_cert.pem'), 'utf8');
  for (const node of nodes) {
    const [host, port] = node.status.rpcAddress.split(':');
    const text = await new Promise<string | undefined>((done) => {
      const req = request({ host, port: Number(port), path: '/node/network', ca, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => done(body));
      });
      req.on('error', () => done(undefined));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    try {
      const primary = text ? (JSON.parse(text) as { primary_id?: string }).primary_id : undefined;
      if (primary) return primary;
    } catch {
      // Try the next node.
    }
  }
  return undefined;
}

function banner(nodes: NodeProcess[], common: string, primaryId: string | undefined): string {
  const primary = nodes.find((n) => n.status.nodeId === primaryId) ?? nodes[0]!;
  const url = `https://${primary.status.rpcAddress}`;
  const rel = (p: string): string => {
    const r = relative(process.cwd(), p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };
  const cacert = rel(join(common, 'service_cert.pem'));
  const user = `--cert ${rel(join(common, 'user0_cert.pem'))} --key ${rel(join(common, 'user0_privk.pem'))}`;
  return [
    '',
    `Synod sandbox is running: ${nodes.length} node${nodes.length === 1 ? '' : 's'}, JS app deployed and service opened by the members' vote.`,
    '',
    `  URL                  ${url}`,
    `  service certificate  ${cacert}`,
    `  identities           ${rel(common)}/ (member0_*, user0_*)`,
    `  node data and log    ${rel(join(common, '..'))}/sandbox_<i>/`,
    '',
    'Nodes:',
    ...nodes.map((n, i) => `  sandbox_${i}  https://${n.status.rpcAddress}  ${n.status.nodeId.slice(0, 16)}…${n.status.nodeId === primaryId ? '  (primary)' : ''}`),
    '',
    'Try it:',
    `  curl --cacert ${cacert} ${user} -X POST ${url}/app/log/private -H 'content-type: application/json' -d '{"id": 1, "msg": "hello"}' -i`,
    `  curl --cacert ${cacert} ${user} "${url}/app/log/private?id=1"`,
    `  curl --cacert ${cacert} "${url}/app/commit"`,
    `  curl --cacert ${cacert} "${url}/app/receipt?transaction_id=<txid from x-ms-ccf-transaction-id>"`,
    `  curl --cacert ${cacert} ${url}/node/network`,
    `  npm run synod -- gov info --server ${url} --workspace ${rel(join(common, '..'))}`,
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
  process.stdout.write(banner(nodes, common, await primaryOf(nodes, common)));
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
