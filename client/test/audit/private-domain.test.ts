// Auditing a real Synod ledger with its ledger secret: a node writes private and public messages and
// stops; its secret is unsealed from the data folder; the audit then authenticates every entry,
// counts the private maps and writes, and hands back the private messages in plaintext. A single
// flipped ciphertext byte is reported at its own entry (file, offset, seqno), where without the
// secret it shows only as a Merkle-root mismatch at the next signature; a wrong secret fails at the
// first entry. `synod audit --ledger-secret --show-private` prints the same, in-process.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateWrite, auditLedger, createClient, parseChunk, parseEntry } from '../../src/index.ts';
import { bytesToHex } from '../../src/verify/encoding.ts';
import { ExitCode, main } from '../../src/cli/main.ts';
import { startTestNetwork, type TestNetwork } from '../../../test/helpers/network.ts';
import { unsealLedgerSecret } from '../helpers/sealed-secret.ts';

const PRIVATE_MESSAGES = new Map([
  [1, 'the merger closes on Friday'],
  [2, 'salary review: +4%'],
  [3, 'SYNOD-PRIVATE-three'],
]);

let net: TestNetwork;
let ledgerDir: string;
let secret: Uint8Array;
const txids = new Map<number, string>();
const work = mkdtempSync(join(tmpdir(), 'synod-private-'));

beforeAll(async () => {
  net = await startTestNetwork({ signatureDelayMs: 5 });
  const read = (name: string) => readFileSync(join(net.common, name), 'utf8');
  const client = createClient({ url: `https://${net.node.status.rpcAddress}`, serviceCert: net.serviceCert, identity: { certPem: read('user0_cert.pem'), keyPem: read('user0_privk.pem') } });
  for (const [id, msg] of PRIVATE_MESSAGES) txids.set(id, (await client.post('/app/log/private', { id, msg })).txid!);
  const last = (await client.post('/app/log/public', { id: 9, msg: 'public note' })).txid!;
  await client.waitForCommit(last);
  // One more write after the commit, so that the tampered entries below have a signature after them.
  await client.waitForCommit((await client.post('/app/log/public', { id: 10, msg: 'later' })).txid!);
  client.close();
  await net.node.kill('SIGTERM');
  ledgerDir = join(net.dataDir, 'ledger');
  secret = unsealLedgerSecret(net.dataDir);
});

afterAll(async () => {
  await net?.stop();
  rmSync(work, { recursive: true, force: true });
});

function copyLedger(name: string): string {
  const dir = join(work, name);
  cpSync(ledgerDir, dir, { recursive: true });
  return dir;
}

/** Flips one byte inside the private domain of the entry at `seqno`; returns where that entry is. */
function flipPrivateByte(dir: string, seqno: number): { file: string; offset: number } {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const bytes = new Uint8Array(readFileSync(path));
    const chunk = parseChunk(bytes, /-\d+/.test(name));
    for (const extent of chunk.entries) {
      const entry = parseEntry(bytes.subarray(extent.offset, extent.offset + extent.length), extent.offset);
      if (entry.seqno !== seqno) continue;
      expect(entry.privateDomain.length).toBeGreaterThan(0);
      const privateStart = extent.offset + extent.length - entry.privateDomain.length;
      bytes[privateStart + Math.floor(entry.privateDomain.length / 2)]! ^= 0x20;
      writeFileSync(path, bytes);
      return { file: name, offset: extent.offset };
    }
  }
  throw new Error(`no entry ${seqno}`);
}

