// Smoke test of the etcd comparison's pieces that need no etcd and no Synod cluster (CI has no etcd):
// argument parsing, etcd command lines, the "etcd missing" path, answer framing and the table.

import { createServer } from 'node:http';
import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { formatReadsTable, formatTable, main, parseCompareArgs, percentile, summarize, type PointResult } from './compare.ts';
import { etcdMemberArgs, etcdMissingMessage, findEtcd, ETCD_INSTALL_HINT } from './etcd.ts';
import { KeepAliveConnection, takeAnswer } from './http-connection.ts';
import { putRequest } from './compare-worker.ts';

describe('bench --compare', () => {
  it('parses its arguments with the issue\'s defaults and rejects bad ones', () => {
    expect(parseCompareArgs([])).toMatchObject({ compare: 'etcd', seconds: 5, concurrencies: [1, 32, 128], valueBytes: 256, nodes: 3, loadWorkers: 2 });
    expect(parseCompareArgs(['--compare', 'none', '--seconds', '3', '--concurrency', '8,64'])).toMatchObject({ compare: 'none', seconds: 3, concurrencies: [8, 64] });
    expect(() => parseCompareArgs(['--compare', 'redis'])).toThrow(/--compare/);
    expect(() => parseCompareArgs(['--seconds', '0'])).toThrow(/--seconds/);
    expect(() => parseCompareArgs(['--concurrency', '1,x'])).toThrow(/--concurrency/);
    expect(parseCompareArgs(['--synod-config', '{"signatureDelayMs": 20}']).synodConfig).toEqual({ signatureDelayMs: 20 });
    expect(parseCompareArgs([]).synodConfig).toEqual({});
    expect(parseCompareArgs([]).readsPerNode).toBe(false);
    expect(parseCompareArgs(['--reads-per-node']).readsPerNode).toBe(true);
    const table = formatReadsTable([{ round: 1, node: 2, role: 'backup', readsPerSecond: 3456.4, p50Ms: 8.15, p99Ms: 21.78, errors: 0, nodeCpuUsPerRead: 307.2 }]);
    expect(table).toContain('| 1 | 2 | backup | 3456 | 8.15 | 21.78 | 307 | 0 |');
    expect(() => parseCompareArgs(['--synod-config', '[1]'])).toThrow(/--synod-config/);
    expect(() => parseCompareArgs(['--synod-config', '{oops'])).toThrow(/--synod-config/);
  });

  it('builds each etcd member\'s command line for one new loopback cluster', () => {
    const members = [0, 1, 2].map((i) => ({ name: `m${i}`, dataDir: `/tmp/d${i}`, clientPort: 2000 + i, peerPort: 3000 + i }));
    const args = etcdMemberArgs(members[1]!, members);
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--name')).toBe('m1');
    expect(flag('--data-dir')).toBe('/tmp/d1');
    expect(flag('--listen-client-urls')).toBe('http://127.0.0.1:2001');
    expect(flag('--initial-advertise-peer-urls')).toBe('http://127.0.0.1:3001');
    expect(flag('--initial-cluster')).toBe('m0=http://127.0.0.1:3000,m1=http://127.0.0.1:3001,m2=http://127.0.0.1:3002');
    expect(flag('--initial-cluster-state')).toBe('new');
  });

  it('without etcd, says how to install it and exits non-zero before starting anything', async () => {
    expect(await findEtcd('/nonexistent/etcd')).toBeUndefined();
    expect(etcdMissingMessage('etcd')).toContain(ETCD_INSTALL_HINT);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--etcd-path', '/nonexistent/etcd'])).toBe(2);
      expect(String(stderr.mock.calls[0]?.[0])).toContain(ETCD_INSTALL_HINT);
    } finally {
      stderr.mockRestore();
    }
  });

  it('frames answers by content-length and drives a plain HTTP server with one keep-alive connection', async () => {
    const raw = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Ms-Ccf-Transaction-Id: 2.7\r\n\r\n{}HTTP/1.1 5');
    const taken = takeAnswer(raw)!;
    expect(taken.answer.status).toBe(200);
    expect(taken.answer.header('x-ms-ccf-transaction-id')).toBe('2.7');
    expect(taken.rest.toString()).toBe('HTTP/1.1 5');
    expect(takeAnswer(taken.rest)).toBeUndefined();

    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push(`${req.url} ${JSON.parse(body).key}`);
        res.end('{"header":{}}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const connection = new KeepAliveConnection({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    try {
      await connection.open();
      for (const key of [1, 2]) {
        const { path, body } = putRequest('etcd', key, 'v');
        expect((await connection.send('POST', path, body)).status).toBe(200);
      }
    } finally {
      connection.close();
      server.close();
    }
    expect(seen).toEqual([`/v3/kv/put ${Buffer.from('bench/1').toString('base64')}`, `/v3/kv/put ${Buffer.from('bench/2').toString('base64')}`]);
  });

  it('tabulates medians over rounds with Synod/etcd as the median of per-round ratios', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    const point = (system: 'etcd' | 'synod', round: number, putsPerSecond: number): PointResult & { round: number } =>
      ({ system, round, concurrency: 32, puts: 1, errors: 0, putsPerSecond, p50Ms: 1, p99Ms: 2, cpuUsPerPut: 100, ...(system === 'synod' ? { commitP50Ms: 20, commitP99Ms: 40, committedPutsPerSecond: putsPerSecond / 2 } : {}) });
    const rows = summarize([point('etcd', 1, 2000), point('synod', 1, 3000), point('etcd', 2, 1000), point('synod', 2, 1000), point('etcd', 3, 1000), point('synod', 3, 2000)]);
    expect(rows.map((r) => [r.system, r.putsPerSecond, r.ratio])).toEqual([['etcd', 1000, undefined], ['synod', 2000, 1.5]]);
    expect(rows[1]!.committedRatio).toBeCloseTo(0.75);
    expect(formatTable(rows)).toContain('| synod | 32 | 2000 | 1000 | 1.00 | 2.00 | 20.0 | 40.0 | 100 | – | 0 | 1.50× | 0.75× |');
  });
});
