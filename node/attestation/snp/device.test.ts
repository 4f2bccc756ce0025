import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttestationError } from '../errors.ts';
import { reportDataForPublicKey, type VerifyOptions } from '../platform.ts';
import { splitPemBundle } from './certs.ts';
import { certificateTableGuid, detectSnp, parseCertificateTable, requestSnpReport, type TsmFileSystem } from './device.ts';
import { createEndorsementsProvider } from './endorsements.ts';
import { createSnpPlatform, endorsementsFromCertificateTable } from './platform.ts';
import { createTestChain, editReport, signReport, type TestChain } from './test-chain.ts';
import { SNP_CONFORMANCE } from '../../../test/helpers/conformance.ts';

const milanReport = new Uint8Array(readFileSync(`${SNP_CONFORMANCE}/milan-report.bin`));
const milanTcb = { bootloader: 4, tee: 0, snp: 24, microcode: 219 };
const chipId = Uint8Array.from({ length: 64 }, (_, index) => 0x10 + index);
const root = '/sys/kernel/config/tsm/report';

/** The extended-report certificate table: 24-byte entries, an all-zero terminator, then the certificates. */
function certificateTable(entries: { guid: string; certificate: Uint8Array }[]): Uint8Array {
  const headerBytes = (entries.length + 1) * 24;
  const table = new Uint8Array(headerBytes + entries.reduce((sum, entry) => sum + entry.certificate.length, 0));
  const view = new DataView(table.buffer);
  let offset = headerBytes;
  entries.forEach((entry, index) => {
    table.set(Buffer.from(entry.guid.replace(/-/g, ''), 'hex'), index * 24);
    view.setUint32(index * 24 + 16, offset, true);
    view.setUint32(index * 24 + 20, entry.certificate.length, true);
    table.set(entry.certificate, offset);
    offset += entry.certificate.length;
  });
  return table;
}

interface FakeKernelOptions {
  configfs?: boolean;
  sevGuestDevice?: boolean;
  provider?: string;
  auxblob?: Uint8Array;
  /** Simulates another writer: bumps `generation` while outblob is read. */
  racing?: boolean;
  outblob?: (inblob: Uint8Array) => Uint8Array;
}

/** An in-memory configfs-tsm that signs reports with the throwaway chain, as the AMD firmware would. */
function fakeKernel(chain: TestChain, options: FakeKernelOptions = {}) {
  const entries = new Map<string, { generation: number; inblob: Uint8Array; privlevel?: string }>();
  const removed: string[] = [];
  const split = (path: string) => [path.slice(0, path.lastIndexOf('/')), path.slice(path.lastIndexOf('/') + 1)] as const;
  const entryOf = (path: string) => {
    const [dir, file] = split(path);
    const entry = entries.get(dir);
    if (entry === undefined) throw new Error(`ENOENT ${path}`);
    return { entry, file };
  };
  const sign = options.outblob ?? ((inblob: Uint8Array) => signReport(editReport(milanReport, { chipId, reportData: inblob, reportedTcb: { tcb: milanTcb, product: 'Milan' } }), chain.vcekPrivateKey));
  const fs: TsmFileSystem = {
    async exists(path) {
      if (path === root) return options.configfs ?? true;
      if (path === '/dev/sev-guest') return options.sevGuestDevice ?? false;
      if (path.endsWith('/auxblob')) return options.auxblob !== undefined;
      return false;
    },
    async mkdir(path) {
      if (split(path)[0] !== root || !(options.configfs ?? true)) throw new Error(`ENOENT ${path}`);
      entries.set(path, { generation: 0, inblob: new Uint8Array(0) });
    },
    async rmdir(path) {
      entries.delete(path);
      removed.push(path);
    },
    async writeFile(path, data) {
      const { entry, file } = entryOf(path);
      if (file === 'inblob') entry.inblob = new Uint8Array(data as Uint8Array);
      else if (file === 'privlevel') entry.privlevel = String(data);
      else throw new Error(`EACCES ${path}`);
      entry.generation++;
    },
    async readFile(path) {
      const { entry, file } = entryOf(path);
      if (file === 'provider') return new TextEncoder().encode(`${options.provider ?? 'sev_guest'}\n`);
      if (file === 'generation') return new TextEncoder().encode(`${entry.generation}\n`);
      if (file === 'outblob') {
        if (options.racing) entry.generation++;
        return sign(entry.inblob);
      }
      if (file === 'auxblob' && options.auxblob !== undefined) return options.auxblob;
      throw new Error(`ENOENT ${path}`);
    },
  };
  return { fs, entries, removed };
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof AttestationError) return error.code;
    throw error;
  }
  return 'no error';
}

