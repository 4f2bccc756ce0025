import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAttestationError } from './errors.ts';
import { evidenceFromQuoteInfo, measureCodeTree, produceNodeEvidence, quoteInfoOf, virtualHostDataDefault, virtualMeasurementOfThisCode } from './node-evidence.ts';
import { reportDataForPublicKey } from './platform.ts';
import { parseVirtualReport } from './virtual.ts';

const keyDer = () => new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }));

describe('the virtual measurement of the code', () => {
  const root = mkdtempSync(join(tmpdir(), 'synod-measure-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  it('covers node/, governance/ and app-sdk/src non-test .ts files, and changes when one changes', () => {
    write('node/a.ts', 'export const a = 1;\n');
    write('governance/b.ts', 'export const b = 2;\n');
    write('app-sdk/src/c.ts', 'export const c = 3;\n');
    const base = measureCodeTree(root);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(measureCodeTree(root)).toBe(base);
    // Not measured: tests, other file types, other folders.
    write('node/a.test.ts', 'test');
    write('node/notes.md', 'notes');
    write('client/src/d.ts', 'export const d = 4;\n');
    write('app-sdk/test/e.ts', 'x');
    expect(measureCodeTree(root)).toBe(base);
    write('node/deep/f.ts', '');
    const withF = measureCodeTree(root);
    expect(withF).not.toBe(base);
    write('node/a.ts', 'export const a = 2;\n');
    expect(measureCodeTree(root)).not.toBe(withF);
  });

  it('does not let a path and content trade bytes', () => {
    const one = mkdtempSync(join(tmpdir(), 'synod-measure-'));
    const two = mkdtempSync(join(tmpdir(), 'synod-measure-'));
    try {
      mkdirSync(join(one, 'node'));
      mkdirSync(join(two, 'node'));
      writeFileSync(join(one, 'node', 'ab.ts'), 'c');
      writeFileSync(join(two, 'node', 'a.ts'), 'bc');
      expect(measureCodeTree(one)).not.toBe(measureCodeTree(two));
    } finally {
      rmSync(one, { recursive: true, force: true });
      rmSync(two, { recursive: true, force: true });
    }
  });

  it('is computed once per process', () => {
    expect(virtualMeasurementOfThisCode()).toBe(virtualMeasurementOfThisCode());
    expect(virtualMeasurementOfThisCode()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('produceNodeEvidence', () => {
  it('virtual: binds the node key, states this code\'s measurement, says it is insecure', async () => {
    const key = keyDer();
    const produced = await produceNodeEvidence({ platform: 'virtual', nodePublicKeyDer: key });
    expect(produced).toMatchObject({ platform: 'virtual', secure: false, measurement: virtualMeasurementOfThisCode() });
    const report = parseVirtualReport(produced.evidence.report);
    expect(report.reportData).toEqual(reportDataForPublicKey(key));
    expect(report.hostData).toBe(virtualHostDataDefault);
    expect(produced.quoteInfo).toEqual({ format: 'Insecure_Virtual', quote: Buffer.from(produced.evidence.report).toString('base64'), endorsements: '' });
    expect(evidenceFromQuoteInfo(produced.quoteInfo).report).toEqual(produced.evidence.report);
  });

  it('snp: refuses clearly on a machine that is not an SEV-SNP guest, never falls back', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'synod-nosnp-'));
    try {
      const device = { reportRoot: join(empty, 'tsm'), sevGuestDevice: join(empty, 'sev-guest') };
      let caught: unknown;
      try {
        await produceNodeEvidence({ platform: 'snp', nodePublicKeyDer: keyDer(), snp: { device } });
      } catch (error) {
        caught = error;
      }
      expect(isAttestationError(caught, 'SNP_DEVICE_UNAVAILABLE')).toBe(true);
      expect((caught as Error).message).toMatch(/not an SEV-SNP guest/);
      // auto chooses virtual there, and says so.
      expect((await produceNodeEvidence({ platform: 'auto', nodePublicKeyDer: keyDer(), snp: { device } })).platform).toBe('virtual');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reads quote_info strictly', () => {
    expect(() => evidenceFromQuoteInfo({ format: 'SGX', quote: '' })).toThrow(/not supported/);
    expect(() => evidenceFromQuoteInfo({ format: 'Insecure_Virtual', quote: 'not base64!' })).toThrow(/base64/);
    expect(() => evidenceFromQuoteInfo(null)).toThrow(/object/);
    const snp = evidenceFromQuoteInfo(quoteInfoOf({ format: 'AMD_SEV_SNP_v1', report: new Uint8Array([1, 2]), endorsements: '-----BEGIN' }));
    expect(snp).toEqual({ format: 'AMD_SEV_SNP_v1', report: new Uint8Array([1, 2]), endorsements: '-----BEGIN' });
  });
});

describe('SYNOD_VIRTUAL_MEASUREMENT', () => {
  it('a launcher can pass one measurement to every node it starts; a malformed one is refused', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = "import('./node/attestation/node-evidence.ts').then((m) => { try { process.stdout.write(m.virtualMeasurementOfThisCode()); } catch (e) { process.stdout.write('ERR ' + e.code); } })";
    const run = (value: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, SYNOD_VIRTUAL_MEASUREMENT: value }, encoding: 'utf8' });
    expect(run('AB'.repeat(32))).toBe('ab'.repeat(32));
    expect(run('xyz')).toBe('ERR ATTESTATION_INVALID_ARGUMENT');
  }, 20_000);
});
