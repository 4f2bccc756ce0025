// A minimal keep-alive HTTPS/1.1 client for the load generator: one TLS connection, one request at a time,
// the request written in one piece and the answer framed by its content-length (Synod always sends one).
// node:https's Agent/ClientRequest costs ~100–200 µs of client CPU per request on the benchmark machine,
// which made the Node load generator, not the node, the bottleneck for reads; this costs a fraction.
// It authenticates with a TLS client certificate like the real clients. Not for anything but benchmarks:
// no chunked answers, no redirects, no pipelining.

import { connect, type TLSSocket } from 'node:tls';

export interface RawResponse {
  status: number;
  body: Buffer;
  /** Header names in lower case; only what the benchmark reads. */
  header(name: string): string | undefined;
}

export interface RawClientOptions {
  host: string;
  port: number;
  ca: string;
  cert?: string;
  key?: string;
  servername?: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class RawHttpsConnection {
  #socket: TLSSocket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;
  #head: { status: number; headers: string; bodyStart: number; length: number } | undefined;

  constructor(private readonly options: RawClientOptions) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const o = this.options;
      const socket = connect({ host: o.host, port: o.port, ca: o.ca, servername: o.servername ?? 'localhost', ...(o.cert ? { cert: o.cert, key: o.key } : {}) }, () => resolve());
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      socket.on('error', (error) => {
        reject(error);
        this.#fail(error);
      });
      socket.on('close', () => this.#fail(new Error('connection closed')));
      this.#socket = socket;
    });
  }

  request(method: string, path: string, body?: Buffer, contentType = 'application/json'): Promise<RawResponse> {
    if (this.#pending) return Promise.reject(new Error('one request at a time'));
    const socket = this.#socket;
    if (!socket || socket.destroyed) return Promise.reject(new Error('not connected'));
    const head = `${method} ${path} HTTP/1.1\r\nhost: localhost\r\n` +
      (body ? `content-type: ${contentType}\r\ncontent-length: ${body.length}\r\n` : '') + '\r\n';
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      socket.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head);
    });
  }

  close(): void {
    this.#socket?.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#head === undefined) {
      const end = this.#buffer.indexOf(HEADER_END);
      if (end < 0) return;
      const headers = this.#buffer.toString('latin1', 0, end);
      const status = Number(headers.slice(9, 12));
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
      this.#head = { status, headers, bodyStart: end + 4, length: match ? Number(match[1]) : 0 };
    }
    const head = this.#head;
    if (this.#buffer.length < head.bodyStart + head.length) return;
    const body = this.#buffer.subarray(head.bodyStart, head.bodyStart + head.length);
    this.#buffer = this.#buffer.subarray(head.bodyStart + head.length);
    this.#head = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve({
      status: head.status,
      body,
      header: (name) => new RegExp(`\\r\\n${name}:\\s*([^\\r]*)`, 'i').exec(head.headers)?.[1],
    });
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}
