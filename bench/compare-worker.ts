// One load-generating thread of the etcd comparison (bench/compare.ts): `concurrency` keep-alive
// connections (bench/http-connection.ts), each putting one fresh key after another until the deadline or
// the request budget. The system decides only the request: etcd's JSON gateway `POST /v3/kv/put`
// {key, value} (base64, plain HTTP) or Synod's `POST /app/log/private` {id, msg} (TLS, user0's
// certificate). The value is the same `valueBytes` bytes for both.
// In a worker thread: it connects, posts 'ready', runs when sent {deadlineEpochMs}, posts its outcome.

import { parentPort, workerData } from 'node:worker_threads';
import { KeepAliveConnection, type Endpoint } from './http-connection.ts';

export type System = 'etcd' | 'synod';

export interface PutJob {
  system: System;
  endpoint: Endpoint;
  concurrency: number;
  valueBytes: number;
  /** Keys (etcd) or ids (Synod) are keyBase, keyBase + 1, … : never written twice in one run. */
  keyBase: number;
  requestsMax: number;
}

export interface PutOutcome {
  latenciesMs: number[];
  errors: number;
  /** The first failure's status and body, to say why. */
  firstError?: string;
}

/** The request one put is, for a system. */
export function putRequest(system: System, key: number, value: string): { path: string; body: Buffer } {
  if (system === 'etcd') {
    const base64 = (text: string) => Buffer.from(text).toString('base64');
    return { path: '/v3/kv/put', body: Buffer.from(JSON.stringify({ key: base64(`bench/${key}`), value: base64(value) })) };
  }
  return { path: '/app/log/private', body: Buffer.from(JSON.stringify({ id: key, msg: value })) };
}

/** Opens the job's connections; the function returned puts until the deadline and closes them. */
export async function connectPutJob(job: PutJob): Promise<(deadlineEpochMs: number) => Promise<PutOutcome>> {
  const value = 'x'.repeat(job.valueBytes);
  const connections = Array.from({ length: job.concurrency }, () => new KeepAliveConnection(job.endpoint));
  await Promise.all(connections.map((c) => c.open()));
  return async (deadlineEpochMs) => {
    const outcome: PutOutcome = { latenciesMs: [], errors: 0 };
    let key = job.keyBase;
    const drive = async (connection: KeepAliveConnection): Promise<void> => {
      while (Date.now() < deadlineEpochMs && key - job.keyBase < job.requestsMax) {
        const { path, body } = putRequest(job.system, key++, value);
        const sent = performance.now();
        const answer = await connection.send('POST', path, body).catch((error: Error) => error);
        if (!(answer instanceof Error) && answer.status === 200) {
          outcome.latenciesMs.push(performance.now() - sent);
          continue;
        }
        outcome.errors++;
        outcome.firstError ??= answer instanceof Error ? answer.message : `${answer.status} ${answer.body.toString().slice(0, 200)}`;
        // The connection is gone (a node restarting, an election): go on with a new one, or stop this client.
        if (answer instanceof Error && !(await connection.open().then(() => true, () => false))) return;
      }
    };
    await Promise.all(connections.map(drive));
    for (const c of connections) c.close();
    return outcome;
  };
}

if (parentPort && workerData) {
  const port = parentPort;
  const run = await connectPutJob(workerData as PutJob);
  port.once('message', async ({ deadlineEpochMs }: { deadlineEpochMs: number }) => port.postMessage(await run(deadlineEpochMs)));
  port.postMessage('ready');
}
