// `npm run bench:verify`: what auditors and clients pay. Builds a Synod ledger of N transactions on disk
// (the enclave in-process over real ledger files; no network), then measures
//   - receipts verified per second by client/'s verifier: cold (every receipt checks its signature and
//     endorsement) and with the root cache (receipts under one signature cost one ECDSA verification);
//   - the offline audit's speed in transactions per second over the whole ledger.
//
//   npm run bench:verify -- [--transactions 100000] [--receipts 2000] [--json]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { HostPort } from '../node/boundary.ts';
import { Enclave } from '../node/enclave/enclave.ts';
import { createIdentity } from '../node/crypto/certs.ts';
import { LedgerFiles } from '../node/host/ledger/files.ts';
import { ReceiptVerifier, auditLedger } from '../client/src/index.ts';

async function buildLedger(dir: string, transactions: number): Promise<{ enclave: Enclave; seqnos: number[]; view: number }> {
  const files = await LedgerFiles.open(dir, {});
  let enclave: Enclave | undefined;
  const host: HostPort = {
    ledgerAppend: (seqno, bytes, isSignature) => files.append(seqno, bytes, isSignature),
    ledgerFlush: () => {},
    ledgerTruncate: (seqno) => files.truncate(seqno),
    ledgerCommit: (seqno) => files.commit(seqno),
    sealedWrite: async () => {},
    log: () => {},
  };
  const user = await createIdentity('user0', 'P-256');
  enclave = await Enclave.start({
    host,
    options: { signatureTxCount: 100, signatureDelayMs: 1_000_000 },
    sealingKey: new Uint8Array(32),
    ledger: { entries: [] },
    genesis: { members: [{ certPem: user.certPem }], users: [{ certPem: user.certPem }], open: true },
    addresses: { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: [] },
  });
  const value = new Uint8Array(256).fill(120);
  const seqnos: number[] = [];
  for (let i = 0; i < transactions; i++) {
    const key = new Uint8Array(8);
    new DataView(key.buffer).setUint32(0, i, true);
    const outcome = enclave.execute((tx) => tx.map(i % 2 === 0 ? 'records' : 'public:records').set(key, value));
    seqnos.push(outcome.seqno!);
    if (i % 5000 === 4999) {
      await files.flush();
      enclave.onLedgerDurable(files.durableSeqno);
      process.stderr.write(`\r  built ${i + 1} / ${transactions} transactions`);
    }
  }
  enclave.emitSignature();
  await files.flush();
  enclave.onLedgerDurable(files.durableSeqno);
  await files.close();
  process.stderr.write('\n');
  return { enclave, seqnos, view: enclave.consensus.view };
}

function rate(count: number, ms: number): number {
  return count / (ms / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transactions: { type: 'string', default: '100000' },
      receipts: { type: 'string', default: '2000' },
      json: { type: 'boolean', default: false },
    },
  });
  const transactions = Number(values.transactions);
  const receiptCount = Number(values.receipts);
  if (!Number.isInteger(transactions) || transactions < 100 || transactions > 5_000_000) throw new Error('--transactions must be in 100..5000000');
  const dir = mkdtempSync(join(tmpdir(), 'synod-bench-verify-'));
  try {
    process.stderr.write(`Building a ledger of ${transactions} transactions in ${dir} …\n`);
    const { enclave, seqnos, view } = await buildLedger(join(dir, 'ledger'), transactions);
    // Consecutive transactions, as a client checking its own recent writes holds them: many share a signature.
    const receipts = seqnos.slice(0, receiptCount).map((s) => enclave.receipt(view, s));

    let started = performance.now();
    for (const receipt of receipts) new ReceiptVerifier({ serviceCert: enclave.serviceCertPem }).verify(receipt);
    const coldPerSecond = rate(receipts.length, performance.now() - started);

    const cached = new ReceiptVerifier({ serviceCert: enclave.serviceCertPem });
    started = performance.now();
    for (const receipt of receipts) cached.verify(receipt);
    const cachedPerSecond = rate(receipts.length, performance.now() - started);

    started = performance.now();
    const report = await auditLedger(join(dir, 'ledger'), { serviceCert: enclave.serviceCertPem });
    const auditMs = performance.now() - started;
    if (!report.ok) throw new Error(`audit failed: ${JSON.stringify(report.failure)}`);
    const result = {
      transactions: report.counts.entries,
      signatures: report.counts.signatures,
      receipts: receipts.length,
      receiptsPerSecondCold: coldPerSecond,
      receiptsPerSecondCached: cachedPerSecond,
      cacheStats: cached.stats,
      auditSeconds: auditMs / 1000,
      auditTransactionsPerSecond: rate(report.counts.entries, auditMs),
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    process.stdout.write([
      `ledger: ${result.transactions} entries, ${result.signatures} signatures (one every 100 transactions)`,
      `receipts verified per second, cold:        ${coldPerSecond.toFixed(0)}`,
      `receipts verified per second, root cache:  ${cachedPerSecond.toFixed(0)} (${cached.stats.verifications} signature checks for ${receipts.length} receipts)`,
      `audit: ${result.auditSeconds.toFixed(1)} s, ${result.auditTransactionsPerSecond.toFixed(0)} transactions/s`,
      '',
    ].join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
