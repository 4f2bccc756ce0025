// ccf.historical.getStateRange on the enclave side, with an in-memory host: null while the range is
// read back, then its states; the same handle asked for another range starts again; handles expire and
// are dropped; the range length and the handles are bounded; entries the host altered fail the range.

import { describe, expect, it } from 'vitest';
import type { HostPort } from '../boundary.ts';
import { createIdentity } from '../crypto/certs.ts';
import { RpcError } from '../errors.ts';
import { Enclave } from './enclave.ts';
import { historicalRange, historicalRangeLimits } from './historical.ts';

interface MemoryHost extends HostPort {
  entries: Uint8Array[];
  reads: number;
  tamper: boolean;
  enclave?: Enclave;
}

function memoryHost(): MemoryHost {
  const host: MemoryHost = {
    entries: [],
    reads: 0,
    tamper: false,
    ledgerAppend(seqno, bytes) { host.entries[seqno - 1] = bytes; },
    ledgerFlush() { queueMicrotask(() => host.enclave?.onLedgerDurable(host.entries.length)); },
    async ledgerTruncate(seqno) { host.entries.length = seqno; },
    ledgerCommit() {},
    async ledgerRead(seqno) {
      host.reads++;
      const stored = host.entries[seqno - 1]?.slice();
      if (host.tamper && stored !== undefined) stored[stored.length - 1]! ^= 1;
      return stored;
    },
    async sealedWrite() {},
    log() {},
  };
  return host;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const drain = async () => { for (let i = 0; i < 20; i++) await settle(); };

async function service(): Promise<{ host: MemoryHost; enclave: Enclave; seqnos: number[] }> {
  const host = memoryHost();
  const [user, member] = await Promise.all([createIdentity('user0', 'P-256'), createIdentity('member0', 'P-256')]);
  const enclave = await Enclave.start({
    host,
    options: { signatureTxCount: 1000, signatureDelayMs: 5 },
    sealingKey: new Uint8Array(32).fill(7),
    ledger: { entries: [] },
    genesis: { members: [{ certPem: member.certPem }], users: [{ certPem: user.certPem }], open: true },
    addresses: { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] },
  });
  host.enclave = enclave;
  await settle();
  const seqnos: number[] = [];
  for (let i = 0; i < 5; i++) seqnos.push(enclave.execute((tx) => tx.map('records').set(bytes('k'), bytes(`v${i}`))).seqno!);
  enclave.emitSignature();
  await drain();
  return { host, enclave, seqnos };
}

const values = (states: ReturnType<ReturnType<typeof historicalRange>['getStateRange']>) =>
  states?.map((s) => [s.seqno, new TextDecoder().decode(s.store.begin().map('records').get(bytes('k')))]);

describe('historicalRange', () => {
  it('answers null and fetches, then the states of the range; another range on the handle starts again', async () => {
    const { host, enclave, seqnos } = await service();
    const range = historicalRange(enclave, host);
    const [a, , , , e] = seqnos as [number, number, number, number, number];
    expect(range.getStateRange(1, a, e, 60)).toBeNull();
    await drain();
    expect(values(range.getStateRange(1, a, e, 60))).toEqual(seqnos.map((s, i) => [s, `v${i}`]));
    expect(range.getStateRange(1, a, a + 1, 60)).toBeNull();
    await drain();
    expect(values(range.getStateRange(1, a, a + 1, 60))).toEqual([[a, 'v0'], [a + 1, 'v1']]);
    expect(range.dropCachedStates(1)).toBe(true);
    expect(range.dropCachedStates(1)).toBe(false);
    // Beyond the commit: nothing to fetch yet.
    expect(range.getStateRange(2, a, enclave.consensus.commitSeqno + 1, 60)).toBeNull();
    await drain();
    expect(range.getStateRange(2, a, enclave.consensus.commitSeqno + 1, 60)).toBeNull();
  });

  it('expires handles, bounds the range and the handles, and checks its arguments', async () => {
    const { host, enclave, seqnos } = await service();
    let now = 1_000_000;
    const range = historicalRange(enclave, host, () => now);
    const a = seqnos[0]!;
    range.getStateRange(1, a, a, 10);
    await drain();
    expect(range.getStateRange(1, a, a, 10)).not.toBeNull();
    now += 11_000;
    expect(range.getStateRange(1, a, a, 10)).toBeNull();
    const bad: Array<[number, number, number, number]> = [
      [-1, 1, 1, 1], [1, 0, 1, 1], [1, 3, 2, 1], [1, 1, historicalRangeLimits.rangeSeqnosMax + 1, 1], [1, 1, 1, -1], [1.5, 1, 1, 1],
    ];
    for (const args of bad) expect(() => range.getStateRange(...args), JSON.stringify(args)).toThrow(RpcError);
    for (let handle = 0; handle < historicalRangeLimits.handlesMax + 5; handle++) range.getStateRange(100 + handle, a, a, 60 + handle);
    await drain();
    // The handles expiring first were evicted; the newest still answer.
    expect(range.getStateRange(100, a, a, 60)).toBeNull();
    expect(range.getStateRange(100 + historicalRangeLimits.handlesMax + 4, a, a, 60)).not.toBeNull();
  });

  it('fails the range when the host returns altered entries, once, and then fetches afresh', async () => {
    const { host, enclave, seqnos } = await service();
    const range = historicalRange(enclave, host);
    host.tamper = true;
    const [a, b] = [seqnos[3]!, seqnos[4]!];
    expect(range.getStateRange(1, a, b, 60)).toBeNull();
    await drain();
    expect(() => range.getStateRange(1, a, b, 60)).toThrow(/not the one it wrote/);
    host.tamper = false;
    expect(range.getStateRange(1, a, b, 60)).toBeNull();
    await drain();
    expect(values(range.getStateRange(1, a, b, 60))).toEqual([[a, 'v3'], [b, 'v4']]);
  });
});
