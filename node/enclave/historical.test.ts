// Historical queries in the enclave, with an in-memory host: the store as of each committed transaction,
// rebuilt from the entry the host reads back, with a receipt that verifies; CCF's errors for TxIDs that
// are not committed and for a missing or malformed header; bytes from the host that are not the entry
// the enclave wrote are refused; a bounded cache; and the whole path through the frontend to a JS app.

import { describe, expect, it } from 'vitest';
import type { HostPort, RequestMessage, ResponseMessage } from '../boundary.ts';
import { certificatePublicKeyDer, createIdentity } from '../crypto/certs.ts';
import { verifyDigest } from '../crypto/keys.ts';
import { RpcError } from '../errors.ts';
import { leafOf } from '../ledger/index.ts';
import { foldProof } from '../merkle/tree.ts';
import { Enclave } from './enclave.ts';
import { Frontend } from './frontend.ts';
import { historicalLimits, historicalState, historicalStats, TRANSACTION_ID_HEADER } from './historical.ts';
import { JsAppManager } from './jsapp.ts';

interface MemoryHost extends HostPort {
  entries: Uint8Array[];
  logs: string[];
  reads: number;
  /** Replaces what ledgerRead answers (a hostile host); undefined: the stored bytes. */
  answer?: (seqno: number, stored: Uint8Array | undefined) => Promise<Uint8Array | undefined>;
  enclave?: Enclave;
}

function memoryHost(): MemoryHost {
  const host: MemoryHost = {
    entries: [],
    logs: [],
    reads: 0,
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
    async ledgerRead(seqno) {
      host.reads++;
      const stored = host.entries[seqno - 1]?.slice();
      return host.answer ? host.answer(seqno, stored) : stored;
    },
    async sealedWrite() {},
    log(level, message) {
      host.logs.push(`${level} ${message}`);
    },
  };
  return host;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const LOGGING_BUNDLE = {
  metadata: {
    endpoints: {
      '/log': { post: endpoint('put', 'readwrite') },
      '/log/historical': { get: endpoint('past', 'historical') },
    },
  },
  modules: [{
    name: 'app.js',
    module: `
      export function put(request) {
        const { id, msg } = request.body.json();
        ccf.kv.records.set(ccf.strToBuf(String(id)), ccf.strToBuf(msg));
        return { body: true };
      }
      export function past(request) {
        const id = ccf.strToBuf(request.query.slice(3));
        const then = ccf.historicalState.kv.records.get(id);
        if (then === undefined) return { statusCode: 404, body: { error: { code: 'ResourceNotFound', message: 'no such id then' } } };
        return { body: { msg: ccf.bufToStr(then), now: ccf.bufToStr(ccf.kv.records.get(id)), txid: ccf.historicalState.transactionId,
          receipt: ccf.historicalState.receipt } };
      }`,
  }],
};

function endpoint(fn: string, mode: string) {
  return { js_module: 'app.js', js_function: fn, authn_policies: ['no_auth'], forwarding_required: 'never', mode };
}

async function newService(host: MemoryHost, jsApp?: unknown): Promise<Enclave> {
  const [user, member] = await Promise.all([createIdentity('user0', 'P-256'), createIdentity('member0', 'P-256')]);
  const enclave = await Enclave.start({
    host,
    options: { signatureTxCount: 1000, signatureDelayMs: 5 },
    sealingKey: new Uint8Array(32).fill(7),
    ledger: { entries: [] },
    genesis: { members: [{ certPem: member.certPem }], users: [{ certPem: user.certPem }], open: true, ...(jsApp ? { jsApp } : {}) },
    addresses: { bindAddress: '127.0.0.1:0', publishedAddress: '127.0.0.1:0', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] },
  });
  host.enclave = enclave;
  await settle();
  return enclave;
}

/** Writes `records[key] = value` in its own transaction; returns its TxID. */
function put(enclave: Enclave, key: string, value: string, map = 'records'): { view: number; seqno: number } {
  const outcome = enclave.execute((tx) => tx.map(map).set(bytes(key), bytes(value)));
  return { view: Number(outcome.txid!.split('.')[0]), seqno: outcome.seqno! };
}

async function commitAll(enclave: Enclave): Promise<void> {
  enclave.emitSignature();
  await settle();
}

async function rpcErrorOf(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RpcError);
  return error as RpcError;
}