describe('audit with the ledger secret', () => {
  it('without the secret: the public audit passes and says nothing of the private domain', async () => {
    const report = await auditLedger(ledgerDir, { serviceCert: net.serviceCert });
    expect(report.failure).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.privateDomain).toBeUndefined();
  });

  it('with the secret: every entry authenticates, and the private messages read back', async () => {
    const writes: PrivateWrite[] = [];
    const report = await auditLedger(ledgerDir, { serviceCert: net.serviceCert, ledgerSecret: secret, onPrivateWrite: (w) => writes.push(w) });
    expect(report.failure).toBeUndefined();
    expect(report.ok).toBe(true);
    const p = report.privateDomain!;
    expect(p.entriesAuthenticated).toBe(report.counts.entries);
    expect(p.maps.records).toEqual({ writes: PRIVATE_MESSAGES.size, removes: 0 });
    expect(p.maps['public:records']).toBeUndefined();
    expect(p.privateWrites).toBeGreaterThanOrEqual(PRIVATE_MESSAGES.size);
    expect(p.entriesWithPrivateDomain).toBeGreaterThanOrEqual(PRIVATE_MESSAGES.size);
    const records = writes.filter((w) => w.map === 'records');
    const read = new Map(records.map((w) => [Number(new DataView(w.key.buffer, w.key.byteOffset, 8).getBigUint64(0, true)), new TextDecoder().decode(w.value)]));
    expect(read).toEqual(PRIVATE_MESSAGES);
    for (const w of records) expect(w.txid).toBe(txids.get(Number(new DataView(w.key.buffer, w.key.byteOffset, 8).getBigUint64(0, true))));
  });

  it('a flipped ciphertext byte is reported at its entry; without the secret only at the next signature', async () => {
    const dir = copyLedger('flipped');
    const seqno = Number(txids.get(2)!.split('.')[1]);
    const at = flipPrivateByte(dir, seqno);
    const withSecret = await auditLedger(dir, { serviceCert: net.serviceCert, ledgerSecret: secret });
    expect(withSecret.ok).toBe(false);
    expect(withSecret.failure).toMatchObject({ file: at.file, offset: at.offset, seqno, check: 'private-domain' });
    expect(withSecret.failure!.message).toMatch(/AES-GCM tag mismatch.*private domain \(entry bytes \d+\.\.\d+\)/);
    // The messages before the damaged one were still read.
    expect(withSecret.privateDomain!.maps.records!.writes).toBe(1);
    const withoutSecret = await auditLedger(dir, { serviceCert: net.serviceCert });
    expect(withoutSecret.failure).toMatchObject({ check: 'merkle-root' });
    expect(withoutSecret.failure!.seqno).toBeGreaterThan(seqno);
  });

  it('a wrong secret fails at the very first entry', async () => {
    const report = await auditLedger(ledgerDir, { serviceCert: net.serviceCert, ledgerSecret: new Uint8Array(randomBytes(32)) });
    expect(report.ok).toBe(false);
    expect(report.failure).toMatchObject({ offset: 8, seqno: 1, check: 'private-domain' });
    expect(report.privateDomain!.entriesAuthenticated).toBe(0);
    await expect(auditLedger(ledgerDir, { serviceCert: net.serviceCert, ledgerSecret: new Uint8Array(31) })).rejects.toThrow(/32 bytes/);
  });

  it('synod audit --ledger-secret --show-private prints the decrypted writes of one map', async () => {
    const secretFile = join(work, 'ledger_secret.hex');
    writeFileSync(secretFile, `${bytesToHex(secret)}\n`);
    const cert = join(net.common, 'service_cert.pem');
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(argv, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`) });
      return { code, stdout, stderr };
    };
    const human = await run(['audit', ledgerDir, '--service-cert', cert, '--ledger-secret', secretFile, '--show-private', 'records', '--no-progress']);
    expect(human.code).toBe(ExitCode.ok);
    expect(human.stdout).toMatch(/private domain \(decrypted with the ledger secret\)/);
    expect(human.stdout).toMatch(/records: 3 writes, 0 removals/);
    for (const [id, msg] of PRIVATE_MESSAGES) expect(human.stdout).toMatch(new RegExp(`${txids.get(id)!.replace('.', '\\.')}\\s+0x[0-9a-f]{16} \\(u64 ${id}\\)\\s+${JSON.stringify(msg).replace(/[+.]/g, '\\$&')}`));
    const json = await run(['audit', ledgerDir, '--service-cert', cert, '--ledger-secret', secretFile, '--show-private', 'records', '--json']);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.privateWrites.map((w: { rendered: { value: string } }) => JSON.parse(w.rendered.value))).toEqual([...PRIVATE_MESSAGES.values()]);
    // Damage found with the secret exits 1 and names the entry; bad arguments exit 2.
    const dir = copyLedger('cli-flipped');
    const at = flipPrivateByte(dir, Number(txids.get(1)!.split('.')[1]));
    const failed = await run(['audit', dir, '--service-cert', cert, '--ledger-secret', secretFile, '--json']);
    expect(failed.code).toBe(ExitCode.verificationFailed);
    expect(JSON.parse(failed.stdout).failure).toMatchObject({ file: at.file, offset: at.offset, check: 'private-domain' });
    writeFileSync(join(work, 'short.hex'), 'abcd');
    expect((await run(['audit', ledgerDir, '--service-cert', cert, '--ledger-secret', join(work, 'short.hex')])).code).toBe(ExitCode.usage);
    expect((await run(['audit', ledgerDir, '--service-cert', cert, '--show-private', 'records'])).code).toBe(ExitCode.usage);
  });
});
