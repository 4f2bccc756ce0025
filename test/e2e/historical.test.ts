// Historical queries end to end, on a real node process over HTTPS with the JS logging sample: every
// version of a record read back by its TxID (x-ms-ccf-transaction-id) in the same request, each with a
// receipt that the client-side verifier accepts; a claims-digest write whose receipt verifies with its
// claims; CCF's 4xx for bad, unknown and rolled-back TxIDs; reads from disk after a restart; and a
// ledger file changed under the running node is refused, not served.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { verifyReceipt } from '../../client/src/index.ts';
import { splitChunk } from '../../node/ledger/chunk.ts';
import { startTestNetwork, type TestNetwork } from '../helpers/network.ts';

const TXID_HEADER = 'x-ms-ccf-transaction-id';
const VERSIONS = 8;
const RECORD_ID = 42;

let net: TestNetwork;

beforeAll(async () => {
  // Small chunks, so that the entries read back sit in several .committed files and an open one.
  net = await startTestNetwork({ signatureDelayMs: 5, ledgerChunkBytes: 2048 });
});

afterAll(async () => {
  await net?.stop();
});

async function write(body: Record<string, unknown>, kind: 'private' | 'public' = 'private'): Promise<string> {
  const res = await net.user.post(`/app/log/${kind}`, body);
  expect(res.status, res.text()).toBe(200);
  return res.headers[TXID_HEADER] as string;
}