let chain: TestChain;
let chainTable: Uint8Array;
beforeAll(() => {
  chain = createTestChain({ product: 'Milan', chipId, tcb: milanTcb });
  const [vcek, ask, ark] = splitPemBundle(chain.endorsements) as [Uint8Array, Uint8Array, Uint8Array];
  chainTable = certificateTable([
    { guid: certificateTableGuid.ark, certificate: ark },
    { guid: certificateTableGuid.vcek, certificate: vcek },
    { guid: certificateTableGuid.ask, certificate: ask },
  ]);
});

describe('detectSnp', () => {
  it('says plainly when this is not an SEV-SNP guest', async () => {
    const kernel = fakeKernel(chain, { configfs: false });
    expect(await detectSnp({ fs: kernel.fs })).toEqual({ available: false, reason: expect.stringContaining('not an SEV-SNP guest') });
  });

  it('explains that /dev/sev-guest alone is not usable from Node.js', async () => {
    const kernel = fakeKernel(chain, { configfs: false, sevGuestDevice: true });
    const detection = await detectSnp({ fs: kernel.fs });
    expect(detection.available).toBe(false);
    expect(!detection.available && detection.reason).toMatch(/ioctl.*configfs-tsm/);
  });

  it('refuses a configfs-tsm of another TEE, and cleans up its probe entry', async () => {
    const kernel = fakeKernel(chain, { provider: 'tdx_guest' });
    const detection = await detectSnp({ fs: kernel.fs });
    expect(!detection.available && detection.reason).toContain('tdx_guest');
    expect(kernel.entries.size).toBe(0);
    expect(kernel.removed).toHaveLength(1);
  });

  it('finds configfs-tsm with the sev_guest provider', async () => {
    const kernel = fakeKernel(chain);
    expect(await detectSnp({ fs: kernel.fs })).toEqual({ available: true, method: 'configfs-tsm', reportRoot: root });
    expect(kernel.entries.size).toBe(0);
  });

  it('does not pretend on this machine', async () => {
    const detection = await detectSnp();
    if (!detection.available) expect(detection.reason.length).toBeGreaterThan(20);
    else expect(detection.method).toBe('configfs-tsm');
  });
});

describe('requestSnpReport', () => {
  it('writes the report data, reads the report and the certificate table, and removes its entry', async () => {
    const kernel = fakeKernel(chain, { auxblob: chainTable });
    const reportData = Uint8Array.from({ length: 64 }, (_, index) => index);
    const { report, auxblob } = await requestSnpReport(reportData, { fs: kernel.fs, privilegeLevel: 0 });
    expect(Buffer.from(report.subarray(0x50, 0x90))).toEqual(Buffer.from(reportData));
    expect(auxblob).toEqual(chainTable);
    expect(kernel.entries.size).toBe(0);
  });

  it('detects a concurrent writer through the generation counter', async () => {
    const kernel = fakeKernel(chain, { racing: true });
    await expect(requestSnpReport(new Uint8Array(64), { fs: kernel.fs })).rejects.toMatchObject({ code: 'SNP_DEVICE_FAILED' });
    expect(kernel.entries.size).toBe(0);
  });

  it('refuses a report that does not carry the requested report data, or is not a report', async () => {
    const stale = fakeKernel(chain, { outblob: () => milanReport });
    await expect(requestSnpReport(new Uint8Array(64).fill(1), { fs: stale.fs })).rejects.toMatchObject({ code: 'SNP_DEVICE_FAILED' });
    const short = fakeKernel(chain, { outblob: () => new Uint8Array(100) });
    await expect(requestSnpReport(new Uint8Array(64), { fs: short.fs })).rejects.toMatchObject({ code: 'SNP_REPORT_MALFORMED' });
  });

  it('reports a missing configfs as unavailable and refuses bad arguments', async () => {
    const kernel = fakeKernel(chain, { configfs: false });
    await expect(requestSnpReport(new Uint8Array(64), { fs: kernel.fs })).rejects.toMatchObject({ code: 'SNP_DEVICE_UNAVAILABLE' });
    await expect(requestSnpReport(new Uint8Array(32), { fs: kernel.fs })).rejects.toMatchObject({ code: 'ATTESTATION_INVALID_ARGUMENT' });
    await expect(requestSnpReport(new Uint8Array(64), { fs: kernel.fs, privilegeLevel: 4 })).rejects.toMatchObject({ code: 'ATTESTATION_INVALID_ARGUMENT' });
  });
});

