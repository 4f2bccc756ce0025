// Node configuration: a JSON file given with --config. Every field is checked before the node starts;
// a mistake is reported with the field's name and what was expected.

import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve, dirname } from 'node:path';
import { limits } from '../limits.ts';

export interface NodeConfig {
  /** The node's own folder: sealed secrets and, by default, the ledger. */
  dataDir: string;
  /** Ledger chunk files. Default: <dataDir>/ledger. */
  ledgerDir: string;
  /** host:port to listen on; port 0 picks a free port. */
  rpcAddress: { host: string; port: number };
  /** Address clients use, for the node certificate and /node/network/nodes. Default: rpcAddress. */
  publishedAddress?: string;
  /** Where to write the service certificate once the service exists. */
  serviceCertFile?: string;
  /** Where to write a JSON line describing the running node (address, ids); the sandbox reads it. */
  statusFile?: string;
  signatureTxCount: number;
  signatureDelayMs: number;
  ledgerChunkBytes: number;
  /** Requests per second one client address may send before it gets 429 TooManyRequests. */
  requestsPerSecondPerClientMax: number;
  /** Native (TypeScript) apps to serve besides the deployed JS app: today only "logging". */
  nativeApps: string[];
  /**
   * host:port for node-to-node (consensus) traffic. Port 0 picks a free port once and keeps it in the
   * data folder, so a restarted node is found where the others recorded it.
   */
  nodeToNodeAddress: { host: string; port: number };
  /** Published node-to-node address (default: nodeToNodeAddress). */
  nodeToNodePublishedAddress?: string;
  /** Length of a consensus tick in ms (heartbeat = 1 tick; election timeout = electionTimeoutTicks..2x). */
  consensusTickMs: number;
  electionTimeoutTicks: number;
  /** Snapshot at the first signature this many transactions after the previous snapshot (0: never). */
  snapshotTxInterval: number;
  /** Committed entries consensus keeps in memory with their bytes; older ones are read back from the ledger. */
  inMemoryCommittedEntries: number;
  /** Attestation platform for this node's evidence: virtual (insecure, development), snp, or auto. */
  platform: 'virtual' | 'snp' | 'auto';
  /** Virtual platform only: the host data the node reports (hex, 32 bytes; default SHA-256 of ""). */
  virtualHostData?: string;
  /** Only used when the data folder is empty: join the service of which a node listens at `target`. */
  join?: { target: string; serviceCertFile: string; retryIntervalMs: number };
  /**
   * Only used when the data folder is empty: start a new service from a previous service's ledger
   * (CCF's Recover start). It opens once members vote and submit their recovery shares.
   */
  recover?: { previousLedgerDir: string; previousServiceCertFile?: string };
  /** Only used when the data folder is empty: the service this node creates. */
  genesis?: {
    members: Array<{ certFile: string; encryptionPublicKeyFile?: string }>;
    users: Array<{ certFile: string }>;
    open: boolean;
    /** A bundle folder (app.json + src/) to deploy in the genesis transaction. */
    jsAppDir?: string;
    /** CCF's set_js_runtime_options arguments, applied in the genesis transaction. */
    jsRuntimeOptions?: Record<string, unknown>;
    /** JWT issuers registered in the genesis transaction, each with an optional JWKS file (JSON). */
    jwtIssuers?: Array<{ issuer: string; jwksFile?: string }>;
  };
}

export class ConfigError extends Error {
  readonly code = 'InvalidConfig';
}

