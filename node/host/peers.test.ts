// PeerTransport over real TLS sockets on 127.0.0.1: certificates from a test service, endorsed node
// certificates, frames in both directions, and every refusal path (other service, untrusted node,
// wrong node id at an address, trust withdrawn), reconnection after a restart, and the send queue bound.

import { createServer } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createEndorsedCertificate, createSelfSignedCertificate, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { generateKeyPair, type KeyPair } from '../crypto/keys.ts';
import { PeerTransport, nodeIdOfCertificateDer, type PeerTransportLimits } from './peers.ts';

interface Service {
  key: KeyPair;
  certPem: string;
}

interface NodeIdentity {
  id: string;
  identity: { nodeCertPem: string; nodeKeyPem: string; serviceCertPem: string };
}

async function makeService(): Promise<Service> {
  const key = generateKeyPair('P-256');
  const certPem = await createSelfSignedCertificate(key, { commonName: 'Test Service', validityDays: 30 });
  return { key, certPem };
}

async function makeNode(service: Service): Promise<NodeIdentity> {
  const key = generateKeyPair('P-256');
  const nodeCertPem = await createEndorsedCertificate(key.publicKeyPem, { keyPair: service.key, certPem: service.certPem }, {
    commonName: 'Test Node',
    ipAddresses: ['127.0.0.1'],
    validityDays: 30,
  });
  return { id: nodeIdFromPublicKeyDer(key.publicKeyDer), identity: { nodeCertPem, nodeKeyPem: key.privateKeyPem, serviceCertPem: service.certPem } };
}

interface Running {
  node: NodeIdentity;
  transport: PeerTransport;
  address: string;
  received: { from: string; bytes: Uint8Array }[];
  logs: string[];
  /** Node ids this node's authorize() accepts. */
  trusted: Set<string>;
}

const running: Running[] = [];

