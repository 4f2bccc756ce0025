// TEMPORARY minimal transport (lead), to be replaced by the transport engineer's hardened version with
// the same API: wss with mutual TLS (node certificates endorsed by the service certificate).
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { nodeIdFromPublicKeyDer } from '../crypto/certs.ts';

export interface PeerTransportOptions {
  nodeId: string;
  identity: { nodeCertPem: string; nodeKeyPem: string; serviceCertPem: string };
  host: string;
  port: number;
  authorize(peerCertDer: Uint8Array): string | undefined;
  onFrame(from: string, bytes: Uint8Array): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

function idOfCertDer(der: Uint8Array): string {
  const spki = new X509Certificate(Buffer.from(der)).publicKey.export({ format: 'der', type: 'spki' });
  return nodeIdFromPublicKeyDer(new Uint8Array(spki));
}

interface Outbound { address: string; socket?: WebSocket; queue: Uint8Array[]; timer?: NodeJS.Timeout; backoff: number; }

export class PeerTransport {
  private readonly outbound = new Map<string, Outbound>();
  private readonly inbound = new Set<{ ws: WebSocket; der: Uint8Array }>();
  private closed = false;
  private constructor(private readonly options: PeerTransportOptions, private readonly server: Server, private readonly wss: WebSocketServer, readonly port: number) {}

  static async start(options: PeerTransportOptions): Promise<PeerTransport> {
    const server = createServer({ key: options.identity.nodeKeyPem, cert: options.identity.nodeCertPem, ca: options.identity.serviceCertPem, requestCert: true, rejectUnauthorized: true });
    const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024 });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve((server.address() as { port: number }).port));
    });
    const transport = new PeerTransport(options, server, wss, port);
    wss.on('connection', (ws, req) => {
      const der = new Uint8Array((req.socket as TLSSocket).getPeerCertificate().raw ?? []);
      const from = options.authorize(der);
      if (!from) {
        options.log('warn', 'peers: refused a connection from a node that is not trusted');
        ws.close(4003, 'not a trusted node');
        return;
      }
      const entry = { ws, der };
      transport.inbound.add(entry);
      ws.on('message', (data: Buffer) => options.onFrame(from, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      ws.on('close', () => transport.inbound.delete(entry));
      ws.on('error', () => undefined);
    });
    return transport;
  }

  setPeers(peers: ReadonlyMap<string, string>): void {
    for (const [id, out] of this.outbound) {
      if (peers.get(id) !== out.address) {
        out.socket?.terminate();
        if (out.timer) clearTimeout(out.timer);
        this.outbound.delete(id);
      }
    }
    for (const [id, address] of peers) {
      if (id === this.options.nodeId || this.outbound.has(id)) continue;
      const out: Outbound = { address, queue: [], backoff: 25 };
      this.outbound.set(id, out);
      this.dial(id, out);
    }
  }

  private dial(id: string, out: Outbound): void {
    if (this.closed || this.outbound.get(id) !== out) return;
    const ws = new WebSocket(`wss://${out.address}/`, {
      cert: this.options.identity.nodeCertPem, key: this.options.identity.nodeKeyPem, ca: this.options.identity.serviceCertPem,
      checkServerIdentity: ((_host: string, cert: { raw: Buffer }) => (idOfCertDer(new Uint8Array(cert.raw)) === id ? undefined : new Error('peer node id mismatch'))) as never,
      maxPayload: 64 * 1024 * 1024,
    });
    out.socket = ws;
    ws.on('open', () => {
      this.options.log('info', `peers: connected to ${id.slice(0, 12)} at ${out.address}`);
      out.backoff = 25;
      for (const frame of out.queue.splice(0)) ws.send(frame);
    });
    ws.on('message', () => undefined);
    ws.on('error', (e) => {
      if (out.backoff >= 1000) return;
      this.options.log('warn', `peers: ${id.slice(0, 12)} at ${out.address}: ${e.message}`);
    });
    ws.on('close', () => {
      if (out.socket === ws) out.socket = undefined;
      if (this.closed || this.outbound.get(id) !== out) return;
      out.timer = setTimeout(() => this.dial(id, out), out.backoff);
      out.backoff = Math.min(out.backoff * 2, 1000);
    });
  }

  send(to: string, bytes: Uint8Array): boolean {
    const out = this.outbound.get(to);
    if (!out) return false;
    if (out.socket?.readyState === WebSocket.OPEN && out.socket.bufferedAmount < 16 * 1024 * 1024) {
      out.socket.send(bytes);
      return true;
    }
    if (out.queue.length >= 1024) return false;
    out.queue.push(bytes);
    return true;
  }

  reauthorize(): void {
    for (const entry of this.inbound) if (!this.options.authorize(entry.der)) entry.ws.close(4003, 'no longer trusted');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const out of this.outbound.values()) {
      if (out.timer) clearTimeout(out.timer);
      out.socket?.terminate();
    }
    for (const entry of this.inbound) entry.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
void idOfCertDer;
