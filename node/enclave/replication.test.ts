// Replication in-process: three enclaves with in-memory hosts wired by a simulated network (frames go
// through the real wire codec). A node joins through the real /node/join endpoint, backups apply what
// the primary replicates, commit needs a majority, the primary's loss elects another that keeps every
// committed write, writes on a backup are forwarded, and a partitioned node catches up when it returns.

import { describe, expect, it } from 'vitest';
import type { HostPort, RequestMessage } from '../boundary.ts';
import { createIdentity, certificateDer } from '../crypto/certs.ts';
import { produceVirtualNodeEvidence } from '../attestation/node-evidence.ts';
import { Enclave } from './enclave.ts';
import { Frontend, type EndpointContext, type NativeApp } from './frontend.ts';
import { createJoinerIdentity, joinApp, peersFromJoinResponse, secretsFromJoinResponse, snapshotFromJoinResponse, type JoinResponseBody } from './join.ts';
import { loggingApp } from '../apps/logging.ts';
import { completeSnapshotFile, verifySnapshotFile } from '../snapshot/index.ts';
import { Tables, UNIT_KEY, jsonBytes, parseJsonBytes, type ServiceInfo } from './tables.ts';

interface SimNode {
  name: string;
  host: HostPort & { entries: Uint8Array[]; enclave?: Enclave; down: boolean; snapshots: Map<number, Uint8Array>; committedSnapshots: Uint8Array[]; ledgerReads: number; corruptReads: boolean };
  enclave: Enclave;
  frontend: Frontend;
  cert: { certPem: string; privateKeyPem: string };
}

class Net {
  nodes = new Map<string, SimNode>();
  now = 1_000;
  cut = new Set<string>();
  /** Frames to these nodes are taken by the transport and lost (a peer killed a moment ago). */
  blackhole = new Set<string>();

  deliver(from: string, to: string, frame: Uint8Array): boolean {
    const target = this.nodes.get(to);
    if (this.blackhole.has(to)) return true;
    if (!target || target.host.down || this.cut.has(from) || this.cut.has(to)) return false;
    setImmediate(() => {
      if (!target.host.down && !this.cut.has(from) && !this.cut.has(to)) target.enclave.onPeerFrame(from, frame);
    });
    return true;
  }

  async run(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 10) {
      this.now += 10;
      for (const node of this.nodes.values()) if (!node.host.down) node.enclave.tick(this.now);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
  }

