// The host side of the `snp_attestation` global: CCF's snp_attestation.verifySnpAttestation
// (src/js/extensions/snp_attestation.cpp; @microsoft/ccf-app's SnpAttestationResult). The report is
// verified by node/attestation (chain to a pinned AMD root, signature) before any field is read; the
// fields are then laid out as CCF's result, from the report bytes at the offsets of AMD's SEV-SNP
// firmware ABI (56860, table "ATTESTATION_REPORT Structure"). Byte fields travel as hex; the bootstrap
// turns them into ArrayBuffers.

import { AttestationError } from '../attestation/errors.ts';
import type { SnpProduct, TcbVersion } from '../attestation/platform.ts';
import { decodeTcb } from '../attestation/snp/report.ts';
import { verifySnpReport } from '../attestation/snp/verify.ts';
import { SandboxThrow } from './errors.ts';

/** Fields of the result that are ArrayBuffers in CCF (the bootstrap decodes their hex). */
export const SNP_BYTE_FIELDS = [
  'family_id', 'image_id', 'report_data', 'measurement', 'host_data', 'id_key_digest', 'author_key_digest',
  'report_id', 'report_id_ma', 'chip_id',
] as const;

/** What the sandbox passes; uvm_endorsements and endorsed_tcb are not supported yet (throw if given). */
export interface SnpVerifyArguments {
  evidence: Uint8Array;
  endorsements: Uint8Array;
  uvmEndorsements: Uint8Array | undefined;
  endorsedTcb: string | undefined;
}

/** Verifies and returns CCF's SnpAttestationResult as JSON text (byte fields as hex). */
export function verifySnpAttestationJson(args: SnpVerifyArguments, now?: Date): string {
  if (args.uvmEndorsements !== undefined) {
    throw new SandboxThrow('Error', 'verifySnpAttestation: uvm_endorsements are not supported by Synod yet');
  }
  if (args.endorsedTcb !== undefined) {
    throw new SandboxThrow('Error', 'verifySnpAttestation: endorsed_tcb is not supported by Synod yet');
  }
  let product: SnpProduct;
  try {
    product = verifySnpReport(args.evidence, args.endorsements, {
      expectedReportData: 'any', trustedMeasurements: 'any', trustedHostData: 'any', minimumTcb: 'any', vmplMax: 3,
      ...(now === undefined ? {} : { now }),
    }).product;
  } catch (error) {
    if (error instanceof AttestationError) throw new SandboxThrow('Error', `Failed to verify SNP attestation: ${error.code}: ${error.message}`);
    throw error;
  }
  return JSON.stringify({ attestation: attestationFields(new Uint8Array(args.evidence), product) });
}

function attestationFields(report: Uint8Array, product: SnpProduct): Record<string, unknown> {
  const view = new DataView(report.buffer, report.byteOffset, report.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  const hex = (at: number, length: number) => Buffer.from(report.subarray(at, at + length)).toString('hex');
  const tcb = (at: number) => ccfTcb(decodeTcb(report.slice(at, at + 8), product));
  const policy = view.getBigUint64(0x008, true);
  const bit = (value: bigint, n: number) => Number((value >> BigInt(n)) & 1n);
  const platformInfo = view.getBigUint64(0x040, true);
  const flags = u32(0x048);
  return {
    version: u32(0x000),
    guest_svn: u32(0x004),
    policy: {
      abi_minor: Number(policy & 0xffn), abi_major: Number((policy >> 8n) & 0xffn),
      smt: bit(policy, 16), migrate_ma: bit(policy, 18), debug: bit(policy, 19), single_socket: bit(policy, 20),
    },
    family_id: hex(0x010, 16),
    image_id: hex(0x020, 16),
    vmpl: u32(0x030),
    signature_algo: u32(0x034),
    platform_version: tcb(0x038),
    platform_info: { smt_en: bit(platformInfo, 0), tsme_en: bit(platformInfo, 1) },
    flags: { author_key_en: flags & 1, mask_chip_key: (flags >> 1) & 1, signing_key: (flags >> 2) & 7 },
    report_data: hex(0x050, 64),
    measurement: hex(0x090, 48),
    host_data: hex(0x0c0, 32),
    id_key_digest: hex(0x0e0, 48),
    author_key_digest: hex(0x110, 48),
    report_id: hex(0x140, 32),
    report_id_ma: hex(0x160, 32),
    reported_tcb: tcb(0x180),
    cpuid_fam_id: report[0x188]!,
    cpuid_mod_id: report[0x189]!,
    cpuid_step: report[0x18a]!,
    chip_id: hex(0x1a0, 64),
    committed_tcb: tcb(0x1e0),
    current_build: report[0x1e8]!,
    current_minor: report[0x1e9]!,
    current_major: report[0x1ea]!,
    committed_build: report[0x1ec]!,
    committed_minor: report[0x1ed]!,
    committed_major: report[0x1ee]!,
    launch_tcb: tcb(0x1f0),
    signature: { r: hex(0x2a0, 72), s: hex(0x2e8, 72) },
  };
}

/** CCF's TcbVersion names (boot_loader, tee, snp, microcode). */
function ccfTcb(tcb: TcbVersion): { boot_loader: number; tee: number; snp: number; microcode: number } {
  return { boot_loader: tcb.bootloader, tee: tcb.tee, snp: tcb.snp, microcode: tcb.microcode };
}
