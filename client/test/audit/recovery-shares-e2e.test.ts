// Offline audit with recovery shares instead of the ledger secret: a real node with three recovery
// members (RSA encryption keys, threshold 2) writes private records before and after a ledger rekey and
// stops; the auditor, holding only the ledger files, the service certificate and the encryption private
// keys of two members, recovers both ledger secrets from the ledger's public recovery-share record and
// reads the private records back. One key (below the threshold) or a key of no member cannot recover
// the secret: a typed error, and `synod audit --member-enc-key` exits non-zero.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PrivateWrite,
  RecoverySharesError,
  RecoverySharesErrorCode,
  auditLedgerWithRecoveryShares,
  recoverLedgerSecretsFromShares,
} from '../../src/index.ts';
import { ExitCode, main } from '../../src/cli/main.ts';
import { createIdentities } from '../../../node/sandbox/main.ts';
import { startNode, type NodeProcess } from '../../../node/sandbox/supervisor.ts';
import { HttpsClient } from '../../../test/helpers/https.ts';
import { LOGGING_JS_BUNDLE } from '../../../test/helpers/network.ts';
import { govRequests, memberFromPem, passProposal } from '../../../governance/testing.ts';

const workspace = mkdtempSync(join(tmpdir(), 'synod-audit-shares-'));
const common = join(workspace, 'sandbox_common');
const read = (file: string): string => readFileSync(join(common, file), 'utf8');
const encKey = (i: number): string => read(`member${i}_enc_privk.pem`);
const MESSAGES = new Map([
  [41, 'written before the rekey'],
  [42, 'SYNOD-RECOVERY-AUDIT after the rekey'],
]);
let node: NodeProcess | undefined;
const clients: HttpsClient[] = [];
let ledgerDir: string;
let serviceCert: string;
const txids = new Map<number, string>();


beforeAll(async () => {
  await createIdentities(common, 3, 1);
  const members = [0, 1, 2].map((i) => memberFromPem(read(`member${i}_cert.pem`), read(`member${i}_privk.pem`)));
  const dataDir = join(workspace, 'node0');
  node = await startNode({
    dataDir, rpcAddress: '127.0.0.1:0', serviceCertFile: join(common, 'service_cert.pem'), signatureDelayMs: 5,
    genesis: {
      members: [0, 1, 2].map((i) => ({ certFile: join(common, `member${i}_cert.pem`), encryptionPublicKeyFile: join(common, `member${i}_enc_pubk.pem`) })),
      users: [{ certFile: join(common, 'user0_cert.pem') }],
      open: true,
      jsAppDir: LOGGING_JS_BUNDLE,
    },
  });
  serviceCert = read('service_cert.pem');
  const url = `https://${node.status.rpcAddress}`;
  const anonymous = new HttpsClient({ url, ca: serviceCert });
  const user = new HttpsClient({ url, ca: serviceCert, cert: read('user0_cert.pem'), key: read('user0_privk.pem') });
  clients.push(anonymous, user);
  const gov = govRequests(anonymous);
  for (const m of members) await gov.ack(m);
  await passProposal(gov, members, [{ name: 'set_recovery_threshold', args: { recovery_threshold: 2 } }]);
  const post = async (id: number): Promise<void> => {
    const res = await user.post('/app/log/private', { id, msg: MESSAGES.get(id) });
    expect(res.status).toBe(200);
    txids.set(id, String(res.headers['x-ms-ccf-transaction-id']));
  };
  await post(41);
  await passProposal(gov, members, [{ name: 'trigger_ledger_rekey', args: {} }]);
  await new Promise((r) => setTimeout(r, 300));
  await post(42);
  await user.waitForCommit(txids.get(42)!);
  // The reissued shares and a signature after them.
  await new Promise((r) => setTimeout(r, 500));
  const last = await user.post('/app/log/public', { id: 9, msg: 'public note' });
  await user.waitForCommit(String(last.headers['x-ms-ccf-transaction-id']));
  await new Promise((r) => setTimeout(r, 200));
  for (const c of clients) c.close();
  await node.kill('SIGTERM');
  node = undefined;
  ledgerDir = join(dataDir, 'ledger');
  for (const file of readdirSync(ledgerDir)) expect(readFileSync(join(ledgerDir, file)).includes('SYNOD-RECOVERY-AUDIT')).toBe(false);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await node?.kill('SIGKILL').catch(() => undefined);
  rmSync(workspace, { recursive: true, force: true });
});

function records(writes: PrivateWrite[]): Map<number, string> {
  return new Map(
    writes
      .filter((w) => w.map === 'records' && w.value !== undefined)
      .map((w) => [Number(new DataView(w.key.buffer, w.key.byteOffset, 8).getBigUint64(0, true)), new TextDecoder().decode(w.value)]),
  );
}