describe('the certificate table', () => {
  it('finds VCEK, ASK and ARK by GUID in any order', () => {
    expect(endorsementsFromCertificateTable(chainTable)).toBe(chain.endorsements);
    expect(endorsementsFromCertificateTable(new Uint8Array(0))).toBeNull();
    const vcekOnly = certificateTable([{ guid: certificateTableGuid.vcek, certificate: splitPemBundle(chain.vcekPem)[0]! }]);
    expect(endorsementsFromCertificateTable(vcekOnly)).toBeNull();
  });

  it('bounds-checks every entry', () => {
    const one = certificateTable([{ guid: certificateTableGuid.vcek, certificate: new Uint8Array(10).fill(1) }]);
    expect(codeOf(() => parseCertificateTable(one.subarray(0, 24)))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    const outside = new Uint8Array(one);
    new DataView(outside.buffer).setUint32(16, 1000, true);
    expect(codeOf(() => parseCertificateTable(outside))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    const tooLong = new Uint8Array(one);
    new DataView(tooLong.buffer).setUint32(20, 11, true);
    expect(codeOf(() => parseCertificateTable(tooLong))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    const empty = new Uint8Array(one);
    new DataView(empty.buffer).setUint32(20, 0, true);
    expect(codeOf(() => parseCertificateTable(empty))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    const many = certificateTable(Array.from({ length: 17 }, () => ({ guid: certificateTableGuid.ask, certificate: Uint8Array.of(1) })));
    expect(codeOf(() => parseCertificateTable(many))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(parseCertificateTable(one)).toEqual([{ guid: certificateTableGuid.vcek, certificate: new Uint8Array(10).fill(1) }]);
  });

  it('never throws anything but an AttestationError on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(['no error', 'SNP_ENDORSEMENTS_MALFORMED']).toContain(codeOf(() => parseCertificateTable(bytes)));
      }),
      { seed: 0xa0b, numRuns: 300 },
    );
  });
});

describe('the snp platform end to end (fake kernel, throwaway chain)', () => {
  const verifyOptions = (reportData: Uint8Array): VerifyOptions => ({
    expectedReportData: reportData,
    trustedMeasurements: ['5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1'],
    trustedHostData: 'any',
    minimumTcb: { Milan: milanTcb },
    trustedArks: [chain.trustedArk],
  });

  it('produces evidence with the host certificates that verifies, bound to the node key', async () => {
    const platform = createSnpPlatform({ device: { fs: fakeKernel(chain, { auxblob: chainTable }).fs } });
    const reportData = reportDataForPublicKey(Uint8Array.of(1, 2, 3));
    const evidence = await platform.produceReport(reportData);
    expect(evidence.format).toBe('AMD_SEV_SNP_v1');
    expect(platform.verifyReport(evidence, verifyOptions(reportData))).toMatchObject({ platform: 'snp', product: 'Milan', secure: true });
    // The same evidence is refused for another node key, and with the real (pinned) roots.
    expect(codeOf(() => platform.verifyReport(evidence, verifyOptions(new Uint8Array(64))))).toBe('SNP_REPORT_DATA_MISMATCH');
    expect(codeOf(() => platform.verifyReport(evidence, { ...verifyOptions(reportData), trustedArks: undefined }))).toBe('SNP_ROOT_OF_TRUST_UNKNOWN');
  });

  it('falls back to the configured endorsements source when the host supplies none', async () => {
    const kernel = fakeKernel(chain);
    const withoutSource = createSnpPlatform({ device: { fs: kernel.fs } });
    await expect(withoutSource.produceReport(new Uint8Array(64))).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_UNAVAILABLE' });
    const endorsements = createEndorsementsProvider({ source: { kind: 'file', path: '/host/endorsements.pem' }, readFile: async () => new TextEncoder().encode(chain.endorsements) });
    const platform = createSnpPlatform({ device: { fs: kernel.fs }, endorsements });
    const evidence = await platform.produceReport(new Uint8Array(64));
    expect(platform.verifyReport(evidence, verifyOptions(new Uint8Array(64))).product).toBe('Milan');
  });

  it('refuses to produce a report where there is no SEV-SNP device', async () => {
    const platform = createSnpPlatform({ device: { fs: fakeKernel(chain, { configfs: false }).fs } });
    await expect(platform.produceReport(new Uint8Array(64))).rejects.toMatchObject({ code: 'SNP_DEVICE_UNAVAILABLE', message: expect.stringContaining('not an SEV-SNP guest') });
    expect(codeOf(() => platform.verifyReport({ format: 'Insecure_Virtual', report: new Uint8Array(0), endorsements: '' }, verifyOptions(new Uint8Array(64))))).toBe('ATTESTATION_FORMAT_UNSUPPORTED');
  });
});
