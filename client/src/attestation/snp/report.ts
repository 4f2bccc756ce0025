// SEV-SNP attestation report parser: AMD "SEV Secure Nested Paging Firmware ABI Specification"
// (publication 56860), table ATTESTATION_REPORT, report versions 2, 3 and 5.
//
// The report is 0x4A0 bytes, little-endian. Bytes 0x000–0x29F are signed; the signature follows at
// 0x2A0. Version 3 added the CPUID family/model/stepping at 0x188; version 5 added the mitigation
// vectors at 0x1F8. Every version so far keeps the same signed-region layout, so newer versions are
// parsed with this layout (their new fields are in bytes that older versions reserve); versions below
// 2 predate that layout and are refused.
//
// Parsing establishes structure only. Nothing here is trustworthy until snp/verify.ts has checked the
// signature, so this module makes no security decision beyond refusing what it cannot read.

import { toHex } from '../bytes.ts';
import { AttestationError } from '../errors.ts';
import type { GuestPolicy, SnpProduct, TcbVersion } from '../platform.ts';

export const snpReportBytes = 0x4a0;
export const snpSignedBytes = 0x2a0;
export const snpSignatureOffset = 0x2a0;
export const snpReportVersionMin = 2;
/** ECDSA P-384 with SHA-384: the only signature algorithm the ABI defines. */
export const snpSignatureAlgorithmEcdsaP384Sha384 = 1;
/** r and s are each 72 bytes little-endian; only the low 48 are significant for P-384. */
export const snpSignatureComponentBytes = 72;
export const snpSignatureScalarBytes = 48;

/** SIGNING_KEY values in the report's key-info field (bits 2–4). */
export const signingKey = { vcek: 0, vlek: 1, none: 7 } as const;

// Field offsets (ABI spec, ATTESTATION_REPORT).
const offset = {
  version: 0x000,
  guestSvn: 0x004,
  policy: 0x008,
  familyId: 0x010,
  imageId: 0x020,
  vmpl: 0x030,
  signatureAlgorithm: 0x034,
  currentTcb: 0x038,
  platformInfo: 0x040,
  keyInfo: 0x048,
  reportData: 0x050,
  measurement: 0x090,
  hostData: 0x0c0,
  idKeyDigest: 0x0e0,
  authorKeyDigest: 0x110,
  reportId: 0x140,
  reportIdMa: 0x160,
  reportedTcb: 0x180,
  cpuidFamily: 0x188,
  cpuidModel: 0x189,
  cpuidStepping: 0x18a,
  chipId: 0x1a0,
  committedTcb: 0x1e0,
  currentBuild: 0x1e8,
  committedBuild: 0x1ec,
  launchTcb: 0x1f0,
  launchMitigationVector: 0x1f8,
  currentMitigationVector: 0x200,
  signatureR: 0x2a0,
  signatureS: 0x2e8,
} as const;

export interface FirmwareVersion {
  major: number;
  minor: number;
  build: number;
}

export interface PlatformInfo {
  smtEnabled: boolean;
  tsmeEnabled: boolean;
  eccEnabled: boolean;
  raplDisabled: boolean;
  ciphertextHidingEnabled: boolean;
  aliasCheckComplete: boolean;
  iommuWriteSafe: boolean;
  tioEnabled: boolean;
  unknownBits: number[];
  rawHex: string;
}

export interface Cpuid {
  family: number;
  model: number;
  stepping: number;
}

/** A parsed report. Byte fields are views into a private copy of the input. */
export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: GuestPolicy;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgorithm: number;
  platformInfo: PlatformInfo;
  authorKeyEnabled: boolean;
  maskChipKey: boolean;
  /** 0 VCEK, 1 VLEK, 7 none; 2–6 reserved. */
  signingKey: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  /** Raw 8-byte TCB versions; decode with decodeTcb once the product is known. */
  tcbRaw: { current: Uint8Array; reported: Uint8Array; committed: Uint8Array; launch: Uint8Array };
  /** Present from version 3; null in version 2, whose bytes there are reserved. */
  cpuid: Cpuid | null;
  chipId: Uint8Array;
  currentFirmware: FirmwareVersion;
  committedFirmware: FirmwareVersion;
  /** Present from version 5, as 16 hex digits. */
  launchMitigationVectorHex: string | null;
  currentMitigationVectorHex: string | null;
  signatureR: Uint8Array;
  signatureS: Uint8Array;
  /** The bytes the signature covers (0x000–0x29F). */
  signedBytes: Uint8Array;
  /** The whole 512-byte signature field, including its reserved tail. */
  signatureField: Uint8Array;
}

