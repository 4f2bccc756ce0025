// `npm run bench`: measures a real single-node Synod service over HTTPS on 127.0.0.1 — private-write
// throughput and latency, and commit latency (write sent → receipt available) — at several concurrencies,
// plus the primitive costs that decide where hashing and signing run (node:crypto vs @noble).
// Every run is bounded in time and request count, and stops the processes it started.
//
//   npm run bench -- [--seconds 5] [--concurrency 1,8,32,128] [--value-bytes 256] [--app js|native|both]
//                    [--reads] [--skip-writes] [--load-workers 2] [--client raw|node]
//                    [--reads-tool clients|wrk] [--wrk-path <path>] [--rounds 1] [--json]
//
// --rounds N: every point is measured N times per app, the apps' nodes all running and taking turns
// (order alternating), and the table shows medians; JS/native is the median of per-round ratios. On a
// shared machine this is what makes the two apps' figures comparable.
//
// --client: the load workers' HTTPS client: `raw` (bench/raw-client.ts, default) or `node` (node:https, as
// before; it costs the client more CPU per request than the node spends serving it, so for reads it
// measured the client). Both present user0's certificate: reads are GET /app/log/private?id=… (user_cert).
// --reads-tool wrk: reads driven by wrk (`wrk -t<load-workers> -c<concurrency> --latency`), which cannot
// present a client certificate, so it reads an endpoint without authentication: by default the JS
// sample's GET /app/log/public/anonymous?id=… (no_auth; ids cycle over the 1,000 records written first).
// See bench/README.md for the method and what each figure includes.
// `npm run bench -- --compare etcd|none …` runs bench/compare.ts instead (3-node Synod, against etcd).

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { p384 } from '@noble/curves/nist.js';
import { startTestNetwork, type LoggingApp } from '../test/helpers/network.ts';
import { HttpsClient } from '../test/helpers/https.ts';
import { Worker } from 'node:worker_threads';
import type { LoadJob, LoadOutcome } from './load-worker.ts';
import { runWrk as runWrkTool, type WrkResult } from './wrk.ts';

const REQUESTS_PER_RUN_MAX = 2_000_000;
/** Reads spread over this many ids, written before the read runs. */
const READ_KEYS = 1000;

async function runWrk(url: string, path: string, concurrency: number, seconds: number, threads: number): Promise<RunResult> {
  const r = await runWrkTool({ url, path, concurrency, seconds, threads, keys: READ_KEYS });
  return { ...r, commitP50Ms: NaN, commitP99Ms: NaN, commitSamples: 0 };
}

interface RunResult extends WrkResult {
  commitP50Ms: number;
  commitP99Ms: number;
  commitSamples: number;
  /** CPU time (user + system) the node process spent per answered request during the run, in µs. */
  nodeCpuUsPerRequest?: number;
}

