// The polyfill's own test API (what the conformance suite does not cover): installation, reset with
// handles kept, writes outside a handler, seeding, request defaults, invoke's bookkeeping and misuse.

import { afterEach, describe, expect, it } from 'vitest';
import { string, uint32 } from '../src/converters.ts';
import { TypedKvMap, rawKv, typedKv } from '../src/kv.ts';
import { ccf as ccfExport } from '../src/global.ts';
import { InvalidResponseError, PolyfillError, installPolyfill, polyfill, userCaller } from '../src/polyfill.ts';
import type { CCF, Request } from '../src/types.ts';

const b = (text: string): ArrayBuffer => new Uint8Array(Buffer.from(text)).buffer;
const s = (buffer: ArrayBuffer | undefined): string | undefined => (buffer === undefined ? undefined : Buffer.from(buffer).toString());
const scope = globalThis as { ccf?: CCF };

// As an app module would, at import: a handle kept for the life of the process.
const counters = typedKv('counters', string, uint32);

afterEach(() => {
  installPolyfill();
  polyfill.reset();
});

describe('installation', () => {
  it('importing the polyfill installs globalThis.ccf; installPolyfill puts it back', () => {
    expect(scope.ccf).toBe(polyfill.ccf);
    scope.ccf = undefined;
    expect(installPolyfill()).toBe(polyfill);
    expect(scope.ccf).toBe(polyfill.ccf);
  });

  it('modules imported before the polyfill still reach it (late binding)', () => {
    // rawKv and the ccf export were evaluated by this file's imports, before polyfill.ts ran.
    expect(ccfExport.kv).toBe(polyfill.ccf.kv);
    rawKv['late']!.set(b('k'), b('v'));
    expect(s(polyfill.ccf.kv['late']!.get(b('k')))).toBe('v');
    scope.ccf = undefined;
    const late = typedKv('late', string, string);
    expect(() => late.get('k')).toThrow(/ccf global is not defined/);
    installPolyfill();
    expect(late.get('k')).toBe('v');
  });

  it('reset empties every map but keeps the handles apps took at import', () => {
    counters.set('a', 1);
    expect(polyfill.version).toBe(1);
    polyfill.reset();
    expect([counters.get('a'), counters.size, polyfill.version]).toEqual([undefined, 0, 0]);
    counters.set('a', 2);
    expect(counters.get('a')).toBe(2);
  });
});

describe('outside a handler', () => {
  it('each write commits on its own, with the next version', () => {
    counters.set('a', 1);
    counters.set('b', 2);
    expect(counters.getVersionOfPreviousWrite('a')).toBe(1);
    expect(counters.getVersionOfPreviousWrite('b')).toBe(2);
    counters.delete('nope'); // changes nothing: no version
    expect(polyfill.version).toBe(2);
    expect(polyfill.entries('counters').map(([k, v]) => [s(k), new DataView(v).getUint32(0, true)])).toEqual([['a', 1], ['b', 2]]);
  });

  it('seed writes maps an app may only read, such as governance tables', () => {
    polyfill.seed('public:ccf.gov.users.info', [[b('user1'), b('{"role":"admin"}')]]);
    const info = typedKv('public:ccf.gov.users.info', string, string);
    expect(info.get('user1')).toBe('{"role":"admin"}');
    expect(() => info.set('user2', '{}')).toThrow(TypeError);
  });

  it('rpc calls are recorded for assertions, also when a handler is called directly', () => {
    polyfill.ccf.rpc.setApplyWrites(true);
    polyfill.ccf.rpc.setClaimsDigest(new ArrayBuffer(32));
    polyfill.ccf.rpc.setApplyWrites(false);
    expect(polyfill.rpcCalls.map((c) => c.method)).toEqual(['setApplyWrites', 'setClaimsDigest', 'setApplyWrites']);
    expect(polyfill.applyWrites).toBe(false);
    expect(polyfill.claimsDigest?.byteLength).toBe(32);
  });

  it('consensus answers follow the store until set otherwise', () => {
    counters.set('a', 1);
    counters.set('a', 2);
    const k = polyfill.ccf.consensus;
    expect(k.getLastCommittedTxId()).toEqual({ view: 1, seqno: 2 });
    expect([k.getStatusForTxId(1, 2), k.getStatusForTxId(1, 3), k.getStatusForTxId(2, 1)]).toEqual(['Committed', 'Unknown', 'Invalid']);
    expect([k.getViewForSeqno(1), k.getViewForSeqno(3)]).toEqual([1, null]);
    polyfill.setConsensus({ statusForTxId: () => 'Pending' });
    expect([k.getStatusForTxId(1, 1), k.getLastCommittedTxId().seqno]).toEqual(['Pending', 2]);
    polyfill.setConsensus(undefined);
    expect(k.getStatusForTxId(1, 1)).toBe('Committed');
  });
});

