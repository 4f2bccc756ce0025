// The `snp` attestation platform (AMD SEV-SNP, as in confidential VMs and containers): produces
// reports through configfs-tsm (device.ts) with endorsements from the host or a configured source
// (endorsements.ts), and verifies reports with snp/verify.ts.

import { AttestationError } from '../errors.ts';
import type { AttestationPlatform, Evidence, VerifiedAttestation, VerifyOptions } from '../platform.ts';
import { derToPem } from './certs.ts';
import { certificateTableGuid, detectSnp, parseCertificateTable, requestSnpReport, type SnpDeviceOptions } from './device.ts';
import type { EndorsementsProvider } from './endorsements.ts';
import { parseSnpReport } from './report.ts';
import { verifySnpReport } from './verify.ts';

export interface SnpPlatformConfig {
  device?: SnpDeviceOptions;
  /** Used when the host's certificate table does not hold VCEK, ASK and ARK. */
  endorsements?: EndorsementsProvider;
}

/** The PEM bundle VCEK, ASK, ARK from the host's certificate table, or null if any is missing. */
export function endorsementsFromCertificateTable(auxblob: Uint8Array): string | null {
  if (auxblob.length === 0) return null;
  const entries = parseCertificateTable(auxblob);
  const find = (guid: string) => entries.find((entry) => entry.guid === guid)?.certificate;
  const [vcek, ask, ark] = [find(certificateTableGuid.vcek), find(certificateTableGuid.ask), find(certificateTableGuid.ark)];
  if (vcek === undefined || ask === undefined || ark === undefined) return null;
  return [vcek, ask, ark].map(derToPem).join('');
}

export function createSnpPlatform(config: SnpPlatformConfig = {}): AttestationPlatform {
  return {
    name: 'snp',
    async produceReport(reportData: Uint8Array): Promise<Evidence> {
      const detection = await detectSnp(config.device);
      if (!detection.available) throw new AttestationError('SNP_DEVICE_UNAVAILABLE', detection.reason);
      const { report, auxblob } = await requestSnpReport(reportData, config.device);
      let endorsements = endorsementsFromCertificateTable(auxblob);
      if (endorsements === null) {
        if (config.endorsements === undefined) {
          throw new AttestationError('SNP_ENDORSEMENTS_UNAVAILABLE', 'the host supplied no VCEK/ASK/ARK and no endorsements source is configured');
        }
        endorsements = await config.endorsements.get(parseSnpReport(report));
      }
      return { format: 'AMD_SEV_SNP_v1', report, endorsements };
    },
    verifyReport(evidence: Evidence, options: VerifyOptions): VerifiedAttestation {
      if (evidence?.format !== 'AMD_SEV_SNP_v1') {
        throw new AttestationError('ATTESTATION_FORMAT_UNSUPPORTED', `the snp platform verifies AMD_SEV_SNP_v1 evidence, not ${String(evidence?.format)}`);
      }
      return verifySnpReport(evidence.report, evidence.endorsements, options);
    },
  };
}
