// `npm run bench -- --compare etcd` (or `node --import tsx bench/compare.ts`): a 3-member etcd and a
// 3-node Synod (the JS logging app), started in turn on 127.0.0.1 and driven by the same load generator
// (bench/compare-worker.ts over bench/http-connection.ts: keep-alive HTTP/1.1, one request in flight per
// client, a fresh key per put, the same value size), at the same concurrencies, each point bounded in time
// and request count. Prints one table: puts/s, p50/p99 latency, Synod's commit latency (write → receipt
// available), the CPU all members spent per put, and Synod/etcd throughput. It installs nothing: when
// etcd is missing it says how to install it and exits non-zero. It stops every process it started and
// removes their data, also on errors and Ctrl-C.
//
//   npm run bench -- --compare etcd|none [--seconds 5] [--concurrency 1,32,128] [--value-bytes 256]
//                    [--nodes 3] [--load-workers 2] [--rounds 1] [--etcd-path etcd] [--json]
//                    [--synod-config '{"signatureDelayMs": 20}']   (extra node configuration, JSON)
//                    [--reads-per-node]   (then wrk reads on each Synod node in turn, primary and backups)
//
// --compare none: Synod alone (issue 5's 3-node figures). etcd's put answers once a quorum has it in its
// log (fsync'd), so its latency is its commit latency; for Synod the commit column comes from one extra
// client that writes and then polls GET /app/receipt until the receipt is there, while the load runs.
// Synod answers a write before it is committed, so it also gets "committed puts/s": the puts answered
// over the time until the last of them is committed (one write sent as the load ends, its receipt there).
// --rounds N: each system is started N times, taking turns (order alternating by round); the table shows
// medians, and Synod/etcd is the median of the per-round ratios: on a shared machine that is what makes
// the two comparable.

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { runWrk } from './wrk.ts';
import { startCluster, waitFor, type Cluster } from '../test/helpers/cluster.ts';
import { KeepAliveConnection, type Endpoint } from './http-connection.ts';
import { putRequest, type PutJob, type PutOutcome, type System } from './compare-worker.ts';
import { etcdMissingMessage, findEtcd, startEtcdCluster, type EtcdCluster } from './etcd.ts';

export interface CompareOptions {
  compare: 'etcd' | 'none';
  seconds: number;
  concurrencies: number[];
  valueBytes: number;
  nodes: number;
  loadWorkers: number;
  etcdPath: string;
  /** Extra configuration for every Synod node (tuning experiments). */
  synodConfig: Record<string, unknown>;
  /** After the write points, reads on each Synod node in turn (wrk, the anonymous read of the JS app). */
  readsPerNode: boolean;
  rounds: number;
  json: boolean;
}

export interface PointResult {
  system: System;
  concurrency: number;
  puts: number;
  errors: number;
  putsPerSecond: number;
  /** Synod only: answered puts over the time until all of them were committed (receipt available). */
  committedPutsPerSecond?: number;
  p50Ms: number;
  p99Ms: number;
  /** Synod only: write sent → receipt available. */
  commitP50Ms?: number;
  commitP99Ms?: number;
  /** CPU time (user + system) of all members together per answered put, µs. */
  cpuUsPerPut: number;
  /** CPU time of this process (the load threads and the commit probe) per answered put, µs. */
  clientCpuUsPerPut?: number;
  /** The leader (etcd) or primary (Synod) driven was not the leader any more at the end of the point. */
  leaderChanged?: boolean;
  firstError?: string;
}

const PUTS_PER_POINT_MAX = 2_000_000;

