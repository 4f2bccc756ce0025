// Spawns the CLI as a user runs it: `node --import tsx client/src/cli/main.ts …` or `client/bin/synod.mjs …`.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'client/src/cli/main.ts');
const BIN = join(ROOT, 'client/bin/synod.mjs');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function synod(args: string[], via: 'main' | 'bin' = 'main'): Promise<Run> {
  const argv = via === 'main' ? ['--import', 'tsx', MAIN, ...args] : [BIN, ...args];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
