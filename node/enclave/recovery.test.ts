// Public replay of a previous service's ledger, the ledger secret chain, and the private restore, with a
// real enclave writing the ledger in memory.

import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { HostPort, LedgerReadMessage } from '../boundary.ts';
import { createIdentity } from '../crypto/certs.ts';
import { LedgerCorruptError } from '../errors.ts';
import { Store } from '../kv/index.ts';
import { MerkleTree } from '../merkle/tree.ts';
import { LedgerSecret, decodeEntry, encodeEntry } from '../ledger/index.ts';
import { Enclave } from './enclave.ts';
import { TransactionHistory } from './history.ts';
import { LedgerSecretChain, installPrivateState, replayPublicLedger, restorePrivateState } from './recovery.ts';

interface MemoryHost extends HostPort {
  entries: Uint8Array[];
  enclave?: Enclave;
}

function memoryHost(): MemoryHost {
  const host: MemoryHost = {
    entries: [],
    ledgerAppend(_seqno, bytes) {
      host.entries.push(bytes);
    },
    ledgerFlush() {
      queueMicrotask(() => host.enclave?.onLedgerDurable(host.entries.length));
    },
    async ledgerTruncate(seqno) {
      host.entries.length = seqno;
    },
    ledgerCommit() {},
    async sealedWrite() {},
    log() {},
  };
  return host;
}

const addresses = { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] };
const enc = (text: string) => new TextEncoder().encode(text);

async function serviceWithPrivateData(): Promise<{ host: MemoryHost; enclave: Enclave; secret: Uint8Array }> {
  const host = memoryHost();
  const member = await createIdentity('member0', 'P-256');
  const enclave = await Enclave.start({
    host, options: { signatureTxCount: 1000, signatureDelayMs: 5 }, sealingKey: new Uint8Array(32).fill(3),
    ledger: { entries: [] }, genesis: { members: [{ certPem: member.certPem }], users: [], open: true }, addresses,
  });
  host.enclave = enclave;
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  };
  await settle();
  enclave.execute((tx) => tx.map('records').set(enc('1'), enc('secret one')));
  enclave.execute((tx) => tx.map('records').set(enc('2'), enc('secret two')));
  enclave.execute((tx) => tx.map('public:records').set(enc('1'), enc('public one')));
  enclave.execute((tx) => tx.map('records').delete(enc('2')));
  enclave.emitSignature();
  await settle();
  // An uncommitted write after the last signature: recovery drops it.
  enclave.execute((tx) => tx.map('records').set(enc('3'), enc('never signed')));
  await settle();
  return { host, enclave, secret: enclave.secretsForJoiner('').ledgerSecret };
}

function readBack(entries: Uint8Array[]): LedgerReadMessage {
  return { entries: entries.map((bytes, i) => ({ bytes: bytes.slice(), file: 'ledger_1-9', offset: 8 + i })) };
}

function fresh() {
  return { store: new Store(), tree: new MerkleTree(), history: new TransactionHistory(), log: () => {} };
}

describe('disaster recovery, node side', () => {
  it('replays public domains up to the last signature, then restores private state with the secret', async () => {
    const { host, enclave, secret } = await serviceWithPrivateData();
    const ctx = fresh();
    const replayed = replayPublicLedger(readBack(host.entries), { ...ctx, previousServiceCertPem: enclave.serviceCertPem });
    expect(replayed.droppedEntries).toBe(1);
    expect(replayed.lastSeqno).toBe(host.entries.length - 1);
    expect(ctx.tree.root()).toEqual(enclave.tree.root(replayed.lastSeqno + 1));
    expect(new TextDecoder().decode(ctx.store.get('public:records', enc('1')))).toBe('public one');
    expect(ctx.store.get('records', enc('1'))).toBeUndefined();

    const state = restorePrivateState(replayed.entries, new LedgerSecret(secret));
    installPrivateState(ctx.store, state);
    expect(new TextDecoder().decode(ctx.store.get('records', enc('1')))).toBe('secret one');
    expect(ctx.store.get('records', enc('2'))).toBeUndefined();
    expect(ctx.store.get('records', enc('3'))).toBeUndefined();
    expect(new TextDecoder().decode(ctx.store.get('public:records', enc('1')))).toBe('public one');
    expect(ctx.store.getVersion('records', enc('1'))).toBe(enclave.store.getVersion('records', enc('1')));

    // Any other secret fails before anything is installed.
    expect(() => restorePrivateState(replayed.entries, new LedgerSecret(new Uint8Array(randomBytes(32))))).toThrow();
  });

  it('refuses a previous ledger altered inside signed history, or from another service', async () => {
    const { host } = await serviceWithPrivateData();
    // A flipped bit in a private ciphertext (only the signed root can tell without the secret), and one
    // in a public domain.
    const privateIndex = host.entries.findIndex((e) => decodeEntry(e).privateCiphertext.length > 0);
    expect(privateIndex).toBeGreaterThan(0);
    for (const [index, offset] of [[privateIndex, -1], [1, 60]] as const) {
      const altered = host.entries.map((e) => e.slice());
      const target = altered[index]!;
      target[offset < 0 ? target.length + offset : offset]! ^= 1;
      expect(() => replayPublicLedger(readBack(altered), fresh())).toThrow(LedgerCorruptError);
    }
    const other = await createIdentity('other', 'P-384');
    expect(() => replayPublicLedger(readBack(host.entries), { ...fresh(), previousServiceCertPem: other.certPem })).toThrow(/another service/);
    expect(() => replayPublicLedger(readBack(host.entries.slice(0, 1)), fresh())).toThrow(/no signature/);
  });

  it('a ledger secret chain picks the secret by seqno, and refuses the unknown previous range', () => {
    const previous = new Uint8Array(randomBytes(32));
    const latest = new Uint8Array(randomBytes(32));
    const chain = new LedgerSecretChain(latest, 10);
    const content = (seqno: number) => ({
      seqno, view: 2, claimsDigest: new Uint8Array(32), commitEvidenceDigest: new Uint8Array(32), maxConflictVersion: 0,
      maps: [{ name: 'records', writes: [[enc('k'), enc('v')]] as Array<[Uint8Array, Uint8Array]>, removes: [] }],
    });
    const old = encodeEntry(content(5), new LedgerSecret(previous));
    const mine = encodeEntry(content(10), chain);
    expect(decodeEntry(mine, new LedgerSecret(latest)).authenticated).toBe(true);
    expect(() => decodeEntry(old, chain)).toThrow(/not recovered yet/);
    expect(chain.complete).toBe(false);
    chain.installPrevious([{ startSeqno: 1, key: previous }]);
    expect(chain.complete).toBe(true);
    expect(decodeEntry(old, chain).authenticated).toBe(true);
    expect(chain.commitEvidence(2, 5)).toBe(new LedgerSecret(previous).commitEvidence(2, 5));
    expect(chain.commitEvidence(2, 11)).toBe(new LedgerSecret(latest).commitEvidence(2, 11));
    expect(chain.ranges().map((r) => r.startSeqno)).toEqual([1, 10]);
  });
});
