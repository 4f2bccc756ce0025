// Verifying evidence of any supported format (CCF's quote formats): the dispatch both the node's join
// policy (via node/attestation) and the client's offline service verifier use.

import { AttestationError } from './errors.ts';
import type { Evidence, VerifiedAttestation, VerifyOptions } from './platform.ts';
import { verifySnpReport } from './snp/verify.ts';
import { verifyVirtualReport } from './virtual.ts';

export interface EvidenceVerifyOptions extends VerifyOptions {
  /** Accept `Insecure_Virtual` evidence. Off unless the service is configured as a virtual network. */
  allowVirtual?: boolean;
}

/** Verifies evidence of any supported format; the join path calls this. */
export function verifyEvidence(evidence: Evidence, options: EvidenceVerifyOptions): VerifiedAttestation {
  if (typeof evidence !== 'object' || evidence === null) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'evidence must be an object');
  }
  switch (evidence.format) {
    case 'AMD_SEV_SNP_v1':
      return verifySnpReport(evidence.report, evidence.endorsements, options);
    case 'Insecure_Virtual':
      if (options?.allowVirtual !== true) {
        throw new AttestationError('ATTESTATION_VIRTUAL_NOT_ALLOWED', 'virtual (insecure) evidence is not accepted: this service is not configured for virtual nodes');
      }
      return verifyVirtualReport(evidence.report, evidence.endorsements, options);
    default:
      throw new AttestationError('ATTESTATION_FORMAT_UNSUPPORTED', `evidence format ${JSON.stringify(String(evidence.format))} is not supported`);
  }
}
