// One load-generating thread of the benchmark: `concurrency` keep-alive HTTPS clients in a loop until the
// deadline, posting private writes (or reading), bounded in time and request count. Several of these run
// in worker threads so the load generator is not a single event loop's worth of TLS.
// client 'raw' (bench/raw-client.ts) costs far less CPU per request than 'node' (node:https), so that
// the node, not the load generator, is what is measured; both authenticate with user0's certificate.
// In a worker thread: it loads and connects, posts {ready}, and starts when sent {deadlineEpochMs}, so
// that thread start-up (seconds on a busy machine) is not counted in the measured time.

import { parentPort, workerData } from 'node:worker_threads';
import { HttpsClient } from '../test/helpers/https.ts';
import { RawHttpsConnection } from './raw-client.ts';

export interface LoadJob {
  url: string;
  ca: string;
  cert: string;
  key: string;
  concurrency: number;
  /** Set by `start` when run in a worker thread. */
  deadlineEpochMs?: number;
  valueBytes: number;
  reads: boolean;
  readKeys: number;
  idBase: number;
  requestsMax: number;
  client?: 'node' | 'raw';
}

export interface LoadOutcome {
  latenciesMs: number[];
  errors: number;
}

export async function runLoadJob(job: LoadJob & { deadlineEpochMs: number }): Promise<LoadOutcome> {
  return (await prepareLoadJob(job))(job.deadlineEpochMs);
}

/** Connects the job's clients; the function returned runs the load until the deadline. */
export async function prepareLoadJob(job: LoadJob): Promise<(deadlineEpochMs: number) => Promise<LoadOutcome>> {
  const msg = 'x'.repeat(job.valueBytes);
  const latenciesMs: number[] = [];
  let errors = 0;
  let issued = 0;
  let nextId = job.idBase;
  const send = async (request: () => Promise<{ status: number }>): Promise<void> => {
    issued++;
    const started = performance.now();
    const res = await request();
    if (res.status === 200) latenciesMs.push(performance.now() - started);
    else errors++;
  };
  if (job.client === 'raw') {
    const { hostname, port } = new URL(job.url);
    const connections = Array.from({ length: job.concurrency }, () =>
      new RawHttpsConnection({ host: hostname, port: Number(port), ca: job.ca, cert: job.cert, key: job.key }));
    await Promise.all(connections.map((c) => c.connect()));
    return async (deadlineEpochMs) => {
      const loop = async (connection: RawHttpsConnection): Promise<void> => {
        while (Date.now() < deadlineEpochMs && issued < job.requestsMax) {
          await send(() => job.reads
            ? connection.request('GET', `/app/log/private?id=${issued % job.readKeys}`)
            : connection.request('POST', '/app/log/private', Buffer.from(JSON.stringify({ id: nextId++, msg }))));
        }
      };
      await Promise.all(connections.map(loop));
      for (const c of connections) c.close();
      return { latenciesMs, errors };
    };
  }
  const client = new HttpsClient({ url: job.url, ca: job.ca, cert: job.cert, key: job.key, maxSockets: job.concurrency });
  return async (deadlineEpochMs) => {
    const loop = async (): Promise<void> => {
      while (Date.now() < deadlineEpochMs && issued < job.requestsMax) {
        await send(() => job.reads
          ? client.get(`/app/log/private?id=${issued % job.readKeys}`)
          : client.post('/app/log/private', { id: nextId++, msg }));
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, loop));
    client.close();
    return { latenciesMs, errors };
  };
}

if (parentPort && workerData) {
  const port = parentPort;
  prepareLoadJob(workerData as LoadJob).then((run) => {
    port.once('message', (start: { deadlineEpochMs: number }) => {
      run(start.deadlineEpochMs).then((outcome) => port.postMessage(outcome));
    });
    port.postMessage({ ready: true });
  });
}