function parseSynodConfig(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`--synod-config must be a JSON object, got ${text}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('--synod-config must be a JSON object');
  return parsed as Record<string, unknown>;
}

export function parseCompareArgs(argv: string[]): CompareOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      compare: { type: 'string', default: 'etcd' },
      seconds: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '1,32,128' },
      'value-bytes': { type: 'string', default: '256' },
      nodes: { type: 'string', default: '3' },
      'load-workers': { type: 'string', default: '2' },
      'etcd-path': { type: 'string', default: 'etcd' },
      'synod-config': { type: 'string', default: '{}' },
      'reads-per-node': { type: 'boolean', default: false },
      rounds: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const options: CompareOptions = {
    compare: values.compare as CompareOptions['compare'],
    seconds: Number(values.seconds),
    concurrencies: values.concurrency.split(',').map(Number),
    valueBytes: Number(values['value-bytes']),
    nodes: Number(values.nodes),
    loadWorkers: Number(values['load-workers']),
    etcdPath: values['etcd-path'],
    synodConfig: parseSynodConfig(values['synod-config']),
    readsPerNode: values['reads-per-node'],
    rounds: Number(values.rounds),
    json: values.json,
  };
  const integerIn = (x: number, min: number, max: number) => Number.isInteger(x) && x >= min && x <= max;
  if (!['etcd', 'none'].includes(options.compare)) throw new Error('--compare must be etcd or none');
  if (!(options.seconds > 0 && options.seconds <= 600)) throw new Error('--seconds must be in (0, 600]');
  if (!options.concurrencies.every((c) => integerIn(c, 1, 1024))) throw new Error('--concurrency must be a list of integers in 1..1024');
  if (!integerIn(options.valueBytes, 1, 1_000_000)) throw new Error('--value-bytes must be an integer in 1..1000000');
  if (!integerIn(options.nodes, 1, 7)) throw new Error('--nodes must be in 1..7');
  if (!integerIn(options.loadWorkers, 1, 16)) throw new Error('--load-workers must be in 1..16');
  if (!integerIn(options.rounds, 1, 20)) throw new Error('--rounds must be in 1..20');
  return options;
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)]!;
}

/** User + system CPU of processes so far, µs (Linux /proc; NaN elsewhere or once one has gone). */
function cpuUs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const after = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(after[11]) + Number(after[12]);
    } catch {
      return NaN;
    }
  }
  return ticks * 10_000; // USER_HZ is 100 on Linux
}

/** A load thread, connected; calling it runs the load to the deadline and ends the thread. */
async function loadThread(job: PutJob): Promise<(deadlineEpochMs: number) => Promise<PutOutcome>> {
  const worker = new Worker(new URL('./compare-worker.mjs', import.meta.url), { workerData: job });
  try {
    await once(worker, 'message');
  } catch (error) {
    void worker.terminate();
    throw error;
  }
  return async (deadlineEpochMs) => {
    worker.postMessage({ deadlineEpochMs });
    const [outcome] = (await once(worker, 'message')) as [PutOutcome];
    await worker.terminate();
    return outcome;
  };
}

/** Writes one record to Synod and polls until its receipt is available; ms from sending, or undefined. */
async function writeUntilReceipt(connection: KeepAliveConnection, id: number, value: string, giveUpAt: number): Promise<number | undefined> {
  const sent = performance.now();
  const { path, body } = putRequest('synod', id, value);
  const written = await connection.send('POST', path, body);
  const txid = written.header('x-ms-ccf-transaction-id');
  if (written.status !== 200 || !txid) return undefined;
  let receipt = await connection.send('GET', `/app/receipt?transaction_id=${txid}`);
  while (receipt.status !== 200 && Date.now() < giveUpAt) {
    await new Promise((r) => setTimeout(r, 1));
    receipt = await connection.send('GET', `/app/receipt?transaction_id=${txid}`);
  }
  return receipt.status === 200 ? performance.now() - sent : undefined;
}

/**
 * Synod's commit latency while the load runs: write, then poll for the receipt, one at a time. A lost
 * connection loses that sample; the probe goes on with a new connection.
 */
async function commitProbe(endpoint: Endpoint, valueBytes: number, firstId: number, until: number): Promise<number[]> {
  const connection = new KeepAliveConnection(endpoint);
  await connection.open();
  const samples: number[] = [];
  const value = 'x'.repeat(valueBytes);
  try {
    for (let id = firstId; Date.now() < until; id++) {
      const ms = await writeUntilReceipt(connection, id, value, until + 5_000).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        await connection.open().catch(() => undefined);
        return undefined;
      });
      if (ms !== undefined) samples.push(ms);
    }
  } finally {
    connection.close();
  }
  return samples;
}

/**
 * When everything Synod answered so far is committed: one write sent as the load ends, its receipt
 * available (the ledger is ordered, so every earlier write is committed then). performance.now() then.
 */
async function allCommittedAt(endpoint: Endpoint, valueBytes: number, id: number): Promise<number> {
  const connection = new KeepAliveConnection(endpoint);
  try {
    await connection.open();
    const ms = await writeUntilReceipt(connection, id, 'x'.repeat(valueBytes), Date.now() + 30_000);
    return ms === undefined ? NaN : performance.now();
  } catch {
    return NaN;
  } finally {
    connection.close();
  }
}

/** One point: `concurrency` clients spread over the load threads, bounded by time and count. */
async function measure(system: System, endpoint: Endpoint, pids: number[], concurrency: number, options: CompareOptions): Promise<PointResult> {
  const threads = Math.min(options.loadWorkers, concurrency);
  const keyBase = concurrency * 100_000_000;
  const jobs: PutJob[] = Array.from({ length: threads }, (_, i) => ({
    system, endpoint,
    concurrency: Math.floor(concurrency / threads) + (i < concurrency % threads ? 1 : 0),
    valueBytes: options.valueBytes,
    keyBase: keyBase + i * 10_000_000,
    requestsMax: Math.floor(PUTS_PER_POINT_MAX / threads),
  }));
  const runs = await Promise.all(jobs.map(loadThread));
  const cpuBefore = cpuUs(pids);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const until = Date.now() + options.seconds * 1000;
  let loadEnded = NaN;
  const load = Promise.all(runs.map((run) => run(until))).then((outcomes) => {
    loadEnded = performance.now();
    return outcomes;
  });
  const [outcomes, commits, committedAt] = await Promise.all([
    load,
    system === 'synod' ? commitProbe(endpoint, options.valueBytes, keyBase + 90_000_000, until) : undefined,
    system === 'synod' ? load.then(() => allCommittedAt(endpoint, options.valueBytes, keyBase + 99_000_000)) : undefined,
  ]);
  const elapsedSeconds = (loadEnded - started) / 1000;
  const cpu = cpuUs(pids) - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  const latencies = outcomes.flatMap((o) => o.latenciesMs).sort((a, b) => a - b);
  commits?.sort((a, b) => a - b);
  const errors = outcomes.reduce((sum, o) => sum + o.errors, 0);
  const firstError = outcomes.find((o) => o.firstError)?.firstError;
  return {
    system, concurrency,
    puts: latencies.length,
    errors,
    putsPerSecond: latencies.length / elapsedSeconds,
    ...(committedAt !== undefined ? { committedPutsPerSecond: latencies.length / ((committedAt - started) / 1000) } : {}),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...(commits ? { commitP50Ms: percentile(commits, 50), commitP99Ms: percentile(commits, 99) } : {}),
    cpuUsPerPut: cpu / Math.max(1, latencies.length + errors),
    clientCpuUsPerPut: (client.user + client.system) / Math.max(1, latencies.length + errors),
    ...(firstError ? { firstError } : {}),
  };
}

const fixed = (x: number | undefined, digits: number) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));

export interface Row extends PointResult {
  rounds: number;
  /** Synod rows: the median over rounds of Synod/etcd puts/s (each round's pair measured back to back). */
  ratio?: number;
  /** The same with Synod's committed puts/s (etcd answers a put once it is committed). */
  committedRatio?: number;
  /** In how many rounds the leader/primary changed during this point. */
  elections?: number;
}

function median(xs: number[]): number {
  const sorted = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One row per system and concurrency: each figure the median over the rounds. */
export function summarize(samples: Array<PointResult & { round: number }>): Row[] {
  const rows: Row[] = [];
  for (const system of ['etcd', 'synod'] as const) {
    for (const concurrency of [...new Set(samples.map((s) => s.concurrency))]) {
      const runs = samples.filter((s) => s.system === system && s.concurrency === concurrency);
      if (runs.length === 0) continue;
      const m = (f: (r: PointResult) => number | undefined) => median(runs.map((r) => f(r) ?? NaN));
      const ratios = (f: (r: PointResult) => number | undefined) => runs.flatMap((r) => {
        const etcd = samples.find((e) => e.system === 'etcd' && e.concurrency === concurrency && e.round === r.round);
        return system === 'synod' && etcd ? [(f(r) ?? NaN) / etcd.putsPerSecond] : [];
      });
      const firstError = runs.find((r) => r.firstError)?.firstError;
      rows.push({
        system, concurrency, rounds: runs.length, ...(runs.some((r) => r.leaderChanged) ? { elections: runs.filter((r) => r.leaderChanged).length } : {}),
        puts: m((r) => r.puts), errors: runs.reduce((sum, r) => sum + r.errors, 0), putsPerSecond: m((r) => r.putsPerSecond),
        p50Ms: m((r) => r.p50Ms), p99Ms: m((r) => r.p99Ms), cpuUsPerPut: m((r) => r.cpuUsPerPut), clientCpuUsPerPut: m((r) => r.clientCpuUsPerPut),
        ...(system === 'synod' ? {
          commitP50Ms: m((r) => r.commitP50Ms), commitP99Ms: m((r) => r.commitP99Ms), committedPutsPerSecond: m((r) => r.committedPutsPerSecond),
        } : {}),
        ...(ratios((r) => r.putsPerSecond).length > 0 ? {
          ratio: median(ratios((r) => r.putsPerSecond)), committedRatio: median(ratios((r) => r.committedPutsPerSecond)),
        } : {}),
        ...(firstError ? { firstError } : {}),
      });
    }
  }
  return rows;
}

/** The table: one row per system and concurrency, Synod/etcd on Synod's rows where both ran. */
export function formatTable(rows: Row[]): string {
  const lines = [
    '| system | clients | puts/s | committed puts/s | p50 ms | p99 ms | commit p50 ms | commit p99 ms | CPU µs/put (all members) | client CPU µs/put | errors | Synod/etcd puts/s | Synod/etcd committed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const times = (x: number | undefined) => (x === undefined ? '' : `${fixed(x, 2)}×`);
  for (const r of rows) {
    const commit = r.system === 'etcd' ? '= puts/s | ' : `${fixed(r.committedPutsPerSecond, 0)} | `;
    const commitLatency = r.system === 'etcd' ? '= p50 | = p99' : `${fixed(r.commitP50Ms, 1)} | ${fixed(r.commitP99Ms, 1)}`;
    lines.push(`| ${r.system} | ${r.concurrency} | ${fixed(r.putsPerSecond, 0)} | ${commit}${fixed(r.p50Ms, 2)} | ${fixed(r.p99Ms, 2)} | ${commitLatency} | ` +
      `${fixed(r.cpuUsPerPut, 0)} | ${fixed(r.clientCpuUsPerPut, 0)} | ${r.errors}${r.elections ? ` (elections in ${r.elections} of ${r.rounds})` : ''} | ${times(r.ratio)} | ${times(r.committedRatio)} |`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const options = parseCompareArgs(argv);
  const log = (line: string) => {
    if (!options.json) process.stdout.write(`${line}\n`);
  };
  let etcdVersion: string | undefined;
  if (options.compare === 'etcd') {
    etcdVersion = await findEtcd(options.etcdPath);
    if (!etcdVersion) {
      process.stderr.write(`${etcdMissingMessage(options.etcdPath)}\n`);
      return 2;
    }
  }
  // Whatever runs, or is starting, is stopped on the way out, Ctrl-C included.
  let running: Promise<{ stop(): Promise<void> }> | undefined;
  const stopRunning = async () => {
    const system = await running?.catch(() => undefined);
    running = undefined;
    await system?.stop().catch(() => undefined);
  };
  let interrupting: Promise<void> | undefined;
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping what the benchmark started …\n`);
    interrupting ??= stopRunning().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const samples: Array<PointResult & { round: number }> = [];
  const idle: Array<{ system: System; round: number; idleCores: number }> = [];
  const reads: Array<NodeReads & { round: number }> = [];
  const conditions = `${options.seconds} s per point, ${options.valueBytes}-byte values, clients ${options.concurrencies.join('/')}, ` +
    `${options.loadWorkers} load threads, keep-alive HTTP/1.1, ${options.rounds} round(s)`;
  /** Starts one system, measures every concurrency on it, stops it. */
  const session = async (system: System, round: number) => {
    let synodCluster: Cluster | undefined;
    let endpoint: Endpoint;
    let pids: number[];
    /** Where the load should go now (the leader or primary), so that every point starts there. */
    let target: () => Promise<Endpoint>;
    if (system === 'etcd') {
      log(`Round ${round}: a ${options.nodes}-member etcd ${etcdVersion} on 127.0.0.1 (plain HTTP to the JSON gateway, POST /v3/kv/put on the leader) …`);
      const starting = startEtcdCluster({ size: options.nodes, binary: options.etcdPath, version: etcdVersion! });
      running = starting;
      const etcd: EtcdCluster = await starting;
      target = async () => ({ host: '127.0.0.1', port: etcd.members[await etcd.leader()]!.clientPort });
      pids = etcd.members.map((m) => m.pid);
    } else {
      log(`Round ${round}: a ${options.nodes}-node Synod with the JS logging app on 127.0.0.1 (TLS with user0's certificate, POST /app/log/private on the primary) …`);
      const starting = startCluster({ nodes: options.nodes, nodeConfig: { nativeApps: [], ...options.synodConfig } });
      running = starting;
      const cluster: Cluster = await starting;
      synodCluster = cluster;
      target = async () => {
        const primary = await waitFor('a Synod primary', () => cluster.primary(), 15_000);
        const [host, port] = cluster.nodes[primary]!.rpcAddress.split(':') as [string, string];
        return { host, port: Number(port), tls: { ca: cluster.serviceCert, cert: cluster.userCert, key: cluster.userKey } };
      };
      pids = cluster.nodes.map((n) => n.process!.status.pid);
    }
    // What the members cost with no load at all (heartbeats, timers), over 2 s: part of every put's CPU.
    const idleBefore = cpuUs(pids);
    await new Promise((r) => setTimeout(r, 2_000));
    const idleCores = (cpuUs(pids) - idleBefore) / 2e6;
    idle.push({ system, round, idleCores });
    log(`  ${system.padEnd(5)} idle: the members use ${fixed(idleCores, 2)} cores together`);
    endpoint = await target();
    for (const concurrency of options.concurrencies) {
      const result = await measure(system, endpoint, pids, concurrency, options);
      // An election during the point: say so, and send the next point to the new leader.
      const now = await target();
      if (now.port !== endpoint.port) {
        result.leaderChanged = true;
        log(`  ${system.padEnd(5)} the ${system === 'etcd' ? 'leader' : 'primary'} changed during this point (an election); the rest of it went to a ${system === 'etcd' ? 'follower' : 'backup'}`);
        endpoint = now;
      }
      samples.push({ ...result, round });
      log(`  ${system.padEnd(5)} c=${String(concurrency).padStart(4)}  ${fixed(result.putsPerSecond, 0).padStart(6)}/s  p50 ${fixed(result.p50Ms, 2)} ms  ` +
        `p99 ${fixed(result.p99Ms, 2)} ms${result.commitP50Ms !== undefined ? `  commit p50 ${fixed(result.commitP50Ms, 1)} ms  p99 ${fixed(result.commitP99Ms, 1)} ms  ` +
          `committed ${fixed(result.committedPutsPerSecond, 0)}/s` : ''}  ` +
        `CPU ${fixed(result.cpuUsPerPut, 0)} µs/put (client ${fixed(result.clientCpuUsPerPut, 0)})  errors ${result.errors}${result.firstError ? ` (first: ${result.firstError})` : ''}`);
    }
    if (options.readsPerNode && synodCluster) {
      for (const r of await readsPerNode(synodCluster, options, log)) reads.push({ ...r, round });
    }
    await stopRunning();
  };
  log(`Comparison on 127.0.0.1: ${conditions}; the systems take turns (order alternating by round).`);
  try {
    const systems: System[] = etcdVersion ? ['etcd', 'synod'] : ['synod'];
    for (let round = 1; round <= options.rounds; round++) {
      for (const system of round % 2 === 1 ? systems : [...systems].reverse()) await session(system, round);
    }
  } finally {
    if (interrupting) await interrupting; // it ends the process once all is stopped
    await stopRunning();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  const rows = summarize(samples);
  if (options.json) process.stdout.write(`${JSON.stringify({ conditions, etcdVersion, rows, samples, idle, reads }, null, 2)}\n`);
  else {
    log(`\n${formatTable(rows)}${options.rounds > 1 ? '\n(medians over rounds; Synod/etcd is the median of the per-round ratios)' : ''}`);
    if (reads.length > 0) log(`\n${formatReadsTable(reads)}`);
  }
  return 0;
}

