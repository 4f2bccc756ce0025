// Attestation platforms: the one interface every platform implements, the evidence it produces and the
// verified result it returns. Follows CCF's model (src/pal/attestation): a node's evidence is a report
// plus endorsements in a named format, and the node's public key is bound into the report data.
//
// Formats use CCF's names ("Insecure_Virtual", "AMD_SEV_SNP_v1") so that a join request carries the
// same `quote_info.format` strings CCF tooling expects.

import { createHash } from 'node:crypto';
import { normaliseHex, requireBytes } from './bytes.ts';
import { AttestationError } from './errors.ts';
import { trustedValuesMax } from './limits.ts';

export type EvidenceFormat = 'Insecure_Virtual' | 'AMD_SEV_SNP_v1';
export type PlatformName = 'virtual' | 'snp';
export type SnpProduct = 'Milan' | 'Genoa' | 'Turin';
export type Product = SnpProduct | 'virtual';

export const reportDataBytes = 64;

/** What a node sends to prove what it runs: the report and what endorses it. */
export interface Evidence {
  format: EvidenceFormat;
  report: Uint8Array;
  /** SNP: PEM bundle VCEK, ASK, ARK in that order. Virtual: empty (nothing endorses it). */
  endorsements: string | Uint8Array;
}

/**
 * Security version numbers of the firmware components. Milan and Genoa have no FMC; Turin has one and
 * lays the bytes out differently (see snp/report.ts), so `fmc` is present exactly for Turin.
 */
export interface TcbVersion {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

/** The guest policy the VM was launched with (SEV-SNP ABI, "Guest Policy"), decoded. */
export interface GuestPolicy {
  abiMinor: number;
  abiMajor: number;
  smtAllowed: boolean;
  migrationAgentAllowed: boolean;
  debugAllowed: boolean;
  singleSocketRequired: boolean;
  cxlAllowed: boolean;
  memAes256XtsRequired: boolean;
  raplDisabled: boolean;
  ciphertextHidingRequired: boolean;
  pageSwapDisabled: boolean;
  /** Bit 17 is reserved and must be one; false here means the report is not a valid policy. */
  reservedBitSet: boolean;
  /** Indices of set bits this code cannot name (26–63). Verification refuses any. */
  unknownBits: number[];
  /** The raw 64-bit value as 16 hex digits, most significant first. */
  rawHex: string;
}

export interface VerifiedAttestation {
  platform: PlatformName;
  product: Product;
  /** False for `virtual`: there is no hardware root, anyone can write such a report. */
  secure: boolean;
  measurement: string;
  hostData: string;
  reportData: Uint8Array;
  /** Not applicable to `virtual` (null). */
  tcb: TcbVersion | null;
  chipId: string | null;
  policy: GuestPolicy | null;
  vmpl: number | null;
  reportVersion: number | null;
}

/** A pinned (or, in tests, injected) AMD root key certificate and the product it roots. */
export interface TrustedArk {
  product: SnpProduct;
  certificatePem: string;
}

export type MinimumTcb = Partial<Record<SnpProduct, TcbVersion>>;

/**
 * What the verifier must check. The binding fields are required, and skipping one takes an explicit
 * 'any', so that forgetting an option cannot silently accept everything.
 */
export interface VerifyOptions {
  /** The 64 bytes the report must carry; see reportDataForPublicKey. */
  expectedReportData: Uint8Array | 'any';
  /** Hex measurements trusted by governance. SNP: 48 bytes; virtual: 32 bytes. */
  trustedMeasurements: readonly string[] | 'any';
  /** Hex host data trusted by governance (32 bytes). */
  trustedHostData: readonly string[] | 'any';
  /** SNP: the lowest reported TCB accepted, per product; a product without an entry is refused. */
  minimumTcb: MinimumTcb | 'any';
  /** SNP: highest VMPL accepted (0 = most privileged). Default 0. */
  vmplMax?: number;
  /** SNP: replaces the AMD ARKs pinned in snp/roots.ts. Tests only; production keeps the pins. */
  trustedArks?: readonly TrustedArk[];
  /** SNP: when certificates must be valid. Default: now. */
  now?: Date;
}

export interface AttestationPlatform {
  readonly name: PlatformName;
  /** Produces evidence binding `reportData` (64 bytes) to this node's code. */
  produceReport(reportData: Uint8Array): Promise<Evidence>;
  /** Verifies evidence from any node of this platform; throws AttestationError on refusal. */
  verifyReport(evidence: Evidence, options: VerifyOptions): VerifiedAttestation;
}

/**
 * The report data a node puts in its report, as CCF does: SHA-256 of the node's public key (SPKI DER)
 * in the first 32 bytes, zeros after. The verifier compares all 64 bytes, so the zero half is checked
 * too (CCF itself only reads the first 32).
 */
export function reportDataForPublicKey(publicKeySpkiDer: Uint8Array): Uint8Array {
  requireBytes(publicKeySpkiDer, 'publicKeySpkiDer');
  if (publicKeySpkiDer.length === 0) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'publicKeySpkiDer must not be empty');
  }
  const reportData = new Uint8Array(reportDataBytes);
  reportData.set(createHash('sha256').update(publicKeySpkiDer).digest(), 0);
  return reportData;
}

export interface CheckedOptions {
  expectedReportData: Uint8Array | 'any';
  trustedMeasurements: ReadonlySet<string> | 'any';
  trustedHostData: ReadonlySet<string> | 'any';
}

/** Validates the options shared by all platforms; hex values come back lower-cased in sets. */
export function checkCommonOptions(options: VerifyOptions, measurementBytes: number, hostDataBytes: number): CheckedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'verify options must be an object');
  }
  const expectedReportData =
    options.expectedReportData === 'any'
      ? 'any'
      : requireBytes(options.expectedReportData, 'expectedReportData', reportDataBytes);
  return {
    expectedReportData,
    trustedMeasurements: trustedSet(options.trustedMeasurements, measurementBytes, 'trustedMeasurements'),
    trustedHostData: trustedSet(options.trustedHostData, hostDataBytes, 'trustedHostData'),
  };
}

function trustedSet(values: readonly string[] | 'any', byteLength: number, what: string): ReadonlySet<string> | 'any' {
  if (values === 'any') return 'any';
  if (!Array.isArray(values)) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `${what} must be an array of hex strings or 'any'`);
  }
  if (values.length > trustedValuesMax) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `${what} has ${values.length} entries, over the limit of ${trustedValuesMax}`);
  }
  return new Set(values.map((value, index) => normaliseHex(value, byteLength, `${what}[${index}]`)));
}

/** Checks a TCB against a minimum, component by component (a TCB is not totally ordered). */
export function tcbMeetsMinimum(tcb: TcbVersion, minimum: TcbVersion): boolean {
  if (tcb.bootloader < minimum.bootloader) return false;
  if (tcb.tee < minimum.tee) return false;
  if (tcb.snp < minimum.snp) return false;
  if (tcb.microcode < minimum.microcode) return false;
  if (minimum.fmc !== undefined && (tcb.fmc ?? 0) < minimum.fmc) return false;
  return true;
}