describe('historical state', () => {
  it('is the store as of each committed transaction, rebuilt from its entry, with a receipt that verifies', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    const writes = Array.from({ length: 5 }, (_, i) => put(enclave, 'id', `message ${i + 1}`));
    const other = put(enclave, 'x', 'public', 'public:other');
    await commitAll(enclave);
    for (const [i, { view, seqno }] of writes.entries()) {
      const state = await historicalState(enclave, host, view, seqno);
      expect(state.transactionId).toBe(`${view}.${seqno}`);
      const tx = state.store.begin();
      expect(text(tx.map('records').get(bytes('id')))).toBe(`message ${i + 1}`);
      expect(tx.map('records').getVersionOfPreviousWrite(bytes('id'))).toBe(seqno);
      expect(tx.map('public:other').size).toBe(0); // only what this transaction wrote
      expect(state.store.version).toBe(seqno);

      const receipt = state.receipt;
      expect(receipt).toEqual({ ...enclave.receipt(view, seqno), is_signature_transaction: false });
      const components = receipt.leaf_components!;
      const leaf = leafOf(host.entries[seqno - 1]!, components.commit_evidence, Buffer.from(components.claims_digest, 'hex'));
      const root = foldProof(leaf, receipt.proof.map((s) => ('left' in s ? { left: Buffer.from(s.left, 'hex') } : { right: Buffer.from(s.right, 'hex') })));
      expect(verifyDigest(certificatePublicKeyDer(receipt.cert), root, Buffer.from(receipt.signature, 'base64'))).toBe(true);
    }
    const publicState = await historicalState(enclave, host, other.view, other.seqno);
    expect(text(publicState.store.begin().map('public:other').get(bytes('x')))).toBe('public');

    const signature = enclave.history.lastSignature()!;
    const signed = await historicalState(enclave, host, signature.view, signature.seqno);
    expect(signed.receipt).toMatchObject({ is_signature_transaction: true, proof: [], root_hex: Buffer.from(signature.root).toString('hex') });
    expect(signed.store.begin().map('public:ccf.internal.signatures').size).toBe(1);
  });

  it('answers CCF\'s errors for TxIDs that are not committed, without asking the host', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    const committed = put(enclave, 'a', '1');
    await commitAll(enclave);
    const pending = put(enclave, 'b', '2');
    const cases: Array<[number, number, string, RegExp]> = [
      [pending.view, pending.seqno, 'TransactionPendingOrUnknown', /Transaction \d+\.\d+ is Pending/],
      [committed.view, enclave.lastSeqno + 10, 'TransactionPendingOrUnknown', /is Unknown/],
      [committed.view + 7, committed.seqno, 'TransactionInvalid', /is Invalid/],
    ];
    for (const [view, seqno, code, message] of cases) {
      const error = await rpcErrorOf(historicalState(enclave, host, view, seqno));
      expect([error.code, error.status]).toEqual([code, 404]);
      expect(error.message).toMatch(message);
    }
    expect(host.reads).toBe(0);
  });

  it('refuses bytes from the host that are not the entry it wrote, and serves the query once they are', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    const target = put(enclave, 'secret', 'the real value');
    const neighbour = put(enclave, 'secret', 'another value');
    await commitAll(enclave);
    const flipped = (stored: Uint8Array, index: number) => {
      const copy = stored.slice();
      copy[index]! ^= 1;
      return copy;
    };
    const hostile: Array<[string, MemoryHost['answer'], string]> = [
      ['a flipped bit in the encrypted domain', async (_s, stored) => flipped(stored!, stored!.length - 2), 'ServiceUnavailable'],
      ['a flipped bit in the header', async (_s, stored) => flipped(stored!, 3), 'ServiceUnavailable'],
      ['another committed entry', async () => host.entries[neighbour.seqno - 1]!.slice(), 'ServiceUnavailable'],
      ['a truncated entry', async (_s, stored) => stored!.subarray(0, stored!.length - 1), 'ServiceUnavailable'],
      ['nothing', async () => undefined, 'ServiceUnavailable'],
      ['not bytes', async () => 'hello' as unknown as Uint8Array, 'ServiceUnavailable'],
      ['a failed read', async () => { throw new Error('EIO'); }, 'ServiceUnavailable'],
    ];
    for (const [what, answer, code] of hostile) {
      host.answer = answer;
      const error = await rpcErrorOf(historicalState(enclave, host, target.view, target.seqno));
      expect([what, error.code, error.status]).toEqual([what, code, 503]);
    }
    expect(historicalStats(enclave).refused).toBe(4);
    expect(host.logs.filter((line) => line.includes('do not match its recorded write-set digest'))).toHaveLength(4);
    expect(host.logs.join('\n')).not.toContain('the real value');

    host.answer = undefined;
    const state = await historicalState(enclave, host, target.view, target.seqno);
    expect(text(state.store.begin().map('records').get(bytes('secret')))).toBe('the real value');

    const { ledgerRead: _ledgerRead, ...withoutReads } = host;
    const other = await rpcErrorOf(historicalState(enclave, withoutReads, neighbour.view, neighbour.seqno));
    expect([other.code, other.status]).toEqual(['NotImplemented', 501]);
  });

  it('keeps recent states, a bounded number, and reads an entry once for concurrent queries', async () => {
    const host = memoryHost();
    const enclave = await newService(host);
    const writes = Array.from({ length: historicalLimits.statesCachedMax + 6 }, (_, i) => put(enclave, `k${i}`, `v${i}`));
    await commitAll(enclave);
    const [first] = writes;
    const together = await Promise.all(Array.from({ length: 5 }, () => historicalState(enclave, host, first!.view, first!.seqno)));
    expect(host.reads).toBe(1);
    expect(new Set(together).size).toBe(1);
    await historicalState(enclave, host, first!.view, first!.seqno);
    expect(host.reads).toBe(1);
    for (const { view, seqno } of writes) await historicalState(enclave, host, view, seqno);
    const stats = historicalStats(enclave);
    expect(stats.cached).toBe(historicalLimits.statesCachedMax);
    expect(stats.reads).toBe(writes.length);
    // The oldest were evicted: asking again reads the host again.
    await historicalState(enclave, host, first!.view, first!.seqno);
    expect(host.reads).toBe(writes.length + 1);
  });
});

