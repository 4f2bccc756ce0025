// One load-generating thread of the benchmark: `concurrency` keep-alive HTTPS clients in a loop until the
// deadline, posting private writes (or reading), bounded in time and request count. Several of these run
// in worker threads so the load generator is not a single event loop's worth of TLS.

import { parentPort, workerData } from 'node:worker_threads';
import { HttpsClient } from '../test/helpers/https.ts';

export interface LoadJob {
  url: string;
  ca: string;
  cert: string;
  key: string;
  concurrency: number;
  deadlineEpochMs: number;
  valueBytes: number;
  reads: boolean;
  readKeys: number;
  idBase: number;
  requestsMax: number;
}

export interface LoadOutcome {
  latenciesMs: number[];
  errors: number;
}

export async function runLoadJob(job: LoadJob): Promise<LoadOutcome> {
  const client = new HttpsClient({ url: job.url, ca: job.ca, cert: job.cert, key: job.key, maxSockets: job.concurrency });
  const msg = 'x'.repeat(job.valueBytes);
  const latenciesMs: number[] = [];
  let errors = 0;
  let issued = 0;
  let nextId = job.idBase;
  const loop = async (): Promise<void> => {
    while (Date.now() < job.deadlineEpochMs && issued < job.requestsMax) {
      issued++;
      const started = performance.now();
      const res = job.reads
        ? await client.get(`/app/log/private?id=${issued % job.readKeys}`)
        : await client.post('/app/log/private', { id: nextId++, msg });
      if (res.status === 200) latenciesMs.push(performance.now() - started);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  client.close();
  return { latenciesMs, errors };
}

if (parentPort && workerData) {
  runLoadJob(workerData as LoadJob).then((outcome) => parentPort!.postMessage(outcome));
}
