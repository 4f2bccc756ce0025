// The join policy: may a node with this evidence and this public key join? After CCF's
// verify_quote_against_store (src/node/quote.cpp), against what governance trusts in the KV
// (trust-tables.ts):
//
// 1. The report is genuine (SNP: AMD chain and signature, guest policy; virtual: structure only).
// 2. Its report data is SHA-256 of the joining node's public key (SPKI DER), zero-padded to 64 bytes.
// 3. Its host data is trusted (virtual.host_data / snp.host_data).
// 4. Its measurement is trusted (virtual.measurements / snp.measurements, status AllowedToJoin).
// 5. SNP: governance has set a minimum TCB for the report's CPUID (snp.tcb_versions), and the reported
//    TCB meets it component by component (CCF's TcbVersionPolicy::is_valid).
//
// Every refusal is an AttestationError whose `code` names the failed check. The join endpoint turns it
// into CCF's answer with toJoinRpcError (401 with CCF's message, the code in details).

import { RpcError } from '../errors.ts';
import type { Tx } from '../kv/index.ts';
import { AttestationError, type AttestationErrorCode } from './errors.ts';
import { verifyEvidence } from './index.ts';
import { reportDataForPublicKey, type Evidence, type TrustedArk, type VerifiedAttestation } from './platform.ts';
import { parseSnpReport } from './snp/report.ts';
import { snpHostDataBytes, snpMeasurementBytes } from './snp/verify.ts';
import {
  snpMinimumTcbEntries,
  tcbMeetsPolicy,
  trustedSnpHostData,
  trustedSnpMeasurements,
  trustedVirtualHostData,
  trustedVirtualMeasurements,
} from './trust-tables.ts';
import { virtualHostDataBytes, virtualMeasurementBytes } from './virtual.ts';

export interface JoinPolicyOptions {
  /**
   * Accept virtual (insecure) evidence when governance trusts its measurement. Default true, as CCF:
   * a network whose virtual.measurements table is empty refuses virtual nodes anyway. Set false on a
   * network that must never admit one, whatever governance later writes.
   */
  allowVirtual?: boolean;
  /** SNP: highest VMPL accepted. Default 0. */
  vmplMax?: number;
  /** SNP: when certificates must be valid. Default: now. */
  now?: Date;
  /** SNP: replaces the pinned AMD roots. Tests only. */
  trustedArks?: readonly TrustedArk[];
}

/** Only well-formed entries of the right length count; a malformed entry trusts nothing. */
function wellFormed(values: string[], byteLength: number): string[] {
  const pattern = new RegExp(`^[0-9a-f]{${byteLength * 2}}$`);
  return values.filter((value) => pattern.test(value));
}

/**
 * Verifies a joining node's evidence against governance's trust tables in `tx`. Returns the verified
 * attestation; throws AttestationError naming the first failed check.
 */
export function checkJoinEvidence(tx: Tx, evidence: Evidence, nodePublicKeyDer: Uint8Array, options: JoinPolicyOptions = {}): VerifiedAttestation {
  if (typeof evidence !== 'object' || evidence === null) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'evidence must be an object');
  }
  const expectedReportData = reportDataForPublicKey(nodePublicKeyDer);
  const common = { expectedReportData, vmplMax: options.vmplMax, now: options.now, trustedArks: options.trustedArks };
  switch (evidence.format) {
    case 'Insecure_Virtual':
      return verifyEvidence(evidence, {
        ...common,
        allowVirtual: options.allowVirtual ?? true,
        trustedMeasurements: wellFormed(trustedVirtualMeasurements(tx), virtualMeasurementBytes),
        trustedHostData: wellFormed(trustedVirtualHostData(tx), virtualHostDataBytes),
        minimumTcb: 'any',
      });
    case 'AMD_SEV_SNP_v1': {
      // The TCB minimum is per CPUID, which VerifyOptions cannot express: verify everything else first
      // (the report is authentic from then on), then apply governance's entry for this CPUID.
      const verified = verifyEvidence(evidence, {
        ...common,
        trustedMeasurements: wellFormed(trustedSnpMeasurements(tx), snpMeasurementBytes),
        trustedHostData: wellFormed(trustedSnpHostData(tx), snpHostDataBytes),
        minimumTcb: 'any',
      });
      checkSnpMinimumTcb(tx, evidence.report, verified);
      return verified;
    }
    default:
      return verifyEvidence(evidence, { ...common, trustedMeasurements: [], trustedHostData: [], minimumTcb: 'any' });
  }
}