export function loadConfig(path: string): NodeConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read config ${path}: ${(error as Error).message}`);
  }
  return parseConfig(raw, dirname(resolve(path)));
}

export function parseConfig(raw: unknown, baseDir: string): NodeConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('config must be a JSON object');
  const c = raw as Record<string, unknown>;
  const path = (field: string, value: unknown): string => {
    if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`${field} must be a non-empty path`);
    return isAbsolute(value) ? value : join(baseDir, value);
  };
  const integer = (field: string, value: unknown, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new ConfigError(`${field} must be an integer ≥ ${min}`);
    return value;
  };
  const dataDir = path('dataDir', c.dataDir);
  const address = typeof c.rpcAddress === 'string' ? c.rpcAddress : '127.0.0.1:0';
  const match = /^(.+):(\d{1,5})$/.exec(address);
  if (!match || Number(match[2]) > 65535) throw new ConfigError(`rpcAddress must be host:port, got "${address}"`);
  const n2n = typeof c.nodeToNodeAddress === 'string' ? c.nodeToNodeAddress : '127.0.0.1:0';
  const n2nMatch = /^(.+):(\d{1,5})$/.exec(n2n);
  if (!n2nMatch || Number(n2nMatch[2]) > 65535) throw new ConfigError(`nodeToNodeAddress must be host:port, got "${n2n}"`);
  const platform = c.platform ?? 'virtual';
  if (platform !== 'virtual' && platform !== 'snp' && platform !== 'auto') throw new ConfigError('platform must be "virtual", "snp" or "auto"');
  const config: NodeConfig = {
    dataDir,
    nodeToNodeAddress: { host: n2nMatch[1]!, port: Number(n2nMatch[2]) },
    consensusTickMs: integer('consensusTickMs', c.consensusTickMs, 50, 1),
    electionTimeoutTicks: integer('electionTimeoutTicks', c.electionTimeoutTicks, 10, 2),
    snapshotTxInterval: integer('snapshotTxInterval', c.snapshotTxInterval, 10_000, 0),
    inMemoryCommittedEntries: integer('inMemoryCommittedEntries', c.inMemoryCommittedEntries, 10_000, 0),
    platform,
    ledgerDir: c.ledgerDir === undefined ? join(dataDir, 'ledger') : path('ledgerDir', c.ledgerDir),
    rpcAddress: { host: match[1]!, port: Number(match[2]) },
    signatureTxCount: integer('signatureTxCount', c.signatureTxCount, limits.signatureTxCountDefault, 1),
    signatureDelayMs: integer('signatureDelayMs', c.signatureDelayMs, limits.signatureDelayMsDefault, 1),
    ledgerChunkBytes: integer('ledgerChunkBytes', c.ledgerChunkBytes, limits.ledgerChunkBytesDefault, 1024),
    nativeApps: parseNativeApps(c.nativeApps),
    requestsPerSecondPerClientMax: integer('requestsPerSecondPerClientMax', c.requestsPerSecondPerClientMax, limits.requestsPerSecondPerClientMax, 1),
  };
  if (c.publishedAddress !== undefined) config.publishedAddress = String(c.publishedAddress);
  if (c.serviceCertFile !== undefined) config.serviceCertFile = path('serviceCertFile', c.serviceCertFile);
  if (c.statusFile !== undefined) config.statusFile = path('statusFile', c.statusFile);
  if (c.virtualHostData !== undefined) {
    if (typeof c.virtualHostData !== 'string' || !/^[0-9a-f]{64}$/.test(c.virtualHostData)) throw new ConfigError('virtualHostData must be 64 lowercase hex digits');
    config.virtualHostData = c.virtualHostData;
  }
  if (c.nodeToNodePublishedAddress !== undefined) config.nodeToNodePublishedAddress = String(c.nodeToNodePublishedAddress);
  if (c.genesis !== undefined) config.genesis = parseGenesis(c.genesis, path);
  if (c.join !== undefined) {
    const j = parseObject('join', c.join);
    if (typeof j.target !== 'string' || !/^.+:\d{1,5}$/.test(j.target)) throw new ConfigError('join.target must be host:port of a node of the service');
    config.join = {
      target: j.target,
      serviceCertFile: path('join.serviceCertFile', j.serviceCertFile),
      retryIntervalMs: integer('join.retryIntervalMs', j.retryIntervalMs, 250, 10),
    };
  }
  if (config.join && config.genesis) throw new ConfigError('a node either creates a service (genesis) or joins one (join), not both');
  if (c.recover !== undefined) {
    const r = parseObject('recover', c.recover);
    config.recover = {
      previousLedgerDir: path('recover.previousLedgerDir', r.previousLedgerDir),
      ...(r.previousServiceCertFile !== undefined ? { previousServiceCertFile: path('recover.previousServiceCertFile', r.previousServiceCertFile) } : {}),
    };
    if (config.join || config.genesis) throw new ConfigError('a node recovering a service (recover) neither creates one (genesis) nor joins one (join)');
    if (resolve(config.recover.previousLedgerDir) === resolve(config.ledgerDir)) throw new ConfigError('recover.previousLedgerDir must not be this node\'s own ledgerDir');
  }
  return config;
}

function parseGenesis(raw: unknown, path: (field: string, value: unknown) => string): NonNullable<NodeConfig['genesis']> {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('genesis must be an object');
  const g = raw as Record<string, unknown>;
  const list = (field: string): Array<Record<string, unknown>> => {
    const value = g[field] ?? [];
    if (!Array.isArray(value)) throw new ConfigError(`genesis.${field} must be an array`);
    return value as Array<Record<string, unknown>>;
  };
  const members = list('members').map((m, i) => ({
    certFile: path(`genesis.members[${i}].certFile`, m.certFile),
    ...(m.encryptionPublicKeyFile !== undefined ? { encryptionPublicKeyFile: path(`genesis.members[${i}].encryptionPublicKeyFile`, m.encryptionPublicKeyFile) } : {}),
  }));
  if (members.length === 0) throw new ConfigError('genesis.members must name at least one member');
  const users = list('users').map((u, i) => ({ certFile: path(`genesis.users[${i}].certFile`, u.certFile) }));
  return {
    members,
    users,
    open: g.open === true,
    ...(g.jsAppDir !== undefined ? { jsAppDir: path('genesis.jsAppDir', g.jsAppDir) } : {}),
    ...(g.jsRuntimeOptions !== undefined ? { jsRuntimeOptions: parseObject('genesis.jsRuntimeOptions', g.jsRuntimeOptions) } : {}),
    ...(g.jwtIssuers !== undefined ? { jwtIssuers: parseJwtIssuers(list('jwtIssuers'), path) } : {}),
  };
}

function parseJwtIssuers(raw: Array<Record<string, unknown>>, path: (field: string, value: unknown) => string): Array<{ issuer: string; jwksFile?: string }> {
  const seen = new Set<string>();
  return raw.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`genesis.jwtIssuers[${i}] must be an object`);
    if (typeof entry.issuer !== 'string' || entry.issuer.length === 0) throw new ConfigError(`genesis.jwtIssuers[${i}].issuer must be a non-empty string`);
    if (seen.has(entry.issuer)) throw new ConfigError(`genesis.jwtIssuers[${i}].issuer ${JSON.stringify(entry.issuer)} is listed twice`);
    seen.add(entry.issuer);
    return {
      issuer: entry.issuer,
      ...(entry.jwksFile !== undefined ? { jwksFile: path(`genesis.jwtIssuers[${i}].jwksFile`, entry.jwksFile) } : {}),
    };
  });
}

/** Reads each issuer's JWKS file for the genesis transaction (where the keys themselves are validated). */
export function readGenesisJwtIssuers(issuers: Array<{ issuer: string; jwksFile?: string }>): Array<{ issuer: string; jwks?: unknown }> {
  return issuers.map(({ issuer, jwksFile }) => {
    if (jwksFile === undefined) return { issuer };
    try {
      return { issuer, jwks: JSON.parse(readFileSync(jwksFile, 'utf8')) as unknown };
    } catch (error) {
      throw new ConfigError(`genesis.jwtIssuers: cannot read the JWKS of ${JSON.stringify(issuer)} from ${jwksFile}: ${(error as Error).message}`);
    }
  });
}

function parseObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${field} must be an object`);
  return value as Record<string, unknown>;
}

export const NATIVE_APPS = ['logging'] as const;

function parseNativeApps(raw: unknown): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((name) => !(NATIVE_APPS as readonly unknown[]).includes(name))) {
    throw new ConfigError(`nativeApps must be a list of ${NATIVE_APPS.map((n) => `"${n}"`).join(', ')}`);
  }
  return raw as string[];
}
