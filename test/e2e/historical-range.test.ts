// ccf.historical.getStateRange end to end, on a real node process with the JS logging sample: the
// range endpoint answers 202 while the node reads the entries back, and the client retries (as CCF's
// clients do) until it lists every version of a record with its seqno; long ranges are paged with
// @nextLink; uncommitted ranges and bad arguments are 400s.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNetwork, type TestNetwork } from '../helpers/network.ts';

const TXID_HEADER = 'x-ms-ccf-transaction-id';
const RECORD_ID = 7;
const RETRIES_MAX = 100;

let net: TestNetwork;

beforeAll(async () => {
  net = await startTestNetwork({ signatureDelayMs: 5, ledgerChunkBytes: 2048 });
});

afterAll(async () => {
  await net?.stop();
});

const seqnoOf = (txid: string): number => Number(txid.split('.')[1]);

/** GET with retries on 202, as CCF's e2e clients do for historical ranges. */
async function getRange(path: string): Promise<{ status: number; body: any; retries: number }> {
  for (let retries = 0; retries < RETRIES_MAX; retries++) {
    const res = await net.user.get(path);
    if (res.status !== 202) return { status: res.status, body: res.json(), retries };
    expect(res.headers['retry-after']).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path}: still 202 after ${RETRIES_MAX} tries`);
}

describe('historical ranges on a real node', () => {
  const written: Array<{ seqno: number; msg: string }> = [];

  it('lists every version of a record over a seqno range, after 202s while fetching', async () => {
    for (let i = 1; i <= 6; i++) {
      const msg = `range version ${i}`;
      const res = await net.user.post('/app/log/private', { id: RECORD_ID, msg });
      expect(res.status, res.text()).toBe(200);
      // Another id in between: the range holds it, the listing does not.
      expect((await net.user.post('/app/log/private', { id: RECORD_ID + 1, msg: 'other' })).status).toBe(200);
      written.push({ seqno: seqnoOf(res.headers[TXID_HEADER] as string), msg });
    }
    const last = await net.user.post('/app/log/public', { id: RECORD_ID, msg: 'public one' });
    expect(await net.user.waitForCommit(last.headers[TXID_HEADER] as string)).toBe('Committed');

    const from = written[0]!.seqno;
    const to = written.at(-1)!.seqno;
    const { status, body, retries } = await getRange(`/app/log/private/historical/range?id=${RECORD_ID}&from_seqno=${from}&to_seqno=${to}`);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(retries).toBeGreaterThan(0);
    expect(body).toEqual({ entries: written.map(({ seqno, msg }) => ({ seqno, id: RECORD_ID, msg })) });
    // Asked again: answered from the handle's states, at once.
    const again = await getRange(`/app/log/private/historical/range?id=${RECORD_ID}&from_seqno=${from}&to_seqno=${to}`);
    expect([again.retries, again.body]).toEqual([0, body]);

    const pub = await getRange(`/app/log/public/historical/range?id=${RECORD_ID}&from_seqno=1&to_seqno=${seqnoOf(last.headers[TXID_HEADER] as string)}`);
    expect(pub.body.entries).toEqual([{ seqno: seqnoOf(last.headers[TXID_HEADER] as string), id: RECORD_ID, msg: 'public one' }]);
  });

  it('pages ranges longer than the sample allows with @nextLink', async () => {
    let lastTxid = '';
    for (let i = 0; i < 100; i++) {
      lastTxid = (await net.user.post('/app/log/private', { id: RECORD_ID + 1, msg: `filler ${i}` })).headers[TXID_HEADER] as string;
    }
    expect(await net.user.waitForCommit(lastTxid)).toBe('Committed');
    const to = seqnoOf(lastTxid);
    expect(to).toBeGreaterThan(100);
    const first = await getRange(`/app/log/private/historical/range?id=${RECORD_ID}&from_seqno=1&to_seqno=${to}`);
    expect(first.status).toBe(200);
    expect(first.body['@nextLink']).toBe(`/app/log/private/historical/range?id=${RECORD_ID}&from_seqno=101&to_seqno=${to}`);
    const entries = [...first.body.entries];
    let next: string | undefined = first.body['@nextLink'];
    while (next !== undefined) {
      const page = await getRange(next);
      expect(page.status).toBe(200);
      entries.push(...page.body.entries);
      next = page.body['@nextLink'];
    }
    expect(entries.filter((e) => e.msg.startsWith('range version'))).toEqual(written.map(({ seqno, msg }) => ({ seqno, id: RECORD_ID, msg })));
  });

  it('answers 400 for uncommitted or malformed ranges', async () => {
    const bad = [`id=${RECORD_ID}&from_seqno=5&to_seqno=4`, `id=${RECORD_ID}&from_seqno=0&to_seqno=4`, `from_seqno=1&to_seqno=2`,
      `id=${RECORD_ID}&from_seqno=1&to_seqno=99999999`];
    for (const query of bad) {
      const res = await net.user.get(`/app/log/private/historical/range?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json().error.code).toBe('InvalidInput');
    }
  });
});
