// Starting and watching node processes: each node is its own OS process with its own data folder, as in
// production. Used by the sandbox and by end-to-end tests. Killing one node never takes another down.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NODE_MAIN = join(REPO_ROOT, 'node/host/main.ts');
const READY_TIMEOUT_MS = 60_000;

export interface NodeStatus {
  event: 'ready';
  pid: number;
  nodeId: string;
  rpcAddress: string;
  serviceCertFile: string | null;
  lastSeqno: number;
}

export interface NodeProcess {
  child: ChildProcess;
  status: NodeStatus;
  logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Writes `config` to `<dataDir>/node.json`, starts a node on it and waits until it serves requests. */
export async function startNode(
  config: Record<string, unknown> & { dataDir: string },
  options: { echo?: boolean; env?: Record<string, string> } = {},
): Promise<NodeProcess> {
  mkdirSync(config.dataDir, { recursive: true });
  const configFile = join(config.dataDir, 'node.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = join(config.dataDir, 'node.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  // SYNOD_NODE_ARGS reaches only node processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile one.
  const extraArgs = (process.env.SYNOD_NODE_ARGS ?? '').split(' ').filter((arg) => arg.length > 0);
  const child = spawn(process.execPath, [...extraArgs, '--import', 'tsx', NODE_MAIN, '--config', configFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (options.echo) process.stderr.write(chunk);
  });
  const exited = new Promise<number | string>((resolveExit) => {
    // 'close' (not 'exit'): the child's stderr has been read to the end, so the log holds its last words.
    child.on('close', (code, signal) => {
      log.end();
      resolveExit(code ?? signal ?? 'unknown');
    });
  });
  const status = await new Promise<NodeStatus>((resolveReady, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      // A node that never became ready is not left running behind the caller's back.
      child.kill('SIGKILL');
      reject(new Error(`node did not start within ${READY_TIMEOUT_MS} ms; see ${logFile}`));
    }, READY_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolveReady(JSON.parse(buffered.slice(0, newline)) as NodeStatus);
      } catch (error) {
        reject(new Error(`unexpected output from node: ${buffered.slice(0, 200)}`));
      }
    });
    void exited.then(async (code) => {
      clearTimeout(timer);
      // The log stream is closed on exit; wait for it so that the last lines (the reason) are on disk.
      await new Promise<void>((done) => (log.writableFinished ? done() : log.once('finish', () => done())));
      reject(new Error(`node exited (${code}) before it was ready; see ${logFile}${logTail(logFile)}`));
    });
  });
  return {
    child,
    status,
    logFile,
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The last lines of a node's log, for an error message that says why without opening the file. */
function logTail(logFile: string, lines = 15): string {
  if (!existsSync(logFile)) return '';
  const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines);
  return tail.length > 0 && tail[0] !== '' ? `; its last lines:\n${tail.join('\n')}` : '';
}

export function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
}
