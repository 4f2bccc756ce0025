// The node's own evidence: what it sends when it joins and what /node/quotes/self serves.
//
// - `virtual` (INSECURE, development only): the measurement is a digest of this node's code, the same on
//   every node running the same code, so that governance can still say which code may join a virtual
//   network. Nothing signs it: anyone can write a virtual report claiming any measurement.
// - `snp`: a hardware report through configfs-tsm (snp/device.ts), endorsed by VCEK/ASK/ARK. Where the
//   machine is not an SEV-SNP guest this refuses, with the reason; it never falls back to virtual.
// - `auto`: `snp` if this machine can produce SEV-SNP reports, else `virtual` (and says which it chose).
//
// Evidence travels as CCF's `quote_info`: {format, quote (base64 report), endorsements (base64)}.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normaliseHex, requireBytes, toHex } from './bytes.ts';
import { AttestationError } from './errors.ts';
import { reportDataForPublicKey, type Evidence, type EvidenceFormat } from './platform.ts';
import { detectSnp } from './snp/device.ts';
import { createSnpPlatform, type SnpPlatformConfig } from './snp/platform.ts';
import { parseSnpReport } from './snp/report.ts';
import { encodeVirtualReport, virtualHostDataBytes } from './virtual.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The folders whose code the virtual measurement covers (relative to the repository root). */
export const measuredCodeRoots = ['node', 'governance', 'app-sdk/src'] as const;

/**
 * CCF's "no security policy" host data for the virtual platform: SHA-256 of the empty policy. A virtual
 * node binds nothing to its launch, so every virtual node of this code reports this value.
 */
export const virtualHostDataDefault = createHash('sha256').update('').digest('hex');

function isMeasuredFile(name: string): boolean {
  return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts');
}

function listMeasuredFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && isMeasuredFile(entry.name)) files.push(path);
    }
  };
  if (existsSync(root)) walk(root);
  return files;
}

/**
 * The virtual measurement of the code under `repoRoot`: SHA-256 over every measured file in sorted
 * order of its relative path ('/'-separated), each as u32 path length, path, u64 content length,
 * content (big-endian lengths), so that no two file sets hash alike.
 */
export function measureCodeTree(repoRoot: string = REPO_ROOT): string {
  const entries: Array<{ path: string; file: string }> = [];
  for (const root of measuredCodeRoots) {
    for (const file of listMeasuredFiles(join(repoRoot, root))) {
      entries.push({ path: relative(repoRoot, file).split(sep).join('/'), file });
    }
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash('sha256');
  for (const { path, file } of entries) {
    const pathBytes = Buffer.from(path, 'utf8');
    const content = readFileSync(file);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(pathBytes.length);
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(content.length));
    hash.update(header).update(pathBytes).update(length).update(content);
  }
  return hash.digest('hex');
}

let cachedMeasurement: string | undefined;

/**
 * A launcher that starts several nodes from one checkout may measure once and pass the result down in
 * this variable, so that a file edited while the nodes start does not split them into two codes. It can
 * only choose the virtual measurement, which proves nothing anyway (anyone can write a virtual report).
 */
export const virtualMeasurementEnv = 'SYNOD_VIRTUAL_MEASUREMENT';

/** This process's virtual measurement: computed once, on first use (or taken from SYNOD_VIRTUAL_MEASUREMENT). */
export function virtualMeasurementOfThisCode(): string {
  if (cachedMeasurement === undefined) {
    const given = process.env[virtualMeasurementEnv];
    if (given !== undefined && given !== '') {
      if (!/^[0-9a-fA-F]{64}$/.test(given)) {
        throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `${virtualMeasurementEnv} must be 64 hex digits (a SHA-256), got ${JSON.stringify(given.slice(0, 80))}`);
      }
      cachedMeasurement = given.toLowerCase();
    } else {
      cachedMeasurement = measureCodeTree(REPO_ROOT);
    }
  }
  return cachedMeasurement;
}

/** CCF's `quote_info` as it travels in JSON (join requests, nodes.info, /node/quotes). */
export interface QuoteInfo {
  format: EvidenceFormat;
  /** The report, base64. */
  quote: string;
  /** The endorsements, base64 (SNP: the PEM bundle VCEK, ASK, ARK; virtual: empty). */
  endorsements: string;
}

