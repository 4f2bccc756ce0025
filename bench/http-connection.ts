// The comparison's client connection (bench/compare.ts): one keep-alive HTTP/1.1 connection, one request
// at a time, over plain TCP (etcd's JSON gateway on loopback) or over TLS with a client certificate
// (Synod, user0). Both systems are driven by this same code, so the client costs the same per request
// whichever system it measures. Answers must carry a content-length (both systems send one); no chunked
// answers, no pipelining, no redirects: a benchmark client, nothing more.

import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

export interface Endpoint {
  host: string;
  port: number;
  /** TLS with the service's CA and a client certificate; absent: plain HTTP. */
  tls?: { ca: string; cert: string; key: string; servername?: string };
}

export interface Answer {
  status: number;
  body: Buffer;
  /** The value of a header (name in any case), or undefined. */
  header(name: string): string | undefined;
}

interface Waiter {
  resolve(answer: Answer): void;
  reject(error: Error): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Splits one complete answer off the front of `data`; undefined while it is incomplete. */
export function takeAnswer(data: Buffer): { answer: Answer; rest: Buffer } | undefined {
  const headerEnd = data.indexOf(CRLFCRLF);
  if (headerEnd < 0) return undefined;
  const head = data.toString('latin1', 0, headerEnd);
  const lines = head.split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const lengthText = headers.get('content-length');
  if (lengthText === undefined) throw new Error(`answer without content-length: ${lines[0]}`);
  const bodyStart = headerEnd + CRLFCRLF.length;
  const bodyEnd = bodyStart + Number(lengthText);
  if (data.length < bodyEnd) return undefined;
  return {
    answer: { status: Number(lines[0]!.split(' ')[1]), body: data.subarray(bodyStart, bodyEnd), header: (name) => headers.get(name.toLowerCase()) },
    rest: data.subarray(bodyEnd),
  };
}

export class KeepAliveConnection {
  private socket: Socket | undefined;
  private received: Buffer = Buffer.alloc(0);
  private waiter: Waiter | undefined;

  constructor(private readonly endpoint: Endpoint) {}

  /** Connects; again after the connection was lost, to go on with a new one. */
  async open(): Promise<void> {
    this.socket?.destroy();
    this.received = Buffer.alloc(0);
    const { host, port, tls } = this.endpoint;
    const socket = tls
      ? connectTls({ host, port, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername ?? 'localhost' })
      : connectTcp({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.socket) this.onData(chunk);
    });
    socket.on('close', () => {
      if (socket === this.socket) this.settle(new Error('connection closed'));
    });
    await new Promise<void>((resolve, reject) => {
      socket.once(tls ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', (error) => {
      if (socket === this.socket) this.settle(error);
    });
  }

  send(method: string, path: string, body?: Buffer): Promise<Answer> {
    const socket = this.socket;
    if (this.waiter) return Promise.reject(new Error('a request is already in flight'));
    if (!socket || socket.destroyed) return Promise.reject(new Error('connection is not open'));
    const lines = [`${method} ${path} HTTP/1.1`, `host: ${this.endpoint.host}:${this.endpoint.port}`];
    if (body) lines.push('content-type: application/json', `content-length: ${body.length}`);
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    return new Promise<Answer>((resolve, reject) => {
      this.waiter = { resolve, reject };
      socket.write(body ? Buffer.concat([head, body]) : head);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length > 0 ? Buffer.concat([this.received, chunk]) : chunk;
    let taken;
    try {
      taken = takeAnswer(this.received);
    } catch (error) {
      this.settle(error as Error);
      this.socket?.destroy();
      return;
    }
    if (!taken) return;
    this.received = taken.rest;
    this.settle(taken.answer);
  }

  private settle(outcome: Answer | Error): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) return;
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }
}
