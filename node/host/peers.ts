// The node-to-node channel (host side): WebSockets over mutual TLS between the nodes of one service.
//
// Each node listens on its node-to-node address and dials every other node it is told about. A node
// sends only on its own outbound connection to a peer and receives only on inbound ones, so there is no
// pairing or deduplication of connections: two nodes talking hold two sockets, one each way.
//
// Trust. Both ends present their node certificate, and TLS accepts only certificates endorsed by the
// service certificate (the only CA either side trusts). That is not enough, since a retired node keeps a
// valid certificate: the server asks the enclave (authorize) whether the certificate belongs to a node it
// exchanges traffic with, and tags every frame of the connection with the node id the enclave returned;
// the dialer checks that the server's certificate carries the node id it meant to reach (node id = hex
// SHA-256 of the certificate's public key). Host names and IP SANs are not checked: ids are.
//
// Frames are opaque here: bytes in, bytes out. Their content is hostile and decoded by the enclave
// (node/consensus/wire.ts); this side only bounds their size. Delivery is best effort and in order per
// peer: a bounded queue holds frames while a peer is unreachable or slow, and frames beyond it are
// dropped (Raft retransmits). Keepalive pings find a peer that stopped answering within a few seconds.

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer, type ClientOptions, type RawData } from 'ws';
import { certificateDerToPem, certificatePublicKeyDer, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';

/** Every bound of the transport, with its unit in its name. */
export interface PeerTransportLimits {
  /** Largest frame sent or received (the WebSocket maxPayload). */
  readonly frameBytesMax: number;
  /** Bytes queued for one peer (while it is unreachable or its socket is backed up) before send() drops. */
  readonly queueBytesMax: number;
  /** Frames queued for one peer before send() drops. */
  readonly queueFramesMax: number;
  /** Bytes buffered in a peer's socket above which new frames wait in the queue. */
  readonly socketBufferedBytesHigh: number;
  /** First reconnection delay; it doubles on each failure up to backoffMaxMs, and resets on success. */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  /** Interval between keepalive pings on every connection. */
  readonly keepAliveIntervalMs: number;
  /** A connection on which nothing (pong or frame) arrived for this long is dropped. */
  readonly silenceMaxMs: number;
  /** A dial (or an inbound connection) whose TLS + WebSocket handshake takes longer than this fails. */
  readonly handshakeTimeoutMs: number;
  /** Inbound connections open at once (a handful per peer is normal; the rest is a misbehaving peer). */
  readonly inboundConnectionsMax: number;
}

export const peerTransportLimits: PeerTransportLimits = {
  frameBytesMax: 64 * 1024 * 1024,
  queueBytesMax: 16 * 1024 * 1024,
  queueFramesMax: 64 * 1024,
  socketBufferedBytesHigh: 16 * 1024 * 1024,
  backoffMinMs: 25,
  backoffMaxMs: 1000,
  keepAliveIntervalMs: 400,
  silenceMaxMs: 1500,
  handshakeTimeoutMs: 5000,
  inboundConnectionsMax: 1024,
};

export interface PeerTransportOptions {
  nodeId: string;
  identity: { nodeCertPem: string; nodeKeyPem: string; serviceCertPem: string };
  /** Where to listen; port 0 picks a free port. */
  host: string;
  port: number;
  /** The enclave decides if a peer certificate belongs to a trusted node: its node id, or undefined to refuse. */
  authorize(peerCertDer: Uint8Array): string | undefined;
  onFrame(from: string, bytes: Uint8Array): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Overrides of the default bounds (tests shrink them). */
  limits?: Partial<PeerTransportLimits>;
}

/** The node id a certificate (DER) speaks for: hex SHA-256 of its public key. Throws on a bad certificate. */
export function nodeIdOfCertificateDer(der: Uint8Array): string {
  return nodeIdFromPublicKeyDer(certificatePublicKeyDer(certificateDerToPem(der)));
}

function short(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

function bytesView(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return new Uint8Array(data);
}

/** One connection's liveness, for the keepalive sweep. */
interface Liveness {
  lastHeardMs: number;
  describe: string;
}

interface Outbound {
  readonly id: string;
  address: string;
  /** undefined when the address cannot be dialed. */
  url: string | undefined;
  ws: WebSocket | undefined;
  open: boolean;
  /** Frames waiting, oldest first, from queueHead on. */
  queue: Uint8Array[];
  queueHead: number;
  queuedBytes: number;
  backoffMs: number;
  timer: NodeJS.Timeout | undefined;
  /** For logging once per state change. */
  connected: boolean;
  lastProblem: string | undefined;
  problem: string | undefined;
  dropping: boolean;
}

interface Inbound {
  readonly ws: WebSocket;
  readonly id: string;
  readonly der: Uint8Array;
  closing: boolean;
}

export class PeerTransport {
  readonly port: number;
  private readonly limits: PeerTransportLimits;
  private readonly outbound = new Map<string, Outbound>();
  private readonly inbound = new Set<Inbound>();
  private readonly live = new Map<WebSocket, Liveness>();
  private readonly logged = new Map<string, number>();
  private readonly keepAlive: NodeJS.Timeout;
  private lastSweepMs = Date.now();
  private closed = false;

  private constructor(
    private readonly options: PeerTransportOptions,
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    port: number,
  ) {
    this.port = port;
    this.limits = { ...peerTransportLimits, ...options.limits };
    this.keepAlive = setInterval(() => this.sweep(), this.limits.keepAliveIntervalMs);
    this.keepAlive.unref();
  }

  static async start(options: PeerTransportOptions): Promise<PeerTransport> {
    const limits = { ...peerTransportLimits, ...options.limits };
    const server = createServer({
      key: options.identity.nodeKeyPem,
      cert: options.identity.nodeCertPem,
      ca: options.identity.serviceCertPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      // A connection that does not finish its handshakes promptly is cut (only nodes of the service get
      // past TLS, but a wedged one must not hold sockets for minutes).
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.handshakeTimeoutMs,
      requestTimeout: limits.handshakeTimeoutMs,
    });
    server.maxConnections = limits.inboundConnectionsMax;
    const wss = new WebSocketServer({ noServer: true, maxPayload: limits.frameBytesMax, perMessageDeflate: false, clientTracking: false });
    const port = await new Promise<number>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen(options.port, options.host, () => {
        server.off('error', onError);
        resolve((server.address() as { port: number }).port);
      });
    });
    const transport = new PeerTransport(options, server, wss, port);
    server.on('error', (error) => transport.logThrottled('server', 'error', `node-to-node server: ${error.message}`));
    server.on('tlsClientError', (error) => transport.logThrottled(`tls:${error.message}`, 'warn', `node-to-node: TLS handshake refused: ${error.message}`));
    server.on('clientError', (_error, socket) => socket.destroy());
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('node-to-node channel: WebSocket only\n');
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => transport.onUpgrade(req, socket, head));
    options.log('info', `node-to-node: listening on ${options.host}:${port}`);
    return transport;
  }

  // -------------------------------------------------------------------------------------------------
  // Inbound.

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    if (this.closed) {
      socket.destroy();
      return;
    }
    const tls = socket as TLSSocket;
    let cert: PeerCertificate | undefined;
    try {
      cert = tls.getPeerCertificate();
    } catch {
      cert = undefined;
    }
    const raw = cert?.raw;
    if (!tls.authorized || !raw || raw.length === 0) {
      refuse(socket, 401, 'no valid node certificate');
      return;
    }
    const der = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
    const id = this.authorize(der);
    if (id === undefined) {
      const fingerprint = createHash('sha256').update(der).digest('hex');
      this.logThrottled(`refused:${fingerprint}`, 'warn', `node-to-node: refused a connection from a node that is not trusted (certificate ${fingerprint.slice(0, 12)})`);
      refuse(socket, 403, 'not a trusted node of this service');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptInbound(ws, id, der));
  }

  private authorize(der: Uint8Array): string | undefined {
    try {
      const id = this.options.authorize(der);
      return typeof id === 'string' && id.length > 0 ? id : undefined;
    } catch (error) {
      this.options.log('error', `node-to-node: authorize failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  private acceptInbound(ws: WebSocket, id: string, der: Uint8Array): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    const entry: Inbound = { ws, id, der, closing: false };
    this.inbound.add(entry);
    const liveness: Liveness = { lastHeardMs: Date.now(), describe: `inbound from ${short(id)}` };
    this.live.set(ws, liveness);
    this.options.log('info', `node-to-node: peer ${short(id)} connected (inbound)`);
    ws.on('message', (data: RawData) => {
      liveness.lastHeardMs = Date.now();
      if (entry.closing) return;
      try {
        this.options.onFrame(id, bytesView(data));
      } catch (error) {
        this.options.log('error', `node-to-node: handling a frame from ${short(id)} failed: ${(error as Error).message}`);
      }
    });
    ws.on('pong', () => (liveness.lastHeardMs = Date.now()));
    ws.on('ping', () => (liveness.lastHeardMs = Date.now()));
    ws.on('error', (error) => this.logThrottled(`in-error:${id}:${error.message}`, 'warn', `node-to-node: inbound from ${short(id)}: ${error.message}`));
    ws.on('close', () => {
      this.inbound.delete(entry);
      this.live.delete(ws);
      if (!this.closed) this.options.log('info', `node-to-node: peer ${short(id)} disconnected (inbound)`);
    });
  }

  /** Re-runs authorize() on open inbound connections and closes those now refused (a node was retired/removed). */
  reauthorize(): void {
    for (const entry of this.inbound) {
      if (entry.closing) continue;
      if (this.authorize(entry.der) === entry.id) continue;
      entry.closing = true;
      this.options.log('info', `node-to-node: closing the connection of ${short(entry.id)}: no longer a trusted node`);
      entry.ws.close(4003, 'no longer a trusted node');
      // A peer that does not answer the close handshake is cut anyway.
      setTimeout(() => entry.ws.terminate(), 1000).unref();
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Outbound.

  /** Who the peers are and where: dial lazily; drop connections to ids no longer listed. */
  setPeers(peers: ReadonlyMap<string, string>): void {
    if (this.closed) return;
    for (const [id, out] of this.outbound) {
      if (peers.has(id) && id !== this.options.nodeId) continue;
      this.outbound.delete(id);
      this.stopOutbound(out);
      this.options.log('info', `node-to-node: peer ${short(id)} is no longer listed`);
    }
    for (const [id, address] of peers) {
      if (id === this.options.nodeId) continue;
      const existing = this.outbound.get(id);
      if (existing) {
        if (existing.address === address) continue;
        this.options.log('info', `node-to-node: peer ${short(id)} moved to ${address}`);
        this.stopOutbound(existing);
        existing.address = address;
        existing.url = dialUrl(address);
        existing.backoffMs = this.limits.backoffMinMs;
        this.dial(existing);
        continue;
      }
      const out: Outbound = {
        id, address, url: dialUrl(address), ws: undefined, open: false, queue: [], queueHead: 0, queuedBytes: 0,
        backoffMs: this.limits.backoffMinMs, timer: undefined, connected: false, lastProblem: undefined, problem: undefined, dropping: false,
      };
      this.outbound.set(id, out);
      this.dial(out);
    }
  }

  /** Stops dialing and drops the current connection (the queue is kept for a re-dial, if any). */
  private stopOutbound(out: Outbound): void {
    if (out.timer) clearTimeout(out.timer);
    out.timer = undefined;
    const ws = out.ws;
    out.ws = undefined;
    out.open = false;
    if (out.connected) {
      out.connected = false;
      this.options.log('info', `node-to-node: disconnected from ${short(out.id)}`);
    }
    if (ws) {
      this.live.delete(ws);
      ws.terminate();
    }
  }

  private dial(out: Outbound): void {
    if (this.closed || this.outbound.get(out.id) !== out || out.ws) return;
    if (out.url === undefined) {
      this.logThrottled(`address:${out.id}:${out.address}`, 'warn', `node-to-node: cannot dial ${short(out.id)}: bad address ${JSON.stringify(out.address)}`);
      return;
    }
    const expected = out.id;
    let ws: WebSocket;
    try {
      const tlsOptions: ConnectionOptions = {
        cert: this.options.identity.nodeCertPem,
        key: this.options.identity.nodeKeyPem,
        ca: this.options.identity.serviceCertPem,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        // The chain was verified against the service certificate; what is left is whose certificate it is.
        checkServerIdentity: (_host: string, cert: PeerCertificate) => {
          let id: string;
          try {
            id = nodeIdOfCertificateDer(new Uint8Array(cert.raw));
          } catch {
            return new Error('the server certificate could not be read');
          }
          return id === expected ? undefined : new Error(`the server is node ${short(id)}, not ${short(expected)}`);
        },
      };
      const wsOptions: ClientOptions = {
        perMessageDeflate: false,
        followRedirects: false,
        handshakeTimeout: this.limits.handshakeTimeoutMs,
        // The server sends nothing but control frames on our outbound connection.
        maxPayload: 64 * 1024,
        // Masking guards plaintext intermediaries; inside TLS it only costs a copy of every frame.
        generateMask: (mask: Buffer) => void mask.fill(0),
      };
      // @types/ws types checkServerIdentity as returning a boolean; tls.connect (which gets it) wants an Error or undefined.
      ws = new WebSocket(out.url, { ...wsOptions, ...(tlsOptions as object) });
    } catch (error) {
      out.problem = (error as Error).message;
      this.retry(out);
      return;
    }
    out.ws = ws;
    out.open = false;
    out.problem = undefined;
    const liveness: Liveness = { lastHeardMs: Date.now(), describe: `outbound to ${short(out.id)}` };
    ws.on('open', () => {
      if (out.ws !== ws) return;
      out.open = true;
      out.backoffMs = this.limits.backoffMinMs;
      out.lastProblem = undefined;
      liveness.lastHeardMs = Date.now();
      this.live.set(ws, liveness);
      if (!out.connected) {
        out.connected = true;
        this.options.log('info', `node-to-node: connected to ${short(out.id)} at ${out.address}`);
      }
      this.flush(out, ws);
    });
    ws.on('pong', () => (liveness.lastHeardMs = Date.now()));
    ws.on('ping', () => (liveness.lastHeardMs = Date.now()));
    ws.on('message', () => (liveness.lastHeardMs = Date.now()));
    ws.on('error', (error) => {
      if (out.ws === ws) out.problem = error.message;
    });
    ws.on('close', (code, reason) => {
      this.live.delete(ws);
      if (out.ws !== ws) return;
      out.ws = undefined;
      out.open = false;
      if (this.closed || this.outbound.get(out.id) !== out) return;
      const why = out.problem ?? `closed (${code}${reason.length > 0 ? ` ${reason.toString('utf8').slice(0, 200)}` : ''})`;
      if (out.connected) {
        out.connected = false;
        out.lastProblem = why;
        this.options.log('info', `node-to-node: disconnected from ${short(out.id)}: ${why}`);
      } else if (why !== out.lastProblem) {
        out.lastProblem = why;
        this.options.log('warn', `node-to-node: cannot connect to ${short(out.id)} at ${out.address}: ${why}`);
      }
      this.retry(out);
    });
  }

  private retry(out: Outbound): void {
    if (this.closed || this.outbound.get(out.id) !== out || out.timer) return;
    const delay = out.backoffMs;
    out.backoffMs = Math.min(out.backoffMs * 2, this.limits.backoffMaxMs);
    out.timer = setTimeout(() => {
      out.timer = undefined;
      this.dial(out);
    }, delay);
  }

  /** Queues a frame for a peer; false when dropped (unknown peer, or its queue is full). Never throws for network trouble. */
  send(to: string, bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const out = this.outbound.get(to);
    if (!out) return false;
    if (bytes.length > this.limits.frameBytesMax) {
      this.logThrottled(`large:${to}`, 'warn', `node-to-node: dropped a ${bytes.length}-byte frame to ${short(to)} (at most ${this.limits.frameBytesMax})`);
      return false;
    }
    const ws = out.ws;
    if (ws && out.open && ws.readyState === WebSocket.OPEN && out.queueHead === out.queue.length && ws.bufferedAmount < this.limits.socketBufferedBytesHigh) {
      return this.transmit(out, ws, bytes);
    }
    const queued = out.queue.length - out.queueHead;
    if (queued >= this.limits.queueFramesMax || out.queuedBytes + bytes.length > this.limits.queueBytesMax) {
      if (!out.dropping) {
        out.dropping = true;
        this.options.log('warn', `node-to-node: queue to ${short(to)} is full (${queued} frames, ${out.queuedBytes} bytes): dropping frames`);
      }
      return false;
    }
    out.queue.push(bytes);
    out.queuedBytes += bytes.length;
    return true;
  }

  private transmit(out: Outbound, ws: WebSocket, bytes: Uint8Array): boolean {
    try {
      ws.send(bytes, { binary: true }, (error) => {
        if (!error) this.flush(out, ws);
      });
      return true;
    } catch (error) {
      out.problem = (error as Error).message;
      ws.terminate();
      return false;
    }
  }

  /** Moves queued frames to the socket while it is open and not backed up. */
  private flush(out: Outbound, ws: WebSocket): void {
    while (out.ws === ws && out.open && ws.readyState === WebSocket.OPEN && out.queueHead < out.queue.length && ws.bufferedAmount < this.limits.socketBufferedBytesHigh) {
      const bytes = out.queue[out.queueHead]!;
      out.queue[out.queueHead] = undefined as unknown as Uint8Array;
      out.queueHead++;
      out.queuedBytes -= bytes.length;
      if (!this.transmit(out, ws, bytes)) break;
    }
    if (out.queueHead === out.queue.length) {
      out.queue = [];
      out.queueHead = 0;
    } else if (out.queueHead > 1024 && out.queueHead * 2 > out.queue.length) {
      out.queue = out.queue.slice(out.queueHead);
      out.queueHead = 0;
    }
    if (out.dropping && out.queuedBytes * 2 <= this.limits.queueBytesMax && (out.queue.length - out.queueHead) * 2 <= this.limits.queueFramesMax) {
      out.dropping = false;
      this.options.log('info', `node-to-node: queue to ${short(out.id)} drained; sending again`);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Keepalive, logging, shutdown.

  private sweep(): void {
    const now = Date.now();
    const late = now - this.lastSweepMs > 2 * this.limits.keepAliveIntervalMs;
    this.lastSweepMs = now;
    for (const [ws, liveness] of this.live) {
      // If this process itself stalled, the answers may be waiting unread: give everyone a fresh period.
      if (late) liveness.lastHeardMs = now;
      if (now - liveness.lastHeardMs > this.limits.silenceMaxMs) {
        this.options.log('warn', `node-to-node: ${liveness.describe} silent for ${now - liveness.lastHeardMs} ms; dropping it`);
        this.live.delete(ws);
        ws.terminate();
        continue;
      }
      if (ws.readyState === WebSocket.OPEN) {
        try {
          ws.ping();
        } catch {
          // the close event follows
        }
      }
    }
  }

  /** Logs a message at most once per 30 s for the same key (a peer retrying must not flood the log). */
  private logThrottled(key: string, level: 'info' | 'warn' | 'error', message: string): void {
    const now = Date.now();
    const last = this.logged.get(key);
    if (last !== undefined && now - last < 30_000) return;
    if (this.logged.size >= 1024) this.logged.clear();
    this.logged.set(key, now);
    this.options.log(level, message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    for (const out of this.outbound.values()) {
      if (out.timer) clearTimeout(out.timer);
      out.timer = undefined;
      out.queue = [];
      out.ws?.terminate();
    }
    this.outbound.clear();
    for (const entry of this.inbound) entry.ws.terminate();
    this.inbound.clear();
    this.live.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** The URL to dial for a "host:port" address, or undefined if it is not one. */
function dialUrl(address: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined;
  return `wss://${m[1]}:${m[2]}/`;
}

function refuse(socket: Duplex, status: 401 | 403, reason: string): void {
  const text = status === 401 ? 'Unauthorized' : 'Forbidden';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\n\r\n${reason}\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
