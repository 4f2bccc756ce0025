// The frame codec: every frame type round-trips; hostile bytes (random, mutated, structurally wrong)
// produce a WireError naming the field and nothing else, quickly.

import { encode } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestMessage, ResponseMessage } from '../boundary.ts';
import type { Entry, Message } from './raft/types.ts';
import { decodeFrame, encodeFrame, WireError, wireLimits, type PeerFrame } from './wire.ts';

const yieldNow = () => new Promise((r) => setImmediate(r));

// ---------------------------------------------------------------------------------------------------
// Arbitraries for well-formed frames (the shapes the Raft core's validator accepts).

const index = fc.oneof(fc.nat({ max: 1000 }), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const positive = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const nodeId = fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.stringMatching(/^[0-9a-f]{64}$/));
const fromTo = fc.uniqueArray(nodeId, { minLength: 2, maxLength: 2 }).map(([from, to]) => ({ from: from!, to: to! }));
const data = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1000, maxLength: 3000 }));

const append: fc.Arbitrary<Message> = fc
  .record({
    ends: fromTo,
    term: positive,
    prevIndex: fc.nat({ max: 1_000_000 }),
    commit: index,
    prevTermFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    entryTermFractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
    entryShapes: fc.array(fc.record({ isSignature: fc.boolean(), data, configuration: fc.option(fc.uniqueArray(nodeId, { minLength: 1, maxLength: 5 }), { nil: undefined }) }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ ends, term, prevIndex, commit, prevTermFraction, entryTermFractions, entryShapes }) => {
    const prevTerm = Math.floor(prevTermFraction * term);
    const low = Math.max(prevTerm, 1);
    const terms = entryTermFractions.map((f) => low + Math.floor(f * (term - low))).sort((a, b) => a - b);
    const entries: Entry[] = terms.map((t, k) => {
      const shape = entryShapes[k]!;
      const entry: Entry = { term: t, index: prevIndex + 1 + k, isSignature: shape.isSignature, data: shape.data };
      return shape.configuration ? { ...entry, configuration: shape.configuration } : entry;
    });
    return { type: 'append', ...ends, term, prevIndex, prevTerm, entries, commit } as Message;
  });

const appendAccepted: fc.Arbitrary<Message> = fc
  .record({ ends: fromTo, term: index, matchIndex: index, commit: index })
  .map(({ ends, ...rest }) => ({ type: 'append-response', success: true, ...ends, ...rest }) as Message);

const appendRejected: fc.Arbitrary<Message> = fc
  .record({ ends: fromTo, term: index, rejectedIndex: index, hintFraction: fc.double({ min: 0, max: 1, noNaN: true }), hintTerm: index, commit: index })
  .map(({ ends, hintFraction, ...rest }) => ({
    type: 'append-response', success: false, ...ends, ...rest, hintIndex: Math.floor(hintFraction * rest.rejectedIndex),
  }) as Message);

const vote: fc.Arbitrary<Message> = fc
  .record({ ends: fromTo, term: positive, preVote: fc.boolean(), lastSignatureIndex: index, fraction: fc.double({ min: 0, max: 1, noNaN: true }), transfer: fc.boolean() })
  .map(({ ends, fraction, ...rest }) => ({ type: 'vote', ...ends, ...rest, lastSignatureTerm: Math.floor(fraction * rest.term) }) as Message);

const voteResponse: fc.Arbitrary<Message> = fc
  .record({ ends: fromTo, term: index, preVote: fc.boolean(), granted: fc.boolean() })
  .map(({ ends, ...rest }) => ({ type: 'vote-response', ...ends, ...rest }) as Message);

const timeoutNow: fc.Arbitrary<Message> = fc.record({ ends: fromTo, term: index }).map(({ ends, term }) => ({ type: 'timeout-now', ...ends, term }) as Message);

const message = fc.oneof(append, appendAccepted, appendRejected, vote, voteResponse, timeoutNow);

const headerName = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'content-type', 'toString'));
const headers = fc
  .array(fc.tuple(headerName, fc.string({ maxLength: 40 })), { maxLength: 8 })
  .map((pairs) => {
    const out: Record<string, string> = {};
    for (const [name, value] of pairs) Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    return out;
  });

