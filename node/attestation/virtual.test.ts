import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttestationError } from './errors.ts';
import { reportDataForPublicKey, type VerifyOptions } from './platform.ts';
import { createVirtualPlatform, encodeVirtualReport, measureCodeBundle, parseVirtualReport, verifyVirtualReport } from './virtual.ts';

const bundle = new TextEncoder().encode('export function hello() { return "world"; }');
const measurement = measureCodeBundle(bundle);
const hostData = 'ab'.repeat(32);
const open: VerifyOptions = { expectedReportData: 'any', trustedMeasurements: 'any', trustedHostData: 'any', minimumTcb: 'any' };

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof AttestationError) return error.code;
    throw error;
  }
  return 'verified';
}

function nodeReportData(): Uint8Array {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  return reportDataForPublicKey(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
}

describe('the virtual platform', () => {
  it('round-trips a report and labels it insecure', async () => {
    const platform = createVirtualPlatform({ measurement, hostData });
    const reportData = nodeReportData();
    const evidence = await platform.produceReport(reportData);
    expect(evidence.format).toBe('Insecure_Virtual');
    expect(evidence.endorsements).toBe('');
    const result = platform.verifyReport(evidence, { ...open, expectedReportData: reportData, trustedMeasurements: [measurement], trustedHostData: [hostData] });
    expect(result).toEqual({
      platform: 'virtual',
      product: 'virtual',
      secure: false,
      measurement,
      hostData,
      reportData,
      tcb: null,
      chipId: null,
      policy: null,
      vmpl: null,
      reportVersion: null,
    });
  });

  it('measures a code bundle as its SHA-256', () => {
    expect(measureCodeBundle(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('round-trips any report data (property)', async () => {
    const platform = createVirtualPlatform({ measurement, hostData });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 64, maxLength: 64 }), async (reportData) => {
        const evidence = await platform.produceReport(reportData);
        expect(platform.verifyReport(evidence, { ...open, expectedReportData: reportData }).reportData).toEqual(reportData);
      }),
      { seed: 0x71, numRuns: 100 },
    );
  });

  it('refuses report data that does not bind the expected key', async () => {
    const evidence = await createVirtualPlatform({ measurement, hostData }).produceReport(nodeReportData());
    expect(codeOf(() => verifyVirtualReport(evidence.report, '', { ...open, expectedReportData: nodeReportData() }))).toBe('VIRTUAL_REPORT_DATA_MISMATCH');
  });

  it('refuses measurements and host data that governance did not trust', async () => {
    const evidence = await createVirtualPlatform({ measurement, hostData }).produceReport(new Uint8Array(64));
    expect(codeOf(() => verifyVirtualReport(evidence.report, '', { ...open, trustedMeasurements: [measureCodeBundle(Uint8Array.of(1))] }))).toBe('VIRTUAL_MEASUREMENT_UNTRUSTED');
    expect(codeOf(() => verifyVirtualReport(evidence.report, '', { ...open, trustedHostData: ['00'.repeat(32)] }))).toBe('VIRTUAL_HOST_DATA_UNTRUSTED');
    expect(verifyVirtualReport(evidence.report, '', { ...open, trustedMeasurements: [measurement.toUpperCase()] }).measurement).toBe(measurement);
  });

  it('refuses malformed reports', () => {
    const good = JSON.parse(new TextDecoder().decode(encodeVirtualReport({ measurement, hostData, reportData: new Uint8Array(64) })));
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const malformed: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(0xff, 0xfe),
      new TextEncoder().encode('not json'),
      encode([good]),
      encode(null),
      encode({ ...good, extra: 1 }),
      encode({ measurement, host_data: hostData }),
      encode({ ...good, measurement: 'Insecure hard-coded virtual measurement v1' }),
      encode({ ...good, measurement: measurement.slice(2) }),
      encode({ ...good, host_data: 7 }),
      encode({ ...good, report_data: Buffer.alloc(32).toString('base64') }),
      encode({ ...good, report_data: `${good.report_data}\n` }),
      encode({ ...good, report_data: '!'.repeat(88) }),
      new Uint8Array(5000).fill(0x20),
    ];
    for (const report of malformed) expect(codeOf(() => parseVirtualReport(report)), new TextDecoder().decode(report.subarray(0, 80))).toBe('VIRTUAL_REPORT_MALFORMED');
    const report = encodeVirtualReport({ measurement, hostData, reportData: new Uint8Array(64) });
    expect(codeOf(() => verifyVirtualReport(report, 'a certificate', open))).toBe('VIRTUAL_REPORT_MALFORMED');
  });

  it('never throws anything but an AttestationError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map((text) => new TextEncoder().encode(text))), (bytes) => {
        expect(codeOf(() => verifyVirtualReport(bytes, '', open))).toBe('VIRTUAL_REPORT_MALFORMED');
      }),
      { seed: 0x72, numRuns: 300 },
    );
  });

  it('validates its configuration and arguments', async () => {
    expect(codeOf(() => createVirtualPlatform({ measurement: 'xyz', hostData }))).toBe('ATTESTATION_INVALID_ARGUMENT');
    expect(codeOf(() => createVirtualPlatform({ measurement, hostData: 'ab' }))).toBe('ATTESTATION_INVALID_ARGUMENT');
    expect(codeOf(() => createVirtualPlatform(undefined as unknown as { measurement: string; hostData: string }))).toBe('ATTESTATION_INVALID_ARGUMENT');
    const platform = createVirtualPlatform({ measurement, hostData });
    await expect(platform.produceReport(new Uint8Array(63))).rejects.toMatchObject({ code: 'ATTESTATION_INVALID_ARGUMENT' });
    const evidence = await platform.produceReport(new Uint8Array(64));
    expect(codeOf(() => platform.verifyReport({ ...evidence, format: 'AMD_SEV_SNP_v1' }, open))).toBe('ATTESTATION_FORMAT_UNSUPPORTED');
    expect(codeOf(() => verifyVirtualReport(evidence.report, undefined as unknown as string, open))).toBe('ATTESTATION_INVALID_ARGUMENT');
  });
});