export function parseSnpReport(input: Uint8Array): SnpReport {
  if (!(input instanceof Uint8Array)) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'an SEV-SNP report must be a Uint8Array');
  }
  if (input.length !== snpReportBytes) {
    throw new AttestationError('SNP_REPORT_MALFORMED', `an SEV-SNP report is exactly ${snpReportBytes} bytes, got ${input.length}`);
  }
  // Copy once, so that a caller mutating its buffer later cannot change what was verified.
  const bytes = new Uint8Array(input);
  const view = new DataView(bytes.buffer);
  const field = (at: number, length: number): Uint8Array => bytes.subarray(at, at + length);
  const version = view.getUint32(offset.version, true);
  if (version < snpReportVersionMin) {
    throw new AttestationError('SNP_REPORT_VERSION_UNSUPPORTED', `SEV-SNP report version ${version} is below ${snpReportVersionMin}; this layout is not supported`);
  }
  const keyInfo = view.getUint32(offset.keyInfo, true);
  return {
    version,
    guestSvn: view.getUint32(offset.guestSvn, true),
    policy: decodeGuestPolicy(view.getBigUint64(offset.policy, true)),
    familyId: field(offset.familyId, 16),
    imageId: field(offset.imageId, 16),
    vmpl: view.getUint32(offset.vmpl, true),
    signatureAlgorithm: view.getUint32(offset.signatureAlgorithm, true),
    platformInfo: decodePlatformInfo(view.getBigUint64(offset.platformInfo, true)),
    authorKeyEnabled: (keyInfo & 0b1) !== 0,
    maskChipKey: (keyInfo & 0b10) !== 0,
    signingKey: (keyInfo >>> 2) & 0b111,
    reportData: field(offset.reportData, 64),
    measurement: field(offset.measurement, 48),
    hostData: field(offset.hostData, 32),
    idKeyDigest: field(offset.idKeyDigest, 48),
    authorKeyDigest: field(offset.authorKeyDigest, 48),
    reportId: field(offset.reportId, 32),
    reportIdMa: field(offset.reportIdMa, 32),
    tcbRaw: {
      current: field(offset.currentTcb, 8),
      reported: field(offset.reportedTcb, 8),
      committed: field(offset.committedTcb, 8),
      launch: field(offset.launchTcb, 8),
    },
    cpuid: version >= 3 ? { family: bytes[offset.cpuidFamily]!, model: bytes[offset.cpuidModel]!, stepping: bytes[offset.cpuidStepping]! } : null,
    chipId: field(offset.chipId, 64),
    currentFirmware: firmwareVersion(bytes, offset.currentBuild),
    committedFirmware: firmwareVersion(bytes, offset.committedBuild),
    launchMitigationVectorHex: version >= 5 ? u64Hex(view, offset.launchMitigationVector) : null,
    currentMitigationVectorHex: version >= 5 ? u64Hex(view, offset.currentMitigationVector) : null,
    signatureR: field(offset.signatureR, snpSignatureComponentBytes),
    signatureS: field(offset.signatureS, snpSignatureComponentBytes),
    signedBytes: field(0, snpSignedBytes),
    signatureField: field(snpSignatureOffset, snpReportBytes - snpSignatureOffset),
  };
}

// Build, minor, major, reserved: the ABI orders the firmware version bytes from least significant.
function firmwareVersion(bytes: Uint8Array, at: number): FirmwareVersion {
  return { build: bytes[at]!, minor: bytes[at + 1]!, major: bytes[at + 2]! };
}

function u64Hex(view: DataView, at: number): string {
  return view.getBigUint64(at, true).toString(16).padStart(16, '0');
}

function bit(value: bigint, index: number): boolean {
  return ((value >> BigInt(index)) & 1n) === 1n;
}

function unknownBits(value: bigint, known: readonly number[]): number[] {
  const unknown: number[] = [];
  for (let index = 0; index < 64; index++) if (bit(value, index) && !known.includes(index)) unknown.push(index);
  return unknown;
}

// Guest policy bits (ABI spec, "Guest Policy"). Bits 0–15 are the ABI version, 17 must be one.
const policyBit = {
  smt: 16,
  reservedMustBeOne: 17,
  migrateMa: 18,
  debug: 19,
  singleSocket: 20,
  cxlAllow: 21,
  memAes256Xts: 22,
  raplDis: 23,
  ciphertextHiding: 24,
  pageSwapDisable: 25,
} as const;
const policyKnownBits = [...Array.from({ length: 16 }, (_, index) => index), ...Object.values(policyBit)];