const request: fc.Arbitrary<RequestMessage> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
    path: fc.string({ maxLength: 100 }),
    query: fc.string({ maxLength: 100 }),
    headers,
    body: fc.uint8Array({ maxLength: 200 }),
    clientCertDer: fc.option(fc.uint8Array({ minLength: 1, maxLength: 600 }), { nil: undefined }),
  })
  .map(({ clientCertDer, ...rest }) => (clientCertDer ? { ...rest, clientCertDer } : rest));

const response: fc.Arbitrary<ResponseMessage> = fc.record({
  status: fc.integer({ min: 100, max: 599 }),
  headers,
  body: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 200 })),
});

const frameArb: fc.Arbitrary<PeerFrame> = fc.oneof(
  message.map((m) => ({ kind: 'raft', message: m }) as PeerFrame),
  fc.record({ id: index, request }).map(({ id, request: r }) => ({ kind: 'forward', id, request: r }) as PeerFrame),
  fc.record({ id: index, response }).map(({ id, response: r }) => ({ kind: 'forward-response', id, response: r }) as PeerFrame),
);

/** Decodes, requiring that nothing but a WireError is thrown; returns the error, if any. */
function decodeOrWireError(bytes: Uint8Array): WireError | undefined {
  try {
    const frame = decodeFrame(bytes);
    // Anything accepted must be encodable again.
    encodeFrame(frame);
    return undefined;
  } catch (error) {
    if (!(error instanceof WireError)) throw new Error(`decodeFrame threw a non-WireError: ${String(error)}`, { cause: error });
    expect(error.code).toBe('MalformedFrame');
    return error;
  }
}

function wireErrorOf(value: unknown): WireError {
  const error = decodeOrWireError(encode(value as object));
  if (!error) throw new Error(`expected ${JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))} to be refused`);
  return error;
}

// ---------------------------------------------------------------------------------------------------

describe('wire: round trips', () => {
  it('every frame type decodes to what was encoded', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(frameArb, async (frame) => {
        if (++runs % 100 === 0) await yieldNow();
        const bytes = encodeFrame(frame);
        expect(decodeFrame(bytes)).toEqual(frame);
        // A Buffer view over the same bytes decodes the same.
        const padded = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(bytes)]);
        expect(decodeFrame(padded.subarray(3))).toEqual(frame);
      }),
      { numRuns: 1500 },
    );
  });

  it('covers each message type and both append responses', () => {
    const types = new Set<string>();
    fc.assert(fc.property(message, (m) => void types.add(m.type === 'append-response' ? `${m.type}:${m.success}` : m.type)), { numRuns: 300 });
    expect([...types].sort()).toEqual(['append', 'append-response:false', 'append-response:true', 'timeout-now', 'vote', 'vote-response']);
  });

  it('keeps entry data as bytes of its own, not views of the frame', () => {
    const data = new Uint8Array([9, 8, 7, 6]);
    const frame: PeerFrame = { kind: 'raft', message: { type: 'append', from: 'a', to: 'b', term: 2, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ term: 2, index: 1, isSignature: true, data }] } };
    const bytes = Buffer.from(encodeFrame(frame));
    const decoded = decodeFrame(bytes);
    bytes.fill(0);
    const entry = (decoded as unknown as { message: { entries: Entry[] } }).message.entries[0]!;
    expect(entry.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(entry.data)).toBe(false);
    expect([...entry.data]).toEqual([9, 8, 7, 6]);
  });

  it('carries an AppendEntries of the largest entry count, and refuses one more', async () => {
    const entries = (n: number): Entry[] => Array.from({ length: n }, (_, k) => ({ term: 1, index: k + 1, isSignature: k % 100 === 99, data: new Uint8Array(100).fill(k & 0xff) }));
    const frame = (n: number): PeerFrame => ({ kind: 'raft', message: { type: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: entries(n) } });
    const max = wireLimits.entriesPerAppendMax;
    const t0 = Date.now();
    const bytes = encodeFrame(frame(max));
    const decoded = decodeFrame(bytes) as unknown as { message: { entries: Entry[] } };
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(decoded.message.entries.length).toBe(max);
    expect(decoded.message.entries[max - 1]!.data[0]).toBe((max - 1) & 0xff);
    await yieldNow();
    expect(() => decodeFrame(encodeFrame(frame(max + 1)))).toThrow(/frame\.message\.entries: 10001 items, at most 10000/);
  });

  it('writes only known fields, and turns array or number header values into strings', () => {
    const request = { method: 'GET', path: '/', query: '', headers: { 'set-cookie': ['a=1', 'b=2'], n: 3 } as unknown as Record<string, string>, body: new Uint8Array(), extra: 'dropped' };
    const decoded = decodeFrame(encodeFrame({ kind: 'forward', id: 1, request } as PeerFrame));
    expect(decoded).toEqual({ kind: 'forward', id: 1, request: { method: 'GET', path: '/', query: '', headers: { 'set-cookie': 'a=1, b=2', n: '3' }, body: new Uint8Array() } });
  });
});