async function start(node: NodeIdentity, trusted: Iterable<string>, opts: { port?: number; limits?: Partial<PeerTransportLimits> } = {}): Promise<Running> {
  const received: Running['received'] = [];
  const logs: string[] = [];
  const trust = new Set(trusted);
  const transport = await PeerTransport.start({
    nodeId: node.id,
    identity: node.identity,
    host: '127.0.0.1',
    port: opts.port ?? 0,
    authorize: (der) => {
      const id = nodeIdOfCertificateDer(der);
      return trust.has(id) ? id : undefined;
    },
    onFrame: (from, bytes) => received.push({ from, bytes }),
    log: (level, message) => logs.push(`${level}: ${message}`),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  const r: Running = { node, transport, address: `127.0.0.1:${transport.port}`, received, logs, trusted: trust };
  running.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
  await r.transport.close();
  const k = running.indexOf(r);
  if (k >= 0) running.splice(k, 1);
}

afterEach(async () => {
  for (const r of running.splice(0)) await r.transport.close();
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function frame(seq: number, size = 16): Uint8Array {
  const bytes = new Uint8Array(Math.max(size, 4));
  new DataView(bytes.buffer).setUint32(0, seq);
  for (let i = 4; i < bytes.length; i++) bytes[i] = (seq + i) & 0xff;
  return bytes;
}

function seqOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}

// One service and three of its nodes, shared by the tests (key generation and signing take a moment).
let service: Service;
let n1: NodeIdentity;
let n2: NodeIdentity;
let n3: NodeIdentity;
const ready = (async () => {
  service = await makeService();
  [n1, n2, n3] = await Promise.all([makeNode(service), makeNode(service), makeNode(service)]);
})();

describe('PeerTransport', () => {
  it('carries frames both ways, in order, including a frame of a few MiB', async () => {
    await ready;
    const a = await start(n1, [n2.id]);
    const b = await start(n2, [n1.id]);
    a.transport.setPeers(new Map([[n2.id, b.address]]));
    b.transport.setPeers(new Map([[n1.id, a.address]]));
    const big = frame(100, 5 * 1024 * 1024 + 3);
    for (let seq = 0; seq < 200; seq++) {
      expect(a.transport.send(n2.id, seq === 100 ? big : frame(seq, 1 + (seq % 50) * 37))).toBe(true);
      expect(b.transport.send(n1.id, frame(seq))).toBe(true);
    }
    await waitFor(() => a.received.length === 200 && b.received.length === 200, '200 frames each way');
    expect(b.received.map((f) => seqOf(f.bytes))).toEqual([...Array(200).keys()]);
    expect(a.received.map((f) => seqOf(f.bytes))).toEqual([...Array(200).keys()]);
    expect(new Set(b.received.map((f) => f.from))).toEqual(new Set([n1.id]));
    expect(new Set(a.received.map((f) => f.from))).toEqual(new Set([n2.id]));
    expect(Buffer.from(b.received[100]!.bytes).equals(Buffer.from(big))).toBe(true);
    expect(Buffer.from(b.received[7]!.bytes).equals(Buffer.from(frame(7, 1 + 7 * 37)))).toBe(true);
    // Connects are logged once, not per frame.
    expect(a.logs.filter((l) => l.includes('connected to')).length).toBe(1);
  });

  it('refuses, in both directions, a node whose certificate comes from another service', async () => {
    await ready;
    const other = await makeService();
    const stranger = await makeNode(other);
    // Both sides would authorize each other's id: TLS alone must refuse.
    const a = await start(n1, [stranger.id]);
    const s = await start(stranger, [n1.id]);
    a.transport.setPeers(new Map([[stranger.id, s.address]]));
    s.transport.setPeers(new Map([[n1.id, a.address]]));
    for (let seq = 0; seq < 5; seq++) {
      a.transport.send(stranger.id, frame(seq));
      s.transport.send(n1.id, frame(seq));
    }
    await waitFor(() => a.logs.some((l) => l.includes('cannot connect')) && s.logs.some((l) => l.includes('cannot connect')), 'both dials to fail');
    await sleep(300);
    expect(a.received).toEqual([]);
    expect(s.received).toEqual([]);
    expect(a.logs.some((l) => l.includes('connected to'))).toBe(false);
    expect(s.logs.some((l) => l.includes('connected to'))).toBe(false);
  });

  it('delivers nothing from a node of the same service that authorize() refuses', async () => {
    await ready;
    const a = await start(n1, [n3.id]); // trusts n3 only
    const b = await start(n2, [n1.id]);
    b.transport.setPeers(new Map([[n1.id, a.address]]));
    for (let seq = 0; seq < 5; seq++) b.transport.send(n1.id, frame(seq));
    await waitFor(() => b.logs.some((l) => l.includes('cannot connect') && l.includes('403')), 'the dial to be refused with 403');
    await waitFor(() => a.logs.some((l) => l.includes('refused a connection')), 'the refusal to be logged');
    await sleep(300);
    expect(a.received).toEqual([]);
    // Retries do not flood the log: one refusal line, one failure line.
    expect(a.logs.filter((l) => l.includes('refused a connection')).length).toBe(1);
    expect(b.logs.filter((l) => l.includes('cannot connect')).length).toBe(1);
  });

  it('refuses to talk to a listed address whose certificate has another node id', async () => {
    await ready;
    const a = await start(n1, [n2.id, n3.id]);
    const b = await start(n2, [n1.id, n3.id]);
    // a believes n3 listens where n2 does.
    a.transport.setPeers(new Map([[n3.id, b.address]]));
    for (let seq = 0; seq < 5; seq++) expect(a.transport.send(n3.id, frame(seq))).toBe(true);
    await waitFor(() => a.logs.some((l) => l.includes('cannot connect') && l.includes(`not ${n3.id.slice(0, 12)}`)), 'the identity check to fail');
    await sleep(300);
    expect(b.received).toEqual([]);
  });

  it('reauthorize() cuts a peer that is no longer trusted', async () => {
    await ready;
    const a = await start(n1, [n2.id]);
    const b = await start(n2, [n1.id]);
    b.transport.setPeers(new Map([[n1.id, a.address]]));
    b.transport.send(n1.id, frame(1));
    await waitFor(() => a.received.length === 1, 'the first frame');
    a.trusted.delete(n2.id);
    a.transport.reauthorize();
    await waitFor(() => b.logs.some((l) => l.includes('disconnected from')), 'b to see the cut');
    for (let seq = 2; seq < 10; seq++) b.transport.send(n1.id, frame(seq));
    await waitFor(() => b.logs.some((l) => l.includes('403')), 'the redial to be refused');
    await sleep(300);
    expect(a.received.map((f) => seqOf(f.bytes))).toEqual([1]);
  });

  it('reconnects to a peer that restarts on the same port, and later frames arrive', async () => {
    await ready;
    const a = await start(n1, [n2.id]);
    const b = await start(n2, [n1.id]);
    a.transport.setPeers(new Map([[n2.id, b.address]]));
    a.transport.send(n2.id, frame(1));
    await waitFor(() => b.received.length === 1, 'the first frame');
    const port = b.transport.port;
    await stop(b);
    await waitFor(() => a.logs.some((l) => l.includes('disconnected from')), 'a to see the peer go');
    await sleep(200); // a few failed redials
    const b2 = await start(n2, [n1.id], { port });
    await waitFor(() => a.logs.filter((l) => l.includes('connected to')).length === 2, 'the reconnection');
    for (let seq = 2; seq < 6; seq++) expect(a.transport.send(n2.id, frame(seq))).toBe(true);
    await waitFor(() => b2.received.some((f) => seqOf(f.bytes) === 5), 'later frames');
    const seqs = b2.received.map((f) => seqOf(f.bytes));
    expect(seqs.slice(seqs.indexOf(2))).toEqual([2, 3, 4, 5]);
  });

  it('send() refuses unknown peers, oversized frames, and frames beyond the queue bound', async () => {
    await ready;
    const a = await start(n1, [], { limits: { queueFramesMax: 5, queueBytesMax: 1000, frameBytesMax: 2000 } });
    expect(a.transport.send(n2.id, frame(1))).toBe(false);
    // A listed peer nobody listens for: frames wait in the queue, up to its bound.
    const idle = await start(n3, []);
    const deadAddress = idle.address;
    await stop(idle);
    a.transport.setPeers(new Map([[n2.id, deadAddress], [n1.id, '127.0.0.1:1']])); // own id is ignored
    expect(a.transport.send(n1.id, frame(1))).toBe(false);
    const results = [...Array(8).keys()].map((seq) => a.transport.send(n2.id, frame(seq, 100)));
    expect(results).toEqual([true, true, true, true, true, false, false, false]);
    expect(a.transport.send(n2.id, frame(9, 3000))).toBe(false);
    expect(a.logs.filter((l) => l.includes('queue to')).length).toBe(1);

    const b = await start(n3, [], { limits: { queueFramesMax: 100, queueBytesMax: 1000 } });
    b.transport.setPeers(new Map([[n2.id, deadAddress]]));
    expect([0, 1, 2].map((seq) => b.transport.send(n2.id, frame(seq, 400)))).toEqual([true, true, false]);
    // Once unlisted, the peer is unknown again.
    b.transport.setPeers(new Map());
    expect(b.transport.send(n2.id, frame(0))).toBe(false);
  });

  it('drops an outbound connection to a peer that stops answering pings (about 1.5 s; bounded loosely, the machine may be loaded)', async () => {
    await ready;
    // A stand-in for n2 that completes TLS and the upgrade, then never answers a ping (a stopped process).
    const server = createServer({ key: n2.identity.nodeKeyPem, cert: n2.identity.nodeCertPem, ca: service.certPem, requestCert: true, rejectUnauthorized: true });
    const wss = new WebSocketServer({ server, autoPong: false });
    const sockets: WebSocket[] = [];
    wss.on('connection', (ws) => sockets.push(ws));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const a = await start(n1, []);
      a.transport.setPeers(new Map([[n2.id, `127.0.0.1:${(server.address() as { port: number }).port}`]]));
      await waitFor(() => a.logs.some((l) => l.includes('connected to')), 'the connection');
      await waitFor(() => a.logs.some((l) => l.includes(`outbound to ${n2.id.slice(0, 12)} silent`)), 'the silence to be noticed', 10_000);
      await waitFor(() => a.logs.some((l) => l.includes('disconnected from')), 'the disconnection', 5000);
    } finally {
      for (const ws of sockets) ws.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => {
        server.close(r);
        server.closeAllConnections();
      });
    }
  });

  it('drops an inbound connection from a peer that stops answering pings, and one that sends an oversized frame', async () => {
    await ready;
    const a = await start(n1, [n2.id], { limits: { frameBytesMax: 1000 } });
    const dial = () =>
      new WebSocket(`wss://${a.address}/`, {
        cert: n2.identity.nodeCertPem, key: n2.identity.nodeKeyPem, ca: service.certPem, autoPong: false,
        // tls wants undefined for "accept"; @types/ws declares a boolean.
        checkServerIdentity: (() => undefined) as unknown as () => boolean,
      });
    const silent = dial();
    silent.on('error', () => undefined);
    const silentClosed = new Promise<number>((r) => silent.on('close', () => r(Date.now())));
    await new Promise((r) => silent.once('open', r));
    const t0 = Date.now();
    expect((await silentClosed) - t0).toBeLessThan(2500);
    expect(a.logs.some((l) => l.includes(`inbound from ${n2.id.slice(0, 12)} silent`))).toBe(true);

    const loud = dial();
    loud.on('error', () => undefined);
    const code = new Promise<number>((r) => loud.on('close', (c) => r(c)));
    await new Promise((r) => loud.once('open', r));
    loud.send(new Uint8Array(999));
    loud.send(new Uint8Array(1001));
    loud.send(new Uint8Array(10));
    expect(await code).toBe(1009);
    expect(a.received.map((f) => f.bytes.length)).toEqual([999]);
  });

  it('close() leaves no sockets or servers open', async () => {
    await ready;
    const kinds = ['TCPServerWrap', 'TCPSocketWrap', 'TLSWrap', 'TCPWRAP'];
    const count = () => process.getActiveResourcesInfo().filter((k) => kinds.includes(k)).length;
    // Sockets of earlier tests may still be winding down: take the baseline once the count settles.
    let before = count();
    for (let stable = 0; stable < 10; ) {
      await sleep(20);
      const now = count();
      stable = now === before ? stable + 1 : 0;
      before = now;
    }
    const a = await start(n1, [n2.id]);
    const b = await start(n2, [n1.id]);
    a.transport.setPeers(new Map([[n2.id, b.address]]));
    b.transport.setPeers(new Map([[n1.id, a.address]]));
    a.transport.send(n2.id, frame(1));
    b.transport.send(n1.id, frame(1));
    await waitFor(() => a.received.length === 1 && b.received.length === 1, 'a frame each way');
    expect(count()).toBeGreaterThan(before);
    const t0 = Date.now();
    await stop(a);
    await stop(b);
    expect(Date.now() - t0).toBeLessThan(2000);
    await waitFor(() => count() <= before, 'all handles to close', 3000);
    expect(a.transport.send(n2.id, frame(2))).toBe(false);
  });
});
