// Error catalogue for attestation, in client/src/attestation and re-exported by node/attestation (house
// style: one errors.ts per top-level folder, stable codes).
//
// Every refusal names the check that failed. Callers (the join endpoint, governance, auditors) branch
// on `code`, never on the message: messages may be reworded, codes may not. Codes are grouped by where
// they arise; the HTTP status is the one the join endpoint answers with when the error reaches it.

export const ATTESTATION_ERROR_CODES = {
  // Caller mistakes: the arguments, not the evidence, are wrong.
  ATTESTATION_INVALID_ARGUMENT: 400,
  // Evidence envelope.
  ATTESTATION_FORMAT_UNSUPPORTED: 400,
  ATTESTATION_VIRTUAL_NOT_ALLOWED: 403,
  // The insecure virtual platform.
  VIRTUAL_REPORT_MALFORMED: 400,
  VIRTUAL_REPORT_DATA_MISMATCH: 403,
  VIRTUAL_MEASUREMENT_UNTRUSTED: 403,
  VIRTUAL_HOST_DATA_UNTRUSTED: 403,
  // SEV-SNP report structure.
  SNP_REPORT_MALFORMED: 400,
  SNP_REPORT_VERSION_UNSUPPORTED: 400,
  SNP_SIGNATURE_ALGORITHM_UNSUPPORTED: 400,
  SNP_SIGNING_KEY_UNSUPPORTED: 400,
  // SEV-SNP endorsements (VCEK, ASK, ARK).
  SNP_ENDORSEMENTS_MALFORMED: 400,
  SNP_ROOT_OF_TRUST_UNKNOWN: 403,
  SNP_ROOT_OF_TRUST_MISMATCH: 403,
  SNP_CERT_CHAIN_INVALID: 403,
  SNP_CERT_EXPIRED: 403,
  SNP_VCEK_MISMATCH: 403,
  SNP_SIGNATURE_INVALID: 403,
  // SEV-SNP policy decisions, taken only after the signature verified.
  SNP_POLICY_UNKNOWN_BITS: 403,
  SNP_DEBUG_POLICY: 403,
  SNP_MIGRATION_AGENT: 403,
  SNP_VMPL_TOO_HIGH: 403,
  SNP_TCB_TOO_LOW: 403,
  // Governance set no minimum TCB for the report's processor (CPUID), or a v2 report names none.
  SNP_TCB_NO_MINIMUM: 403,
  SNP_REPORT_DATA_MISMATCH: 403,
  SNP_MEASUREMENT_UNTRUSTED: 403,
  SNP_HOST_DATA_UNTRUSTED: 403,
  // Producing reports and fetching endorsements (I/O at the edge).
  SNP_DEVICE_UNAVAILABLE: 503,
  SNP_DEVICE_FAILED: 500,
  SNP_ENDORSEMENTS_UNAVAILABLE: 503,
} as const;

export type AttestationErrorCode = keyof typeof ATTESTATION_ERROR_CODES;

export class AttestationError extends Error {
  readonly code: AttestationErrorCode;
  readonly httpStatus: number;

  constructor(code: AttestationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttestationError';
    this.code = code;
    this.httpStatus = ATTESTATION_ERROR_CODES[code];
  }
}

export function isAttestationError(error: unknown, code?: AttestationErrorCode): error is AttestationError {
  return error instanceof AttestationError && (code === undefined || error.code === code);
}