describe('wire: refusals name the field', () => {
  const good = { kind: 'raft', message: { type: 'vote', from: 'a', to: 'b', term: 3, preVote: false, lastSignatureIndex: 5, lastSignatureTerm: 2, transfer: false } };
  const goodAppend = { kind: 'raft', message: { type: 'append', from: 'a', to: 'b', term: 3, prevIndex: 4, prevTerm: 2, commit: 1, entries: [{ term: 3, index: 5, isSignature: false, data: new Uint8Array(3) }] } };
  const goodForward = { kind: 'forward', id: 4, request: { method: 'GET', path: '/x', query: '', headers: { a: 'b' }, body: new Uint8Array(1) } };
  const goodResponse = { kind: 'forward-response', id: 4, response: { status: 200, headers: {}, body: 'ok' } };
  const withMessage = (patch: Record<string, unknown>) => ({ ...good, message: { ...good.message, ...patch } });
  const withEntry = (patch: Record<string, unknown>) => ({ ...goodAppend, message: { ...goodAppend.message, entries: [{ ...goodAppend.message.entries[0], ...patch }] } });
  const withRequest = (patch: Record<string, unknown>) => ({ ...goodForward, request: { ...goodForward.request, ...patch } });

  it('accepts the well-formed samples', () => {
    for (const sample of [good, goodAppend, goodForward, goodResponse]) expect(decodeOrWireError(encode(sample))).toBeUndefined();
  });

  it.each([
    ['unknown kind', { kind: 'gossip', message: good.message }, /frame\.kind: unknown kind "gossip"/],
    ['missing kind', { message: good.message }, /frame\.kind: missing field/],
    ['extra frame field', { ...good, id: 3 }, /frame\.id: field not allowed here/],
    ['unknown frame field', { ...good, x: 1 }, /frame\.x: unknown field/],
    ['missing message', { kind: 'raft' }, /frame\.message: missing field/],
    ['message not a map', { kind: 'raft', message: [1] }, /frame\.message: expected a map/],
    ['unknown message type', withMessage({ type: 'gossip' }), /frame\.message\.type: unknown raft message type/],
    ['missing term', { kind: 'raft', message: { ...good.message, term: undefined } }, /frame\.message\.term: missing field/],
    ['negative term', withMessage({ term: -1 }), /frame\.message\.term: expected a non-negative integer, got negint/],
    ['float term', withMessage({ term: 1.5 }), /frame\.message\.term: expected a non-negative integer, got float/],
    ['term beyond safe integers', withMessage({ term: 2n ** 60n }), /frame\.message\.term/],
    ['string term', withMessage({ term: '3' }), /frame\.message\.term: expected a non-negative integer, got string/],
    ['numeric flag', withMessage({ preVote: 0 }), /frame\.message\.preVote: expected a boolean/],
    ['field of another type', withMessage({ granted: true }), /frame\.message\.granted: field not allowed here/],
    ['empty node id', withMessage({ from: '' }), /frame\.message\.from: empty node id/],
    ['long node id', withMessage({ from: 'x'.repeat(wireLimits.nodeIdLengthMax + 1) }), /frame\.message\.from: longer than/],
    ['message to self', withMessage({ to: 'a' }), /frame\.message: message to self/],
    ['vote term semantics', withMessage({ lastSignatureTerm: 9 }), /frame\.message: last signature term beyond/],
    ['append-response without success', { kind: 'raft', message: { type: 'append-response', from: 'a', to: 'b', term: 1, matchIndex: 1, commit: 1 } }, /frame\.message\.success: missing field/],
    ['rejection with accepted fields', { kind: 'raft', message: { type: 'append-response', success: false, from: 'a', to: 'b', term: 1, matchIndex: 1, commit: 1 } }, /frame\.message\.(rejectedIndex|hintIndex|hintTerm): missing field/],
    ['entries not an array', { ...goodAppend, message: { ...goodAppend.message, entries: {} } }, /frame\.message\.entries: expected an array/],
    ['entry data as string', withEntry({ data: 'abc' }), /frame\.message\.entries\[0\]\.data: expected bytes, got string/],
    ['entry data as array', withEntry({ data: [1, 2] }), /frame\.message\.entries\[0\]\.data: expected bytes, got array/],
    ['entry missing data', withEntry({ data: undefined }), /frame\.message\.entries\[0\]\.data: missing field/],
    ['entry extra field', withEntry({ foo: 1 }), /frame\.message\.entries\[0\]\.foo: unknown field/],
    ['entry configuration not strings', withEntry({ configuration: [1] }), /frame\.message\.entries\[0\]\.configuration\[0\]: expected a string/],
    ['entry configuration too large', withEntry({ configuration: Array.from({ length: 65 }, (_, k) => `n${k}`) }), /configuration: 65 items, at most 64/],
    ['entry at the wrong index', withEntry({ index: 9 }), /frame\.message: entry 0 is at index 9, not 5/],
    ['null entry flag', withEntry({ isSignature: null }), /isSignature: expected a boolean, got null/],
    ['forward without id', { kind: 'forward', request: goodForward.request }, /frame\.id: missing field/],
    ['request body as string', withRequest({ body: 'x' }), /frame\.request\.body: expected bytes/],
    ['request header value not a string', withRequest({ headers: { a: 1 } }), /frame\.request\.headers\["a"\]: expected a string/],
    ['request header name not a string', withRequest({ headers: new Map([[1, 'a']]) }), /frame\.request\.headers name: expected a string/],
    ['request long method', withRequest({ method: 'G'.repeat(33) }), /frame\.request\.method: longer than 32/],
    ['request extra field', withRequest({ cookies: {} }), /frame\.request\.cookies: unknown field/],
    ['request missing query', withRequest({ query: undefined }), /frame\.request\.query: missing field/],
    ['client certificate as string', withRequest({ clientCertDer: 'pem' }), /frame\.request\.clientCertDer: expected bytes/],
    ['response status out of range', { ...goodResponse, response: { ...goodResponse.response, status: 1000 } }, /frame\.response\.status: 1000 is not an HTTP status/],
    ['response body as number', { ...goodResponse, response: { ...goodResponse.response, body: 5 } }, /frame\.response\.body: expected bytes or a string/],
    ['response headers as array', { ...goodResponse, response: { ...goodResponse.response, headers: [] } }, /frame\.response\.headers: expected a map/],
  ])('%s', (_name, value, pattern) => {
    const clean = JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `__big${v}` : v instanceof Uint8Array ? { __bytes: [...v] } : v instanceof Map ? { __map: [...v] } : v)), (_k, v) =>
      typeof v === 'string' && v.startsWith('__big') ? BigInt(v.slice(5)) : v && typeof v === 'object' && '__bytes' in v ? new Uint8Array(v.__bytes) : v && typeof v === 'object' && '__map' in v ? new Map(v.__map) : v,
    );
    expect(wireErrorOf(clean).message).toMatch(pattern);
  });

  it('refuses CBOR features the format does not use', () => {
    const valid = encode(good);
    const cases: [string, number[], RegExp][] = [
      ['empty input', [], /frame: frame ends early/],
      ['not a map', [0x01], /frame: expected a map, got uint/],
      ['trailing bytes', [...valid, 0x00], /trailing bytes/],
      ['truncated', [...valid.subarray(0, valid.length - 1)], /ends early|not enough data/],
      ['indefinite map', [0xbf, 0xff], /frame/],
      ['tagged value', [0xc0, 0x60], /frame: expected a map, got tag/],
      ['huge map header', [0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /frame/],
      ['non-minimal integer', [0xa1, 0x64, ...Buffer.from('kind'), 0x78, 0x04, ...Buffer.from('raft')], /frame/],
      ['duplicate key', [0xa2, 0x64, ...Buffer.from('kind'), 0x64, ...Buffer.from('raft'), 0x64, ...Buffer.from('kind'), 0x64, ...Buffer.from('raft')], /frame\.kind: repeated field/],
      ['huge array header', [0xa2, 0x64, ...Buffer.from('kind'), 0x64, ...Buffer.from('raft'), 0x67, ...Buffer.from('message'), 0xa1, 0x67, ...Buffer.from('entries'), 0x9b, 0, 0, 0, 1, 0, 0, 0, 0], /entries: 4294967296 items/],
      ['huge byte string header', [0xa1, 0x64, ...Buffer.from('kind'), 0x5b, 0, 0, 0, 1, 0, 0, 0, 0], /frame\.kind/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const error = decodeOrWireError(new Uint8Array(bytes));
      expect(error?.message, name).toMatch(pattern);
    }
  });

  it('refuses deep nesting without exhausting the stack', () => {
    const depth = 200_000;
    const bytes = new Uint8Array(depth + 1).fill(0x81);
    bytes[depth] = 0x00;
    expect(decodeOrWireError(bytes)?.message).toMatch(/frame: expected a map/);
    const nested = Buffer.concat([Buffer.from([0xa1, 0x67]), Buffer.from('message'), Buffer.from([0xa1, 0x67]), Buffer.from('entries'), Buffer.alloc(depth, 0x81)]);
    expect(decodeOrWireError(nested)?.message).toMatch(/frame\.message\.entries\[0\]: expected a map, got array/);
  });

  it('refuses a frame beyond frameBytesMax before reading it', () => {
    const bytes = new Uint8Array(wireLimits.frameBytesMax + 1);
    const t0 = Date.now();
    expect(decodeOrWireError(bytes)?.message).toMatch(/at most 67108864 allowed/);
    expect(Date.now() - t0).toBeLessThan(100);
  });

  it('refuses input that is not bytes', () => {
    expect(() => decodeFrame('frame' as unknown as Uint8Array)).toThrow(WireError);
  });
});

