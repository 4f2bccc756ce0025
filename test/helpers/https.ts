// A small keep-alive HTTPS client pinned to the service certificate, for end-to-end tests and the
// benchmark. (The published client library lives in client/; this one stays minimal on purpose.)

import { Agent, request as httpsRequest } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = any>(): T;
  text(): string;
}

export interface ClientOptions {
  url: string;
  ca: string;
  cert?: string;
  key?: string;
  maxSockets?: number;
}

export class HttpsClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly options: ClientOptions) {
    const parsed = new URL(options.url);
    this.host = parsed.hostname;
    this.port = Number(parsed.port || 443);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 16,
      ca: options.ca,
      ...(options.cert ? { cert: options.cert, key: options.key } : {}),
    });
  }

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const allHeaders: Record<string, string | number> = { ...headers };
    if (payload !== undefined) {
      allHeaders['content-type'] ??= 'application/json';
      allHeaders['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = httpsRequest({ host: this.host, port: this.port, method, path, headers: allHeaders, agent: this.agent, servername: 'localhost' }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: data,
            json: () => JSON.parse(data.toString('utf8')),
            text: () => data.toString('utf8'),
          });
        });
        res.on('error', reject);
      });
      // A server that refuses an oversized body answers first and then resets the connection while the
      // body is still being written: the answer, once it arrived, is what counts.
      req.on('error', (error) => (answered ? undefined : reject(error)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request('GET', path, undefined, headers);
  }

  post(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request('POST', path, body, headers);
  }

  /** Polls /app/tx until the transaction is Committed (or Invalid), with backoff. */
  async waitForCommit(txid: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let delayMs = 2;
    for (;;) {
      const res = await this.get(`/app/tx?transaction_id=${txid}`);
      const status = res.status === 200 ? (res.json().status as string) : `HTTP ${res.status}`;
      if (status === 'Committed' || status === 'Invalid') return status;
      if (Date.now() > deadline) throw new Error(`transaction ${txid} still ${status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 100);
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
