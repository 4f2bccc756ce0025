// Usage and I/O errors of the CLI: two spawned end to end, the rest through main() in-process (the
// same code path, without paying a process start for each), and the sandbox dispatch, spawned.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, main } from '../../src/cli/main.ts';
import { CONFORMANCE_DIR, RECEIPT_FILES } from '../helpers/conformance.ts';
import { synod } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'synod-cli-usage-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const RECEIPT = join(CONFORMANCE_DIR, 'receipts', RECEIPT_FILES[1]!);

async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`) });
  return { code, stdout, stderr };
}

describe('usage and I/O errors', () => {
  it('spawned: no receipt given exits 2; a missing receipt file exits 3', async () => {
    const [noArgs, missing] = await Promise.all([synod(['verify']), synod(['verify', join(work, 'no-such-receipt.json')])]);
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toContain('expected one receipt file');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('cannot read receipt');
  });

  it.each<[string, string[], number]>([
    ['unknown option', ['verify', RECEIPT, '--bogus'], ExitCode.usage],
    ['unknown command', ['frobnicate'], ExitCode.usage],
    ['no command', [], ExitCode.usage],
    ['two receipts', ['verify', RECEIPT, RECEIPT], ExitCode.usage],
    ['audit without a directory', ['audit', '--service-cert', RECEIPT], ExitCode.usage],
    ['keygen with an unknown curve', ['keygen', '--name', 'x', '--curve', 'P-521', '--out', work], ExitCode.usage],
    ['keygen without --name', ['keygen', '--out', work], ExitCode.usage],
    ['keygen with a bad name', ['keygen', '--name', '../x', '--out', work], ExitCode.usage],
    ['keygen into a missing directory', ['keygen', '--name', 'x', '--out', join(work, 'nowhere')], ExitCode.io],
    ['a missing --service-cert file', ['verify', RECEIPT, '--service-cert', join(work, 'none.pem')], ExitCode.io],
  ])('%s', async (_name, argv, code) => {
    expect((await inProcess(argv)).code).toBe(code);
  });

  it('a --service-cert that is not a certificate is a usage error, reported in --json too', async () => {
    const bad = join(work, 'not-a-cert.pem');
    writeFileSync(bad, 'hello');
    const run = await inProcess(['verify', RECEIPT, '--service-cert', bad, '--json']);
    expect(run.code).toBe(ExitCode.usage);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'CLIENT_INVALID_ARGUMENT' } });
  });

  it('--help exits 0 with the usage text', async () => {
    const run = await inProcess(['--help']);
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toContain('usage: synod <command>');
  });
});

describe('synod sandbox', () => {
  it("dispatches to the node's runSandbox (--help prints its usage, exit 0; a bad option exits 2)", async () => {
    const [help, bad] = await Promise.all([synod(['sandbox', '--help']), synod(['sandbox', '--members', 'many'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm start');
    expect(bad.code).toBe(2);
  });
});