  async until(what: string, predicate: () => boolean, ms = 10_000): Promise<void> {
    for (let t = 0; t < ms; t += 50) {
      if (predicate()) return;
      await this.run(50);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  primary(): SimNode | undefined {
    return [...this.nodes.values()].find((n) => !n.host.down && n.enclave.consensus.isPrimary());
  }
}

function memoryHost(net: Net, self: () => string): SimNode['host'] {
  const host: SimNode['host'] = {
    entries: [],
    ledgerReads: 0,
    corruptReads: false,
    down: false,
    snapshots: new Map(),
    committedSnapshots: [],
    async snapshotWritePending(seqno, entry) {
      host.snapshots.set(seqno, entry);
    },
    snapshotCommit(seqno, evidenceSeqno, receipt) {
      host.committedSnapshots.push(completeSnapshotFile(host.snapshots.get(seqno)!, receipt));
    },
    async snapshotLatest() {
      return host.committedSnapshots.at(-1);
    },
    ledgerAppend(seqno, bytes) {
      host.entries.length = seqno - 1;
      host.entries.push(bytes);
    },
    ledgerFlush() {
      setImmediate(() => host.enclave?.onLedgerDurable(host.entries.length));
    },
    async ledgerTruncate(seqno) {
      host.entries.length = Math.min(host.entries.length, seqno);
    },
    ledgerCommit() {},
    async ledgerRead(seqno) {
      host.ledgerReads++;
      const bytes = host.entries[seqno - 1];
      return bytes && (host.corruptReads ? flipLastByte(bytes) : bytes.slice());
    },
    async sealedWrite() {},
    async consensusStateWrite() {},
    peerSend: (to, frame) => net.deliver(self(), to, frame),
    peersChanged() {},
    fatal(message) {
      throw new Error(`fatal: ${message}`);
    },
    log() {},
  };
  return host;
}

const sealingKey = new Uint8Array(32).fill(7);

function flipLastByte(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[copy.length - 1]! ^= 1; // the last byte: inside the GCM tag or the public domain, either way a different entry
  return copy;
}

/** The logging app's key: the id as a u64 little-endian. */
function idKey(id: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(id), true);
  return key;
}
const addresses = (i: number) => ({
  bindAddress: `127.0.0.1:${9000 + i}`, publishedAddress: `127.0.0.1:${9000 + i}`, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'],
  nodeToNode: { bindAddress: `127.0.0.1:${9100 + i}`, publishedAddress: `127.0.0.1:${9100 + i}` },
});
// inMemoryCommittedEntries: 5, so that catching a backup up reads entries back from the ledger (ledgerRead).
const options = { signatureTxCount: 100, signatureDelayMs: 20, consensusTickMs: 10, raftLimits: { electionTimeoutTicks: 10 }, snapshotTxInterval: 15, inMemoryCommittedEntries: 5 };

/** Endpoints with each forwarding policy: they write one key and answer the id of the node that ran them. */
function forwardingApp(enclave: Enclave): NativeApp {
  const endpoint = (path: string, forwarding: 'always' | 'sometimes' | 'never') => ({
    method: 'POST', path, authn: ['user_cert'], mode: 'readwrite' as const, forwarding,
    handler: (ctx: EndpointContext) => {
      ctx.tx.map('public:ran').set(new TextEncoder().encode(path), new TextEncoder().encode(enclave.nodeId));
      return { body: { ranOn: enclave.nodeId } };
    },
  });
  return { name: 'forwarding', endpoints: [endpoint('/app/always', 'always'), endpoint('/app/sometimes', 'sometimes'), endpoint('/app/never', 'never')] };
}

function apps(enclave: Enclave): NativeApp[] {
  return [loggingApp, joinApp(enclave), forwardingApp(enclave)];
}

async function call(node: SimNode, method: string, path: string, body: unknown, certPem?: string): Promise<{ status: number; json: unknown; headers: Record<string, string> }> {
  const request: RequestMessage = {
    method, path, query: '', headers: { 'content-type': 'application/json' },
    body: new TextEncoder().encode(body === undefined ? '' : JSON.stringify(body)),
    ...(certPem ? { clientCertDer: certificateDer(certPem) } : {}),
  };
  const response = await node.frontend.handle(request);
  const text = typeof response.body === 'string' ? response.body : new TextDecoder().decode(response.body);
  return { status: response.status, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** A new node joins through the primary's /node/join and starts with the secrets (and snapshot) it got. */
async function joinNode(net: Net, i: number): Promise<SimNode> {
  const identity = await createJoinerIdentity();
  const evidence = produceVirtualNodeEvidence(identity.nodeKey.publicKeyDer);
  const a = addresses(i);
  const ask = () => call(net.primary()!, 'POST', '/node/join', {
    node_info_network: {
      rpc_interfaces: { primary_rpc_interface: { bind_address: a.bindAddress, published_address: a.publishedAddress } },
      node_to_node_interface: { bind_address: a.nodeToNode.bindAddress, published_address: a.nodeToNode.publishedAddress },
    },
    quote_info: evidence.quoteInfo,
  }, identity.certPem);
  let answer = await ask();
  expect(answer.status).toBe(200);
  if ((answer.json as JoinResponseBody).node_status === 'Pending') {
    // The service is Open: members trust the node (transition_node_to_trusted writes this).
    const id = (answer.json as JoinResponseBody).node_id;
    const trusted = net.primary()!.enclave.execute((tx) => {
      const key = new TextEncoder().encode(id);
      tx.map(Tables.nodesInfo).set(key, jsonBytes({ ...parseJsonBytes<Record<string, unknown>>(tx.map(Tables.nodesInfo).get(key)!), status: 'Trusted' }));
    });
    await net.until('the trust to commit', () => net.primary()!.enclave.consensus.commitSeqno >= trusted.seqno!);
    answer = await ask();
  }
  const joined = answer.json as JoinResponseBody;
  expect(joined.node_status).toBe('Trusted');
  let name = '';
  const host = memoryHost(net, () => name);
  const enclave = await Enclave.start({
    host, options, sealingKey, ledger: { entries: [] }, addresses: a, joined: secretsFromJoinResponse(joined, identity.nodeKey), joinPeers: peersFromJoinResponse(joined),
    ...(snapshotFromJoinResponse(joined) ? { snapshot: snapshotFromJoinResponse(joined)! } : {}),
  });
  host.enclave = enclave;
  name = enclave.nodeId;
  const node: SimNode = { name, host, enclave, frontend: new Frontend(enclave, apps(enclave), host), cert: { certPem: enclave.nodeCertPem, privateKeyPem: '' } };
  enclave.setForwardHandler((r) => node.frontend.handle(r));
  net.nodes.set(name, node);
  return node;
}
async function network(size: number): Promise<{ net: Net; user: { certPem: string } }> {
  const net = new Net();
  const member = await createIdentity('member0', 'P-256');
  const user = await createIdentity('user0', 'P-256');
  let name0 = '';
  const host0 = memoryHost(net, () => name0);
  const e0 = await Enclave.start({
    host: host0, options, sealingKey, ledger: { entries: [] }, addresses: addresses(0),
    genesis: { members: [{ certPem: member.certPem }], users: [{ certPem: user.certPem }], open: false },
  });
  host0.enclave = e0;
  name0 = e0.nodeId;
  const n0: SimNode = { name: e0.nodeId, host: host0, enclave: e0, frontend: new Frontend(e0, apps(e0), host0), cert: { certPem: e0.nodeCertPem, privateKeyPem: '' } };
  e0.setForwardHandler((r) => n0.frontend.handle(r));
  net.nodes.set(n0.name, n0);
  await net.until('genesis primary commits', () => e0.consensus.isPrimary() && e0.consensus.commitSeqno >= 3);
  for (let i = 1; i < size; i++) {
    const node = await joinNode(net, i);
    await net.until(`node ${i} catches up`, () => node.enclave.lastSeqno >= e0.lastSeqno - 1 && node.enclave.consensus.commitSeqno > 0);
  }
  // Open the service directly on the primary (governance does this by vote; not under test here).
  const primary = net.primary()!;
  const opened = primary.enclave.execute((tx) => {
    const info = parseJsonBytes<ServiceInfo>(tx.map(Tables.serviceInfo).get(UNIT_KEY)!);
    tx.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({ ...info, status: 'Open' }));
  });
  await net.until('the service is open everywhere', () => [...net.nodes.values()].every((n) => n.enclave.consensus.commitSeqno >= opened.seqno!));
  return { net, user };
}

describe('replication between enclaves', () => {
  it('joins nodes, replicates writes, commits by majority, fails over and keeps every committed write', async () => {
    const { net, user } = await network(3);
    const nodes = [...net.nodes.values()];
    for (const node of nodes) expect(node.enclave.consensus.configurations().at(-1)!.voters).toHaveLength(3);
    const primary = net.primary()!;
    const written: Array<{ id: number; txid: string }> = [];
    for (let id = 1; id <= 20; id++) {
      const r = await call(primary, 'POST', '/app/log/private', { id, msg: `m${id}` }, user.certPem);
      expect(r.status).toBe(200);
      written.push({ id, txid: r.headers['x-ms-ccf-transaction-id']! });
    }
    const last = Number(written.at(-1)!.txid.split('.')[1]);
    await net.until('commit on all nodes', () => nodes.every((n) => n.enclave.consensus.commitSeqno >= last));
    // Every backup holds the private records (decrypted with the ledger secret it received at join).
    for (const node of nodes) {
      const r = await call(node, 'GET', '/app/log/private', undefined, user.certPem).catch(() => undefined);
      expect(r === undefined || r.status !== 500).toBe(true);
      expect(node.enclave.store.get('records', new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]))).toBeDefined();
    }

    // The primary took snapshots on the way (every 15 transactions here): committed, with a receipt
    // for their evidence that verifies against the service certificate.
    expect(primary.host.committedSnapshots.length).toBeGreaterThan(0);
    for (const file of primary.host.committedSnapshots) {
      expect(verifySnapshotFile(file, primary.enclave.serviceCertPem).seqno).toBeGreaterThan(0);
    }

    // A write sent to a backup is forwarded to the primary.
    const backup = nodes.find((n) => n !== primary)!;
    const forwarded = await call(backup, 'POST', '/app/log/private', { id: 99, msg: 'via backup' }, user.certPem);
    expect(forwarded.status).toBe(200);
    expect(forwarded.headers['x-ms-ccf-transaction-id']).toMatch(/^\d+\.\d+$/);

    // Forwarding policies on a backup: always and sometimes (it writes) run on the primary; never refuses.
    for (const path of ['/app/always', '/app/sometimes']) {
      const r = await call(backup, 'POST', path, {}, user.certPem);
      expect(r.status, path).toBe(200);
      expect((r.json as { ranOn: string }).ranOn).toBe(primary.name);
    }
    const never = await call(backup, 'POST', '/app/never', {}, user.certPem);
    expect(never.status).toBe(409);
    expect((never.json as { error: { code: string } }).error.code).toBe('NotPrimary');

    // The primary is lost: another is elected, signs in a new view, and every committed write is there.
    primary.host.down = true;
    await net.until('a new primary', () => net.primary() !== undefined && net.primary() !== primary);
    const next = net.primary()!;
    expect(next.enclave.consensus.view).toBeGreaterThan(primary.enclave.consensus.view);
    const after = await call(next, 'POST', '/app/log/private', { id: 100, msg: 'after failover' }, user.certPem);
    expect(after.status).toBe(200);
    const seq = Number(after.headers['x-ms-ccf-transaction-id']!.split('.')[1]);
    await net.until('commit after failover', () => next.enclave.consensus.commitSeqno >= seq);
    for (const { txid } of written) {
      const [view, seqno] = txid.split('.').map(Number) as [number, number];
      expect(next.enclave.txStatus(view, seqno)).toBe('Committed');
      expect(next.enclave.receipt(view, seqno).leaf_components).toBeDefined();
    }

    // The old primary returns and catches up with the new view's history.
    primary.host.down = false;
    await net.until('old primary catches up', () => primary.enclave.consensus.commitSeqno >= seq && !primary.enclave.consensus.isPrimary());
    expect(primary.enclave.txStatus(Number(after.headers['x-ms-ccf-transaction-id']!.split('.')[0]), seq)).toBe('Committed');
  }, 60_000);

  it('a request forwarded to a primary that dies fails once another primary is known, not at the forwarding timeout', async () => {
    const { net, user } = await network(3);
    const primary = net.primary()!;
    const backup = [...net.nodes.values()].find((n) => n !== primary)!;
    net.blackhole.add(primary.name);
    const forwarded = call(backup, 'POST', '/app/log/private', { id: 50, msg: 'to a dead primary' }, user.certPem);
    primary.host.down = true;
    await net.until('a new primary', () => net.primary() !== undefined && net.primary() !== primary);
    // The forwarding timeout is 10 s of real time; the election above took a fraction of a second.
    const outcome = await Promise.race([forwarded, new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 3_000))]);
    expect(outcome).not.toBe('still waiting');
    const r = outcome as Awaited<typeof forwarded>;
    expect(r.status).toBe(503);
    expect((r.json as { error: { code: string; message: string } }).error.code).toBe('ForwardingFailed');
    // A retry through the same backup reaches the new primary.
    const retried = await call(backup, 'POST', '/app/log/private', { id: 50, msg: 'retried' }, user.certPem);
    expect(retried.status).toBe(200);
  }, 60_000);

  it('a backup further behind than the entries kept in memory is caught up from entries read back (and checked) from the ledger', async () => {
    const { net, user } = await network(3);
    const primary = net.primary()!;
    const behind = [...net.nodes.values()].find((n) => n !== primary)!;
    net.cut.add(behind.name);
    let last = 0;
    for (let id = 200; id < 230; id++) {
      const r = await call(primary, 'POST', '/app/log/private', { id, msg: `while away ${id}` }, user.certPem);
      expect(r.status).toBe(200);
      last = Number(r.headers['x-ms-ccf-transaction-id']!.split('.')[1]);
    }
    await net.until('the majority commits', () => primary.enclave.consensus.commitSeqno >= last);
    // A primary whose disk gives back other bytes sends nothing from it.
    primary.host.corruptReads = true;
    const readsBefore = primary.host.ledgerReads;
    net.cut.delete(behind.name);
    await net.run(300);
    expect(primary.host.ledgerReads).toBeGreaterThan(readsBefore);
    expect(behind.enclave.consensus.commitSeqno).toBeLessThan(last);
    // With its disk sound again, the backup catches up through entries read back from it.
    primary.host.corruptReads = false;
    await net.until('the backup catches up', () => behind.enclave.consensus.commitSeqno >= last);
    expect(new TextDecoder().decode(behind.enclave.store.get('records', idKey(229))!)).toContain('while away 229');
  }, 60_000);

  it('a minority partition cannot commit; its uncommitted writes are rolled back when it rejoins', async () => {
    const { net, user } = await network(3);
    const primary = net.primary()!;
    net.cut.add(primary.name);
    const lost = await call(primary, 'POST', '/app/log/private', { id: 7, msg: 'in the minority' }, user.certPem);
    expect(lost.status).toBe(200);
    const [lostView, lostSeqno] = lost.headers['x-ms-ccf-transaction-id']!.split('.').map(Number) as [number, number];
    await net.until('majority elects a primary', () => [...net.nodes.values()].some((n) => n !== primary && n.enclave.consensus.isPrimary()));
    expect(primary.enclave.consensus.commitSeqno).toBeLessThan(lostSeqno);
    const next = [...net.nodes.values()].find((n) => n !== primary && n.enclave.consensus.isPrimary())!;
    const kept = await call(next, 'POST', '/app/log/private', { id: 8, msg: 'in the majority' }, user.certPem);
    expect(kept.status).toBe(200);
    net.cut.delete(primary.name);
    await net.until('rejoin', () => primary.enclave.consensus.commitSeqno >= next.enclave.consensus.commitSeqno && primary.enclave.consensus.view === next.enclave.consensus.view && primary.enclave.consensus.commitSeqno > lostSeqno);
    expect(primary.enclave.txStatus(lostView, lostSeqno)).toBe('Invalid');
    expect(primary.enclave.store.get('records', new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(primary.enclave.store.get('records', new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0]))).toBeDefined();
  }, 60_000);

  it('retiring the primary in one transaction hands over to a caught-up node, which keeps committing', async () => {
    const { net, user } = await network(3);
    const primary = net.primary()!;
    const retired = primary.enclave.execute((tx) => {
      const key = new TextEncoder().encode(primary.name);
      const info = parseJsonBytes<Record<string, unknown>>(tx.map(Tables.nodesInfo).get(key)!);
      tx.map(Tables.nodesInfo).set(key, jsonBytes({ ...info, status: 'Retired' }));
    });
    expect(retired.seqno).toBeDefined();
    await net.until('another primary', () => net.primary() !== undefined && net.primary() !== primary, 10_000);
    const next = net.primary()!;
    expect(next.enclave.consensus.configurations().at(-1)!.voters).not.toContain(primary.name);
    expect(next.enclave.txStatus(Number(retired.txid!.split('.')[0]), retired.seqno!)).toBe('Committed');
    const write = await call(next, 'POST', '/app/log/private', { id: 11, msg: 'after hand-over' }, user.certPem);
    expect(write.status).toBe(200);
    const seq = Number(write.headers['x-ms-ccf-transaction-id']!.split('.')[1]);
    await net.until('commit by the two remaining nodes', () => next.enclave.consensus.commitSeqno >= seq);
    expect(primary.enclave.consensus.isPrimary()).toBe(false);
  }, 60_000);

  it('a node joining later starts from the newest committed snapshot and catches up from there', async () => {
    const { net, user } = await network(3);
    const primary = net.primary()!;
    let lastWrite = 0;
    for (let id = 200; id < 240; id++) {
      const r = await call(primary, 'POST', '/app/log/private', { id, msg: `before ${id}` }, user.certPem);
      expect(r.status).toBe(200);
      lastWrite = Number(r.headers['x-ms-ccf-transaction-id']!.split('.')[1]);
    }
    const snapshotSeqno = (file: Uint8Array): number => verifySnapshotFile(file, primary.enclave.serviceCertPem).seqno;
    await net.until('a committed snapshot after the writes', () => primary.host.committedSnapshots.some((f) => snapshotSeqno(f) > lastWrite));
    const snapshotAt = snapshotSeqno(primary.host.committedSnapshots.at(-1)!);
    const joiner = await joinNode(net, 3);
    // Its ledger starts after the snapshot; its state before it came from the snapshot.
    expect(joiner.host.entries.slice(0, snapshotAt).every((e) => e === undefined)).toBe(true);
    await net.until('the joiner catches up', () => joiner.enclave.consensus.commitSeqno >= primary.enclave.consensus.commitSeqno);
    expect(joiner.enclave.store.get('records', idKey(205))).toBeDefined();
    const after = await call(primary, 'POST', '/app/log/private', { id: 300, msg: 'after the join' }, user.certPem);
    const seq = Number(after.headers['x-ms-ccf-transaction-id']!.split('.')[1]);
    await net.until('the joiner commits new writes', () => joiner.enclave.consensus.commitSeqno >= seq);
    expect(joiner.enclave.consensus.configurations().at(-1)!.voters).toContain(joiner.name);
    // Receipts for transactions after the snapshot come from the joiner; earlier ones are refused clearly.
    const [view] = after.headers['x-ms-ccf-transaction-id']!.split('.').map(Number) as [number];
    expect(joiner.enclave.receipt(view, seq).leaf_components).toBeDefined();
    expect(() => joiner.enclave.receipt(view, 3)).toThrow(/started from a snapshot/);
  }, 60_000);
});