/** CPU time of a process so far, in µs (Linux /proc; NaN elsewhere). */
function processCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1e6 / CLOCK_TICKS_PER_SECOND);
  } catch {
    return NaN;
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/** Runs `load` and adds the node's CPU time per answered request to its result. */
async function withNodeCpu(pid: number, load: () => Promise<RunResult>): Promise<RunResult> {
  const before = processCpuUs(pid);
  const result = await load();
  const answered = result.requests + result.errors;
  return { ...result, nodeCpuUsPerRequest: (processCpuUs(pid) - before) / answered };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runLoad(url: string, ca: string, cert: string, key: string, concurrency: number, seconds: number, valueBytes: number, reads: boolean, loadWorkers: number, client: 'raw' | 'node'): Promise<RunResult> {
  const probe = new HttpsClient({ url, ca, cert, key, maxSockets: 2 });
  const msg = 'x'.repeat(valueBytes);
  const commitLatencies: number[] = [];
  const threads = Math.min(loadWorkers, concurrency);
  const jobs: LoadJob[] = Array.from({ length: threads }, (_, i) => ({
    url, ca, cert, key,
    concurrency: Math.floor(concurrency / threads) + (i < concurrency % threads ? 1 : 0),
    valueBytes,
    reads,
    readKeys: READ_KEYS,
    idBase: (concurrency * 100 + i) * 10_000_000,
    requestsMax: Math.floor(REQUESTS_PER_RUN_MAX / threads),
    client,
  }));
  // Workers load and connect first; the measured time starts once all are ready.
  const workers = await Promise.all(jobs.map(startWorker));
  const deadline = performance.now() + seconds * 1000;
  const deadlineEpochMs = Date.now() + seconds * 1000;
  let nextProbeId = concurrency * 10_000_000 - 1_000_000;
  // Commit latency: one probe at a time writes and polls for its receipt, while the load runs.
  const prober = async (): Promise<void> => {
    while (!reads && performance.now() < deadline) {
      const started = performance.now();
      const res = await probe.post('/app/log/private', { id: nextProbeId++, msg });
      const txid = res.headers['x-ms-ccf-transaction-id'];
      if (res.status !== 200 || typeof txid !== 'string') continue;
      for (;;) {
        const receipt = await probe.get(`/app/receipt?transaction_id=${txid}`);
        if (receipt.status === 200) break;
        if (performance.now() > deadline + 5_000) return;
        await new Promise((r) => setTimeout(r, 1));
      }
      commitLatencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  const [outcomes] = await Promise.all([Promise.all(workers.map((run) => run(deadlineEpochMs))), prober()]);
  const elapsedSeconds = (performance.now() - started) / 1000;
  probe.close();
  const latencies = outcomes.flatMap((o) => o.latenciesMs).sort((a, b) => a - b);
  commitLatencies.sort((a, b) => a - b);
  return {
    concurrency,
    requests: latencies.length,
    errors: outcomes.reduce((sum, o) => sum + o.errors, 0),
    throughputPerSecond: latencies.length / elapsedSeconds,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    commitP50Ms: percentile(commitLatencies, 50),
    commitP99Ms: percentile(commitLatencies, 99),
    commitSamples: commitLatencies.length,
  };
}

/** Starts a load worker; resolves once it is connected, with a function that runs it to the deadline. */
function startWorker(job: LoadJob): Promise<(deadlineEpochMs: number) => Promise<LoadOutcome>> {
  return new Promise((ready, failed) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), { workerData: job });
    worker.once('error', failed);
    worker.once('message', () => {
      worker.off('error', failed);
      ready((deadlineEpochMs) => new Promise((resolve, reject) => {
        worker.once('error', reject);
        worker.once('message', (outcome: LoadOutcome) => {
          resolve(outcome);
          void worker.terminate();
        });
        worker.postMessage({ deadlineEpochMs });
      }));
    });
  });
}

function opsPerSecond(fn: () => void, minMs = 300): number {
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < minMs) {
    for (let i = 0; i < 100; i++) fn();
    count += 100;
  }
  return count / ((performance.now() - started) / 1000);
}

