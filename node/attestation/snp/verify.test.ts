import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { reportDataForPublicKey, type VerifyOptions } from '../platform.ts';
import { parseCertificate, splitPemBundle, verifyIssuedBy } from './certs.ts';
import { parseSnpReport } from './report.ts';
import { pinnedArkFingerprints, pinnedArks } from './roots.ts';
import { createTestChain, editReport, signReport, type TestChain } from './test-chain.ts';
import { verifySnpReport } from './verify.ts';
import { SNP_CONFORMANCE } from '../../../test/helpers/conformance.ts';
import { errorCodeOf } from '../test-helpers.ts';

const vectors = `${SNP_CONFORMANCE}/`;
const milanReport = new Uint8Array(readFileSync(`${vectors}milan-report.bin`));
const genoaReport = new Uint8Array(readFileSync(`${vectors}genoa-report.bin`));
const v2Report = new Uint8Array(readFileSync(`${vectors}v2_format_milan-report.bin`));
const milanChain = readFileSync(`${vectors}milan-endorsements.pem`, 'utf8');
const genoaChain = readFileSync(`${vectors}genoa-endorsements.pem`, 'utf8');

// The conformance VCEKs are valid from 2025 to 2032; fix the clock so these tests do not expire.
const now = new Date('2026-06-01T00:00:00Z');
const open: VerifyOptions = { expectedReportData: 'any', trustedMeasurements: 'any', trustedHostData: 'any', minimumTcb: 'any', now };
const milanMeasurement = '5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1';
const milanHostData = '4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10';
const milanTcb = { bootloader: 4, tee: 0, snp: 24, microcode: 219 };

const codeOf = (action: () => unknown): string => errorCodeOf(action, 'verified');

describe('the conformance reports verify with their own chains', () => {
  it('verifies the Milan report and recognises Milan from the pinned root', () => {
    const result = verifySnpReport(milanReport, milanChain, open);
    expect(result).toMatchObject({ platform: 'snp', product: 'Milan', secure: true, measurement: milanMeasurement, hostData: milanHostData, tcb: milanTcb, vmpl: 0, reportVersion: 3 });
    expect(result.chipId).toBe(toHex(parseSnpReport(milanReport).chipId));
    expect(toHex(result.reportData)).toBe('00'.repeat(64));
    expect(result.policy).toMatchObject({ debugAllowed: false, migrationAgentAllowed: false, smtAllowed: true });
  });

  it('verifies the Genoa report and recognises Genoa', () => {
    const result = verifySnpReport(genoaReport, genoaChain, open);
    expect(result).toMatchObject({ product: 'Genoa', secure: true, tcb: { bootloader: 10, tee: 0, snp: 23, microcode: 84 } });
  });

  it('accepts endorsements as bytes as well as text', () => {
    expect(verifySnpReport(milanReport, new TextEncoder().encode(milanChain), open).product).toBe('Milan');
  });

  it('fails on the root of trust when a report comes with the other product\'s chain', () => {
    expect(codeOf(() => verifySnpReport(milanReport, genoaChain, open))).toBe('SNP_ROOT_OF_TRUST_MISMATCH');
    expect(codeOf(() => verifySnpReport(genoaReport, milanChain, open))).toBe('SNP_ROOT_OF_TRUST_MISMATCH');
  });

  it('cannot verify the v2 report with the Milan chain here (its own VCEK is not in the data)', () => {
    // No CPUID in v2, so the product comes from the chain alone; the signature then decides.
    expect(codeOf(() => verifySnpReport(v2Report, milanChain, open))).toBe('SNP_SIGNATURE_INVALID');
  });

  it('checks the certificates are valid at the given time', () => {
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, now: new Date('2033-01-01T00:00:00Z') }))).toBe('SNP_CERT_EXPIRED');
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, now: new Date('2024-01-01T00:00:00Z') }))).toBe('SNP_CERT_EXPIRED');
  });
});

