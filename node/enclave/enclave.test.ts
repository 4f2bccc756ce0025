// The enclave in-process, with an in-memory host: commit only at durable signatures, receipts that fold
// to the signed root, replay after restart, and the damage policy (torn tail dropped, damage inside
// signed history refused with its file and offset).

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { HostPort, LedgerReadMessage } from '../boundary.ts';
import { LedgerCorruptError } from '../errors.ts';
import { verifyDigest } from '../crypto/keys.ts';
import { certificatePublicKeyDer } from '../crypto/certs.ts';
import { createIdentity } from '../crypto/certs.ts';
import { foldProof } from '../merkle/tree.ts';
import { Enclave } from './enclave.ts';
import { leafOf } from '../ledger/index.ts';

interface MemoryHost extends HostPort {
  entries: Array<{ seqno: number; bytes: Uint8Array; isSignature: boolean }>;
  sealed?: Uint8Array;
  logs: string[];
  autoDurable: boolean;
  enclave?: Enclave;
}

function memoryHost(): MemoryHost {
  const host: MemoryHost = {
    entries: [],
    logs: [],
    autoDurable: true,
    ledgerAppend(seqno, bytes, isSignature) {
      host.entries.push({ seqno, bytes, isSignature });
    },
    ledgerFlush() {
      if (host.autoDurable) queueMicrotask(() => host.enclave?.onLedgerDurable(host.entries.length));
    },
    async ledgerTruncate(seqno) {
      host.entries.length = seqno;
    },
    ledgerCommit() {},
    async sealedWrite(blob) {
      host.sealed = blob;
    },
    log(level, message) {
      host.logs.push(`${level} ${message}`);
    },
  };
  return host;
}

function readBack(host: MemoryHost): LedgerReadMessage {
  return { entries: host.entries.map((e, i) => ({ bytes: e.bytes.slice(), file: 'ledger_1', offset: 8 + i * 1000 })) };
}

const sealingKey = new Uint8Array(32).fill(9);
const addresses = { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] };

async function newService(host: MemoryHost): Promise<Enclave> {
  const user = await createIdentity('user0', 'P-256');
  const member = await createIdentity('member0', 'P-256');
  const enclave = await Enclave.start({
    host,
    options: { signatureTxCount: 1000, signatureDelayMs: 5 },
    sealingKey,
    ledger: { entries: [] },
    genesis: { members: [{ certPem: member.certPem }], users: [{ certPem: user.certPem }], open: true },
    addresses,
  });
  host.enclave = enclave;
  return enclave;
}

async function restart(host: MemoryHost, ledger = readBack(host)): Promise<Enclave> {
  const fresh = memoryHost();
  fresh.entries = host.entries;
  const enclave = await Enclave.start({
    host: fresh,
    options: { signatureTxCount: 1000, signatureDelayMs: 5 },
    sealingKey,
    sealed: host.sealed!,
    ledger,
    addresses,
  });
  fresh.enclave = enclave;
  Object.assign(host, { enclave, logs: fresh.logs });
  return enclave;
}

function put(enclave: Enclave, map: string, key: string, value: string): { txid?: string; seqno?: number } {
  return enclave.execute((tx) => tx.map(map).set(new TextEncoder().encode(key), new TextEncoder().encode(value)));
}

const flushMicrotasks = () => new Promise((r) => setTimeout(r, 0));

