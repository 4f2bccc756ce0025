import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { AttestationError } from '../errors.ts';
import {
  decodeGuestPolicy,
  decodePlatformInfo,
  decodeTcb,
  encodeTcb,
  kdsHardwareId,
  parseSnpReport,
  productFromCpuid,
  snpReportBytes,
  tcbU64Hex,
} from './report.ts';
import { SNP_CONFORMANCE } from '../../../test/helpers/conformance.ts';

const vectors = `${SNP_CONFORMANCE}/`;
const milan = new Uint8Array(readFileSync(`${vectors}milan-report.bin`));
const genoa = new Uint8Array(readFileSync(`${vectors}genoa-report.bin`));
const v2Milan = new Uint8Array(readFileSync(`${vectors}v2_format_milan-report.bin`));

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof AttestationError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('parseSnpReport on the conformance reports', () => {
  it('reads every field of the Milan v3 report at the ABI offsets', () => {
    const report = parseSnpReport(milan);
    expect(report.version).toBe(3);
    expect(report.guestSvn).toBe(2);
    expect(report.policy.rawHex).toBe('000000000003001f');
    expect(report.policy).toMatchObject({ abiMinor: 0x1f, abiMajor: 0, smtAllowed: true, reservedBitSet: true, debugAllowed: false, migrationAgentAllowed: false, unknownBits: [] });
    expect(toHex(report.familyId)).toBe(`01${'00'.repeat(15)}`);
    expect(toHex(report.imageId)).toBe(`02${'00'.repeat(15)}`);
    expect(report.vmpl).toBe(0);
    expect(report.signatureAlgorithm).toBe(1);
    expect(report.platformInfo).toMatchObject({ smtEnabled: true, tsmeEnabled: false, eccEnabled: true, aliasCheckComplete: true, rawHex: '0000000000000025' });
    expect(report).toMatchObject({ authorKeyEnabled: false, maskChipKey: false, signingKey: 0 });
    expect(toHex(report.reportData)).toBe('00'.repeat(64));
    expect(toHex(report.measurement)).toBe(
      '5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1',
    );
    expect(toHex(report.hostData)).toBe('4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10');
    expect(toHex(report.idKeyDigest)).toBe('0ad79ceb0b648b0e6a90d8aa9f6ea24c33a968b6632085353145e8b19a4741a2dab9ba342e13be4fc0d225e889cc1a58');
    expect(toHex(report.authorKeyDigest)).toBe('00'.repeat(48));
    expect(toHex(report.reportId)).toBe('5e01036273418d910bdca3f5cb9c7d849e88e2141483eb6cc9afd794ffbbbcbc');
    expect(toHex(report.reportIdMa)).toBe('ff'.repeat(32));
    expect(decodeTcb(report.tcbRaw.reported, 'Milan')).toEqual({ bootloader: 4, tee: 0, snp: 24, microcode: 219 });
    expect(decodeTcb(report.tcbRaw.current, 'Milan')).toEqual({ bootloader: 4, tee: 0, snp: 24, microcode: 219 });
    expect(decodeTcb(report.tcbRaw.committed, 'Milan')).toEqual({ bootloader: 4, tee: 0, snp: 24, microcode: 219 });
    expect(decodeTcb(report.tcbRaw.launch, 'Milan')).toEqual({ bootloader: 4, tee: 0, snp: 24, microcode: 219 });
    expect(report.cpuid).toEqual({ family: 0x19, model: 0x01, stepping: 0x01 });
    expect(toHex(report.chipId)).toBe(
      '4ffb5cb4fd594f3fee6528fc3fb10370bb38abe89dcd5ba2cf0ab6a11df2ca282add516bef45a890a8c9f9732bdca68f9f3f16c42e846030a800295dbeb19ba5',
    );
    expect(report.currentFirmware).toEqual({ major: 1, minor: 55, build: 29 });
    expect(report.committedFirmware).toEqual({ major: 1, minor: 55, build: 29 });
    expect(report.launchMitigationVectorHex).toBeNull();
    expect(toHex(report.signatureR).slice(0, 8)).toBe('c4c97ce6');
    expect(report.signedBytes.length).toBe(0x2a0);
    expect(report.signatureField.length).toBe(512);
  });

  it('reads the Genoa report, whose CPUID names Genoa', () => {
    const report = parseSnpReport(genoa);
    expect(report.version).toBe(3);
    expect(report.cpuid).toEqual({ family: 0x19, model: 0x11, stepping: 0x01 });
    expect(productFromCpuid(report.cpuid)).toBe('Genoa');
    expect(decodeTcb(report.tcbRaw.reported, 'Genoa')).toEqual({ bootloader: 10, tee: 0, snp: 23, microcode: 84 });
    expect(report.platformInfo.tsmeEnabled).toBe(true);
    expect(report.currentFirmware).toEqual({ major: 1, minor: 55, build: 40 });
    // The URL form Azure's certificate cache and CCF use for this report.
    expect(tcbU64Hex(report.tcbRaw.reported)).toBe('541700000000000a');
  });

  it('reads the v2-format report: version 2, no CPUID, CCF-style report data', () => {
    const report = parseSnpReport(v2Milan);
    expect(report.version).toBe(2);
    expect(report.cpuid).toBeNull();
    expect(productFromCpuid(report.cpuid)).toBeNull();
    expect(report.vmpl).toBe(0);
    expect(report.signatureAlgorithm).toBe(1);
    expect(report.policy.debugAllowed).toBe(false);
    expect(report.currentFirmware).toEqual({ major: 1, minor: 52, build: 4 });
    // CCF binds SHA-256 of the node key into the first half and leaves the second half zero.
    expect(toHex(report.reportData)).toBe(`7a6a68c0a2b85b8aae00ca04f644831680222f44167e5558a9e072b70c60e958${'00'.repeat(32)}`);
    expect(toHex(report.measurement)).toBe(
      '02c3b0d5bf1d256fa4e3b5deefc07b55ff2f7029085ed350f60959140a1a51f1310753ba5ab2c03a0536b1c0c193af47',
    );
    expect(decodeTcb(report.tcbRaw.reported, 'Milan')).toEqual({ bootloader: 3, tee: 0, snp: 8, microcode: 115 });
  });

  it('keeps a private copy, so later changes to the input do not show through', () => {
    const input = new Uint8Array(milan);
    const report = parseSnpReport(input);
    input.fill(0xee);
    expect(report.version).toBe(3);
    expect(toHex(report.measurement).slice(0, 8)).toBe('5feee30d');
  });
});

