// A Synod node process: `node --import tsx node/host/main.ts --config node.json`.
//
// The host part of the node: it reads configuration, the sealed secrets and the ledger files, starts the
// enclave with them, serves HTTPS, drives time, and makes ledger appends durable in batches (group commit).
// It carries node-to-node frames between the enclave and its peers (PeerTransport, mutual TLS with node
// certificates endorsed by the service). A node configured to join first asks a node of the service to
// admit it (POST /node/join) and starts once it is trusted and has the service's secrets.
// On SIGTERM/SIGINT it stops taking requests, flushes the ledger and exits.

import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { join, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { HostPort, LedgerReadMessage, TlsIdentityMessage } from '../boundary.ts';
import { Enclave, type EnclaveInit } from '../enclave/enclave.ts';
import { Frontend } from '../enclave/frontend.ts';
import type { GenesisConfig, NodeAddresses } from '../enclave/genesis.ts';
import { LedgerFiles } from './ledger/files.ts';
import { loadConfig, readGenesisJwtIssuers, type NodeConfig } from './config.ts';
import { startServer } from './server.ts';
import { loggingApp } from '../apps/logging.ts';
import { JsAppManager } from '../enclave/jsapp.ts';
import { readBundleDir } from '../../app-sdk/src/bundle.ts';
import { governanceApp } from '../../governance/app.ts';
// Registers the /gov/recovery endpoints with the governance app (before governanceApp() builds its list).
import '../../governance/recovery/index.ts';
import { watchRecoveryShareRefresh } from '../enclave/recovery.ts';
import { quotesApp } from '../enclave/quotes.ts';
import { createJoinerIdentity, joinApp, peersFromJoinResponse, secretsFromJoinResponse, snapshotFromJoinResponse, type JoinRequestBody, type JoinResponseBody } from '../enclave/join.ts';
import type { EnclaveSecrets } from '../enclave/sealing.ts';
import { produceNodeEvidence } from '../attestation/node-evidence.ts';
import { PeerTransport } from './peers.ts';
import { SnapshotFiles } from './snapshots.ts';
import { snapshotFileName, verifySnapshotFile } from '../snapshot/index.ts';
import { decodeEntry } from '../ledger/index.ts';

const SEALED_FILE = 'sealed_secrets.bin';
const VIRTUAL_SEALING_KEY_FILE = 'virtual_sealing.key';
const CONSENSUS_STATE_FILE = 'consensus_state.json';
const NODE_TO_NODE_PORT_FILE = 'node_to_node_port';
/** The service's nodes as the join answer listed them: a joiner that restarts before its first entry needs them. */
const JOIN_PEERS_FILE = 'join_peers.json';

function log(level: 'info' | 'warn' | 'error', message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${message}\n`);
}

/** Writes a file atomically and durably: temp file, fsync, rename, fsync the folder. */
function writeDurable(path: string, data: Uint8Array | string): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, data, { mode: 0o600 });
  const fd = openSync(temp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
  const dir = openSync(dirname(path), 'r');
  fsyncSync(dir);
  closeSync(dir);
}

/**
 * The `virtual` platform's sealing key: random, kept in the data folder. Insecure by design (anyone with
 * the folder can unseal); SEV-SNP derives it in hardware instead.
 */
function virtualSealingKey(dataDir: string): Uint8Array {
  const path = join(dataDir, VIRTUAL_SEALING_KEY_FILE);
  if (!existsSync(path)) writeDurable(path, randomBytes(32));
  const key = readFileSync(path);
  if (key.length !== 32) throw new Error(`${path} is not a 32-byte key`);
  return new Uint8Array(key);
}

/** Picks a free port for node-to-node traffic once and keeps it, so peers find a restarted node. */
async function nodeToNodePort(config: NodeConfig): Promise<number> {
  if (config.nodeToNodeAddress.port !== 0) return config.nodeToNodeAddress.port;
  const file = join(config.dataDir, NODE_TO_NODE_PORT_FILE);
  if (existsSync(file)) {
    const port = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(port) && port > 0 && port <= 65535) return port;
  }
  const port = await freePort(config.nodeToNodeAddress.host);
  writeDurable(file, String(port));
  return port;
}

function freePort(host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function addresses(config: NodeConfig, n2nPort: number): NodeAddresses {
  const published = config.publishedAddress ?? `${config.rpcAddress.host}:${config.rpcAddress.port}`;
  const host = config.rpcAddress.host;
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  return {
    bindAddress: `${config.rpcAddress.host}:${config.rpcAddress.port}`,
    publishedAddress: published,
    ipAddresses: [...new Set(['127.0.0.1', ...(isIp ? [host] : [])])],
    dnsNames: [...new Set(['localhost', ...(isIp ? [] : [host])])],
    nodeToNode: {
      bindAddress: `${config.nodeToNodeAddress.host}:${n2nPort}`,
      publishedAddress: config.nodeToNodePublishedAddress ?? `${config.nodeToNodeAddress.host}:${n2nPort}`,
    },
  };
}

/** POST /node/join until the service trusts this node (or refuses it for good). */
async function joinService(config: NodeConfig, nodeAddresses: NodeAddresses, rpcPublished: string): Promise<{ secrets: EnclaveSecrets; peers: Map<string, string>; snapshot?: Uint8Array }> {
  const join = config.join!;
  const serviceCertPem = readFileSync(join.serviceCertFile, 'utf8');
  const identity = await createJoinerIdentity();
  const evidence = await produceNodeEvidence({
    platform: config.platform,
    nodePublicKeyDer: identity.nodeKey.publicKeyDer,
    ...(config.virtualHostData ? { virtualHostData: config.virtualHostData } : {}),
  });
  if (!evidence.secure) log('warn', `attestation: platform ${evidence.platform} is INSECURE (development only); measurement ${evidence.measurement}`);
  const body: JoinRequestBody = {
    node_info_network: {
      rpc_interfaces: { primary_rpc_interface: { bind_address: nodeAddresses.bindAddress, published_address: rpcPublished } },
      node_to_node_interface: { bind_address: nodeAddresses.nodeToNode!.bindAddress, published_address: nodeAddresses.nodeToNode!.publishedAddress },
    },
    quote_info: evidence.quoteInfo,
  };
  const payload = JSON.stringify(body);
  const [host, port] = [join.target.slice(0, join.target.lastIndexOf(':')), Number(join.target.slice(join.target.lastIndexOf(':') + 1))];
  let lastState = '';
  for (;;) {
    const answer = await new Promise<{ status: number; text: string } | { error: string }>((resolve) => {
      const req = httpsRequest({
        host, port, method: 'POST', path: '/node/join',
        ca: serviceCertPem, cert: identity.certPem, key: identity.nodeKey.privateKeyPem,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: 10_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ error: e.message }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e) => resolve({ error: e.message }));
      req.end(payload);
    });
    let state: string;
    if ('error' in answer) state = `cannot reach ${join.target}: ${answer.error}`;
    else if (answer.status === 200) {
      const parsed = JSON.parse(answer.text) as JoinResponseBody;
      if (parsed.node_status === 'Trusted') {
        log('info', `joined: node ${parsed.node_id} is trusted`);
        const snapshot = snapshotFromJoinResponse(parsed);
        return { secrets: secretsFromJoinResponse(parsed, identity.nodeKey), peers: peersFromJoinResponse(parsed), ...(snapshot ? { snapshot } : {}) };
      }
      state = `node ${parsed.node_id} is ${parsed.node_status}; waiting for members to trust it (transition_node_to_trusted)`;
    } else if (answer.status >= 400 && answer.status < 500 && answer.status !== 429) {
      throw new Error(`join refused by ${join.target} (HTTP ${answer.status}): ${answer.text}`);
    } else state = `join answered HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
    if (state !== lastState) log('info', `join: ${state}`);
    lastState = state;
    await new Promise((r) => setTimeout(r, join.retryIntervalMs));
  }
}

