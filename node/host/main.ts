// A Synod node process: `node --import tsx node/host/main.ts --config node.json`.
//
// The host part of the node: it reads configuration, the sealed secrets and the ledger files, starts the
// enclave with them, serves HTTPS, drives time, and makes ledger appends durable in batches (group commit).
// On SIGTERM/SIGINT it stops taking requests, flushes the ledger and exits.

import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { HostPort, TlsIdentityMessage } from '../boundary.ts';
import { Enclave } from '../enclave/enclave.ts';
import { Frontend } from '../enclave/frontend.ts';
import type { GenesisConfig, NodeAddresses } from '../enclave/genesis.ts';
import { LedgerFiles } from './ledger/files.ts';
import { loadConfig, readGenesisJwtIssuers, type NodeConfig } from './config.ts';
import { startServer } from './server.ts';
import { loggingApp } from '../apps/logging.ts';
import { JsAppManager } from '../enclave/jsapp.ts';
import { readBundleDir } from '../../app-sdk/src/bundle.ts';
import { governanceApp } from '../../governance/app.ts';
import { quotesApp } from '../enclave/quotes.ts';

const SEALED_FILE = 'sealed_secrets.bin';
const VIRTUAL_SEALING_KEY_FILE = 'virtual_sealing.key';

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

function addresses(config: NodeConfig): NodeAddresses {
  const published = config.publishedAddress ?? `${config.rpcAddress.host}:${config.rpcAddress.port}`;
  const host = config.rpcAddress.host;
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  return {
    bindAddress: `${config.rpcAddress.host}:${config.rpcAddress.port}`,
    publishedAddress: published,
    ipAddresses: [...new Set(['127.0.0.1', ...(isIp ? [host] : [])])],
    dnsNames: [...new Set(['localhost', ...(isIp ? [] : [host])])],
  };
}

export async function runNode(config: NodeConfig): Promise<{ stop: () => Promise<void>; port: number; enclave: Enclave }> {
  mkdirSync(config.dataDir, { recursive: true });
  const sealingKey = virtualSealingKey(config.dataDir);
  const sealedPath = join(config.dataDir, SEALED_FILE);
  const files = await LedgerFiles.open(config.ledgerDir, { chunkSizeBytes: config.ledgerChunkBytes });
  const ledger = await files.readAll();
  const nodeAddresses = addresses(config);

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
  const host: HostPort = {
    ledgerAppend: (seqno, bytes, isSignature) => files.append(seqno, bytes, isSignature),
    ledgerFlush: flush,
    ledgerTruncate: (seqno) => files.truncate(seqno),
    ledgerCommit: (seqno) => files.commit(seqno),
    ledgerRead: (seqno) => files.readEntry(seqno),
    sealedWrite: async (blob) => writeDurable(sealedPath, blob),
    log,
  };
  enclave = await Enclave.start({
    host,
    options: { signatureTxCount: config.signatureTxCount, signatureDelayMs: config.signatureDelayMs },
    sealingKey,
    ...(sealed ? { sealed } : {}),
    ledger,
    ...(genesis ? { genesis } : {}),
    addresses: nodeAddresses,
  });
  const apps = [
    ...(config.nativeApps.includes('logging') ? [loggingApp] : []),
    governanceApp(enclave),
    quotesApp(enclave),
  ];
  const frontend = new Frontend(enclave, apps, host);
  const jsApps = new JsAppManager(enclave, frontend, log);
  await jsApps.reload();
  const identity: TlsIdentityMessage = enclave.tlsIdentity();
  if (config.serviceCertFile) writeDurable(config.serviceCertFile, identity.serviceCertPem);

  const ticker = setInterval(() => enclave!.tick(Date.now()), Math.max(1, Math.floor(config.signatureDelayMs / 2)));
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
    serviceCertFile: config.serviceCertFile ?? null,
    lastSeqno: enclave.lastSeqno,
  };
  if (config.statusFile) writeDurable(config.statusFile, JSON.stringify(status));
  log('info', `node ${enclave.nodeId} listening on https://${status.rpcAddress}`);
  process.stdout.write(`${JSON.stringify(status)}\n`);

  const stop = async (): Promise<void> => {
    clearInterval(ticker);
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
