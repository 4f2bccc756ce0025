// The `virtual` attestation platform, after CCF's "Insecure_Virtual" quotes (src/pal/quote_generation.h):
// for development and tests on machines without a TEE. It is INSECURE and says so (`secure: false`):
// there is no hardware root and no signature, so anyone can write a report claiming any measurement.
// What verification can still check is structure and binding: the report must name a trusted
// measurement and host data and carry the expected report data (the node key digest).
//
// The report is JSON, as in CCF: {"measurement": hex, "host_data": hex, "report_data": base64}.
// Unlike CCF, whose virtual measurement is a fixed string, the measurement here is the SHA-256 of the
// node's code bundle, so that governance can still choose which code may join a virtual network.

import { createHash } from 'node:crypto';
import { equalBytes, normaliseHex, requireBytes, toHex } from './bytes.ts';
import { AttestationError } from './errors.ts';
import { virtualReportBytesMax } from './limits.ts';
import {
  checkCommonOptions,
  reportDataBytes,
  type AttestationPlatform,
  type Evidence,
  type VerifiedAttestation,
  type VerifyOptions,
} from './platform.ts';

export const virtualMeasurementBytes = 32;
export const virtualHostDataBytes = 32;

export interface VirtualPlatformConfig {
  /** Hex SHA-256 of the node's code bundle (see measureCodeBundle). */
  measurement: string;
  /** Hex, 32 bytes: whatever the operator binds to the launch (CCF uses a digest of the security policy). */
  hostData: string;
}

export interface VirtualReport {
  measurement: string;
  hostData: string;
  reportData: Uint8Array;
}

/** The virtual measurement of a code bundle: its SHA-256, in hex. */
export function measureCodeBundle(bundle: Uint8Array): string {
  requireBytes(bundle, 'bundle');
  return createHash('sha256').update(bundle).digest('hex');
}

export function createVirtualPlatform(config: VirtualPlatformConfig): AttestationPlatform {
  if (typeof config !== 'object' || config === null) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'virtual platform config must be an object');
  }
  const measurement = normaliseHex(config.measurement, virtualMeasurementBytes, 'measurement');
  const hostData = normaliseHex(config.hostData, virtualHostDataBytes, 'hostData');
  return {
    name: 'virtual',
    async produceReport(reportData: Uint8Array): Promise<Evidence> {
      requireBytes(reportData, 'reportData', reportDataBytes);
      return { format: 'Insecure_Virtual', report: encodeVirtualReport({ measurement, hostData, reportData }), endorsements: '' };
    },
    verifyReport(evidence: Evidence, options: VerifyOptions): VerifiedAttestation {
      if (evidence?.format !== 'Insecure_Virtual') {
        throw new AttestationError('ATTESTATION_FORMAT_UNSUPPORTED', `the virtual platform verifies Insecure_Virtual evidence, not ${String(evidence?.format)}`);
      }
      return verifyVirtualReport(evidence.report, evidence.endorsements, options);
    },
  };
}

export function encodeVirtualReport(report: VirtualReport): Uint8Array {
  const json = JSON.stringify({
    measurement: report.measurement,
    host_data: report.hostData,
    report_data: Buffer.from(report.reportData).toString('base64'),
  });
  return new TextEncoder().encode(json);
}

export function parseVirtualReport(bytes: Uint8Array): VirtualReport {
  const malformed = (message: string, cause?: unknown): AttestationError =>
    new AttestationError('VIRTUAL_REPORT_MALFORMED', `virtual report: ${message}`, cause === undefined ? undefined : { cause });
  requireBytes(bytes, 'report');
  if (bytes.length > virtualReportBytesMax) throw malformed(`${bytes.length} bytes, over ${virtualReportBytesMax}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw malformed('not UTF-8 JSON', error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('not a JSON object');
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields).sort().join(',');
  if (keys !== 'host_data,measurement,report_data') throw malformed(`expected exactly host_data, measurement and report_data, got ${keys}`);
  const { measurement, host_data: hostData, report_data: reportData } = fields;
  if (typeof measurement !== 'string' || typeof hostData !== 'string' || typeof reportData !== 'string') throw malformed('fields must be strings');
  const decoded = Buffer.from(reportData, 'base64');
  // Canonical base64 only, so that one report has one encoding.
  if (decoded.length !== reportDataBytes || decoded.toString('base64') !== reportData) {
    throw malformed(`report_data must be ${reportDataBytes} bytes of canonical base64`);
  }
  return {
    measurement: normaliseHex(measurement, virtualMeasurementBytes, 'measurement', 'VIRTUAL_REPORT_MALFORMED'),
    hostData: normaliseHex(hostData, virtualHostDataBytes, 'host_data', 'VIRTUAL_REPORT_MALFORMED'),
    reportData: new Uint8Array(decoded),
  };
}

/** Checks a virtual report's structure and binding. It proves nothing about the hardware. */
export function verifyVirtualReport(report: Uint8Array, endorsements: string | Uint8Array, options: VerifyOptions): VerifiedAttestation {
  const checked = checkCommonOptions(options, virtualMeasurementBytes, virtualHostDataBytes);
  if (typeof endorsements !== 'string' && !(endorsements instanceof Uint8Array)) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'endorsements must be a string or a Uint8Array');
  }
  if (endorsements.length !== 0) {
    throw new AttestationError('VIRTUAL_REPORT_MALFORMED', 'virtual evidence has no endorsements; refusing evidence that claims some');
  }
  const parsed = parseVirtualReport(report);
  if (checked.expectedReportData !== 'any' && !equalBytes(parsed.reportData, checked.expectedReportData)) {
    throw new AttestationError('VIRTUAL_REPORT_DATA_MISMATCH', `report data ${toHex(parsed.reportData)} is not the expected ${toHex(checked.expectedReportData)}`);
  }
  if (checked.trustedMeasurements !== 'any' && !checked.trustedMeasurements.has(parsed.measurement)) {
    throw new AttestationError('VIRTUAL_MEASUREMENT_UNTRUSTED', `measurement ${parsed.measurement} is not among the trusted measurements`);
  }
  if (checked.trustedHostData !== 'any' && !checked.trustedHostData.has(parsed.hostData)) {
    throw new AttestationError('VIRTUAL_HOST_DATA_UNTRUSTED', `host data ${parsed.hostData} is not among the trusted host data`);
  }
  return {
    platform: 'virtual',
    product: 'virtual',
    secure: false,
    measurement: parsed.measurement,
    hostData: parsed.hostData,
    reportData: parsed.reportData,
    tcb: null,
    chipId: null,
    policy: null,
    vmpl: null,
    reportVersion: null,
  };
}