describe('offline audit with recovery shares', () => {
  it('any two members\' encryption keys recover both ledger secrets and decrypt the private records', { timeout: 30_000 }, async () => {
    for (const pair of [[0, 1], [0, 2], [2, 1]]) {
      const writes: PrivateWrite[] = [];
      const report = await auditLedgerWithRecoveryShares(ledgerDir, { serviceCert, memberEncryptionKeys: pair.map(encKey), onPrivateWrite: (w) => writes.push(w) });
      expect(report.failure).toBeUndefined();
      expect(report.ok).toBe(true);
      expect(report.recovery.threshold).toBe(2);
      expect(report.recovery.members).toHaveLength(2);
      // Rekeyed: two secrets, the second starting after seqno 1.
      expect(report.recovery.ledgerSecretStartSeqnos).toHaveLength(2);
      expect(report.recovery.ledgerSecretStartSeqnos[0]).toBe(1);
      expect(report.privateDomain!.entriesAuthenticated).toBe(report.counts.entries);
      const read = records(writes);
      expect(read).toEqual(MESSAGES);
      for (const w of writes.filter((x) => x.map === 'records')) {
        expect(w.txid).toBe(txids.get(Number(new DataView(w.key.buffer, w.key.byteOffset, 8).getBigUint64(0, true))));
      }
      // Record 42 was encrypted under the second secret, record 41 under the first.
      expect(Number(txids.get(42)!.split('.')[1])).toBeGreaterThanOrEqual(report.recovery.ledgerSecretStartSeqnos[1]!);
      expect(Number(txids.get(41)!.split('.')[1])).toBeLessThan(report.recovery.ledgerSecretStartSeqnos[1]!);
    }
  });

  it('one key (below the threshold) or no member\'s key cannot recover the secret', { timeout: 30_000 }, async () => {
    const one = await recoverLedgerSecretsFromShares(ledgerDir, [encKey(1)]).catch((e: unknown) => e);
    expect(one).toBeInstanceOf(RecoverySharesError);
    expect((one as RecoverySharesError).code).toBe(RecoverySharesErrorCode.tooFewShares);
    expect((one as Error).message).toMatch(/decrypt 1 of the 3 recovery share\(s\).*threshold is 2/);
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(auditLedgerWithRecoveryShares(ledgerDir, { serviceCert, memberEncryptionKeys: [stranger, encKey(2)] })).rejects.toMatchObject({
      code: RecoverySharesErrorCode.tooFewShares,
    });
    // The same key twice is still one share.
    await expect(recoverLedgerSecretsFromShares(ledgerDir, [encKey(0), encKey(0)])).rejects.toMatchObject({ code: RecoverySharesErrorCode.tooFewShares });
  });

  it('synod audit --member-enc-key prints the private records, and exits 1 when the keys do not reach the threshold', { timeout: 30_000 }, async () => {
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(argv, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`) });
      return { code, stdout, stderr };
    };
    const cert = join(common, 'service_cert.pem');
    const keys = ['--member-enc-key', join(common, 'member0_enc_privk.pem'), '--member-enc-key', join(common, 'member2_enc_privk.pem')];
    const human = await run(['audit', ledgerDir, '--service-cert', cert, ...keys, '--show-private', 'records', '--no-progress']);
    expect(human.code, human.stderr).toBe(ExitCode.ok);
    expect(human.stdout).toMatch(/recovered from the recovery shares written at \d+\.\d+ \(threshold 2/);
    for (const msg of MESSAGES.values()) expect(human.stdout).toContain(msg);
    const json = await run(['audit', ledgerDir, '--service-cert', cert, ...keys, '--show-private', 'records', '--json']);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.recovery.ledgerSecretStartSeqnos).toHaveLength(2);
    expect(report.privateWrites.map((w: { rendered: { value: string } }) => JSON.parse(w.rendered.value))).toEqual([...MESSAGES.values()]);

    const below = await run(['audit', ledgerDir, '--service-cert', cert, '--member-enc-key', join(common, 'member1_enc_privk.pem')]);
    expect(below.code).toBe(ExitCode.verificationFailed);
    expect(below.stderr).toMatch(/cannot recover the ledger secret/);
    const belowJson = await run(['audit', ledgerDir, '--service-cert', cert, '--member-enc-key', join(common, 'member1_enc_privk.pem'), '--json']);
    expect(belowJson.code).toBe(ExitCode.verificationFailed);
    expect(JSON.parse(belowJson.stdout).error.code).toBe(RecoverySharesErrorCode.tooFewShares);
    // Not a PEM key, or both ways of decrypting: usage errors.
    writeFileSync(join(workspace, 'not-a-key.pem'), 'hello');
    expect((await run(['audit', ledgerDir, '--service-cert', cert, '--member-enc-key', join(workspace, 'not-a-key.pem')])).code).toBe(ExitCode.usage);
    // A member's signing key (EC) instead of its encryption key.
    const ec = await run(['audit', ledgerDir, '--service-cert', cert, '--member-enc-key', join(common, 'member0_privk.pem')]);
    expect(ec.code, ec.stderr).toBe(ExitCode.usage);
    expect(ec.stderr).toMatch(/RSA private key|PEM/);
    expect((await run(['audit', ledgerDir, '--service-cert', cert, ...keys, '--ledger-secret', cert])).code).toBe(ExitCode.usage);
  });
});
