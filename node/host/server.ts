// The HTTPS frontend: terminates TLS on the node certificate, bounds what a client may send (body size,
// header size, request rate), and hands every request to the enclave as a RequestMessage. Routing,
// authentication and handlers live in the enclave; errors raised here use the same error body.
//
// It is node:https with a small request path of its own. It replaced fastify (whose behaviour it keeps:
// 413 before the body is parsed, 431, 429 per client with retry-after, 503 while closing, HEAD as GET
// without a body, keep-alive 72 s) because fastify's routing, hooks, reply object and the rate-limit
// plugin cost more per request than everything else on the read path except TLS itself (bench/README.md).

import { createServer, type Server } from 'node:https';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RequestMessage, ResponseMessage, TlsIdentityMessage } from '../boundary.ts';
import { limits } from '../limits.ts';

export interface ServerOptions {
  identity: TlsIdentityMessage;
  host: string;
  port: number;
  requestsPerSecondPerClientMax: number;
  /** The enclave's frontend: most answers are immediate, historical queries wait for a ledger read. */
  handle: (request: RequestMessage) => ResponseMessage | Promise<ResponseMessage>;
}

export interface RunningServer {
  server: Server;
  /** Stops accepting connections, answers 503 on the ones still open, resolves once all are closed. */
  close(): Promise<void>;
}

/** How long an idle keep-alive connection stays open (fastify's default, which this server kept). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** Fixed rate-limit window per client, in milliseconds. */
const RATE_WINDOW_MS = 1000;
/** Clients whose windows are remembered at once; past it, expired windows go first, then the oldest. */
const RATE_CLIENTS_MAX = 5000;

/**
 * A fixed-window request counter per client key (what @fastify/rate-limit's LocalStore did): the first
 * request of a window starts it, every request counts, and past `max` in the window the answer is 429
 * until the window ends. `retryAfterSeconds` is the rest of the window, rounded up.
 */
export class RateLimiter {
  readonly #windows = new Map<string, { count: number; startMs: number }>();

  constructor(
    readonly max: number,
    readonly windowMs: number = RATE_WINDOW_MS,
    readonly clientsMax: number = RATE_CLIENTS_MAX,
  ) {}

  /** 0 if the request may proceed, else the seconds until the client's window ends (≥ 1). */
  take(key: string, nowMs: number): number {
    let window = this.#windows.get(key);
    if (window === undefined) {
      if (this.#windows.size >= this.clientsMax) this.#evict(nowMs);
      window = { count: 0, startMs: nowMs };
      this.#windows.set(key, window);
    } else if (window.startMs + this.windowMs <= nowMs) {
      window.count = 0;
      window.startMs = nowMs;
      // Re-inserted, so that iteration order stays the order in which windows started.
      this.#windows.delete(key);
      this.#windows.set(key, window);
    }
    window.count += 1;
    if (window.count <= this.max) return 0;
    return Math.max(1, Math.ceil((window.startMs + this.windowMs - nowMs) / 1000));
  }

  get size(): number {
    return this.#windows.size;
  }

  #evict(nowMs: number): void {
    for (const [key, window] of this.#windows) {
      if (window.startMs + this.windowMs <= nowMs) this.#windows.delete(key);
    }
    // Still full: forget the windows that started first (at worst they start again at the next request).
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.clientsMax) break;
      this.#windows.delete(key);
    }
  }
}

/** The rate-limit key of a peer address: the address itself, or its /64 for IPv6 (as @fastify/rate-limit). */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return '';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address.toLowerCase();
  return `${ipv6Prefix64(address)}::/64`;
}

function ipv6Prefix64(address: string): string {
  const zoneless = address.split('%')[0]!.toLowerCase();
  const [head = '', tail] = zoneless.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail counts as two groups; only the first four groups matter here.
  const tailCount = tailGroups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailCount)).fill('0'), ...tailGroups];
  return groups.slice(0, 4).map((g) => (g.includes('.') ? g : (Number.parseInt(g, 16) || 0).toString(16))).join(':');
}

interface Peer {
  /** DER of the client's certificate (null: none), read once per TLS connection. */
  certDer: Uint8Array | null;
  rateKey: string;
}

const peers = new WeakMap<object, Peer>();

