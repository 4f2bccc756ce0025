// `npm run bench`: measures a real single-node Synod service over HTTPS on 127.0.0.1 — private-write
// throughput and latency, and commit latency (write sent → receipt available) — at several concurrencies,
// plus the primitive costs that decide where hashing and signing run (node:crypto vs @noble).
// Every run is bounded in time and request count, and stops the processes it started.
//
//   npm run bench -- [--seconds 5] [--concurrency 1,8,32,128] [--value-bytes 256] [--app js|native|both]
//                    [--reads] [--load-workers 2] [--json]

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { p384 } from '@noble/curves/nist.js';
import { startTestNetwork, type LoggingApp } from '../test/helpers/network.ts';
import { HttpsClient } from '../test/helpers/https.ts';
import { Worker } from 'node:worker_threads';
import type { LoadJob, LoadOutcome } from './load-worker.ts';

const REQUESTS_PER_RUN_MAX = 2_000_000;
/** Reads spread over this many ids, written before the read runs. */
const READ_KEYS = 1000;

interface RunResult {
  concurrency: number;
  requests: number;
  errors: number;
  throughputPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  commitP50Ms: number;
  commitP99Ms: number;
  commitSamples: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runLoad(url: string, ca: string, cert: string, key: string, concurrency: number, seconds: number, valueBytes: number, reads: boolean, loadWorkers: number): Promise<RunResult> {
  const probe = new HttpsClient({ url, ca, cert, key, maxSockets: 2 });
  const msg = 'x'.repeat(valueBytes);
  const commitLatencies: number[] = [];
  const deadlineEpochMs = Date.now() + seconds * 1000;
  const deadline = performance.now() + seconds * 1000;
  const threads = Math.min(loadWorkers, concurrency);
  const jobs: LoadJob[] = Array.from({ length: threads }, (_, i) => ({
    url, ca, cert, key,
    concurrency: Math.floor(concurrency / threads) + (i < concurrency % threads ? 1 : 0),
    deadlineEpochMs,
    valueBytes,
    reads,
    readKeys: READ_KEYS,
    idBase: (concurrency * 100 + i) * 10_000_000,
    requestsMax: Math.floor(REQUESTS_PER_RUN_MAX / threads),
  }));
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
  const [outcomes] = await Promise.all([Promise.all(jobs.map(runInWorker)), prober()]);
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

function runInWorker(job: LoadJob): Promise<LoadOutcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), { workerData: job });
    worker.once('message', (outcome: LoadOutcome) => {
      resolve(outcome);
      void worker.terminate();
    });
    worker.once('error', reject);
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
    },
  });
  const seconds = Number(values.seconds);
  const concurrencies = values.concurrency.split(',').map(Number);
  const valueBytes = Number(values['value-bytes']);
  const loadWorkers = Number(values['load-workers']);
  if (!Number.isInteger(loadWorkers) || loadWorkers < 1 || loadWorkers > 16) throw new Error('--load-workers must be in 1..16');
  if (!['js', 'native', 'both'].includes(values.app)) throw new Error('--app must be js, native or both');
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
  const results: Array<RunResult & { app: LoggingApp; kind: 'write' | 'read' }> = [];
  for (const app of apps) {
    log(`\nStarting a one-node service on 127.0.0.1 with the ${app} logging app (${seconds} s per point, ${valueBytes}-byte values) …`);
    const net = await startTestNetwork({}, app);
    try {
      const url = `https://${net.node.status.rpcAddress}`;
      const cert = readFileSync(`${net.common}/user0_cert.pem`, 'utf8');
      const key = readFileSync(`${net.common}/user0_privk.pem`, 'utf8');
      for (const concurrency of concurrencies) {
        const result = await runLoad(url, net.serviceCert, cert, key, concurrency, seconds, valueBytes, false, loadWorkers);
        results.push({ ...result, app, kind: 'write' });
        log(`  ${app.padEnd(6)} write c=${String(concurrency).padStart(4)}  ${result.throughputPerSecond.toFixed(0).padStart(6)}/s  ` +
          `p50 ${result.latencyP50Ms.toFixed(2)} ms  p99 ${result.latencyP99Ms.toFixed(2)} ms  ` +
          `commit p50 ${result.commitP50Ms.toFixed(1)} ms  p99 ${result.commitP99Ms.toFixed(1)} ms  (errors ${result.errors})`);
      }
      if (values.reads) {
        for (let id = 0; id < READ_KEYS; id++) await net.user.post('/app/log/private', { id, msg: 'x'.repeat(valueBytes) });
        for (const concurrency of concurrencies) {
          const result = await runLoad(url, net.serviceCert, cert, key, concurrency, seconds, valueBytes, true, loadWorkers);
          results.push({ ...result, app, kind: 'read' });
          log(`  ${app.padEnd(6)} read  c=${String(concurrency).padStart(4)}  ${result.throughputPerSecond.toFixed(0).padStart(6)}/s  ` +
            `p50 ${result.latencyP50Ms.toFixed(2)} ms  p99 ${result.latencyP99Ms.toFixed(2)} ms  (errors ${result.errors})`);
        }
      }
    } finally {
      await net.stop();
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ primitives: prims, results }, null, 2)}\n`);
    return;
  }
  log('\n| app | op | clients | req/s | p50 ms | p99 ms | commit p50 ms | commit p99 ms |');
  log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const commit = r.kind === 'write' ? `${r.commitP50Ms.toFixed(1)} | ${r.commitP99Ms.toFixed(1)}` : '– | –';
    log(`| ${r.app} | ${r.kind} | ${r.concurrency} | ${r.throughputPerSecond.toFixed(0)} | ${r.latencyP50Ms.toFixed(2)} | ${r.latencyP99Ms.toFixed(2)} | ${commit} |`);
  }
  if (apps.length === 2) {
    for (const concurrency of concurrencies) {
      const native = results.find((r) => r.app === 'native' && r.kind === 'write' && r.concurrency === concurrency);
      const js = results.find((r) => r.app === 'js' && r.kind === 'write' && r.concurrency === concurrency);
      if (native && js) log(`JS/native private-write throughput at ${concurrency} clients: ${(js.throughputPerSecond / native.throughputPerSecond * 100).toFixed(0)}%`);
    }
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
