// Ledger rekey: after governance's trigger the primary writes a new ledger secret encrypted to the nodes;
// entries after it are encrypted under the new secret; a restarted node learns it again while replaying.

import { describe, expect, it } from 'vitest';
import type { HostPort } from '../boundary.ts';
import { createIdentity } from '../crypto/certs.ts';
import { LedgerSecret, decodeEntry } from '../ledger/index.ts';
import { Enclave } from './enclave.ts';
import { Tables, jsonBytes, utf8 } from './tables.ts';
import { watchRecoveryShareRefresh } from './recovery.ts';
import { ENCRYPTED_LEDGER_SECRETS_TABLE } from '../../governance/recovery/rekey.ts';

interface MemoryHost extends HostPort {
  entries: Uint8Array[];
  sealed?: Uint8Array;
  enclave?: Enclave;
}

function memoryHost(): MemoryHost {
  const host: MemoryHost = {
    entries: [],
    ledgerAppend(seqno, bytes) {
      host.entries[seqno - 1] = bytes;
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

const addresses = { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] };
const sealingKey = new Uint8Array(32).fill(5);
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
};
const enc = (text: string) => new TextEncoder().encode(text);

describe('ledger rekey', () => {
  it('switches to a new secret after the rekey transaction, and a restarted node learns it on replay', async () => {
    const host = memoryHost();
    const member = await createIdentity('member0', 'P-256');
    const enclave = await Enclave.start({
      host, options: { signatureTxCount: 1000, signatureDelayMs: 5 }, sealingKey, ledger: { entries: [] },
      genesis: { members: [{ certPem: member.certPem }], users: [], open: true }, addresses,
    });
    host.enclave = enclave;
    watchRecoveryShareRefresh(enclave, () => enclave.ledgerSecretRanges(), () => {});
    await settle();
    const original = new LedgerSecret(enclave.ledgerSecretRanges()[0]!.key);
    enclave.execute((tx) => tx.map('records').set(enc('1'), enc('before')));
    enclave.execute((tx) => tx.map(Tables.govTriggers).set(utf8('ledger_rekey'), jsonBytes({ proposal_id: null })));
    await settle();
    const ranges = enclave.ledgerSecretRanges();
    expect(ranges).toHaveLength(2);
    const rekeySeqno = ranges[1]!.startSeqno - 1;
    expect(decodeEntry(host.entries[rekeySeqno - 1]!).publicMaps.some((m) => m.name === ENCRYPTED_LEDGER_SECRETS_TABLE)).toBe(true);
    enclave.execute((tx) => tx.map('records').set(enc('2'), enc('after')));
    enclave.emitSignature();
    await settle();
    const last = host.entries[host.entries.length - 1]!;
    // Entries after the rekey do not open under the original secret; those before still do.
    expect(() => decodeEntry(last, original)).toThrow();
    expect(decodeEntry(host.entries[0]!, original).authenticated).toBe(true);
    // The ledger never holds the new secret in plaintext.
    for (const e of host.entries) expect(Buffer.from(e).includes(Buffer.from(ranges[1]!.key))).toBe(false);
    enclave.consensus.stop();

    const again = await Enclave.start({
      host, options: { signatureTxCount: 1000, signatureDelayMs: 5 }, sealingKey, sealed: host.sealed!,
      ledger: { entries: host.entries.map((bytes, i) => ({ bytes: bytes.slice(), file: 'ledger_1', offset: i })) }, addresses,
    });
    host.enclave = again;
    await settle();
    expect(new TextDecoder().decode(again.store.get('records', enc('2')))).toBe('after');
    expect(again.ledgerSecretRanges().map((r) => r.startSeqno)).toEqual(ranges.map((r) => r.startSeqno));
    // It keeps writing under the new secret.
    again.execute((tx) => tx.map('records').set(enc('3'), enc('later')));
    await settle();
    expect(() => decodeEntry(host.entries[host.entries.length - 1]!, original)).toThrow();
    expect(decodeEntry(host.entries[host.entries.length - 1]!, new LedgerSecret(ranges[1]!.key)).authenticated).toBe(true);
    again.consensus.stop();
  });
});