describe('parseSnpReport refuses what it cannot read', () => {
  it('refuses every length but 1184 with SNP_REPORT_MALFORMED', () => {
    for (let length = 0; length < snpReportBytes; length++) {
      expect(codeOf(() => parseSnpReport(milan.subarray(0, length)))).toBe('SNP_REPORT_MALFORMED');
    }
    const longer = new Uint8Array(snpReportBytes + 1);
    longer.set(milan);
    expect(codeOf(() => parseSnpReport(longer))).toBe('SNP_REPORT_MALFORMED');
  });

  it('refuses non-byte input as a caller error', () => {
    for (const value of [undefined, null, 'report', [1, 2, 3], new ArrayBuffer(1184)]) {
      expect(codeOf(() => parseSnpReport(value as unknown as Uint8Array))).toBe('ATTESTATION_INVALID_ARGUMENT');
    }
  });

  it('refuses versions below 2 and accepts newer versions with the same layout', () => {
    for (const version of [0, 1]) {
      const edited = new Uint8Array(milan);
      new DataView(edited.buffer).setUint32(0, version, true);
      expect(codeOf(() => parseSnpReport(edited))).toBe('SNP_REPORT_VERSION_UNSUPPORTED');
    }
    const v5 = new Uint8Array(milan);
    const view = new DataView(v5.buffer);
    view.setUint32(0, 5, true);
    view.setBigUint64(0x1f8, 0x0123456789abcdefn, true);
    view.setBigUint64(0x200, 3n, true);
    const parsed = parseSnpReport(v5);
    expect(parsed.version).toBe(5);
    expect(parsed.launchMitigationVectorHex).toBe('0123456789abcdef');
    expect(parsed.currentMitigationVectorHex).toBe('0000000000000003');
    view.setUint32(0, 0xffffffff, true);
    expect(parseSnpReport(v5).version).toBe(0xffffffff);
  });

  it('never throws anything but an AttestationError, whatever the bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1300 }), (bytes) => {
        const code = codeOf(() => parseSnpReport(bytes));
        expect(['no error', 'SNP_REPORT_MALFORMED', 'SNP_REPORT_VERSION_UNSUPPORTED']).toContain(code);
      }),
      { seed: 0x5e5, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: snpReportBytes, maxLength: snpReportBytes }), (bytes) => {
        const version = new DataView(bytes.buffer).getUint32(0, true);
        expect(codeOf(() => parseSnpReport(bytes))).toBe(version < 2 ? 'SNP_REPORT_VERSION_UNSUPPORTED' : 'no error');
      }),
      { seed: 0x5e6, numRuns: 300 },
    );
  });
});