/** The previous service's ledger for a Recover start (read as it is; the enclave checks it). */
async function readPreviousLedger(recover: NonNullable<NodeConfig['recover']>): Promise<{ ledger: LedgerReadMessage; serviceCertPem?: string }> {
  const files = await LedgerFiles.open(recover.previousLedgerDir);
  try {
    const ledger = await files.readAll();
    return { ledger, ...(recover.previousServiceCertFile ? { serviceCertPem: readFileSync(recover.previousServiceCertFile, 'utf8') } : {}) };
  } finally {
    await files.close();
  }
}

export async function runNode(config: NodeConfig): Promise<{ stop: () => Promise<void>; port: number; enclave: Enclave }> {
  mkdirSync(config.dataDir, { recursive: true });
  const sealingKey = virtualSealingKey(config.dataDir);
  const sealedPath = join(config.dataDir, SEALED_FILE);
  const files = await LedgerFiles.open(config.ledgerDir, { chunkSizeBytes: config.ledgerChunkBytes });
  const ledger = await files.readAll();
  const n2nPort = await nodeToNodePort(config);
  // The RPC address is published in the node's record (and certificate): pick the port now if it is 0.
  if (config.rpcAddress.port === 0) config.rpcAddress = { ...config.rpcAddress, port: await freePort(config.rpcAddress.host) };
  const nodeAddresses = addresses(config, n2nPort);
  const consensusStatePath = join(config.dataDir, CONSENSUS_STATE_FILE);
  const consensusState = existsSync(consensusStatePath) ? new Uint8Array(readFileSync(consensusStatePath)) : undefined;

  const sealed = existsSync(sealedPath) ? new Uint8Array(readFileSync(sealedPath)) : undefined;
  // Read whenever configured: the enclave uses it only if its ledger is empty.
  const genesis: GenesisConfig | undefined = config.genesis ? {
    members: config.genesis.members.map((m) => ({
      certPem: readFileSync(m.certFile, 'utf8'),
      ...(m.encryptionPublicKeyFile ? { encryptionPublicKeyPem: readFileSync(m.encryptionPublicKeyFile, 'utf8') } : {}),
    })),
    users: config.genesis.users.map((u) => ({ certPem: readFileSync(u.certFile, 'utf8') })),
    open: config.genesis.open,
    ...(config.genesis.jsAppDir ? { jsApp: readBundleDir(config.genesis.jsAppDir) } : {}),
    ...(config.genesis.jsRuntimeOptions ? { jsRuntimeOptions: config.genesis.jsRuntimeOptions } : {}),
    ...(config.genesis.jwtIssuers ? { jwtIssuers: readGenesisJwtIssuers(config.genesis.jwtIssuers) } : {}),
  } : undefined;

  let enclave: Enclave | undefined;
  let flushScheduled = false;
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      flushing = files.flush().then(
        () => enclave?.onLedgerDurable(files.durableSeqno),
        (error: Error) => {
          // A ledger that cannot be made durable must not acknowledge anything more: stop the node.
          log('error', `ledger write failed: ${error.message}; stopping`);
          process.exit(70);
        },
      );
    });
  };
  let joined: { secrets: EnclaveSecrets; peers: Map<string, string>; snapshot?: Uint8Array } | undefined;
  let snapshot: Uint8Array | undefined;
  const joinPeersPath = join(config.dataDir, JOIN_PEERS_FILE);
  let joinPeers: Map<string, string> | undefined;
  if (!sealed && ledger.entries.length === 0 && config.join) {
    joined = await joinService(config, nodeAddresses, nodeAddresses.publishedAddress);
    joinPeers = joined.peers;
    writeDurable(joinPeersPath, JSON.stringify([...joinPeers]));
    if (joined.snapshot) {
      // Kept as this node's own committed snapshot: its ledger will start after it.
      const verified = verifySnapshotFile(joined.snapshot, joined.secrets.serviceCertPem);
      mkdirSync(join(config.dataDir, 'snapshots'), { recursive: true });
      writeDurable(join(config.dataDir, 'snapshots', snapshotFileName(verified.seqno, verified.evidenceSeqno)), joined.snapshot);
      snapshot = joined.snapshot;
      log('info', `joining from the service's snapshot at seqno ${verified.seqno}`);
    }
  } else if (sealed && ledger.entries.length === 0 && existsSync(joinPeersPath)) {
    // Hostile input like everything on disk: only well-formed ids and addresses are used (join.ts checks).
    try {
      const listed = JSON.parse(readFileSync(joinPeersPath, 'utf8')) as Array<[string, string]>;
      joinPeers = peersFromJoinResponse({ node_status: 'Trusted', node_id: '', network_info: {
        nodes: listed.map(([node_id, node_to_node_address]) => ({ node_id, node_to_node_address })),
      } } as never);
    } catch (error) {
      log('warn', `${joinPeersPath} ignored: ${(error as Error).message}`);
    }
  }
  const snapshots = await SnapshotFiles.open(join(config.dataDir, 'snapshots'), { log });
  if (!snapshot && ledger.entries.length > 0) {
    let first = 1;
    try {
      first = decodeEntry(ledger.entries[0]!.bytes).seqno;
    } catch {
      // Replay reports a damaged first entry with its location.
    }
    if (first > 1) {
      // The ledger continues a snapshot (this node joined from one): start from the newest that covers its start.
      const latest = await snapshots.latestCommitted();
      if (!latest || latest.seqno < first - 1) throw new Error(`the ledger starts at seqno ${first} but no committed snapshot at or after ${first - 1} is in ${join(config.dataDir, 'snapshots')}`);
      snapshot = latest.bytes;
      ledger.entries = ledger.entries.filter((_, i) => first + i > latest.seqno);
      if (ledger.entries.length === 0) delete ledger.tornTail;
    }
  }
  let transport: PeerTransport | undefined;
  let peers: ReadonlyMap<string, string> = new Map();
  const host: HostPort = {
    ledgerAppend: (seqno, bytes, isSignature) => files.append(seqno, bytes, isSignature),
    ledgerFlush: flush,
    tickAfter: (delayMs) => {
      setTimeout(() => enclave?.tick(Date.now()), Math.max(0, delayMs)).unref();
    },
    ledgerTruncate: (seqno) => files.truncate(seqno),
    ledgerCommit: (seqno) => files.commit(seqno),
    ledgerRead: (seqno) => files.readEntry(seqno),
    sealedWrite: async (blob) => writeDurable(sealedPath, blob),
    consensusStateWrite: async (bytes) => writeDurable(consensusStatePath, bytes),
    snapshotWritePending: async (seqno, entry, evidenceSeqno) => {
      await snapshots.writePending(seqno, entry, evidenceSeqno);
    },
    snapshotCommit: (seqno, evidenceSeqno, receipt) => {
      snapshots.commit(seqno, evidenceSeqno, receipt).then(
        (name) => log('info', `snapshot ${name} committed`),
        (error: Error) => log('warn', `snapshot at ${seqno}: ${error.message}`),
      );
    },
    snapshotLatest: async () => (await snapshots.latestCommitted())?.bytes,
    snapshotDiscardAfter: (seqno) => {
      snapshots.discardPendingAfter(seqno).catch((error: Error) => log('warn', `snapshots after ${seqno}: ${error.message}`));
    },
    peerSend: (to, frame) => transport?.send(to, frame) ?? false,
    peersChanged: (next) => {
      peers = next;
      transport?.setPeers(next);
      transport?.reauthorize();
    },
    fatal: (message) => {
      log('error', `stopping: ${message}`);
      process.exit(70);
    },
    log,
  };
  const previous = config.recover && !sealed && ledger.entries.length === 0 ? await readPreviousLedger(config.recover) : undefined;
  const startEnclave = (init: EnclaveInit): Promise<Enclave> => (previous ? Enclave.startRecovery(init, previous) : Enclave.start(init));
  enclave = await startEnclave({
    host,
    options: {
      signatureTxCount: config.signatureTxCount,
      signatureDelayMs: config.signatureDelayMs,
      consensusTickMs: config.consensusTickMs,
      snapshotTxInterval: config.snapshotTxInterval,
      inMemoryCommittedEntries: config.inMemoryCommittedEntries,
      raftLimits: { electionTimeoutTicks: config.electionTimeoutTicks, appendRetryTicks: Math.max(2, Math.floor(config.electionTimeoutTicks / 2)) },
    },
    sealingKey,
    ...(sealed ? { sealed } : {}),
    ledger,
    ...(genesis && !joined ? { genesis } : {}),
    ...(joined ? { joined: joined.secrets } : {}),
    ...(joinPeers ? { joinPeers } : {}),
    ...(snapshot ? { snapshot } : {}),
    ...(consensusState ? { consensusState } : {}),
    produceEvidence: (nodePublicKeyDer) => produceNodeEvidence({
      platform: config.platform,
      nodePublicKeyDer,
      ...(config.virtualHostData ? { virtualHostData: config.virtualHostData } : {}),
    }),
    addresses: nodeAddresses,
  });
  watchRecoveryShareRefresh(enclave, () => enclave!.ledgerSecretRanges(), log);
  transport = await PeerTransport.start({
    nodeId: enclave.nodeId,
    identity: enclave.tlsIdentity(),
    host: config.nodeToNodeAddress.host,
    port: n2nPort,
    authorize: (certDer) => enclave!.authorizePeer(certDer),
    onFrame: (from, bytes) => enclave!.onPeerFrame(from, bytes),
    log,
  });
  transport.setPeers(peers);
  const apps = [
    ...(config.nativeApps.includes('logging') ? [loggingApp] : []),
    governanceApp(enclave),
    quotesApp(enclave),
    joinApp(enclave),
  ];
  const frontend = new Frontend(enclave, apps, host);
  enclave.setForwardHandler((request) => frontend.handle(request));
  const jsApps = new JsAppManager(enclave, frontend, log);
  await jsApps.reload();
  const identity: TlsIdentityMessage = enclave.tlsIdentity();
  if (config.serviceCertFile) writeDurable(config.serviceCertFile, identity.serviceCertPem);

  // Periodic ticks at half the consensus tick drive heartbeats and elections; a transaction waiting for
  // its signature asks for its own tick (tickAfter). Ticking at the signature delay's rate instead (every
  // 5 ms) cost an idle node ~50 ms of CPU per second in timers.
  const ticker = setInterval(() => enclave!.tick(Date.now()), Math.max(1, Math.floor(config.consensusTickMs / 2)));
  const { app, port } = await startServer({
    identity,
    host: config.rpcAddress.host,
    port: config.rpcAddress.port,
    requestsPerSecondPerClientMax: config.requestsPerSecondPerClientMax,
    handle: (request) => frontend.handle(request),
  });
  const status = {
    event: 'ready',
    pid: process.pid,
    nodeId: enclave.nodeId,
    rpcAddress: `${config.rpcAddress.host}:${port}`,
    nodeToNodeAddress: `${config.nodeToNodeAddress.host}:${transport.port}`,
    serviceCertFile: config.serviceCertFile ?? null,
    lastSeqno: enclave.lastSeqno,
  };
  if (config.statusFile) writeDurable(config.statusFile, JSON.stringify(status));
  log('info', `node ${enclave.nodeId} listening on https://${status.rpcAddress}`);
  process.stdout.write(`${JSON.stringify(status)}\n`);

  const stop = async (): Promise<void> => {
    clearInterval(ticker);
    enclave!.consensus.stop();
    await transport!.close();
    await app.close();
    await flushing;
    await files.flush();
    enclave!.onLedgerDurable(files.durableSeqno);
    await files.close();
  };
  return { stop, port, enclave };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write('usage: node --import tsx node/host/main.ts --config <node.json>\n');
    process.exit(2);
  }
  const config = loadConfig(values.config);
  const node = await runNode(config);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: stopping`);
    node.stop().then(() => process.exit(0), (error: Error) => {
      log('error', `stop failed: ${error.message}`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: Error) => {
    log('error', error.message);
    process.exit(1);
  });
}
