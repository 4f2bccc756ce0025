// The HTTPS server's own parts: the per-client rate limiter and its client keys, and a live server on
// loopback (body bounds, 429 with retry-after, HEAD, error bodies, closing) with a stub enclave.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RateLimiter, clientKey, startServer, type RunningServer } from './server.ts';
import type { RequestMessage, ResponseMessage } from '../boundary.ts';
import { limits } from '../limits.ts';

describe('RateLimiter', () => {
  it('allows max requests per window per client, then answers with the seconds left', () => {
    const limiter = new RateLimiter(3, 1000);
    expect([0, 1, 2].map(() => limiter.take('a', 10_000))).toEqual([0, 0, 0]);
    expect(limiter.take('a', 10_000)).toBe(1);
    expect(limiter.take('b', 10_001)).toBe(0);
    expect(limiter.take('a', 10_999)).toBe(1);
    // The window started at the first request: it ends 1000 ms later, and the count starts again.
    expect(limiter.take('a', 11_000)).toBe(0);
    expect(limiter.take('a', 11_001)).toBe(0);
    expect(limiter.take('a', 11_002)).toBe(0);
    expect(limiter.take('a', 11_003)).toBe(1);
  });

  it('rounds the wait up to whole seconds for longer windows', () => {
    const limiter = new RateLimiter(1, 5000);
    limiter.take('a', 0);
    expect(limiter.take('a', 1)).toBe(5);
    expect(limiter.take('a', 4001)).toBe(1);
  });

  it('remembers a bounded number of clients, dropping expired windows first, then the oldest', () => {
    const limiter = new RateLimiter(1, 1000, 3);
    limiter.take('a', 0);
    limiter.take('b', 500);
    limiter.take('c', 600);
    limiter.take('d', 1200); // a's window has ended: it goes
    expect(limiter.size).toBe(3);
    expect(limiter.take('b', 1300)).toBe(1); // b is still limited
    limiter.take('e', 1300); // full, nothing expired: the oldest (b) goes
    expect(limiter.size).toBe(3);
    expect(limiter.take('b', 1301)).toBe(0);
  });
});

describe('clientKey', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey(undefined)).toBe('');
  });
});

describe('startServer on loopback', () => {
  let dir: string;
  let app: RunningServer;
  let port: number;
  let ca: string;
  const seen: RequestMessage[] = [];
  let answer: (req: RequestMessage) => ResponseMessage | Promise<ResponseMessage>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'synod-server-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'),
      '-out', join(dir, 'c.pem'), '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'c.pem'), 'utf8');
    const started = await startServer({
      identity: { nodeKeyPem: readFileSync(join(dir, 'k.pem'), 'utf8'), nodeCertPem: ca } as never,
      host: '127.0.0.1',
      port: 0,
      requestsPerSecondPerClientMax: 1000,
      handle: (req) => {
        seen.push(req);
        return answer(req);
      },
    });
    app = started.app;
    port = started.port;
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, ca, servername: 'localhost', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('hands method, path, query, headers and body to the enclave and sends its answer', async () => {
    answer = () => ({ status: 201, headers: { 'Content-Type': 'application/json', 'X-Custom': 'v' }, body: '{"ok":true}' });
    const res = await send('POST', '/app/thing?x=1&y=2', Buffer.from('payload'), { 'content-type': 'text/plain' });
    expect(res.status).toBe(201);
    expect(res.body).toBe('{"ok":true}');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-custom']).toBe('v');
    expect(res.headers['content-length']).toBe('11');
    const req = seen.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/app/thing');
    expect(req.query).toBe('x=1&y=2');
    expect(req.headers['content-type']).toBe('text/plain');
    expect(Buffer.from(req.body).toString()).toBe('payload');
    expect(req.clientCertDer).toBeUndefined();
  });

  it('reads a chunked body, gives an empty body to a GET, answers bytes and HEAD', async () => {
    answer = (req) => ({ status: 200, headers: {}, body: new Uint8Array(req.body.length ? req.body : [1, 2, 3]) });
    const chunked = await send('PUT', '/x', undefined, { 'transfer-encoding': 'chunked' });
    expect(chunked.status).toBe(200);
    const get = await send('GET', '/x');
    expect(seen.at(-1)!.body.byteLength).toBe(0);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect(get.headers['content-length']).toBe('3');
    const head = await send('HEAD', '/x');
    expect(seen.at(-1)!.method).toBe('GET');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    answer = () => ({ status: 204, headers: { 'content-type': 'text/plain' }, body: '' });
    const empty = await send('DELETE', '/x');
    expect(empty.status).toBe(204);
    expect(empty.headers['content-type']).toBeUndefined();
  });

  it('waits for an asynchronous answer, and turns a failure into a 500 error body', async () => {
    answer = () => Promise.resolve({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'later' });
    expect((await send('GET', '/x')).body).toBe('later');
    answer = () => Promise.reject(new Error('boom'));
    const failed = await send('GET', '/x');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body).error).toEqual({ code: 'InternalError', message: 'boom' });
    answer = () => ({ status: 200, headers: { 'x-bad': 'a\nb' }, body: '' });
    const invalid = await send('GET', '/x');
    expect(invalid.status).toBe(500);
    expect(JSON.parse(invalid.body).error.code).toBe('InternalError');
  });

  it('refuses a declared oversized body with 413 before handing it on, and a chunked one past the bound', async () => {
    answer = () => ({ status: 200, headers: {}, body: '' });
    const before = seen.length;
    const declared = await send('POST', '/x', Buffer.alloc(limits.requestBodyBytesMax + 1));
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('RequestBodyTooLarge');
    const chunked = await send('POST', '/x', Buffer.alloc(limits.requestBodyBytesMax + 1), { 'transfer-encoding': 'chunked' }).catch((e: Error) => e);
    if (!(chunked instanceof Error)) expect(chunked.status).toBe(413);
    expect(seen.length).toBe(before);
  });

  it('answers a malformed request with 400 and the error body, then closes', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('"code":"InvalidInput"');
  });

  it('answers 429 with retry-after past the per-client rate', async () => {
    const started = await startServer({
      identity: { nodeKeyPem: readFileSync(join(dir, 'k.pem'), 'utf8'), nodeCertPem: ca } as never,
      host: '127.0.0.1',
      port: 0,
      requestsPerSecondPerClientMax: 2,
      handle: () => ({ status: 200, headers: {}, body: 'ok' }),
    });
    try {
      const at = (path: string) => new Promise<{ status: number; retry: unknown; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: started.port, path, ca, servername: 'localhost', agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retry: res.headers['retry-after'], body }));
        });
        req.on('error', reject);
        req.end();
      });
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await at('/x'));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429, 429]);
      expect(answers[2]!.retry).toBe('1');
      expect(JSON.parse(answers[2]!.body).error.code).toBe('TooManyRequests');
    } finally {
      await started.app.close();
    }
  });
});