export function decodeGuestPolicy(policy: bigint): GuestPolicy {
  return {
    abiMinor: Number(policy & 0xffn),
    abiMajor: Number((policy >> 8n) & 0xffn),
    smtAllowed: bit(policy, policyBit.smt),
    migrationAgentAllowed: bit(policy, policyBit.migrateMa),
    debugAllowed: bit(policy, policyBit.debug),
    singleSocketRequired: bit(policy, policyBit.singleSocket),
    cxlAllowed: bit(policy, policyBit.cxlAllow),
    memAes256XtsRequired: bit(policy, policyBit.memAes256Xts),
    raplDisabled: bit(policy, policyBit.raplDis),
    ciphertextHidingRequired: bit(policy, policyBit.ciphertextHiding),
    pageSwapDisabled: bit(policy, policyBit.pageSwapDisable),
    reservedBitSet: bit(policy, policyBit.reservedMustBeOne),
    unknownBits: unknownBits(policy, policyKnownBits),
    rawHex: policy.toString(16).padStart(16, '0'),
  };
}

// PLATFORM_INFO bits. Bit 6 (IOMMU write-safe) appears on Turin firmware; others are reserved.
export function decodePlatformInfo(info: bigint): PlatformInfo {
  return {
    smtEnabled: bit(info, 0),
    tsmeEnabled: bit(info, 1),
    eccEnabled: bit(info, 2),
    raplDisabled: bit(info, 3),
    ciphertextHidingEnabled: bit(info, 4),
    aliasCheckComplete: bit(info, 5),
    iommuWriteSafe: bit(info, 6),
    tioEnabled: bit(info, 7),
    unknownBits: unknownBits(info, [0, 1, 2, 3, 4, 5, 6, 7]),
    rawHex: info.toString(16).padStart(16, '0'),
  };
}

/**
 * Decodes an 8-byte TCB_VERSION. Milan and Genoa (family 19h): boot loader, TEE, 4 reserved, SNP,
 * microcode. Turin (family 1Ah) adds the FMC and packs the rest: FMC, boot loader, TEE, SNP,
 * 3 reserved, microcode. The product must come from the verified chain, not guessed from the bytes.
 */
export function decodeTcb(raw: Uint8Array, product: SnpProduct): TcbVersion {
  if (!(raw instanceof Uint8Array) || raw.length !== 8) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'a TCB version is 8 bytes');
  }
  if (product === 'Turin') {
    return { fmc: raw[0]!, bootloader: raw[1]!, tee: raw[2]!, snp: raw[3]!, microcode: raw[7]! };
  }
  return { bootloader: raw[0]!, tee: raw[1]!, snp: raw[6]!, microcode: raw[7]! };
}

/** The inverse of decodeTcb (used to build KDS requests and test reports). */
export function encodeTcb(tcb: TcbVersion, product: SnpProduct): Uint8Array {
  const raw = new Uint8Array(8);
  if (product === 'Turin') {
    raw.set([tcb.fmc ?? 0, tcb.bootloader, tcb.tee, tcb.snp], 0);
  } else {
    raw[0] = tcb.bootloader;
    raw[1] = tcb.tee;
    raw[6] = tcb.snp;
  }
  raw[7] = tcb.microcode;
  return raw;
}

/** The TCB as the u64 hex string Azure's certificate cache puts in its URLs (no leading zeros). */
export function tcbU64Hex(raw: Uint8Array): string {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getBigUint64(0, true).toString(16);
}

/**
 * The product a report's CPUID names, or null when it names none we know. Family 19h models 00–0Fh
 * are Milan, 10–1Fh and A0–AFh Genoa (including Bergamo and Siena); family 1Ah models 00–1Fh Turin.
 */
export function productFromCpuid(cpuid: Cpuid | null): SnpProduct | null {
  if (cpuid === null) return null;
  if (cpuid.family === 0x19) {
    if (cpuid.model <= 0x0f) return 'Milan';
    if (cpuid.model <= 0x1f || (cpuid.model >= 0xa0 && cpuid.model <= 0xaf)) return 'Genoa';
    return null;
  }
  if (cpuid.family === 0x1a && cpuid.model <= 0x1f) return 'Turin';
  return null;
}

/** The chip ID as KDS addresses it: all 64 bytes before Turin, the first 8 from Turin on. */
export function kdsHardwareId(chipId: Uint8Array, product: SnpProduct): string {
  return toHex(product === 'Turin' ? chipId.subarray(0, 8) : chipId);
}