function historical(path: string, txid: string | undefined, id = RECORD_ID) {
  return net.user.get(`/app/log/private/${path}?id=${id}`, txid === undefined ? {} : { [TXID_HEADER]: txid });
}

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('historical queries on a real node', () => {
  const txids: string[] = [];

  it('reads every version of a record by its TxID, each with a receipt that verifies offline', async () => {
    for (let i = 1; i <= VERSIONS; i++) txids.push(await write({ id: RECORD_ID, msg: `version ${i}` }));
    expect(await net.user.waitForCommit(txids.at(-1)!)).toBe('Committed');
    expect((await net.user.get(`/app/log/private?id=${RECORD_ID}`)).json()).toEqual({ msg: `version ${VERSIONS}` });
    for (const [i, txid] of txids.entries()) {
      const plain = await historical('historical', txid);
      expect(plain.status, plain.text()).toBe(200);
      expect(plain.json()).toEqual({ msg: `version ${i + 1}` });

      const withReceipt = await historical('historical_receipt', txid);
      expect(withReceipt.status, withReceipt.text()).toBe(200);
      const { msg, receipt } = withReceipt.json();
      expect(msg).toBe(`version ${i + 1}`);
      expect(receipt.is_signature_transaction).toBe(false);
      const verified = verifyReceipt(receipt, { serviceCert: net.serviceCert });
      expect(verified.txid).toBe(txid);
      // The same receipt the node serves at /app/receipt.
      const served = (await net.user.get(`/app/receipt?transaction_id=${txid}`)).json();
      expect({ ...receipt, is_signature_transaction: undefined }).toEqual({ ...served, is_signature_transaction: undefined });
    }
    const ledgerFiles = readdirSync(join(net.dataDir, 'ledger'));
    expect(ledgerFiles.filter((name) => name.endsWith('.committed')).length).toBeGreaterThan(1);
  });

  it('a write with record_claim gets a receipt whose claims digest is SHA-256 of the message', async () => {
    const msg = 'a message worth a claim';
    const txid = await write({ id: 7, msg, record_claim: true }, 'public');
    await net.user.waitForCommit(txid);
    const res = await net.user.get(`/app/log/public/historical_receipt?id=7`, { [TXID_HEADER]: txid });
    expect(res.status, res.text()).toBe(200);
    const { receipt } = res.json();
    const verified = verifyReceipt(receipt, { serviceCert: net.serviceCert, claims: utf8(msg) });
    expect(verified.txid).toBe(txid);
    expect(() => verifyReceipt(receipt, { serviceCert: net.serviceCert, claims: utf8(`${msg}!`) })).toThrow(/claims/i);
    const plain = (await net.user.get(`/app/log/private/historical_receipt?id=${RECORD_ID}`, { [TXID_HEADER]: txids[0]! })).json();
    expect(plain.receipt.leaf_components.claims_digest).toBe('0'.repeat(64));
  });

  it('answers a missing or malformed header with 400, an unknown TxID with 404, and keeps serving', async () => {
    const [view, seqno] = txids[0]!.split('.').map(Number) as [number, number];
    const commit = (await net.anonymous.get('/app/commit')).json().transaction_id as string;
    const lastSeqno = Number(commit.split('.')[1]);
    const cases: Array<[string | undefined, number, string]> = [
      [undefined, 400, 'MissingRequiredHeader'],
      ['not-a-txid', 400, 'InvalidHeaderValue'],
      [`${view}`, 400, 'InvalidHeaderValue'],
      [`${view}.0`, 400, 'InvalidHeaderValue'],
      [`${view}.${seqno}x`, 400, 'InvalidHeaderValue'],
      [`${view}.${lastSeqno + 1000}`, 404, 'TransactionPendingOrUnknown'],
      [`${view + 4}.${seqno}`, 404, 'TransactionInvalid'],
    ];
    for (const [header, status, code] of cases) {
      const res = await historical('historical', header);
      expect([header, res.status, res.json().error?.code]).toEqual([header, status, code]);
    }
    // An id the transaction did not write: the app's own 404.
    expect((await historical('historical', txids[0], RECORD_ID + 1)).status).toBe(404);
    // The endpoint keeps the sample's authentication policy.
    expect((await net.anonymous.get(`/app/log/private/historical?id=${RECORD_ID}`, { [TXID_HEADER]: txids[0]! })).status).toBe(401);
    expect((await historical('historical', txids[1])).json()).toEqual({ msg: 'version 2' });
  });

  it('reads the entries back from disk after a restart', async () => {
    expect(await net.node.kill('SIGTERM')).toBe(0);
    await net.restart();
    for (const [i, txid] of txids.entries()) {
      const res = await historical('historical_receipt', txid);
      expect(res.status, res.text()).toBe(200);
      expect(res.json().msg).toBe(`version ${i + 1}`);
      expect(verifyReceipt(res.json().receipt, { serviceCert: net.serviceCert }).txid).toBe(txid);
    }
  });

  it('refuses an entry changed on disk under the running node, and keeps serving', async () => {
    const txid = await write({ id: RECORD_ID, msg: 'soon tampered with' });
    await net.user.waitForCommit(txid);
    const seqno = Number(txid.split('.')[1]);
    const dir = join(net.dataDir, 'ledger');
    const file = readdirSync(dir).find((name) => {
      const match = /^ledger_(\d+)(?:-(\d+))?/.exec(name);
      return match !== null && Number(match[1]) <= seqno && (match[2] === undefined || Number(match[2]) >= seqno);
    })!;
    const path = join(dir, file);
    const entry = splitChunk(new Uint8Array(readFileSync(path))).entries[seqno - Number(/^ledger_(\d+)/.exec(file)![1])]!;
    const at = entry.offset + entry.bytes.length - 2; // inside the encrypted private domain
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, new Uint8Array([entry.bytes[entry.bytes.length - 2]! ^ 0x40]), 0, 1, at);
    } finally {
      closeSync(fd);
    }
    const refused = await historical('historical', txid);
    expect(refused.status, refused.text()).toBe(503);
    expect(refused.json().error.code).toBe('ServiceUnavailable');
    // Everything else still works.
    expect((await historical('historical', txids[2])).json()).toEqual({ msg: 'version 3' });
    const after = await write({ id: RECORD_ID + 2, msg: 'still writing' });
    expect(await net.user.waitForCommit(after)).toBe('Committed');
  });
});
