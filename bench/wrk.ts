// wrk (https://github.com/wg/wrk) as a read load generator: GET `path` over keep-alive connections, with
// `{id}` replaced by 0..keys-1 in turn (a Lua script). It cannot present a client certificate, so it
// drives unauthenticated endpoints. Used by bench/run.ts (--reads-tool wrk) and bench/compare.ts
// (--reads-per-node).

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkResult {
  concurrency: number;
  requests: number;
  /** Non-2xx answers and socket errors. */
  errors: number;
  throughputPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** wrk's latency figure (`812.00us`, `1.20ms`, `2.01s`) in milliseconds. */
export function wrkMs(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!match) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(match[1]) * scale;
}

export async function runWrk(options: { url: string; path: string; concurrency: number; seconds: number; threads: number; keys: number }): Promise<WrkResult> {
  const { url, path, concurrency, seconds, threads, keys } = options;
  const dir = mkdtempSync(join(tmpdir(), 'synod-wrk-'));
  try {
    const script = join(dir, 'reads.lua');
    const [before, after = ''] = path.split('{id}');
    writeFileSync(script, path.includes('{id}')
      ? `local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("GET", ${JSON.stringify(before)} .. (n % ${keys}) .. ${JSON.stringify(after)})\nend\n`
      : '');
    const args = [`-t${Math.min(threads, concurrency)}`, `-c${concurrency}`, `-d${seconds}s`, '--latency', '-s', script, `${url}${path.includes('{id}') ? before : path}`];
    const out = await new Promise<string>((resolve, reject) => {
      execFile('wrk', args, { timeout: (seconds + 30) * 1000 }, (error, stdout, stderr) => (error ? reject(new Error(`wrk failed: ${error.message} ${stderr}`)) : resolve(stdout)));
    });
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return {
      concurrency,
      requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
      errors: non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
      throughputPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
      latencyP50Ms: wrkMs(/\n\s+50%\s+(\S+)/.exec(out)?.[1]),
      latencyP99Ms: wrkMs(/\n\s+99%\s+(\S+)/.exec(out)?.[1]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
