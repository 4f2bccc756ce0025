// `npm run bench:memory -- [--entries 1000000] [--concurrency 32] [--value-bytes 16] [--json]`
//
// Resident memory of one node as its store grows: a real one-node service (the JS logging sample,
// HTTPS with user0's certificate, the ledger on disk) takes `--entries` private writes with distinct ids
// (`POST /app/log/private {"id": n, "msg": <value>}`), so the store holds that many keys; every 10% it
// prints the write rate and the node's VmRSS (/proc/<pid>/status), and at the end the RSS once the last
// write is committed. Issue 7's bar: 1,000,000 small entries under 1 GiB. It stops the node and removes
// its temporary data at the end, on errors and on Ctrl-C.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestNetwork, type TestNetwork } from '../test/helpers/network.ts';
import { RawHttpsConnection } from './raw-client.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    concurrency: { type: 'string', default: '32' },
    'value-bytes': { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
  },
});
const entries = Number(values.entries);
const concurrency = Number(values.concurrency);
const valueBytes = Number(values['value-bytes']);
for (const [name, value, max] of [['--entries', entries, 100_000_000], ['--concurrency', concurrency, 1024], ['--value-bytes', valueBytes, 1_000_000]] as const) {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer in 1..${max}`);
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const log = (line: string): void => {
  if (!values.json) process.stdout.write(`${line}\n`);
};

let network: TestNetwork | undefined;
const stop = async (): Promise<void> => {
  const n = network;
  network = undefined;
  await n?.stop().catch(() => undefined);
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));
process.once('SIGTERM', () => void stop().then(() => process.exit(143)));

try {
  network = await startTestNetwork();
  const pid = network.node.status.pid;
  const [host, port] = network.node.status.rpcAddress.split(':') as [string, string];
  const options = {
    host, port: Number(port), ca: network.serviceCert,
    cert: readFileSync(join(network.common, 'user0_cert.pem'), 'utf8'), key: readFileSync(join(network.common, 'user0_privk.pem'), 'utf8'),
  };
  const startRss = rssMiB(pid);
  log(`One node, JS logging app; ${entries} private writes with distinct ids, ${valueBytes}-byte values, ${concurrency} clients. RSS at start: ${startRss.toFixed(0)} MiB`);
  const msg = 'm'.repeat(valueBytes);
  const progress: Array<{ entries: number; writesPerSecond: number; rssMiB: number }> = [];
  const step = Math.max(1, Math.floor(entries / 10));
  let next = 0;
  let lastTxid = '';
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, entries) }, async () => {
    const connection = new RawHttpsConnection(options);
    await connection.connect();
    for (;;) {
      const id = next++;
      if (id >= entries) break;
      for (;;) {
        const r = await connection.request('POST', '/app/log/private', Buffer.from(JSON.stringify({ id, msg })));
        if (r.status === 200) {
          lastTxid = r.header('x-ms-ccf-transaction-id') ?? lastTxid;
          break;
        }
        if (r.status !== 503 && r.status !== 429) throw new Error(`write ${id}: ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
        await new Promise((resolve) => setTimeout(resolve, 50)); // back-pressure: retry the same id
      }
      if ((id + 1) % step === 0) {
        const point = { entries: id + 1, writesPerSecond: (id + 1) / ((performance.now() - started) / 1000), rssMiB: rssMiB(pid) };
        progress.push(point);
        log(`  ${point.entries} writes, ${point.writesPerSecond.toFixed(0)}/s on average, RSS ${point.rssMiB.toFixed(0)} MiB`);
      }
    }
  }));
  for (;;) {
    const status = (await network.user.request('GET', `/app/tx?transaction_id=${lastTxid}`)).json<{ status: string }>().status;
    if (status === 'Committed') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const endRss = rssMiB(pid);
  const result = { entries, valueBytes, concurrency, startRssMiB: startRss, endRssMiB: endRss, bytesPerEntry: ((endRss - startRss) * 1024 * 1024) / entries, progress };
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else log(`${entries} entries committed: RSS ${endRss.toFixed(0)} MiB (${result.bytesPerEntry.toFixed(0)} bytes per entry above the start)`);
} finally {
  await stop();
}
process.exit(0);