describe('invoke', () => {
  const echo = (request: Request) => ({
    body: {
      method: request.method,
      path: request.path,
      url: request.url,
      query: request.query,
      caller: request.caller,
      hostname: request.hostname,
      contentType: request.headers['content-type'] ?? null,
      bytes: request.body.arrayBuffer().byteLength,
    },
  });

  it('builds CCF request objects with sensible defaults', () => {
    expect(polyfill.invoke(echo).json()).toEqual({
      method: 'GET',
      path: '/app/',
      url: '/app/',
      query: '',
      caller: { policy: 'no_auth' },
      hostname: 'localhost',
      contentType: null,
      bytes: 0,
    });
    const caller = userCaller('ab'.repeat(32));
    const posted = polyfill.invoke(echo, { path: '/app/x', query: { a: '1', b: 'x y' }, body: { k: 'é' }, caller }).json();
    expect(posted).toMatchObject({ method: 'POST', url: '/app/x?a=1&b=x%20y', caller, contentType: 'application/json', bytes: 10 });
  });

  it('gives request and response bytes in buffers of their own size', () => {
    const res = polyfill.invoke((request: Request) => ({ body: request.body.arrayBuffer() }), { body: 'hello' });
    expect(res.body.buffer.byteLength).toBe(5);
    expect(res.text()).toBe('hello');
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });

  it('reports what happened to the writes', () => {
    const write = (status: number) => () => {
      counters.set(`s${status}`, status);
      return { statusCode: status };
    };
    expect(polyfill.invoke(write(200))).toMatchObject({ status: 200, applied: true, version: 1 });
    expect(polyfill.invoke(write(404))).toMatchObject({ status: 404, applied: false, version: undefined });
    expect(polyfill.invoke(() => ({ statusCode: 201 }), {}, { mode: 'readonly' }).applied).toBe(false);
    expect(counters.size).toBe(1);
  });

  it('a readonly handler that writes throws, as on a node', () => {
    expect(() => polyfill.invoke(write1, {}, { mode: 'readonly' })).toThrow(/read-only/);
    function write1() {
      counters.set('x', 1);
      return {};
    }
  });

  it('rethrows what a handler throws, and is ready for the next one', async () => {
    expect(() =>
      polyfill.invoke(() => {
        counters.set('lost', 1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    await expect(
      polyfill.invoke(async () => {
        counters.set('lost', 2);
        throw new Error('async boom');
      }),
    ).rejects.toThrow('async boom');
    expect(counters.has('lost')).toBe(false);
    expect(polyfill.invoke(() => ({ body: 'ok' })).text()).toBe('ok');
  });

  it('refuses a return value the node would refuse, writing nothing', () => {
    const error = (() => {
      try {
        polyfill.invoke(() => {
          counters.set('lost', 1);
          return 42;
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect((error as InvalidResponseError).code).toBe('InvalidResponse');
    expect(counters.has('lost')).toBe(false);
  });

  it('runs one handler at a time', async () => {
    let release!: () => void;
    const pending = polyfill.invoke(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return { body: 'done' };
    });
    expect(() => polyfill.invoke(() => ({}))).toThrow(PolyfillError);
    expect(() => polyfill.reset()).toThrow(PolyfillError);
    release();
    expect((await pending).text()).toBe('done');
  });

  it('historical state goes with historical mode only', () => {
    const state = { transactionId: '1.4', receipt: {}, maps: { m: [[b('k'), b('v')]] as Array<[ArrayBuffer, ArrayBuffer]> } };
    const read = () => ({ body: s(polyfill.ccf.historicalState!.kv['m']!.get(b('k'))) });
    expect(polyfill.invoke(read, {}, { historical: state }).text()).toBe('v');
    expect(() => polyfill.invoke(read, {}, { mode: 'readwrite', historical: state })).toThrow(PolyfillError);
    expect(polyfill.invoke(() => ({ body: polyfill.ccf.historicalState === undefined }), {}, { mode: 'historical' }).json()).toBe(true);
  });

  it('typed map handles are the package classes', () => {
    expect(counters).toBeInstanceOf(TypedKvMap);
  });
});