describe('field decoders', () => {
  it('decodes each named guest policy bit and lists unknown ones', () => {
    const named: [number, keyof ReturnType<typeof decodeGuestPolicy>][] = [
      [16, 'smtAllowed'],
      [17, 'reservedBitSet'],
      [18, 'migrationAgentAllowed'],
      [19, 'debugAllowed'],
      [20, 'singleSocketRequired'],
      [21, 'cxlAllowed'],
      [22, 'memAes256XtsRequired'],
      [23, 'raplDisabled'],
      [24, 'ciphertextHidingRequired'],
      [25, 'pageSwapDisabled'],
    ];
    for (const [bit, field] of named) {
      const policy = decodeGuestPolicy(1n << BigInt(bit));
      expect(policy[field]).toBe(true);
      for (const [, other] of named) if (other !== field) expect(policy[other]).toBe(false);
      expect(policy.unknownBits).toEqual([]);
    }
    expect(decodeGuestPolicy(0x0203n)).toMatchObject({ abiMinor: 3, abiMajor: 2 });
    expect(decodeGuestPolicy((1n << 26n) | (1n << 63n)).unknownBits).toEqual([26, 63]);
  });

  it('decodes platform info bits', () => {
    expect(decodePlatformInfo(0xffn)).toMatchObject({
      smtEnabled: true,
      tsmeEnabled: true,
      eccEnabled: true,
      raplDisabled: true,
      ciphertextHidingEnabled: true,
      aliasCheckComplete: true,
      iommuWriteSafe: true,
      tioEnabled: true,
      unknownBits: [],
    });
    expect(decodePlatformInfo(1n << 8n).unknownBits).toEqual([8]);
  });

  it('uses the Milan/Genoa TCB layout and the different Turin layout', () => {
    const raw = Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88);
    expect(decodeTcb(raw, 'Milan')).toEqual({ bootloader: 0x11, tee: 0x22, snp: 0x77, microcode: 0x88 });
    expect(decodeTcb(raw, 'Genoa')).toEqual({ bootloader: 0x11, tee: 0x22, snp: 0x77, microcode: 0x88 });
    expect(decodeTcb(raw, 'Turin')).toEqual({ fmc: 0x11, bootloader: 0x22, tee: 0x33, snp: 0x44, microcode: 0x88 });
    expect(codeOf(() => decodeTcb(new Uint8Array(7), 'Milan'))).toBe('ATTESTATION_INVALID_ARGUMENT');
  });

  it('round-trips TCB encodings for each product (property)', () => {
    const level = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(fc.constantFrom('Milan', 'Genoa', 'Turin') as fc.Arbitrary<'Milan' | 'Genoa' | 'Turin'>, level, level, level, level, level, (product, bootloader, tee, snp, microcode, fmc) => {
        const tcb = product === 'Turin' ? { bootloader, tee, snp, microcode, fmc } : { bootloader, tee, snp, microcode };
        expect(decodeTcb(encodeTcb(tcb, product), product)).toEqual(tcb);
      }),
      { seed: 0x7cb, numRuns: 200 },
    );
  });

  it('names products from CPUID family and model, and nothing else', () => {
    expect(productFromCpuid({ family: 0x19, model: 0x01, stepping: 1 })).toBe('Milan');
    expect(productFromCpuid({ family: 0x19, model: 0x11, stepping: 1 })).toBe('Genoa');
    expect(productFromCpuid({ family: 0x19, model: 0xa0, stepping: 1 })).toBe('Genoa');
    expect(productFromCpuid({ family: 0x1a, model: 0x02, stepping: 1 })).toBe('Turin');
    expect(productFromCpuid({ family: 0x1a, model: 0x11, stepping: 1 })).toBe('Turin');
    expect(productFromCpuid({ family: 0x19, model: 0x21, stepping: 1 })).toBeNull();
    expect(productFromCpuid({ family: 0x18, model: 0x01, stepping: 1 })).toBeNull();
    expect(productFromCpuid({ family: 0x1a, model: 0x50, stepping: 1 })).toBeNull();
    expect(productFromCpuid({ family: 0, model: 0, stepping: 0 })).toBeNull();
  });

  it('addresses Turin chips in KDS by the first 8 bytes of the chip ID', () => {
    const chipId = Uint8Array.from({ length: 64 }, (_, index) => index);
    expect(kdsHardwareId(chipId, 'Turin')).toBe('0001020304050607');
    expect(kdsHardwareId(chipId, 'Genoa')).toBe(toHex(chipId));
  });
});
