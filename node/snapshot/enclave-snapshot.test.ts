// Snapshots with the real enclave (in-process, in-memory host): a snapshot taken right after a signature,
// its evidence executed as an ordinary transaction with the digest as claims, the enclave's own receipt of
// the evidence making the committed file, which our verifier and the client's accept; then a store and
// tree restored from the file plus the ledger entries after it match the enclave's.

import { describe, expect, it } from 'vitest';
import type { HostPort } from '../boundary.ts';
import { createIdentity } from '../crypto/certs.ts';
import { toHex } from '../crypto/hash.ts';
import { Enclave } from '../enclave/enclave.ts';
import { unseal } from '../enclave/sealing.ts';
import { Tables } from '../enclave/tables.ts';
import { LedgerSecret } from '../ledger/index.ts';
import { verifySnapshot as clientVerifySnapshot } from '../../client/src/ledger/snapshot.ts';
import {
  applyEntryAfterSnapshot,
  completeSnapshotFile,
  restoreFromSnapshotFile,
  serializeSnapshot,
  snapshotDigest,
  snapshotEvidenceWrite,
  snapshotFileName,
  verifySnapshotFile,
  type ViewStart,
} from './index.ts';

interface MemoryHost extends HostPort {
  entries: Array<{ seqno: number; bytes: Uint8Array }>;
  sealed?: Uint8Array;
  enclave?: Enclave;
}

function memoryHost(): MemoryHost {
  const host: MemoryHost = {
    entries: [],
    ledgerAppend(seqno, bytes) {
      host.entries.push({ seqno, bytes });
    },
    ledgerFlush() {
      queueMicrotask(() => host.enclave?.onLedgerDurable(host.entries.length));
    },
    async ledgerTruncate(seqno) {
      host.entries.length = seqno;
    },
    ledgerCommit() {},
    async sealedWrite(blob) {
      host.sealed = blob;
    },
    log() {},
  };
  return host;
}

const sealingKey = new Uint8Array(32).fill(5);
const addresses = { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] };
const flush = () => new Promise((r) => setTimeout(r, 0));
const utf8 = new TextEncoder();

function viewStarts(enclave: Enclave, upTo: number): ViewStart[] {
  const views: ViewStart[] = [];
  for (let s = 1; s <= upTo; s++) {
    const view = enclave.consensus.viewOf(s)!;
    if (views.length === 0 || views[views.length - 1]!.view !== view) views.push({ view, startSeqno: s });
  }
  return views;
}

describe('snapshots with the enclave', () => {
  it('snapshot at a signature, evidence receipt from the enclave, verified file, resume to the same state', async () => {
    const host = memoryHost();
    const member = await createIdentity('member0', 'P-256');
    const enclave = await Enclave.start({
      host,
      options: { signatureTxCount: 1000, signatureDelayMs: 5 },
      sealingKey,
      ledger: { entries: [] },
      genesis: { members: [{ certPem: member.certPem }], users: [], open: true },
      addresses,
    });
    host.enclave = enclave;
    await flush();
    for (let i = 0; i < 10; i++) {
      enclave.execute((tx) => tx.map(i % 2 ? 'records' : 'public:records').set(utf8.encode(`k${i}`), utf8.encode(`v${i}`)));
    }
    enclave.emitSignature();
    await flush();
    const seqno = enclave.lastSeqno;
    const view = enclave.consensus.viewOf(seqno)!;
    const secret = new LedgerSecret(unseal(host.sealed!, sealingKey).ledgerSecret);

    const entry = serializeSnapshot({ store: enclave.store, seqno, view, tree: enclave.tree, secret, views: viewStarts(enclave, seqno) });
    const digest = snapshotDigest(entry);
    const evidence = enclave.execute((tx) => snapshotEvidenceWrite(tx, entry, seqno), undefined, () => digest);
    enclave.execute((tx) => tx.map('records').set(utf8.encode('after'), utf8.encode('snapshot')));
    enclave.emitSignature();
    await flush();
    await enclave.waitForCommit(evidence.seqno!);
    const receipt = enclave.receipt(view, evidence.seqno!);
    expect(receipt.leaf_components?.claims_digest).toBe(toHex(digest));

    const file = completeSnapshotFile(entry, receipt);
    const name = snapshotFileName(seqno, evidence.seqno!);
    expect(verifySnapshotFile(file, enclave.serviceCertPem, { name })).toMatchObject({ seqno, evidenceSeqno: evidence.seqno });
    expect(clientVerifySnapshot(file, { serviceCert: enclave.serviceCertPem, name }).version).toBe(seqno);

    const restored = restoreFromSnapshotFile(file, enclave.serviceCertPem, secret, { name });
    expect(restored.view).toBe(view);
    expect(restored.signatureInfo?.nodeId).toBe(enclave.nodeId);
    for (const e of host.entries.filter((x) => x.seqno > seqno)) applyEntryAfterSnapshot(restored, e.bytes, secret);
    expect(restored.store.version).toBe(enclave.store.version);
    expect(toHex(restored.tree.root())).toBe(toHex(enclave.tree.root()));
    const strip = (s: ReturnType<typeof enclave.store.snapshot>) => s.maps.filter((m) => m.name !== Tables.tree);
    expect(strip(restored.store.snapshot())).toEqual(strip(enclave.store.snapshot()));
  });
});
