// `synod verify`, `--help` and `synod sandbox`, spawned as a user runs them: exit codes (0 ok,
// 1 verification failed, 2 usage, 3 I/O) and --json output.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_DIR, RECEIPT_FILES, realReceipt } from '../helpers/conformance.ts';
import { synod } from '../helpers/cli.ts';
import { coseReceipt, testService, testTx } from '../helpers/service.ts';

const work = mkdtempSync(join(tmpdir(), 'synod-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

const RECEIPT = join(CONFORMANCE_DIR, 'receipts', RECEIPT_FILES[1]!);

describe('synod verify', () => {
  it('a real receipt: exit 0, human output; --json output via bin/synod.mjs', async () => {
    const human = await synod(['verify', RECEIPT]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('transaction   2.662');
    const json = await synod(['verify', RECEIPT, '--json'], 'bin');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, receipt: { txid: '2.662', format: 'json' } });
  });

  it('a tampered receipt: exit 1 and the failing check in --json', async () => {
    const receipt = realReceipt(RECEIPT_FILES[1]!);
    receipt.leaf_components.write_set_digest = '00'.repeat(32);
    const run = await synod(['verify', file('tampered.json', JSON.stringify(receipt)), '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'RECEIPT_BAD_SIGNATURE' } });
  });

  it('a COSE receipt file with the service certificate: exit 0; with another: exit 1', async () => {
    const s = testService(61);
    const txs = Array.from({ length: 5 }, (_, i) => testTx(3, i + 1));
    const receiptPath = file('receipt.cose', coseReceipt(txs, 2, s.serviceKey));
    const good = await synod(['verify', receiptPath, '--service-cert', file('svc.pem', s.serviceCert), '--json']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout).receipt).toMatchObject({ format: 'cose', txid: '3.3' });
    const bad = await synod(['verify', receiptPath, '--service-cert', file('other.pem', testService(62).serviceCert)]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('kid');
  });

  it('a committed snapshot: exit 0 with the service certificate; exit 1 once a byte changes', async () => {
    const dir = join(CONFORMANCE_DIR, 'services', 'eol_service');
    const snapshot = join(dir, 'snapshots', 'snapshot_493_494.committed');
    const cert = join(dir, 'common', 'service_cert.pem');
    const bytes = readFileSync(snapshot);
    bytes[100]! ^= 1;
    const [good, bad] = await Promise.all([
      synod(['verify', snapshot, '--service-cert', cert, '--json']),
      synod(['verify', file('snapshot_493_494.committed', bytes), '--service-cert', cert, '--json']),
    ]);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout).snapshot).toMatchObject({ version: 493, receipt: { txid: '10.494' } });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error.code).toBe('RECEIPT_CLAIMS_MISMATCH');
  });

});
