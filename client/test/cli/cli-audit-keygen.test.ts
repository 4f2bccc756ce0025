// `synod audit` and `synod keygen`, spawned as a user runs them: exit codes, the summary table,
// --json reports, and the identity files keygen writes.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { isSignedByKey, parseCertificate } from '../../src/index.ts';
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

describe('synod keygen', () => {
  it('writes a self-signed certificate and its private key; refuses to overwrite without --force', async () => {
    const out = join(work, 'keys');
    mkdirSync(out);
    const run = await synod(['keygen', '--name', 'member0', '--out', out, '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    const certPem = readFileSync(join(out, 'member0_cert.pem'), 'utf8');
    const cert = parseCertificate(certPem);
    expect(cert.publicKey.curve).toBe('P-384');
    expect(isSignedByKey(cert, cert.publicKey)).toBe(true);
    // The private key is a SEC1 PEM whose public half is the certificate's key.
    const keyPem = readFileSync(join(out, 'member0_privk.pem'), 'utf8');
    expect(keyPem).toContain('BEGIN EC PRIVATE KEY');
    const spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    expect(new Uint8Array(spki)).toEqual(cert.publicKey.spkiDer);
    expect(result.certPath).toBe(join(out, 'member0_cert.pem'));

    const [again, forced, p256, badCurve, noName] = await Promise.all([
      synod(['keygen', '--name', 'member0', '--out', out]),
      synod(['keygen', '--name', 'member0', '--out', out, '--force']),
      synod(['keygen', '--name', 'user0', '--curve', 'P-256', '--out', out]),
      synod(['keygen', '--name', 'x', '--curve', 'P-521', '--out', out]),
      synod(['keygen', '--out', out]),
    ]);
    expect([again.code, forced.code, p256.code, badCurve.code, noName.code]).toEqual([2, 0, 0, 2, 2]);
    expect(parseCertificate(readFileSync(join(out, 'user0_cert.pem'), 'utf8')).publicKey.curve).toBe('P-256');
    expect(readFileSync(join(out, 'member0_cert.pem'), 'utf8')).not.toBe(certPem);
  });
});