function peerOf(socket: Socket): Peer {
  let peer = peers.get(socket);
  if (peer === undefined) {
    const tls = socket as TLSSocket;
    const cert = typeof tls.getPeerCertificate === 'function' ? tls.getPeerCertificate(false) : undefined;
    peer = { certDer: cert && cert.raw ? new Uint8Array(cert.raw) : null, rateKey: clientKey(socket.remoteAddress) };
    peers.set(socket, peer);
  }
  return peer;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

const EMPTY_BODY = Buffer.alloc(0);

/** Sends an error answer of this layer (the enclave's error body); `close` ends the connection after it. */
function sendError(res: ServerResponse, status: number, code: string, message: string, extra?: Record<string, string>, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, message);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/**
 * Bodies up to this size go out as latin1 strings (one byte per character, so byte-exact): node:http
 * then sends headers and body in one string write, where a Buffer body takes the writev path (the two
 * pieces packed into an array, a write request each), which costs more than decoding a small body.
 */
const STRING_BODY_BYTES_MAX = 16 * 1024;

/** The enclave's answer on the wire: header names in lower case, content-type and content-length set. */
function sendResponse(res: ServerResponse, response: ResponseMessage, closing: boolean): void {
  const raw = response.body;
  const body = typeof raw === 'string'
    ? raw
    : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const headers: Record<string, string> = {};
  for (const name in response.headers) headers[name.toLowerCase()] = response.headers[name]!;
  const status = response.status;
  if ((status >= 100 && status < 200) || status === 204 || status === 304) {
    delete headers['content-type'];
    delete headers['content-length'];
  } else {
    headers['content-type'] ??= typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
    headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  }
  if (closing) headers.connection = 'close';
  try {
    res.writeHead(status, headers);
  } catch (error) {
    // A header the enclave produced that HTTP cannot carry (validated there; this is the last guard).
    sendError(res, 500, 'InternalError', `The node produced an invalid response: ${(error as Error).message}`);
    return;
  }
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) res.end();
  else if (typeof body !== 'string' && body.byteLength <= STRING_BODY_BYTES_MAX) res.end(body.toString('latin1'), 'latin1');
  else res.end(body);
}

export async function startServer(options: ServerOptions): Promise<{ app: RunningServer; port: number }> {
  const limiter = new RateLimiter(options.requestsPerSecondPerClientMax);
  let closing = false;

  const dispatch = (req: IncomingMessage, res: ServerResponse, body: Uint8Array, peer: Peer): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const message: RequestMessage = {
      // HEAD is answered as GET; node:http leaves the body out of a HEAD response.
      method: req.method === 'HEAD' ? 'GET' : req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      headers: req.headers as Record<string, string>,
      body,
      ...(peer.certDer ? { clientCertDer: peer.certDer } : {}),
    };
    let response: ResponseMessage | Promise<ResponseMessage>;
    try {
      response = options.handle(message);
    } catch (error) {
      sendError(res, 500, 'InternalError', (error as Error)?.message ?? String(error));
      return;
    }
    if (response instanceof Promise) {
      response.then(
        (answer) => sendResponse(res, answer, closing),
        (error: Error) => sendError(res, 500, 'InternalError', error?.message ?? String(error)),
      );
    } else {
      sendResponse(res, response, closing);
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (closing) {
      sendError(res, 503, 'ServiceUnavailable', 'The node is shutting down.', undefined, true);
      return;
    }
    const peer = peerOf(req.socket);
    const retryAfter = limiter.take(peer.rateKey, Date.now());
    if (retryAfter > 0) {
      const seconds = `${retryAfter} second${retryAfter === 1 ? '' : 's'}`;
      sendError(res, 429, 'TooManyRequests', `More than ${limiter.max} requests per second from this client; retry after ${seconds}.`,
        { 'retry-after': String(retryAfter) });
      return;
    }
    const lengthHeader = req.headers['content-length'];
    const declared = lengthHeader === undefined ? 0 : Number(lengthHeader);
    // An oversized body is refused before it is read. Its bytes are still read and dropped (up to a
    // bound) so that the client, which is usually still writing, receives the 413 instead of a reset.
    if (declared > limits.requestBodyBytesMax) {
      const answer = (): void => sendError(res, 413, 'RequestBodyTooLarge',
        `The request body is ${declared} bytes; this node accepts at most ${limits.requestBodyBytesMax}.`);
      if (declared > limits.requestBodyDrainBytesMax) {
        sendError(res, 413, 'RequestBodyTooLarge',
          `The request body is ${declared} bytes; this node accepts at most ${limits.requestBodyBytesMax}.`, undefined, true);
        return;
      }
      req.on('end', answer);
      req.resume();
      return;
    }
    // No body (no content-length, or 0, and not chunked): answered at once, without reading the stream.
    if (!(declared > 0) && req.headers['transfer-encoding'] === undefined) {
      dispatch(req, res, EMPTY_BODY, peer);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > limits.requestBodyBytesMax) {
        // A chunked body past the bound: refused at once, and the connection ends after the answer.
        refused = true;
        chunks.length = 0;
        sendError(res, 413, 'RequestBodyTooLarge', `The request body exceeds ${limits.requestBodyBytesMax} bytes.`, undefined, true);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      dispatch(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received), peer);
    });
    req.on('error', () => {
      // The client went away mid-body: nothing to answer.
    });
  };

  const server = createServer({
    key: options.identity.nodeKeyPem,
    cert: options.identity.nodeCertPem,
    requestCert: true,
    rejectUnauthorized: false, // certificates are checked per endpoint against the governance maps
    maxHeaderSize: limits.requestHeaderBytesMax,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: 0,
  } as never, onRequest);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.requestTimeout = 0;
  // Malformed requests, header overflow, timeouts: the error body, then the connection closes.
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] = error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'RequestHeaderFieldsTooLarge', `The request headers exceed ${limits.requestHeaderBytesMax} bytes.`]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'RequestTimeout', 'The request was not received in time.']
        : [400, 'InvalidInput', `Malformed HTTP request (${error.code ?? 'client error'}).`];
    if (socket.writable) {
      const body = errorBody(code, message);
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy(error);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const app: RunningServer = {
    server,
    close: () => new Promise<void>((resolve) => {
      closing = true;
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
  return { app, port };
}