export function quoteInfoOf(evidence: Evidence): QuoteInfo {
  const endorsements = typeof evidence.endorsements === 'string' ? Buffer.from(evidence.endorsements, 'utf8') : Buffer.from(evidence.endorsements);
  return { format: evidence.format, quote: Buffer.from(evidence.report).toString('base64'), endorsements: endorsements.toString('base64') };
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads a `quote_info` from untrusted JSON. Only the shape is checked here; verification comes after. */
export function evidenceFromQuoteInfo(value: unknown): Evidence {
  const bad = (message: string): AttestationError => new AttestationError('ATTESTATION_INVALID_ARGUMENT', `quote_info: ${message}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('must be an object');
  const { format, quote, endorsements } = value as Record<string, unknown>;
  if (format !== 'Insecure_Virtual' && format !== 'AMD_SEV_SNP_v1') {
    throw new AttestationError('ATTESTATION_FORMAT_UNSUPPORTED', `quote_info: format ${JSON.stringify(String(format))} is not supported`);
  }
  if (typeof quote !== 'string' || !base64Pattern.test(quote)) throw bad('quote must be base64');
  if (endorsements !== undefined && (typeof endorsements !== 'string' || !base64Pattern.test(endorsements))) throw bad('endorsements must be base64');
  const report = new Uint8Array(Buffer.from(quote, 'base64'));
  const endorsementBytes = Buffer.from((endorsements as string | undefined) ?? '', 'base64');
  return {
    format,
    report,
    endorsements: format === 'AMD_SEV_SNP_v1' ? endorsementBytes.toString('utf8') : new Uint8Array(endorsementBytes),
  };
}

export interface ProduceNodeEvidenceOptions {
  platform: 'virtual' | 'snp' | 'auto';
  /** The node's public key, SPKI DER; its SHA-256 goes into the report data. */
  nodePublicKeyDer: Uint8Array;
  /** Virtual only: the host data to report (hex, 32 bytes). Default: virtualHostDataDefault. */
  virtualHostData?: string;
  /** SNP only: device and endorsements source. */
  snp?: SnpPlatformConfig;
}

export interface NodeEvidence {
  platform: 'virtual' | 'snp';
  evidence: Evidence;
  quoteInfo: QuoteInfo;
  /** Virtual: the code digest. SNP: the report's measurement (as the report states it). */
  measurement: string;
  /** False for virtual. */
  secure: boolean;
}

/** Virtual evidence, synchronously (genesis runs inside one synchronous transaction). INSECURE. */
export function produceVirtualNodeEvidence(nodePublicKeyDer: Uint8Array, hostData: string = virtualHostDataDefault): NodeEvidence {
  requireBytes(nodePublicKeyDer, 'nodePublicKeyDer');
  const measurement = virtualMeasurementOfThisCode();
  const report = encodeVirtualReport({
    measurement,
    hostData: normaliseHex(hostData, virtualHostDataBytes, 'virtualHostData'),
    reportData: reportDataForPublicKey(nodePublicKeyDer),
  });
  const evidence: Evidence = { format: 'Insecure_Virtual', report, endorsements: '' };
  return { platform: 'virtual', evidence, quoteInfo: quoteInfoOf(evidence), measurement, secure: false };
}

/** Evidence binding `nodePublicKeyDer` to this node's code, on the chosen platform. */
export async function produceNodeEvidence(options: ProduceNodeEvidenceOptions): Promise<NodeEvidence> {
  if (typeof options !== 'object' || options === null) throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'options must be an object');
  requireBytes(options.nodePublicKeyDer, 'nodePublicKeyDer');
  let platform = options.platform;
  if (platform === 'auto') {
    platform = (await detectSnp(options.snp?.device)).available ? 'snp' : 'virtual';
  }
  switch (platform) {
    case 'virtual':
      return produceVirtualNodeEvidence(options.nodePublicKeyDer, options.virtualHostData);
    case 'snp': {
      const detection = await detectSnp(options.snp?.device);
      if (!detection.available) {
        throw new AttestationError('SNP_DEVICE_UNAVAILABLE', `cannot produce SEV-SNP evidence on this machine: ${detection.reason}`);
      }
      const evidence = await createSnpPlatform(options.snp).produceReport(reportDataForPublicKey(options.nodePublicKeyDer));
      // The measurement as the report states it: unverified until the receiving side checks the report.
      const measurement = toHex(parseSnpReport(evidence.report).measurement);
      return { platform: 'snp', evidence, quoteInfo: quoteInfoOf(evidence), measurement, secure: true };
    }
    default:
      throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', "platform must be 'virtual', 'snp' or 'auto'");
  }
}