describe('wire: fuzz', () => {
  it('random bytes never throw anything but WireError', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 2048 })), async (bytes) => {
        if (++runs % 200 === 0) await yieldNow();
        decodeOrWireError(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('random bytes behind a valid frame prefix never throw anything but WireError', async () => {
    const prefixes = [
      encode({ kind: 'raft', message: {} }).subarray(0, 13),
      Buffer.concat([Buffer.from([0xa2, 0x64]), Buffer.from('kind'), Buffer.from([0x64]), Buffer.from('raft'), Buffer.from([0x67]), Buffer.from('message'), Buffer.from([0xa9])]),
      Buffer.concat([Buffer.from([0xa3, 0x64]), Buffer.from('kind'), Buffer.from([0x67]), Buffer.from('forward'), Buffer.from([0x62]), Buffer.from('id'), Buffer.from([0x01, 0x67]), Buffer.from('request'), Buffer.from([0xa6])]),
    ];
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 512 }), async (prefix, tail) => {
        if (++runs % 200 === 0) await yieldNow();
        decodeOrWireError(Buffer.concat([prefix, tail]));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames never throw anything but WireError, and never hang', async () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 9 }) }),
    );
    let runs = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(frameArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), async (frame, mutations) => {
        if (++runs % 100 === 0) await yieldNow();
        let bytes = Buffer.from(encodeFrame(frame));
        for (const m of mutations) {
          const at = bytes.length === 0 ? 0 : m.at % bytes.length;
          if (m.op === 'flip') {
            if (bytes.length > 0) bytes[at] = m.value;
          } else if (m.op === 'truncate') bytes = bytes.subarray(0, at);
          else if (m.op === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
          else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
        }
        const t0 = Date.now();
        if (decodeOrWireError(bytes)) refused++;
        expect(Date.now() - t0).toBeLessThan(1000);
      }),
      { numRuns: 3000 },
    );
    expect(refused).toBeGreaterThan(1000);
  });

  it('well-formed CBOR with a field replaced by any value is refused with a WireError or decodes to a valid frame', async () => {
    const anyValue = fc.oneof(
      fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 8 }),
      fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
    );
    const replace = (value: unknown, path: number[], replacement: unknown): unknown => {
      if (path.length === 0 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return replacement;
      const keys = Object.keys(value);
      if (keys.length === 0) return replacement;
      const key = keys[path[0]! % keys.length]!;
      const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...value };
      copy[key] = replace((value as Record<string, unknown>)[key], path.slice(1), replacement);
      return copy;
    };
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(frameArb, fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), anyValue, async (frame, path, replacement) => {
        if (++runs % 100 === 0) await yieldNow();
        const plain = JSON.parse(JSON.stringify(frame, (_k, v) => (v instanceof Uint8Array ? { __bytes: [...v] } : v)), (_k, v) => (v && typeof v === 'object' && '__bytes' in v ? new Uint8Array(v.__bytes) : v));
        decodeOrWireError(encode(replace(plain, path, replacement) as object, { float64: true }));
      }),
      { numRuns: 3000 },
    );
  });
});
