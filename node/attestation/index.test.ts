import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ATTESTATION_ERROR_CODES,
  AttestationError,
  createAttestationPlatform,
  createVirtualPlatform,
  isAttestationError,
  reportDataForPublicKey,
  verifyEvidence,
  type EvidenceVerifyOptions,
} from './index.ts';
import { SNP_CONFORMANCE } from '../../test/helpers/conformance.ts';
import { errorCodeOf } from './test-helpers.ts';

const vectors = `${SNP_CONFORMANCE}/`;
const open: EvidenceVerifyOptions = {
  expectedReportData: 'any',
  trustedMeasurements: 'any',
  trustedHostData: 'any',
  minimumTcb: 'any',
  now: new Date('2026-06-01T00:00:00Z'),
};

const codeOf = (action: () => unknown): string => errorCodeOf(action, 'verified');

describe('verifyEvidence', () => {
  it('verifies SEV-SNP evidence', () => {
    const evidence = {
      format: 'AMD_SEV_SNP_v1' as const,
      report: new Uint8Array(readFileSync(`${vectors}genoa-report.bin`)),
      endorsements: readFileSync(`${vectors}genoa-endorsements.pem`, 'utf8'),
    };
    expect(verifyEvidence(evidence, open)).toMatchObject({ platform: 'snp', product: 'Genoa', secure: true });
  });

  it('refuses virtual evidence unless virtual nodes are allowed', async () => {
    const platform = createVirtualPlatform({ measurement: '11'.repeat(32), hostData: '22'.repeat(32) });
    const evidence = await platform.produceReport(new Uint8Array(64));
    expect(codeOf(() => verifyEvidence(evidence, open))).toBe('ATTESTATION_VIRTUAL_NOT_ALLOWED');
    expect(codeOf(() => verifyEvidence(evidence, { ...open, allowVirtual: 'yes' as unknown as boolean }))).toBe('ATTESTATION_VIRTUAL_NOT_ALLOWED');
    expect(verifyEvidence(evidence, { ...open, allowVirtual: true })).toMatchObject({ platform: 'virtual', secure: false });
  });

  it('refuses unknown formats and non-objects', () => {
    const report = new Uint8Array(1184);
    expect(codeOf(() => verifyEvidence({ format: 'OE_SGX_v1' as 'AMD_SEV_SNP_v1', report, endorsements: '' }, open))).toBe('ATTESTATION_FORMAT_UNSUPPORTED');
    expect(codeOf(() => verifyEvidence(null as unknown as Parameters<typeof verifyEvidence>[0], open))).toBe('ATTESTATION_INVALID_ARGUMENT');
  });
});

describe('reportDataForPublicKey', () => {
  it('is SHA-256 of the public key DER in the first 32 bytes and zeros after, as CCF binds it', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const der = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const reportData = reportDataForPublicKey(der);
    expect(reportData.length).toBe(64);
    expect(Buffer.from(reportData.subarray(0, 32))).toEqual(createHash('sha256').update(der).digest());
    expect(reportData.subarray(32).every((byte) => byte === 0)).toBe(true);
  });

  it('refuses anything but non-empty bytes', () => {
    expect(codeOf(() => reportDataForPublicKey(new Uint8Array(0)))).toBe('ATTESTATION_INVALID_ARGUMENT');
    expect(codeOf(() => reportDataForPublicKey('key' as unknown as Uint8Array))).toBe('ATTESTATION_INVALID_ARGUMENT');
  });
});

describe('createAttestationPlatform', () => {
  it('creates exactly the configured platform', () => {
    expect(createAttestationPlatform({ platform: 'snp' }).name).toBe('snp');
    expect(createAttestationPlatform({ platform: 'virtual', virtual: { measurement: '11'.repeat(32), hostData: '22'.repeat(32) } }).name).toBe('virtual');
    expect(codeOf(() => createAttestationPlatform({ platform: 'sgx' } as unknown as Parameters<typeof createAttestationPlatform>[0]))).toBe('ATTESTATION_INVALID_ARGUMENT');
  });
});

describe('the error catalogue', () => {
  it('gives every code an HTTP status and keeps code and status on the error', () => {
    for (const [code, status] of Object.entries(ATTESTATION_ERROR_CODES)) {
      expect([400, 403, 500, 503]).toContain(status);
      const error = new AttestationError(code as keyof typeof ATTESTATION_ERROR_CODES, 'message');
      expect(error).toMatchObject({ code, httpStatus: status, name: 'AttestationError' });
      expect(isAttestationError(error, error.code)).toBe(true);
    }
    expect(isAttestationError(new Error('x'))).toBe(false);
  });
});