/** Lets consensus hand every entry to the host and see it durable (entries reach the host in Ready batches). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await flushMicrotasks();
}

describe('enclave', () => {
  it('commits only at a durable signature and serves receipts that fold to the signed root', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    await flushMicrotasks();
    host.autoDurable = false;
    const { txid, seqno } = put(enclave, 'records', 'k', 'v');
    const [view] = txid!.split('.').map(Number);
    expect(enclave.txStatus(view!, seqno!)).toBe('Pending');
    enclave.emitSignature();
    expect(enclave.txStatus(view!, seqno!)).toBe('Pending'); // signed but not durable
    for (let i = 0; i < 5; i++) {
      await flushMicrotasks();
      expect(enclave.txStatus(view!, seqno!)).toBe('Pending'); // the host has not reported it durable
    }
    // Consensus hands entries to the host one batch at a time, each after the previous one is durable.
    for (let i = 0; i < 5 && enclave.txStatus(view!, seqno!) !== 'Committed'; i++) {
      enclave.onLedgerDurable(host.entries.length);
      await flushMicrotasks();
    }
    expect(enclave.txStatus(view!, seqno!)).toBe('Committed');
    const receipt = enclave.receipt(view!, seqno!);
    const leaf = leafOf(host.entries[seqno! - 1]!.bytes, receipt.leaf_components!.commit_evidence,
      Buffer.from(receipt.leaf_components!.claims_digest, 'hex'));
    const proof = receipt.proof.map((s) => ('left' in s ? { left: Buffer.from(s.left, 'hex') } : { right: Buffer.from(s.right, 'hex') }));
    const root = foldProof(leaf, proof);
    expect(verifyDigest(certificatePublicKeyDer(receipt.cert), root, Buffer.from(receipt.signature, 'base64'))).toBe(true);
    // The write-set digest is the SHA-256 of the entry as stored.
    expect(receipt.leaf_components!.write_set_digest).toBe(createHash('sha256').update(host.entries[seqno! - 1]!.bytes).digest('hex'));
  });

  it('replays its ledger after a restart, with the same receipts, in a new view', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    const outcomes = Array.from({ length: 20 }, (_, i) => put(enclave, 'records', `k${i}`, `v${i}`));
    enclave.emitSignature();
    await flushMicrotasks();
    const receipts = outcomes.map((o) => enclave.receipt(Number(o.txid!.split('.')[0]), o.seqno!));
    const again = await restart(host);
    await flushMicrotasks();
    expect(again.consensus.view).toBe(enclave.consensus.view + 1);
    outcomes.forEach((o, i) => {
      expect(again.receipt(Number(o.txid!.split('.')[0]), o.seqno!)).toEqual(receipts[i]);
      expect(new TextDecoder().decode(again.store.get('records', new TextEncoder().encode(`k${i}`)))).toBe(`v${i}`);
    });
  });

  it('cuts a damaged tail back to the last good entry, and says so', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    put(enclave, 'records', 'a', '1');
    enclave.emitSignature();
    await settle();
    const lastSigned = host.entries.length;
    put(enclave, 'records', 'b', '2');
    put(enclave, 'public:records', 'c', '3');
    put(enclave, 'records', 'd', '4');
    await settle();
    const ledger = readBack(host);
    ledger.entries[ledger.entries.length - 2]!.bytes[60] ^= 1; // damage the public map 'c', after the last signature
    const again = await restart(host, ledger);
    // Replay keeps 'b' and cuts 'c' and 'd'; then, as a new primary, the node rolls back to its last
    // signature (CCF: nothing after it was ever committed) and signs in its new view.
    expect(again.lastSeqno).toBe(lastSigned + 1);
    expect(again.store.get('records', new TextEncoder().encode('b'))).toBeUndefined();
    expect(new TextDecoder().decode(again.store.get('records', new TextEncoder().encode('a')))).toBe('1');
    expect(again.store.get('public:records', new TextEncoder().encode('c'))).toBeUndefined();
    expect(again.store.get('records', new TextEncoder().encode('d'))).toBeUndefined();
    expect(host.logs.join('\n')).toMatch(/cutting 2 uncommitted entries after seqno \d+, the last good entry/);
  });

  it('refuses to start when an entry covered by a signature was changed, naming file and offset', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    for (let i = 0; i < 5; i++) put(enclave, 'public:records', `k${i}`, `v${i}`);
    enclave.emitSignature();
    await settle();
    const ledger = readBack(host);
    const victim = ledger.entries[3]!;
    victim.bytes[victim.bytes.length - 1] ^= 0x20; // a public value, inside signed history
    const error = await restart(host, ledger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerCorruptError);
    expect((error as LedgerCorruptError).file).toBe('ledger_1');
    expect((error as Error).message).toMatch(/ledger_1 at offset \d+/);
  });

  it('refuses to start when an encrypted entry inside signed history fails its GCM tag', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    put(enclave, 'records', 'secret', 'value');
    enclave.emitSignature();
    await settle();
    const ledger = readBack(host);
    const victim = ledger.entries[2]!;
    victim.bytes[victim.bytes.length - 3] ^= 1;
    const error = await restart(host, ledger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerCorruptError);
    expect((error as LedgerCorruptError).offset).toBe(victim.offset);
  });

  it('creates the genesis again when the secrets were sealed but the ledger never got it', async () => {
    const host = memoryHost();
    await newService(host);
    const member = await createIdentity('member1', 'P-256');
    const again = await Enclave.start({
      host: memoryHost(),
      options: { signatureTxCount: 1000, signatureDelayMs: 5 },
      sealingKey,
      sealed: host.sealed!,
      ledger: { entries: [] },
      genesis: { members: [{ certPem: member.certPem }], users: [], open: true },
      addresses,
    });
    expect(again.lastSeqno).toBe(3); // genesis and its signature (view 1), then the signature of view 2
    expect(again.nodeId).toBe(host.enclave!.nodeId); // the same sealed identity
  });

  it('re-runs a conflicting transaction and gives up with 503 after the bounded retries', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    let runs = 0;
    const outcome = enclave.execute((tx) => {
      runs++;
      const key = new TextEncoder().encode('counter');
      tx.map('records').get(key);
      if (runs === 1) put(enclave, 'records', 'counter', 'concurrent'); // a write lands between read and commit
      tx.map('records').set(key, new TextEncoder().encode(`run ${runs}`));
      return runs;
    });
    expect(outcome.value).toBe(2);
    expect(() => enclave.execute((tx) => {
      const key = new TextEncoder().encode('hot');
      tx.map('records').get(key);
      put(enclave, 'records', 'hot', String(Math.random()));
      tx.map('records').set(key, new Uint8Array([1]));
    })).toThrow(/conflict/i);
  });
});
