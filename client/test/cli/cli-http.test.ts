// The CLI's service commands (call, tx, commit, receipt) against a real node: each is a thin shell
// over SynodClient, so these check the shell — arguments, output, exit codes (4 for a refused
// request, 3 for a failed connection) — in-process through main(), and once spawned via bin/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, main } from '../../src/cli/main.ts';
import { startTestNetwork, type TestNetwork } from '../../../test/helpers/network.ts';
import { synod } from '../helpers/cli.ts';

let net: TestNetwork;
let connection: string[];
let userArgs: string[];
const work = mkdtempSync(join(tmpdir(), 'synod-cli-http-'));

beforeAll(async () => {
  net = await startTestNetwork({ signatureDelayMs: 5 });
  connection = ['--url', `https://${net.node.status.rpcAddress}`, '--service-cert', join(net.common, 'service_cert.pem')];
  userArgs = [...connection, '--cert', join(net.common, 'user0_cert.pem'), '--key', join(net.common, 'user0_privk.pem')];
});

afterAll(async () => {
  await net?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`) });
  return { code, stdout, stderr };
}

describe('synod call / tx / commit / receipt', () => {
  it('writes with --wait, reads back, and reports the service error code with exit 4', async () => {
    const write = await run(['call', 'POST', '/app/log/private', '--data', '{"id": 1, "msg": "from the cli"}', '--wait', '--json', ...userArgs]);
    expect(write.code, write.stderr + write.stdout).toBe(ExitCode.ok);
    const written = JSON.parse(write.stdout);
    expect(written).toMatchObject({ ok: true, status: 200, committed: true, body: true });
    expect(written.txid).toMatch(/^\d+\.\d+$/);
    const read = await run(['call', 'GET', '/app/log/private?id=1', ...userArgs]);
    expect(read.code).toBe(ExitCode.ok);
    expect(read.stdout).toBe('HTTP 200\n{"msg":"from the cli"}\n');
    const missing = await run(['call', 'GET', '/app/log/private?id=424242', '--json', ...userArgs]);
    expect(missing.code).toBe(ExitCode.requestFailed);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: { code: 'ResourceNotFound', status: 404 } });
    const anonymous = await run(['call', 'POST', '/app/log/private', '--data', '{"id": 2, "msg": "x"}', ...connection]);
    expect(anonymous.code).toBe(ExitCode.requestFailed);
    expect(anonymous.stderr).toMatch(/401 Unauthorized/);
  });

  it('tx, tx --wait, commit; a rolled-back transaction exits 4', async () => {
    const { txid } = JSON.parse((await run(['call', 'POST', '/app/log/public', '--data', '{"id": 3, "msg": "p"}', '--json', ...userArgs])).stdout);
    expect((await run(['tx', txid, '--wait', ...connection])).stdout).toBe(`${txid} Committed\n`);
    expect(JSON.parse((await run(['tx', txid, '--json', ...connection])).stdout)).toEqual({ ok: true, txid, status: 'Committed' });
    const commit = (await run(['commit', ...connection])).stdout.trim();
    expect(Number(commit.split('.')[1])).toBeGreaterThanOrEqual(Number(txid.split('.')[1]));
    const [view, seqno] = txid.split('.').map(Number);
    const invalid = await run(['tx', `${view + 3}.${seqno}`, '--wait', '--json', ...connection]);
    expect(invalid.code).toBe(ExitCode.requestFailed);
    expect(JSON.parse(invalid.stdout).error.code).toBe('TRANSACTION_INVALID');
  });

  it('receipt waits, verifies, writes JSON and COSE receipts that `synod verify` accepts (spawned once via bin/)', async () => {
    const { txid } = JSON.parse((await run(['call', 'POST', '/app/log/private', '--data', '{"id": 4, "msg": "r"}', '--json', ...userArgs])).stdout);
    const jsonFile = join(work, 'receipt.json');
    const got = await run(['receipt', txid, '--out', jsonFile, ...connection]);
    expect(got.code, got.stderr).toBe(ExitCode.ok);
    expect(got.stdout).toContain(`transaction   ${txid}`);
    expect(got.stdout).toMatch(/service key\s+[0-9a-f]{64} \(endorsement checked\)/);
    const coseFile = join(work, 'receipt.cose');
    const cose = await run(['receipt', txid, '--cose', '--out', coseFile, '--json', ...connection]);
    expect(JSON.parse(cose.stdout)).toMatchObject({ ok: true, txid, format: 'cose', verified: { txid } });
    const cert = join(net.common, 'service_cert.pem');
    expect((await run(['verify', jsonFile, '--service-cert', cert])).code).toBe(ExitCode.ok);
    const spawned = await synod(['verify', coseFile, '--service-cert', cert, '--json'], 'bin');
    expect(spawned.code).toBe(ExitCode.ok);
    expect(JSON.parse(spawned.stdout).receipt.txid).toBe(txid);
  });

  it('a service certificate that is not the service’s: exit 3 CLIENT_TLS; missing options: exit 2', async () => {
    const wrong = await run(['commit', '--url', `https://${net.node.status.rpcAddress}`, '--service-cert', join(net.common, 'member0_cert.pem'), '--json']);
    expect(wrong.code).toBe(ExitCode.io);
    expect(JSON.parse(wrong.stdout).error.code).toBe('CLIENT_TLS');
    expect((await run(['commit', '--service-cert', join(net.common, 'service_cert.pem')])).code).toBe(ExitCode.usage);
    expect((await run(['commit', '--url', `https://${net.node.status.rpcAddress}`])).code).toBe(ExitCode.usage);
    expect((await run(['call', 'GET', ...connection])).code).toBe(ExitCode.usage);
    expect((await run(['call', 'GET', '/x', '--cert', 'a.pem', ...connection])).code).toBe(ExitCode.usage);
    expect((await run(['tx', 'abc', ...connection])).code).toBe(ExitCode.usage);
  });
});