function checkSnpMinimumTcb(tx: Tx, reportBytes: Uint8Array, verified: VerifiedAttestation): void {
  const report = parseSnpReport(reportBytes);
  if (report.cpuid === null) {
    throw new AttestationError('SNP_TCB_NO_MINIMUM', `a version ${report.version} report names no CPUID, so no minimum TCB set by governance applies to it`);
  }
  const { family, model, stepping } = report.cpuid;
  const entry = snpMinimumTcbEntries(tx).find((candidate) => candidate.family === family && candidate.model === model && candidate.stepping === stepping);
  const cpuidText = `family 0x${family.toString(16)}, model 0x${model.toString(16)}, stepping ${stepping}`;
  if (entry === undefined) {
    throw new AttestationError('SNP_TCB_NO_MINIMUM', `governance has set no minimum TCB for this processor (${cpuidText}; public:ccf.gov.nodes.snp.tcb_versions)`);
  }
  if (entry.policy === null) {
    throw new AttestationError('SNP_TCB_NO_MINIMUM', `the minimum TCB set for CPUID ${entry.cpuid} cannot be read`);
  }
  if (verified.tcb === null) throw new AttestationError('SNP_TCB_TOO_LOW', 'the verified report has no TCB');
  const result = tcbMeetsPolicy(verified.tcb, entry.policy);
  if (!result.ok) {
    throw new AttestationError(
      'SNP_TCB_TOO_LOW',
      `reported TCB ${JSON.stringify(verified.tcb)} does not meet the minimum ${JSON.stringify(entry.policy)} for CPUID ${entry.cpuid} (${result.component})`,
    );
  }
}

/** CCF's join answers (quote_verification_error), by refusal. */
const ccfMessages: Partial<Record<AttestationErrorCode, string>> = {
  VIRTUAL_REPORT_DATA_MISMATCH: "Quote report data does not contain node's public key hash",
  SNP_REPORT_DATA_MISMATCH: "Quote report data does not contain node's public key hash",
  VIRTUAL_MEASUREMENT_UNTRUSTED: 'Quote does not contain known enclave measurement',
  SNP_MEASUREMENT_UNTRUSTED: 'Quote does not contain known enclave measurement',
  VIRTUAL_HOST_DATA_UNTRUSTED: 'Quote host data is not authorised',
  SNP_HOST_DATA_UNTRUSTED: 'Quote host data is not authorised',
  SNP_TCB_NO_MINIMUM: 'Quote could not be verified: no minimum TCB for this CPUID',
  SNP_TCB_TOO_LOW: 'Quote could not be verified: TCB version below the minimum',
};

/**
 * The join endpoint's answer to a refusal: 401, CCF's message followed by our named reason, and
 * `details: {reason: <code>}`. Errors that are not refusals (bugs) are returned unchanged.
 */
export function toJoinRpcError(error: unknown): unknown {
  if (!(error instanceof AttestationError)) return error;
  if (error.httpStatus >= 500) return new RpcError('ServiceUnavailable', `${error.code}: ${error.message}`, { reason: error.code });
  const ccf = ccfMessages[error.code] ?? 'Quote could not be verified';
  return new RpcError('Unauthorized', `${ccf} (${error.code}): ${error.message}`, { reason: error.code });
}
