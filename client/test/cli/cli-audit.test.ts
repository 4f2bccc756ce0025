// `synod audit`, spawned as a user runs it: exit codes, the summary table and --json reports.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceDir } from '../helpers/conformance.ts';
import { synod } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'synod-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('synod audit', () => {
  const ledger = join(serviceDir('acme_containing_service'), 'ledger');
  const cert = join(serviceDir('acme_containing_service'), 'common', 'service_cert.pem');

  it('a real ledger: exit 0, a summary table; --json gives the report', async () => {
    const [human, json] = await Promise.all([
      synod(['audit', ledger, '--service-cert', cert, '--governance']),
      synod(['audit', ledger, '--service-cert', cert, '--json']),
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/ledger audit PASSED[\s\S]*signatures verified\s+8 \/ 8/);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: true, counts: { entries: 22, signaturesVerified: 8, coseSignaturesVerified: 8 } });
    // --governance lists each proposal of the report, with its outcome.
    expect(report.proposals.length).toBeGreaterThan(0);
    for (const p of report.proposals) expect(human.stdout).toContain(`${p.id.slice(0, 16)}  ${p.createdAt}`);
    expect(human.stdout).toContain(`→ ${report.proposals[0].finalState}`);
  });

  it('a tampered copy: exit 1, the first divergence in --json', async () => {
    const copy = join(work, 'ledger');
    mkdirSync(copy);
    for (const name of readdirSync(ledger)) writeFileSync(join(copy, name), readFileSync(join(ledger, name)));
    const chunk = join(copy, 'ledger_3-13.committed');
    const bytes = readFileSync(chunk);
    bytes[bytes.length - 3]! ^= 0xff; // inside the entry table
    writeFileSync(chunk, bytes);
    const run = await synod(['audit', copy, '--service-cert', cert, '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).failure).toMatchObject({ file: 'ledger_3-13.committed', check: 'chunk-structure' });
  });

  it('no --service-cert: exit 2; a missing directory: exit 3', async () => {
    const [noCert, missing] = await Promise.all([synod(['audit', ledger]), synod(['audit', join(work, 'nowhere'), '--service-cert', cert])]);
    expect(noCert.code).toBe(2);
    expect(missing.code).toBe(3);
  });
});
