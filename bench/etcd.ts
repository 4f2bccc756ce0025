// A throw-away etcd cluster on 127.0.0.1 for the comparison (bench/compare.ts): `size` members, each its
// own `etcd` process with a data folder under one temporary workspace, client URLs plain HTTP (the JSON
// gateway serves POST /v3/kv/put there). Nothing is installed here: when `etcd` is missing the caller
// gets `undefined` from findEtcd() and prints etcdMissingMessage().

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdMember {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
}

export interface EtcdCluster {
  workspace: string;
  version: string;
  members: Array<EtcdMember & { pid: number; clientUrl: string }>;
  /** Index of the member that says it leads (asks each member's /v3/maintenance/status). */
  leader(): Promise<number>;
  stop(): Promise<void>;
}

export const ETCD_INSTALL_HINT = 'sudo apt-get install -y etcd-server';

export function etcdMissingMessage(binary: string): string {
  return `etcd not found (${binary}): the comparison needs etcd 3.4 or later on this machine. ` +
    `On Debian/Ubuntu: \`${ETCD_INSTALL_HINT}\` (the package's service need not run; the benchmark starts its own ` +
    `members), or pass --etcd-path <binary>. Run Synod alone with --compare none.`;
}

/** The version `binary --version` reports, or undefined when it cannot be run. */
export async function findEtcd(binary = 'etcd'): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 10_000 }, (error, stdout) => {
      resolve(error ? undefined : (/etcd Version:\s*(\S+)/.exec(stdout)?.[1] ?? 'unknown'));
    });
  });
}

const url = (port: number) => `http://127.0.0.1:${port}`;

/** The command line of one member of a new cluster of `all`. */
export function etcdMemberArgs(member: EtcdMember, all: EtcdMember[], token = 'synod-bench'): string[] {
  return [
    '--name', member.name,
    '--data-dir', member.dataDir,
    '--listen-client-urls', url(member.clientPort),
    '--advertise-client-urls', url(member.clientPort),
    '--listen-peer-urls', url(member.peerPort),
    '--initial-advertise-peer-urls', url(member.peerPort),
    '--initial-cluster', all.map((m) => `${m.name}=${url(m.peerPort)}`).join(','),
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', token,
    '--logger', 'zap',
    '--log-level', 'warn',
  ];
}

/** `count` loopback ports free at the time of asking (held together, so they are distinct). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return server;
  }));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function postJson(port: number, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url(port)}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/** Starts the members and resolves once every one answers a put (so a leader is elected and all serve). */
export async function startEtcdCluster(options: { size?: number; binary?: string; version: string; readyTimeoutMs?: number }): Promise<EtcdCluster> {
  const size = options.size ?? 3;
  const binary = options.binary ?? 'etcd';
  const workspace = mkdtempSync(join(tmpdir(), 'synod-bench-etcd-'));
  const ports = await freePorts(2 * size);
  const members: EtcdMember[] = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`, dataDir: join(workspace, `m${i}`), clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]!,
  }));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }));
    rmSync(workspace, { recursive: true, force: true });
  };
  // Should this process end without stop() (an exception path, a signal), the members must not survive it.
  const killOnExit = () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(workspace, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  try {
    for (const member of members) {
      mkdirSync(member.dataDir);
      const log = openSync(join(workspace, `${member.name}.log`), 'a');
      children.push(spawn(binary, etcdMemberArgs(member, members), { stdio: ['ignore', log, log] }));
      closeSync(log);
    }
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (const member of members) {
      for (;;) {
        const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
        if (exited) throw new Error(`etcd member exited early (code ${exited.exitCode}); its log:\n${readFileSync(join(workspace, `${members[children.indexOf(exited)]!.name}.log`), 'utf8').slice(-2000)}`);
        const ok = await postJson(member.clientPort, '/v3/kv/put', { key: Buffer.from('bench/ready').toString('base64'), value: '' }).then(() => true, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`etcd member ${member.name} did not serve puts within ${options.readyTimeoutMs ?? 30_000} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (error) {
    await stop();
    process.off('exit', killOnExit);
    throw error;
  }
  return {
    workspace,
    version: options.version,
    members: members.map((m, i) => ({ ...m, pid: children[i]!.pid!, clientUrl: url(m.clientPort) })),
    async leader() {
      for (let i = 0; i < members.length; i++) {
        const status = await postJson(members[i]!.clientPort, '/v3/maintenance/status', {}).catch(() => undefined);
        if (status && status.leader === status.header?.member_id) return i;
      }
      throw new Error('no etcd member says it leads');
    },
    async stop() {
      await stop();
      process.off('exit', killOnExit);
    },
  };
}
