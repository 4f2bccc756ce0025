// `synod keygen`, spawned as a user runs it: the identity files it writes, and its exit codes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { isSignedByKey, parseCertificate } from '../../src/index.ts';
import { synod } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'synod-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

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

    const [again, forced, p256] = await Promise.all([
      synod(['keygen', '--name', 'member0', '--out', out]),
      synod(['keygen', '--name', 'member0', '--out', out, '--force']),
      synod(['keygen', '--name', 'user0', '--curve', 'P-256', '--out', out]),
    ]);
    expect([again.code, forced.code, p256.code]).toEqual([2, 0, 0]);
    expect(parseCertificate(readFileSync(join(out, 'user0_cert.pem'), 'utf8')).publicKey.curve).toBe('P-256');
    expect(readFileSync(join(out, 'member0_cert.pem'), 'utf8')).not.toBe(certPem);
  });
});

