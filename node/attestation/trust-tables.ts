// What governance trusts for joining nodes, in CCF's tables and encodings (CCF's default constitution
// actions and src/service/tables/*.h; the governance actions write them, the join policy reads them):
//
// | map | key (raw UTF-8) | value |
// |---|---|---|
// | public:ccf.gov.nodes.virtual.measurements | measurement, lower-case hex | JSON "AllowedToJoin" |
// | public:ccf.gov.nodes.virtual.host_data | host data, lower-case hex | set: 8 zero bytes |
// | public:ccf.gov.nodes.snp.measurements | measurement, lower-case hex (48 bytes) | JSON "AllowedToJoin" |
// | public:ccf.gov.nodes.snp.host_data | host data, lower-case hex (32 bytes) | JSON string: the raw security policy, or "" |
// | public:ccf.gov.nodes.snp.tcb_versions | CPUID, 8 lower-case hex digits (e.g. Milan "00a00f11") | JSON {boot_loader, tee, snp, microcode, fmc?, hexstring?} |
//
// Readers here are lenient about what they cannot misread: hex keys are compared lower-cased, and a key
// written as a JSON string (with quotes) is read as the string.

import type { Tx } from '../kv/index.ts';
import type { Evidence, TcbVersion } from './platform.ts';
import { decodeTcb, parseSnpReport, productFromCpuid } from './snp/report.ts';
import { parseVirtualReport } from './virtual.ts';
import { toHex } from './bytes.ts';

export const TrustTables = {
  virtualMeasurements: 'public:ccf.gov.nodes.virtual.measurements',
  virtualHostData: 'public:ccf.gov.nodes.virtual.host_data',
  snpMeasurements: 'public:ccf.gov.nodes.snp.measurements',
  snpHostData: 'public:ccf.gov.nodes.snp.host_data',
  snpTcbVersions: 'public:ccf.gov.nodes.snp.tcb_versions',
  snpUvmEndorsements: 'public:ccf.gov.nodes.snp.uvm_endorsements',
} as const;

/** CCF's CodeStatus for a measurement that may join. */
export const ALLOWED_TO_JOIN = 'AllowedToJoin';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const setValue = new Uint8Array(8);

function keyText(key: Uint8Array): string | null {
  let text: string;
  try {
    text = decoder.decode(key);
  } catch {
    return null;
  }
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  return text.toLowerCase();
}

function jsonValue(value: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(value));
  } catch {
    return undefined;
  }
}

/** The keys of a trust map, lower-cased (measurements additionally need the value "AllowedToJoin"). */
function readKeys(tx: Tx, map: string, requireAllowed: boolean): string[] {
  const keys: string[] = [];
  tx.map(map).forEach((value, key) => {
    const text = keyText(key);
    if (text === null) return;
    if (requireAllowed && jsonValue(value) !== ALLOWED_TO_JOIN) return;
    keys.push(text);
  });
  return keys;
}

export function trustedVirtualMeasurements(tx: Tx): string[] {
  return readKeys(tx, TrustTables.virtualMeasurements, true);
}
export function trustedVirtualHostData(tx: Tx): string[] {
  return readKeys(tx, TrustTables.virtualHostData, false);
}
export function trustedSnpMeasurements(tx: Tx): string[] {
  return readKeys(tx, TrustTables.snpMeasurements, true);
}
export function trustedSnpHostData(tx: Tx): string[] {
  return readKeys(tx, TrustTables.snpHostData, false);
}

/** CCF's TcbVersionPolicy: every field optional; the ones present must all be met. */
export interface TcbVersionPolicy {
  boot_loader?: number;
  tee?: number;
  snp?: number;
  microcode?: number;
  fmc?: number;
  hexstring?: string;
}

export interface CpuidTcbEntry {
  cpuid: string;
  family: number;
  model: number;
  stepping: number;
  policy: TcbVersionPolicy | null;
}

/**
 * CCF's CPUID hex (cpuid_from_hex): 4 bytes read as a big-endian word; stepping in bits 0–3, base model
 * 4–7, base family 8–11, extended model 16–19, extended family 20–27. Family = base + extended family;
 * model = extended model << 4 | base model. "00a00f11" is Milan: family 0x19, model 0x01, stepping 1.
 */
export function decodeCpuidHex(hex: string): { family: number; model: number; stepping: number } | null {
  if (!/^[0-9a-f]{8}$/.test(hex)) return null;
  const word = Number.parseInt(hex, 16);
  const stepping = word & 0xf;
  const baseModel = (word >>> 4) & 0xf;
  const baseFamily = (word >>> 8) & 0xf;
  const extendedModel = (word >>> 16) & 0xf;
  const extendedFamily = (word >>> 20) & 0xff;
  return { family: (baseFamily + extendedFamily) & 0xff, model: (extendedModel << 4) | baseModel, stepping };
}