// Which refusal a flipped bit in the signed region must produce. Only the fields read before the
// signature (to find the key and the expected root) may fail differently; all else is the signature.
function expectedFlipCode(report: Uint8Array, byte: number, bit: number): string {
  const flipped = new Uint8Array(report);
  flipped[byte]! ^= 1 << bit;
  const view = new DataView(flipped.buffer);
  if (byte < 4 && view.getUint32(0, true) < 2) return 'SNP_REPORT_VERSION_UNSUPPORTED';
  if (byte >= 0x34 && byte < 0x38) return 'SNP_SIGNATURE_ALGORITHM_UNSUPPORTED';
  if (byte === 0x48 && bit >= 1 && bit <= 4) return 'SNP_SIGNING_KEY_UNSUPPORTED';
  if (byte === 0x189) {
    const model = flipped[0x189]!;
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return 'SNP_ROOT_OF_TRUST_MISMATCH';
  }
  return 'SNP_SIGNATURE_INVALID';
}

describe('tampering with a genuine report', () => {
  it('refuses every single-bit flip in the signed region 0x000-0x29F (672 x 8, exhaustive)', async () => {
    const refused = new Map<string, number>();
    for (let byte = 0; byte < 0x2a0; byte++) {
      // Yield now and then: a worker that blocks for a minute on a loaded machine misses vitest's RPC timeout.
      if (byte % 16 === 0) await yieldToEventLoop();
      for (let bit = 0; bit < 8; bit++) {
        const flipped = new Uint8Array(milanReport);
        flipped[byte]! ^= 1 << bit;
        const code = codeOf(() => verifySnpReport(flipped, milanChain, open));
        expect(code, `byte 0x${byte.toString(16)} bit ${bit}`).toBe(expectedFlipCode(milanReport, byte, bit));
        refused.set(code, (refused.get(code) ?? 0) + 1);
      }
    }
    expect([...refused.values()].reduce((a, b) => a + b, 0)).toBe(672 * 8);
    expect(refused.get('SNP_SIGNATURE_INVALID')).toBeGreaterThan(5300);
    // About 6 s on an idle core (one ECDSA P-384 verification per flip); allow for a shared machine.
  }, 120_000);

  it('refuses every single-bit flip in the 512-byte signature field (r, s, their padding, the reserved tail)', async () => {
    for (let byte = 0x2a0; byte < 0x4a0; byte++) {
      if (byte % 16 === 0) await yieldToEventLoop();
      for (let bit = 0; bit < 8; bit++) {
        const flipped = new Uint8Array(milanReport);
        flipped[byte]! ^= 1 << bit;
        expect(codeOf(() => verifySnpReport(flipped, milanChain, open)), `byte 0x${byte.toString(16)} bit ${bit}`).toBe('SNP_SIGNATURE_INVALID');
      }
    }
  });

  it('refuses an edited report that kept the original signature', () => {
    const edited = editReport(milanReport, { measurement: new Uint8Array(48).fill(1) });
    expect(codeOf(() => verifySnpReport(edited, milanChain, open))).toBe('SNP_SIGNATURE_INVALID');
  });

  it('refuses bit flips in the endorsement certificates (every 5th byte of each DER, one bit each)', () => {
    const certificates = splitPemBundle(milanChain);
    let checked = 0;
    for (let index = 0; index < certificates.length; index++) {
      for (let byte = 0; byte < certificates[index]!.length; byte += 5) {
        const damaged = certificates.map((der) => new Uint8Array(der));
        damaged[index]![byte]! ^= 1 << (byte % 8);
        const bundle = damaged.map((der) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`).join('');
        const code = codeOf(() => verifySnpReport(milanReport, bundle, open));
        expect(code, `certificate ${index} byte ${byte}`).not.toBe('verified');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(900);
  });
});

describe('endorsement structure', () => {
  const [vcek, ask, ark] = milanChain.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)!;

  it('needs exactly VCEK, ASK, ARK in that order', () => {
    expect(codeOf(() => verifySnpReport(milanReport, `${vcek}${ask}`, open))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(codeOf(() => verifySnpReport(milanReport, `${vcek}${ask}${ark}${ark}`, open))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(codeOf(() => verifySnpReport(milanReport, `${ark}${ask}${vcek}`, open))).toBe('SNP_ROOT_OF_TRUST_UNKNOWN');
    expect(codeOf(() => verifySnpReport(milanReport, `${ask}${vcek}${ark}`, open))).toBe('SNP_CERT_CHAIN_INVALID');
  });

  it('refuses text outside the PEM blocks, bad base64, non-UTF-8 bytes and oversized bundles', () => {
    expect(codeOf(() => verifySnpReport(milanReport, `hello\n${milanChain}`, open))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(codeOf(() => verifySnpReport(milanReport, milanChain.replace('MIIF', 'MII*'), open))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(codeOf(() => verifySnpReport(milanReport, Uint8Array.of(0xff, 0xfe), open))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(codeOf(() => verifySnpReport(milanReport, milanChain.repeat(20), open))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(codeOf(() => verifySnpReport(milanReport, '', open))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(codeOf(() => verifySnpReport(milanReport, 42 as unknown as string, open))).toBe('ATTESTATION_INVALID_ARGUMENT');
  });
});

describe('binding and trusted values on a genuine report', () => {
  it('refuses report data that is not the expected node key digest', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const expected = reportDataForPublicKey(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, expectedReportData: expected }))).toBe('SNP_REPORT_DATA_MISMATCH');
    expect(verifySnpReport(milanReport, milanChain, { ...open, expectedReportData: new Uint8Array(64) }).product).toBe('Milan');
  });

  it('accepts only trusted measurements and host data', () => {
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, trustedMeasurements: ['00'.repeat(48)] }))).toBe('SNP_MEASUREMENT_UNTRUSTED');
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, trustedMeasurements: [] }))).toBe('SNP_MEASUREMENT_UNTRUSTED');
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, trustedHostData: ['00'.repeat(32)] }))).toBe('SNP_HOST_DATA_UNTRUSTED');
    const trusted = { ...open, trustedMeasurements: ['00'.repeat(48), milanMeasurement.toUpperCase()], trustedHostData: [milanHostData] };
    expect(verifySnpReport(milanReport, milanChain, trusted).measurement).toBe(milanMeasurement);
  });

  it('enforces a per-product minimum reported TCB', () => {
    expect(verifySnpReport(milanReport, milanChain, { ...open, minimumTcb: { Milan: milanTcb } }).tcb).toEqual(milanTcb);
    for (const field of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
      const minimum = { ...milanTcb, [field]: milanTcb[field] + 1 };
      expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, minimumTcb: { Milan: minimum } })), field).toBe('SNP_TCB_TOO_LOW');
    }
    // No entry for the report's product: refused, as CCF refuses a CPUID without a minimum.
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, minimumTcb: { Genoa: { bootloader: 0, tee: 0, snp: 0, microcode: 0 } } }))).toBe('SNP_TCB_TOO_LOW');
  });

  it('validates the options themselves', () => {
    const bad: Partial<VerifyOptions>[] = [
      { expectedReportData: new Uint8Array(32) },
      { trustedMeasurements: ['zz'] },
      { trustedMeasurements: ['00'.repeat(32)] },
      { trustedHostData: 'all' as unknown as 'any' },
      { vmplMax: 4 },
      { vmplMax: 0.5 },
      { now: new Date('nonsense') },
      { minimumTcb: { Milan: { bootloader: 256, tee: 0, snp: 0, microcode: 0 } } },
      { minimumTcb: { Turin: { bootloader: 0, tee: 0, snp: 0, microcode: 0 } } },
      { minimumTcb: { Rome: milanTcb } as unknown as VerifyOptions['minimumTcb'] },
      { trustedArks: [] },
    ];
    for (const override of bad) {
      expect(codeOf(() => verifySnpReport(milanReport, milanChain, { ...open, ...override })), JSON.stringify(override)).toBe('ATTESTATION_INVALID_ARGUMENT');
    }
  });
});

describe('the pinned AMD roots', () => {
  it('are the ARKs of the conformance chains, byte for byte, and match their pinned fingerprints', () => {
    const der = (pem: string) => splitPemBundle(pem)[0]!;
    expect(Buffer.from(der(pinnedArks.find((ark) => ark.product === 'Milan')!.certificatePem))).toEqual(Buffer.from(splitPemBundle(milanChain)[2]!));
    expect(Buffer.from(der(pinnedArks.find((ark) => ark.product === 'Genoa')!.certificatePem))).toEqual(Buffer.from(splitPemBundle(genoaChain)[2]!));
    for (const ark of pinnedArks) {
      expect(createHash('sha256').update(der(ark.certificatePem)).digest('hex')).toBe(pinnedArkFingerprints[ark.product]);
    }
  });

  it('include the Turin root that signs AMD\'s SEV-Turin ASK (no Turin report is in our vectors)', () => {
    const turinArk = parseCertificate(splitPemBundle(pinnedArks.find((ark) => ark.product === 'Turin')!.certificatePem)[0]!);
    const turinAsk = parseCertificate(splitPemBundle(readFileSync(new URL('./testdata/turin-ask.pem', import.meta.url), 'utf8'))[0]!);
    expect(() => verifyIssuedBy(turinAsk, turinArk, 'SEV-Turin')).not.toThrow();
    const milanArk = parseCertificate(splitPemBundle(pinnedArks.find((ark) => ark.product === 'Milan')!.certificatePem)[0]!);
    expect(() => verifyIssuedBy(turinAsk, milanArk, 'SEV-Turin')).toThrow(expect.objectContaining({ code: 'SNP_CERT_CHAIN_INVALID' }));
  });

  it('are self-signed AMD root certificates, one per product', () => {
    expect(pinnedArks.map((ark) => ark.product)).toEqual(['Milan', 'Genoa', 'Turin']);
    for (const ark of pinnedArks) {
      const certificate = new X509Certificate(ark.certificatePem);
      expect(certificate.subject).toContain(`CN=ARK-${ark.product}`);
      expect(certificate.verify(certificate.publicKey)).toBe(true);
      expect(parseCertificate(splitPemBundle(ark.certificatePem)[0]!).isCa).toBe(true);
    }
  });
});

describe('policy refusals on reports re-signed with a throwaway chain', () => {
  const chipId = Uint8Array.from({ length: 64 }, (_, index) => 0x40 + index);
  let chain: TestChain;
  let withFakeRoot: VerifyOptions;
  const make = (edits: Parameters<typeof editReport>[1]) =>
    signReport(editReport(milanReport, { chipId, reportedTcb: { tcb: milanTcb, product: 'Milan' }, ...edits }), chain.vcekPrivateKey);

  beforeAll(() => {
    chain = createTestChain({ product: 'Milan', chipId, tcb: milanTcb });
    withFakeRoot = { ...open, trustedArks: [chain.trustedArk] };
  });

  it('verifies an unedited re-signed report once the fake root is injected', () => {
    const result = verifySnpReport(make({}), chain.endorsements, withFakeRoot);
    expect(result).toMatchObject({ product: 'Milan', measurement: milanMeasurement, chipId: toHex(chipId) });
  });

  it('refuses the fake root unless it is injected: it is not a pinned AMD ARK', () => {
    expect(codeOf(() => verifySnpReport(make({}), chain.endorsements, open))).toBe('SNP_ROOT_OF_TRUST_UNKNOWN');
  });

  it('uses injected roots instead of the pinned ones, not in addition', () => {
    expect(codeOf(() => verifySnpReport(milanReport, milanChain, withFakeRoot))).toBe('SNP_ROOT_OF_TRUST_UNKNOWN');
  });

  it('refuses a debug-enabled policy', () => {
    expect(codeOf(() => verifySnpReport(make({ policy: 0x3001fn | (1n << 19n) }), chain.endorsements, withFakeRoot))).toBe('SNP_DEBUG_POLICY');
  });

  it('refuses a policy that allows a migration agent', () => {
    expect(codeOf(() => verifySnpReport(make({ policy: 0x3001fn | (1n << 18n) }), chain.endorsements, withFakeRoot))).toBe('SNP_MIGRATION_AGENT');
  });

  it('refuses policy bits it does not understand, and a cleared must-be-one bit', () => {
    expect(codeOf(() => verifySnpReport(make({ policy: 0x3001fn | (1n << 40n) }), chain.endorsements, withFakeRoot))).toBe('SNP_POLICY_UNKNOWN_BITS');
    expect(codeOf(() => verifySnpReport(make({ policy: 0x1001fn }), chain.endorsements, withFakeRoot))).toBe('SNP_POLICY_UNKNOWN_BITS');
  });

  it('accepts the other known policy bits (single socket, ciphertext hiding, …)', () => {
    const policy = 0x3001fn | (1n << 20n) | (1n << 22n) | (1n << 24n) | (1n << 25n);
    expect(verifySnpReport(make({ policy }), chain.endorsements, withFakeRoot).policy).toMatchObject({ singleSocketRequired: true, ciphertextHidingRequired: true });
  });

  it('refuses a VMPL above the allowed level (default 0)', () => {
    const report = make({ vmpl: 2 });
    expect(codeOf(() => verifySnpReport(report, chain.endorsements, withFakeRoot))).toBe('SNP_VMPL_TOO_HIGH');
    expect(codeOf(() => verifySnpReport(report, chain.endorsements, { ...withFakeRoot, vmplMax: 1 }))).toBe('SNP_VMPL_TOO_HIGH');
    expect(verifySnpReport(report, chain.endorsements, { ...withFakeRoot, vmplMax: 2 }).vmpl).toBe(2);
    // Host-generated reports have VMPL above 3; no option lets them through.
    expect(codeOf(() => verifySnpReport(make({ vmpl: 4 }), chain.endorsements, { ...withFakeRoot, vmplMax: 3 }))).toBe('SNP_VMPL_TOO_HIGH');
  });

  it('binds the report data: accepts the expected node key digest, refuses another', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const reportData = reportDataForPublicKey(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
    const report = make({ reportData });
    expect(verifySnpReport(report, chain.endorsements, { ...withFakeRoot, expectedReportData: reportData }).reportData).toEqual(reportData);
    const other = new Uint8Array(reportData);
    other[63] = 1; // Same digest, non-zero padding: refused, all 64 bytes are compared.
    expect(codeOf(() => verifySnpReport(report, chain.endorsements, { ...withFakeRoot, expectedReportData: other }))).toBe('SNP_REPORT_DATA_MISMATCH');
  });

  it('refuses reports signed by a VLEK, with the chip key masked, or with another algorithm', () => {
    expect(codeOf(() => verifySnpReport(make({ keyInfo: 1 << 2 }), chain.endorsements, withFakeRoot))).toBe('SNP_SIGNING_KEY_UNSUPPORTED');
    expect(codeOf(() => verifySnpReport(make({ keyInfo: 0b10 }), chain.endorsements, withFakeRoot))).toBe('SNP_SIGNING_KEY_UNSUPPORTED');
    const algorithm2 = editReport(milanReport, { chipId });
    new DataView(algorithm2.buffer).setUint32(0x34, 2, true);
    expect(codeOf(() => verifySnpReport(signReport(algorithm2, chain.vcekPrivateKey), chain.endorsements, withFakeRoot))).toBe('SNP_SIGNATURE_ALGORITHM_UNSUPPORTED');
  });

  it('accepts newer report versions with the same layout, and a v2 report (product from the chain)', () => {
    expect(verifySnpReport(make({ version: 5 }), chain.endorsements, withFakeRoot).reportVersion).toBe(5);
    const v2 = make({ version: 2, cpuid: { family: 0, model: 0, stepping: 0 } });
    expect(verifySnpReport(v2, chain.endorsements, withFakeRoot)).toMatchObject({ reportVersion: 2, product: 'Milan' });
    expect(codeOf(() => verifySnpReport(make({ version: 1 }), chain.endorsements, withFakeRoot))).toBe('SNP_REPORT_VERSION_UNSUPPORTED');
  });

  it('refuses a report whose CPUID names another product than its root', () => {
    expect(codeOf(() => verifySnpReport(make({ cpuid: { family: 0x1a, model: 0x02, stepping: 0 } }), chain.endorsements, withFakeRoot))).toBe('SNP_ROOT_OF_TRUST_MISMATCH');
  });
});

describe('the VCEK must be the one issued for this chip and TCB', () => {
  const chipId = Uint8Array.from({ length: 64 }, (_, index) => 0x80 + index);
  const sign = (chain: TestChain, edits: Parameters<typeof editReport>[1] = {}) =>
    signReport(editReport(milanReport, { chipId, reportedTcb: { tcb: milanTcb, product: 'Milan' }, ...edits }), chain.vcekPrivateKey);
  const options = (chain: TestChain): VerifyOptions => ({ ...open, trustedArks: [chain.trustedArk] });

  it('refuses a VCEK issued for another chip', () => {
    const chain = createTestChain({ product: 'Milan', chipId: new Uint8Array(64).fill(7), tcb: milanTcb });
    expect(codeOf(() => verifySnpReport(sign(chain), chain.endorsements, options(chain)))).toBe('SNP_VCEK_MISMATCH');
  });

  it('refuses a VCEK issued for another TCB, field by field', () => {
    for (const field of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
      const chain = createTestChain({ product: 'Milan', chipId, tcb: { ...milanTcb, [field]: milanTcb[field] + 1 } });
      expect(codeOf(() => verifySnpReport(sign(chain), chain.endorsements, options(chain))), field).toBe('SNP_VCEK_MISMATCH');
    }
  });

  it('refuses a VCEK without a hardware ID, or naming another product; accepts one without a product name', () => {
    const noId = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, omitHardwareId: true });
    expect(codeOf(() => verifySnpReport(sign(noId), noId.endorsements, options(noId)))).toBe('SNP_VCEK_MISMATCH');
    const genoaName = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, productName: 'Genoa' });
    expect(codeOf(() => verifySnpReport(sign(genoaName), genoaName.endorsements, options(genoaName)))).toBe('SNP_VCEK_MISMATCH');
    const stepping = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, productName: 'Milan-B0' });
    expect(verifySnpReport(sign(stepping), stepping.endorsements, options(stepping)).product).toBe('Milan');
    const unnamed = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, productName: null });
    expect(verifySnpReport(sign(unnamed), unnamed.endorsements, options(unnamed)).product).toBe('Milan');
  });

  it('refuses a chain signed with PKCS#1 v1.5 instead of RSASSA-PSS', () => {
    const chain = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, vcekScheme: 'pkcs1' });
    expect(codeOf(() => verifySnpReport(sign(chain), chain.endorsements, options(chain)))).toBe('SNP_CERT_CHAIN_INVALID');
  });

  it('refuses a certificate whose declared PSS parameters are not SHA-384/48, even if it verifies as such', () => {
    const chain = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, vcekScheme: 'pss-labelled-sha256' });
    expect(codeOf(() => verifySnpReport(sign(chain), chain.endorsements, options(chain)))).toBe('SNP_CERT_CHAIN_INVALID');
  });

  it('refuses a chain whose ASK is not a CA, or whose VCEK names another issuer', () => {
    const notCa = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, askNotCa: true });
    expect(codeOf(() => verifySnpReport(sign(notCa), notCa.endorsements, options(notCa)))).toBe('SNP_CERT_CHAIN_INVALID');
    const renamed = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, vcekIssuerName: 'SEV-Genoa' });
    expect(codeOf(() => verifySnpReport(sign(renamed), renamed.endorsements, options(renamed)))).toBe('SNP_CERT_CHAIN_INVALID');
  });

  it('refuses an expired VCEK', () => {
    const chain = createTestChain({ product: 'Milan', chipId, tcb: milanTcb, vcekNotAfter: new Date('2025-01-01T00:00:00Z') });
    expect(codeOf(() => verifySnpReport(sign(chain), chain.endorsements, options(chain)))).toBe('SNP_CERT_EXPIRED');
  });

  it('verifies a Turin report with the Turin TCB layout and the 8-byte hardware ID', () => {
    const turinTcb = { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 81 };
    const chain = createTestChain({ product: 'Turin', chipId, tcb: turinTcb });
    const turinChipId = new Uint8Array(64);
    turinChipId.set(chipId.subarray(0, 8));
    const report = signReport(
      editReport(milanReport, { chipId: turinChipId, cpuid: { family: 0x1a, model: 0x02, stepping: 0 }, reportedTcb: { tcb: turinTcb, product: 'Turin' } }),
      chain.vcekPrivateKey,
    );
    const result = verifySnpReport(report, chain.endorsements, { ...options(chain), minimumTcb: { Turin: turinTcb } });
    expect(result).toMatchObject({ product: 'Turin', tcb: turinTcb });
    expect(codeOf(() => verifySnpReport(report, chain.endorsements, { ...options(chain), minimumTcb: { Turin: { ...turinTcb, fmc: 2 } } }))).toBe('SNP_TCB_TOO_LOW');
    // Read with the Milan layout, the same bytes would give another TCB: the VCEK check catches it.
    const asMilan = createTestChain({ product: 'Milan', chipId, tcb: turinTcb });
    const milanCpuid = signReport(editReport(report, { cpuid: { family: 0x19, model: 0x01, stepping: 0 } }), asMilan.vcekPrivateKey);
    expect(codeOf(() => verifySnpReport(milanCpuid, asMilan.endorsements, options(asMilan)))).toBe('SNP_VCEK_MISMATCH');
  });
});

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
