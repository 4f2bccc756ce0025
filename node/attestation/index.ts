// node/attestation: node attestation after CCF (src/pal/attestation). A joining node sends evidence
// binding its public key to a measurement of its code; the network verifies it here before the node's
// join request goes any further. Platforms: `snp` (AMD SEV-SNP, secure) and `virtual` (no hardware,
// insecure, for development only and only when configured).

import { AttestationError } from './errors.ts';
import type { AttestationPlatform } from './platform.ts';
import { createSnpPlatform, type SnpPlatformConfig } from './snp/platform.ts';
import { createVirtualPlatform, type VirtualPlatformConfig } from './virtual.ts';

export { AttestationError, ATTESTATION_ERROR_CODES, isAttestationError, type AttestationErrorCode } from './errors.ts';
export {
  reportDataForPublicKey,
  type AttestationPlatform,
  type Evidence,
  type EvidenceFormat,
  type GuestPolicy,
  type MinimumTcb,
  type Product,
  type SnpProduct,
  type TcbVersion,
  type TrustedArk,
  type VerifiedAttestation,
  type VerifyOptions,
} from './platform.ts';
export { createVirtualPlatform, measureCodeBundle, verifyVirtualReport, type VirtualPlatformConfig } from './virtual.ts';
export { parseSnpReport, decodeTcb, productFromCpuid, type SnpReport } from './snp/report.ts';
export { verifySnpReport, type SnpVerifiedAttestation } from './snp/verify.ts';
export { pinnedArks } from './snp/roots.ts';
export { detectSnp, requestSnpReport, type SnpDetection, type SnpDeviceOptions, type TsmFileSystem } from './snp/device.ts';
export { createEndorsementsProvider, type EndorsementsProvider, type EndorsementsSource } from './snp/endorsements.ts';
export { createSnpPlatform, type SnpPlatformConfig } from './snp/platform.ts';

export { verifyEvidence, type EvidenceVerifyOptions } from '../../client/src/attestation/evidence.ts';

export type PlatformConfig = { platform: 'snp'; snp?: SnpPlatformConfig } | { platform: 'virtual'; virtual: VirtualPlatformConfig };

/** The platform this node attests with, exactly as configured: there is no silent fallback to virtual. */
export function createAttestationPlatform(config: PlatformConfig): AttestationPlatform {
  switch (config?.platform) {
    case 'snp':
      return createSnpPlatform(config.snp);
    case 'virtual':
      return createVirtualPlatform(config.virtual);
    default:
      throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', "platform must be 'snp' or 'virtual'");
  }
}