/** The inverse of decodeCpuidHex for families ≥ 0xF (all SEV-SNP parts). */
export function encodeCpuidHex(cpuid: { family: number; model: number; stepping: number }): string {
  const extendedFamily = Math.max(0, cpuid.family - 0xf);
  const baseFamily = cpuid.family - extendedFamily;
  const word = ((extendedFamily & 0xff) << 20) | (((cpuid.model >>> 4) & 0xf) << 16) | ((baseFamily & 0xf) << 8) | ((cpuid.model & 0xf) << 4) | (cpuid.stepping & 0xf);
  return (word >>> 0).toString(16).padStart(8, '0');
}

function tcbPolicyOf(value: unknown): TcbVersionPolicy | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const policy: TcbVersionPolicy = {};
  const fields = value as Record<string, unknown>;
  for (const name of ['boot_loader', 'tee', 'snp', 'microcode', 'fmc'] as const) {
    const field = fields[name];
    if (field === undefined || field === null) continue;
    if (typeof field !== 'number' || !Number.isInteger(field) || field < 0 || field > 0xffffffff) return null;
    policy[name] = field;
  }
  if (typeof fields.hexstring === 'string') policy.hexstring = fields.hexstring;
  return policy;
}

/** The minimum TCB entries governance set, per CPUID; an entry that cannot be read has `policy: null`. */
export function snpMinimumTcbEntries(tx: Tx): CpuidTcbEntry[] {
  const entries: CpuidTcbEntry[] = [];
  tx.map(TrustTables.snpTcbVersions).forEach((value, key) => {
    const cpuid = keyText(key);
    const decoded = cpuid === null ? null : decodeCpuidHex(cpuid);
    if (cpuid === null || decoded === null) return;
    entries.push({ cpuid, ...decoded, policy: tcbPolicyOf(jsonValue(value)) });
  });
  return entries;
}

/**
 * CCF's TcbVersionPolicy::is_valid: for each component, the minimum and the reported TCB must both have
 * it or both lack it, and where both have it the reported value must be at least the minimum.
 */
export function tcbMeetsPolicy(reported: TcbVersion, minimum: TcbVersionPolicy): { ok: true } | { ok: false; component: string } {
  const pairs: Array<[string, number | undefined, number | undefined]> = [
    ['microcode', minimum.microcode, reported.microcode],
    ['snp', minimum.snp, reported.snp],
    ['tee', minimum.tee, reported.tee],
    ['boot_loader', minimum.boot_loader, reported.bootloader],
    ['fmc', minimum.fmc, reported.fmc],
  ];
  for (const [component, min, got] of pairs) {
    if ((min === undefined) !== (got === undefined)) return { ok: false, component };
    if (min !== undefined && got !== undefined && got < min) return { ok: false, component };
  }
  return { ok: true };
}

/**
 * Trusts the measurement and host data `evidence` states, as CCF's genesis does for the first node
 * (trust_node_measurement, trust_node_{virtual,snp}_host_data). For SNP the reported TCB also becomes
 * the minimum for this CPUID when governance has set none (CCF's trust_node_snp_tcb_version).
 * The evidence is the node's own: the caller has produced it, nothing here verifies it.
 */
export function trustOwnEvidence(tx: Tx, evidence: Evidence): { measurement: string; hostData: string } {
  const allowed = encoder.encode(JSON.stringify(ALLOWED_TO_JOIN));
  if (evidence.format === 'Insecure_Virtual') {
    const report = parseVirtualReport(evidence.report);
    tx.map(TrustTables.virtualMeasurements).set(encoder.encode(report.measurement), allowed);
    tx.map(TrustTables.virtualHostData).set(encoder.encode(report.hostData), setValue);
    return { measurement: report.measurement, hostData: report.hostData };
  }
  const report = parseSnpReport(evidence.report);
  const measurement = toHex(report.measurement);
  const hostData = toHex(report.hostData);
  tx.map(TrustTables.snpMeasurements).set(encoder.encode(measurement), allowed);
  tx.map(TrustTables.snpHostData).set(encoder.encode(hostData), encoder.encode(JSON.stringify('')));
  const product = productFromCpuid(report.cpuid);
  if (report.cpuid !== null && product !== null) {
    const cpuid = encodeCpuidHex(report.cpuid);
    if (!snpMinimumTcbEntries(tx).some((entry) => entry.cpuid === cpuid)) {
      const tcb = decodeTcb(report.tcbRaw.reported, product);
      const policy: TcbVersionPolicy = { boot_loader: tcb.bootloader, tee: tcb.tee, snp: tcb.snp, microcode: tcb.microcode };
      if (tcb.fmc !== undefined) policy.fmc = tcb.fmc;
      tx.map(TrustTables.snpTcbVersions).set(encoder.encode(cpuid), encoder.encode(JSON.stringify(policy)));
    }
  }
  return { measurement, hostData };
}