export interface NodeReads {
  node: number;
  role: 'primary' | 'backup';
  readsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU of the node serving the reads ÷ reads answered, µs. */
  nodeCpuUsPerRead: number;
}

const READ_KEYS = 1000;
const READS_CONCURRENCY = 32;

/**
 * Reads served by each node of the network in turn: 1,000 public records written through the primary
 * and committed everywhere, then wrk (`READS_CONCURRENCY` connections, `--seconds`) on each node's
 * `GET /app/log/public/anonymous?id=…` — a read-only endpoint that every node answers from its own
 * store (a backup does not forward it).
 */
async function readsPerNode(cluster: Cluster, options: CompareOptions, log: (line: string) => void): Promise<NodeReads[]> {
  const primary = await waitFor('a Synod primary', () => cluster.primary(), 15_000);
  const writer = cluster.userClient(primary);
  let last = '';
  try {
    for (let id = 0; id < READ_KEYS; id++) {
      const r = await writer.request('POST', '/app/log/public', { id, msg: `record ${id}` });
      if (r.status !== 200) throw new Error(`seeding public records: ${r.status} ${r.text()}`);
      last = String(r.headers['x-ms-ccf-transaction-id']);
    }
  } finally {
    writer.close();
  }
  const results: NodeReads[] = [];
  for (let i = 0; i < cluster.nodes.length; i++) {
    const client = cluster.userClient(i);
    try {
      await waitFor(`the records committed on node ${i}`, async () => {
        const s = (await client.request('GET', `/app/tx?transaction_id=${last}`)).json<{ status: string }>().status;
        return s === 'Committed' ? true : undefined;
      }, 30_000);
    } finally {
      client.close();
    }
    const pid = cluster.nodes[i]!.process!.status.pid;
    const before = cpuUs([pid]);
    const r = await runWrk({
      url: `https://${cluster.nodes[i]!.rpcAddress}`, path: '/app/log/public/anonymous?id={id}',
      concurrency: READS_CONCURRENCY, seconds: options.seconds, threads: options.loadWorkers, keys: READ_KEYS,
    });
    const cpu = cpuUs([pid]) - before;
    const row: NodeReads = {
      node: i, role: i === primary ? 'primary' : 'backup', readsPerSecond: r.throughputPerSecond,
      p50Ms: r.latencyP50Ms, p99Ms: r.latencyP99Ms, errors: r.errors, nodeCpuUsPerRead: cpu / Math.max(1, r.requests),
    };
    log(`  synod reads on node ${i} (${row.role}): ${fixed(row.readsPerSecond, 0)}/s  p50 ${fixed(row.p50Ms, 2)} ms  p99 ${fixed(row.p99Ms, 2)} ms  ` +
      `node CPU ${fixed(row.nodeCpuUsPerRead, 0)} µs/read  errors ${row.errors}`);
    results.push(row);
  }
  return results;
}

export function formatReadsTable(reads: Array<NodeReads & { round: number }>): string {
  const lines = [
    `Reads per node (wrk, ${READS_CONCURRENCY} connections, GET /app/log/public/anonymous?id=<0..${READ_KEYS - 1}>, HTTPS without a client certificate):`,
    '',
    '| round | node | role | reads/s | p50 ms | p99 ms | node CPU µs/read | errors |',
    '|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of reads) {
    lines.push(`| ${r.round} | ${r.node} | ${r.role} | ${fixed(r.readsPerSecond, 0)} | ${fixed(r.p50Ms, 2)} | ${fixed(r.p99Ms, 2)} | ${fixed(r.nodeCpuUsPerRead, 0)} | ${r.errors} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (error: Error) => {
    process.stderr.write(`bench --compare failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