function primitives(): Array<[string, number, number]> {
  const input = new Uint8Array(100).fill(7);
  const digest = nobleSha256(input);
  const shaNode = opsPerSecond(() => createHash('sha256').update(input).digest());
  const shaNoble = opsPerSecond(() => nobleSha256(input));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const noblePriv = p384.utils.randomSecretKey();
  const signNode = opsPerSecond(() => createSign('sha384').update(input).sign(privateKey), 500);
  const signNoble = opsPerSecond(() => p384.sign(digest, noblePriv, { prehash: false }), 500);
  return [
    ['SHA-256, 100-byte input (ops/s)', shaNode, shaNoble],
    ['ECDSA P-384 sign (ops/s)', signNode, signNoble],
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '1,8,32,128' },
      'value-bytes': { type: 'string', default: '256' },
      json: { type: 'boolean', default: false },
      app: { type: 'string', default: 'js' },
      reads: { type: 'boolean', default: false },
      'load-workers': { type: 'string', default: '2' },
      'skip-writes': { type: 'boolean', default: false },
      client: { type: 'string', default: 'raw' },
      'reads-tool': { type: 'string', default: 'clients' },
      'wrk-path': { type: 'string', default: '/app/log/public/anonymous?id={id}' },
      rounds: { type: 'string', default: '1' },
    },
  });
  const seconds = Number(values.seconds);
  const concurrencies = values.concurrency.split(',').map(Number);
  const valueBytes = Number(values['value-bytes']);
  const loadWorkers = Number(values['load-workers']);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new Error('--rounds must be in 1..100');
  if (!Number.isInteger(loadWorkers) || loadWorkers < 1 || loadWorkers > 16) throw new Error('--load-workers must be in 1..16');
  if (!['js', 'native', 'both'].includes(values.app)) throw new Error('--app must be js, native or both');
  if (!['raw', 'node'].includes(values.client)) throw new Error('--client must be raw or node');
  if (!['clients', 'wrk'].includes(values['reads-tool'])) throw new Error('--reads-tool must be clients or wrk');
  const client = values.client as 'raw' | 'node';
  const wrkReads = values['reads-tool'] === 'wrk';
  const wrkPath = values['wrk-path'];
  if (!wrkPath.startsWith('/')) throw new Error('--wrk-path must start with /');
  if (!(seconds > 0 && seconds <= 600) || concurrencies.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) {
    throw new Error('--seconds must be in (0, 600] and --concurrency a list of integers in 1..1024');
  }
  const log = (line: string): void => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  log('Primitives (this machine, single thread): node:crypto vs @noble');
  const prims = primitives();
  for (const [name, nodeOps, nobleOps] of prims) {
    log(`  ${name.padEnd(34)} node ${nodeOps.toFixed(0).padStart(9)}  noble ${nobleOps.toFixed(0).padStart(9)}  ratio ${(nodeOps / nobleOps).toFixed(1)}×`);
  }
  const apps: LoggingApp[] = values.app === 'both' ? ['native', 'js'] : [values.app as LoggingApp];
  type Result = RunResult & { app: LoggingApp; kind: 'write' | 'read'; round: number };
  const samples: Result[] = [];
  // Every app's node runs for the whole benchmark, and each point is measured for each app in turn
  // (order alternating by round), so that a comparison is taken under the same machine conditions.
  log(`\nStarting one-node services on 127.0.0.1 with the ${apps.join(' and ')} logging app (${seconds} s per point, ` +
    `${rounds} round(s), ${valueBytes}-byte values, ${client} clients${values.reads && wrkReads ? `, reads by wrk on ${wrkPath}` : ''}) …`);
  const nets = new Map<LoggingApp, Awaited<ReturnType<typeof startTestNetwork>>>();
  try {
    for (const app of apps) nets.set(app, await startTestNetwork({}, app));
    const point = async (app: LoggingApp, kind: 'write' | 'read', concurrency: number, round: number): Promise<void> => {
      const net = nets.get(app)!;
      const url = `https://${net.node.status.rpcAddress}`;
      const cert = readFileSync(`${net.common}/user0_cert.pem`, 'utf8');
      const key = readFileSync(`${net.common}/user0_privk.pem`, 'utf8');
      const result = await withNodeCpu(net.node.status.pid, () => kind === 'read' && wrkReads
        ? runWrk(url, wrkPath, concurrency, seconds, loadWorkers)
        : runLoad(url, net.serviceCert, cert, key, concurrency, seconds, valueBytes, kind === 'read', loadWorkers, client));
      samples.push({ ...result, app, kind, round });
      log(`  ${app.padEnd(6)} ${kind.padEnd(5)} c=${String(concurrency).padStart(4)}  ${result.throughputPerSecond.toFixed(0).padStart(6)}/s  ` +
        `p50 ${result.latencyP50Ms.toFixed(2)} ms  p99 ${result.latencyP99Ms.toFixed(2)} ms  ` +
        (kind === 'write' ? `commit p50 ${result.commitP50Ms.toFixed(1)} ms  p99 ${result.commitP99Ms.toFixed(1)} ms  ` : '') +
        `node CPU ${result.nodeCpuUsPerRequest?.toFixed(0)} µs/req  (errors ${result.errors})${rounds > 1 ? `  [round ${round}]` : ''}`);
    };
    const order = (round: number): LoggingApp[] => (round % 2 === 1 ? apps : [...apps].reverse());
    for (const concurrency of values['skip-writes'] ? [] : concurrencies) {
      for (let round = 1; round <= rounds; round++) for (const app of order(round)) await point(app, 'write', concurrency, round);
    }
    if (values.reads) {
      const readMap = wrkReads ? 'public' : 'private';
      const skipNativeWrk = wrkReads && wrkPath.startsWith('/app/log/public/anonymous');
      if (skipNativeWrk && apps.includes('native')) log('  native: no unauthenticated read endpoint; wrk reads skipped (pass --wrk-path to read another path)');
      const readers = apps.filter((app) => !(skipNativeWrk && app === 'native'));
      for (const app of readers) {
        const net = nets.get(app)!;
        for (let id = 0; id < READ_KEYS; id++) await net.user.post(`/app/log/${readMap}`, { id, msg: 'x'.repeat(valueBytes) });
      }
      for (const concurrency of concurrencies) {
        for (let round = 1; round <= rounds; round++) {
          for (const app of order(round).filter((a) => readers.includes(a))) await point(app, 'read', concurrency, round);
        }
      }
    }
  } finally {
    for (const net of nets.values()) await net.stop();
  }
  // One row per app, operation and concurrency: the median over rounds of each figure.
  const median = (xs: number[]): number => {
    const sorted = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  };
  const results: Array<RunResult & { app: LoggingApp; kind: 'write' | 'read'; rounds: number }> = [];
  for (const kind of ['write', 'read'] as const) {
    for (const app of apps) {
      for (const concurrency of concurrencies) {
        const runs = samples.filter((r) => r.app === app && r.kind === kind && r.concurrency === concurrency);
        if (runs.length === 0) continue;
        const m = (f: (r: RunResult) => number | undefined): number => median(runs.map((r) => f(r) ?? NaN));
        results.push({
          app, kind, concurrency, rounds: runs.length,
          requests: m((r) => r.requests), errors: m((r) => r.errors), throughputPerSecond: m((r) => r.throughputPerSecond),
          latencyP50Ms: m((r) => r.latencyP50Ms), latencyP99Ms: m((r) => r.latencyP99Ms),
          commitP50Ms: m((r) => r.commitP50Ms), commitP99Ms: m((r) => r.commitP99Ms), commitSamples: m((r) => r.commitSamples),
          nodeCpuUsPerRequest: m((r) => r.nodeCpuUsPerRequest),
        });
      }
    }
  }
  // JS/native per round (both measured back to back), then the median of those ratios.
  const ratios = concurrencies.map((concurrency) => {
    const perRound: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const at = (app: LoggingApp) => samples.find((r) => r.app === app && r.kind === 'write' && r.concurrency === concurrency && r.round === round);
      const native = at('native');
      const js = at('js');
      if (native && js) perRound.push(js.throughputPerSecond / native.throughputPerSecond);
    }
    return { concurrency, perRound, median: median(perRound) };
  }).filter((r) => r.perRound.length > 0);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ primitives: prims, results, jsNativeWriteRatios: ratios, samples }, null, 2)}\n`);
    return;
  }
  log(`\n| app | op | clients | req/s | p50 ms | p99 ms | commit p50 ms | commit p99 ms | node CPU µs/req |${rounds > 1 ? ' (medians of rounds)' : ''}`);
  log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const commit = r.kind === 'write' ? `${r.commitP50Ms.toFixed(1)} | ${r.commitP99Ms.toFixed(1)}` : '– | –';
    log(`| ${r.app} | ${r.kind} | ${r.concurrency} | ${r.throughputPerSecond.toFixed(0)} | ${r.latencyP50Ms.toFixed(2)} | ${r.latencyP99Ms.toFixed(2)} | ${commit} | ${r.nodeCpuUsPerRequest?.toFixed(0)} |`);
  }
  for (const { concurrency, perRound, median: ratio } of ratios) {
    const native = results.find((r) => r.app === 'native' && r.kind === 'write' && r.concurrency === concurrency);
    const js = results.find((r) => r.app === 'js' && r.kind === 'write' && r.concurrency === concurrency);
    log(`JS/native private-write throughput at ${concurrency} clients: ${(ratio * 100).toFixed(0)}%` +
      (perRound.length > 1 ? ` (median of rounds: ${perRound.map((x) => `${(x * 100).toFixed(0)}%`).join(', ')})` : '') +
      ` (node CPU per write: native ${native?.nodeCpuUsPerRequest?.toFixed(0)} µs, JS ${js?.nodeCpuUsPerRequest?.toFixed(0)} µs)`);
  }
}

// `--compare etcd|none`: the 3-node comparison with etcd (bench/compare.ts), which has its own options.
const compare = process.argv.slice(2).some((arg) => arg === '--compare' || arg.startsWith('--compare='));
(compare ? import('./compare.ts').then(async (m) => process.exit(await m.main(process.argv.slice(2)))) : main()).catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