describe('historical endpoints through the frontend', () => {
  async function service(): Promise<{ host: MemoryHost; enclave: Enclave; call: Call }> {
    const host = memoryHost();
    const enclave = await newService(host, LOGGING_BUNDLE);
    const frontend = new Frontend(enclave, [], host);
    await new JsAppManager(enclave, frontend, host.log.bind(host)).reload();
    const call = async (request: Partial<RequestMessage>) => {
      const answer: ResponseMessage = await frontend.handle({ method: 'GET', path: '/', query: '', headers: {}, body: new Uint8Array(0), ...request });
      const raw = typeof answer.body === 'string' ? answer.body : new TextDecoder().decode(answer.body);
      return { status: answer.status, headers: answer.headers, body: raw === '' ? undefined : JSON.parse(raw) };
    };
    return { host, enclave, call };
  }

  it('serves each version of a record by its TxID, and answers bad or unknown TxIDs with clear 4xx', async () => {
    const { host, enclave, call } = await service();
    const txids: string[] = [];
    for (let i = 1; i <= 4; i++) {
      txids.push(await frontendWrite(call, `version ${i}`));
    }
    await commitAll(enclave);
    for (const [i, txid] of txids.entries()) {
      const read = await call({ path: '/app/log/historical', query: 'id=7', headers: { [TRANSACTION_ID_HEADER]: txid } });
      expect(read.status, JSON.stringify(read.body)).toBe(200);
      expect(read.body).toMatchObject({ msg: `version ${i + 1}`, now: 'version 4', txid, receipt: { is_signature_transaction: false } });
      expect(read.body.receipt.leaf_components.commit_evidence).toMatch(new RegExp(`^ce:${txid.replace('.', '\\.')}:`));
    }
    const [view, seqno] = txids[0]!.split('.').map(Number) as [number, number];
    const cases: Array<[Record<string, string>, number, string]> = [
      [{}, 400, 'MissingRequiredHeader'],
      [{ [TRANSACTION_ID_HEADER]: 'banana' }, 400, 'InvalidHeaderValue'],
      [{ [TRANSACTION_ID_HEADER]: `${view}.0` }, 400, 'InvalidHeaderValue'],
      [{ [TRANSACTION_ID_HEADER]: `${view}.${seqno}.1` }, 400, 'InvalidHeaderValue'],
      [{ [TRANSACTION_ID_HEADER]: `-${view}.${seqno}` }, 400, 'InvalidHeaderValue'],
      [{ [TRANSACTION_ID_HEADER]: `${view}.${'9'.repeat(40)}` }, 400, 'InvalidHeaderValue'],
      [{ [TRANSACTION_ID_HEADER]: `${view}.${enclave.lastSeqno + 100}` }, 404, 'TransactionPendingOrUnknown'],
      [{ [TRANSACTION_ID_HEADER]: `${view + 3}.${seqno}` }, 404, 'TransactionInvalid'],
    ];
    for (const [headers, status, code] of cases) {
      const answer = await call({ path: '/app/log/historical', query: 'id=7', headers });
      expect([headers, answer.status, answer.body?.error?.code]).toEqual([headers, status, code]);
    }
    // The app's own 404 for an id the transaction did not write.
    expect((await call({ path: '/app/log/historical', query: 'id=8', headers: { [TRANSACTION_ID_HEADER]: txids[0]! } })).status).toBe(404);

    host.answer = async (_seqno, stored) => stored!.map((b, i) => (i === stored!.length - 1 ? b ^ 1 : b));
    const fresh = put(enclave, '7', 'not yet cached');
    await commitAll(enclave);
    const refused = await call({ path: '/app/log/historical', query: 'id=7', headers: { [TRANSACTION_ID_HEADER]: `${fresh.view}.${fresh.seqno}` } });
    expect([refused.status, refused.body.error.code]).toEqual([503, 'ServiceUnavailable']);
  });
});

type Call = (request: Partial<RequestMessage>) => Promise<{ status: number; headers: Record<string, string>; body: any }>;

async function frontendWrite(call: Call, msg: string): Promise<string> {
  const answer = await call({ method: 'POST', path: '/app/log', body: bytes(JSON.stringify({ id: 7, msg })) });
  expect(answer.status).toBe(200);
  return answer.headers['x-ms-ccf-transaction-id']!;
}
