// The SDK's converters and typed maps against @microsoft/ccf-app's own, both over the polyfill: for any
// value, the same bytes (so maps written by an app on either package read back on the other), the
// same refusals, and round trips. One deliberate difference: checkedJson checks every element.

import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { polyfill } from '../src/polyfill.ts';
import * as sdk from '../src/index.ts';
import type { DataConverter } from '../src/converters.ts';

// ccf-app reads globalThis.ccf when its modules load: import it after the polyfill is installed.
const ccfapp = await import('@microsoft/ccf-app');

const hex = (buffer: ArrayBuffer): string => Buffer.from(buffer).toString('hex');

function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return (error as Error).name;
  }
}

const int = (min: number, max: number) => fc.integer({ min, max });
/** Values around and beyond a range, and values of the wrong type. */
const anyInput = fc.oneof(
  fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  fc.double(),
  fc.constantFrom(-129, -128, 127, 128, 255, 256, -32769, 65536, 2 ** 31, 2 ** 32, 0.5, NaN, Infinity),
  fc.string(),
  fc.boolean(),
  fc.bigInt(),
  fc.constant(null),
);

const NUMERIC: Array<[string, fc.Arbitrary<unknown>, (v: any) => unknown]> = [
  ['int8', int(-128, 127), (v) => v],
  ['uint8', int(0, 255), (v) => v],
  ['int16', int(-32768, 32767), (v) => v],
  ['uint16', int(0, 65535), (v) => v],
  ['int32', int(-(2 ** 31), 2 ** 31 - 1), (v) => v],
  ['uint32', int(0, 2 ** 32 - 1), (v) => v],
  ['int64', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => v],
  ['uint64', fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => v],
  ['float32', fc.float({ noNaN: true }), (v) => Math.fround(v)],
  ['float64', fc.double({ noNaN: true }), (v) => v],
  ['bool', fc.boolean(), (v) => v],
];

function converters(name: string): [DataConverter<unknown>, DataConverter<unknown>] {
  return [(sdk as any)[name] as DataConverter<unknown>, (ccfapp as any)[name] as DataConverter<unknown>];
}

beforeEach(() => polyfill.reset());

describe('converters are byte-compatible with @microsoft/ccf-app', () => {
  for (const [name, values, expected] of NUMERIC) {
    it(`${name}: same bytes, and decode(encode(v)) = v`, () => {
      const [ours, theirs] = converters(name);
      fc.assert(
        fc.property(values, (value) => {
          const bytes = ours.encode(value);
          expect(hex(bytes)).toBe(hex(theirs.encode(value)));
          expect(ours.decode(bytes)).toEqual(expected(value));
          expect(theirs.decode(bytes)).toEqual(ours.decode(bytes));
        }),
      );
    });

    it(`${name}: refuses what ccf-app refuses, with the same error class`, () => {
      const [ours, theirs] = converters(name);
      fc.assert(
        fc.property(anyInput, (value) => {
          expect(outcome(() => ours.encode(value))).toBe(outcome(() => theirs.encode(value)));
        }),
      );
    });
  }

  it('uint8 takes two bytes and bool decodes anything but 1 as false, as in ccf-app', () => {
    expect(hex(sdk.uint8.encode(5))).toBe('0500');
    expect([sdk.bool.decode(new Uint8Array([2]).buffer), ccfapp.bool.decode(new Uint8Array([2]).buffer)]).toEqual([false, false]);
  });

  it('string and json: same bytes for any string (lone surrogates included) and any JSON value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(hex(sdk.string.encode(text))).toBe(hex(ccfapp.string.encode(text)));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(sdk.string.decode(sdk.string.encode(text))).toBe(text);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const bytes = sdk.json().encode(value);
        expect(hex(bytes)).toBe(hex(ccfapp.json().encode(value)));
        expect(hex(bytes)).toBe(hex(sdk.checkedJson().encode(value)));
        expect(sdk.json().decode(bytes)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('typedArray stores the view, not its whole buffer; arrayBuffer stores the buffer as is', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4 }), fc.nat(), (bytes, cut) => {
        const view = new Uint16Array(bytes.buffer, 0, Math.floor(bytes.length / 2)).subarray(cut % 2);
        expect(hex(sdk.typedArray(Uint16Array).encode(view))).toBe(hex(ccfapp.typedArray(Uint16Array).encode(view)));
        expect(Array.from(sdk.typedArray(Uint16Array).decode(sdk.typedArray(Uint16Array).encode(view)))).toEqual(Array.from(view));
      }),
    );
    const buffer = new Uint8Array([1, 2]).buffer;
    expect(sdk.arrayBuffer.encode(buffer)).toBe(buffer);
  });

  it('checkedJson refuses Maps and Dates at any depth (ccf-app checks only the first element of each array or object)', () => {
    const nested = [1, { when: new Date(0) }];
    expect(outcome(() => sdk.checkedJson().encode(nested))).toBe('TypeError');
    expect(outcome(() => ccfapp.checkedJson().encode(nested))).toBe('ok');
    for (const value of [new Date(0), new Map(), [new Map()], { a: new Date(0) }]) {
      expect(outcome(() => sdk.checkedJson().encode(value))).toBe('TypeError');
      expect(outcome(() => ccfapp.checkedJson().encode(value))).toBe('TypeError');
    }
  });
});

describe('typed maps and sets write what ccf-app writes', () => {
  const rawEntries = (name: string): string[] => polyfill.entries(name).map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();

  it('the same operations leave the same raw entries', () => {
    const operations = fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 20 }), value: fc.jsonValue() }),
        fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 20 }) }),
      ),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(operations, (ops) => {
        polyfill.reset();
        const ours = sdk.typedKv('ours', sdk.uint32, sdk.json());
        const theirs = ccfapp.typedKv('theirs', ccfapp.uint32, ccfapp.json());
        const ourSet = sdk.typedKvSet('our-set', sdk.uint16);
        const theirSet = ccfapp.typedKvSet('their-set', ccfapp.uint16);
        for (const o of ops) {
          if (o.op === 'set') {
            ours.set(o.key, o.value);
            theirs.set(o.key, o.value);
            ourSet.add(o.key);
            theirSet.add(o.key);
          } else {
            ours.delete(o.key);
            theirs.delete(o.key);
            ourSet.delete(o.key);
            theirSet.delete(o.key);
          }
        }
        expect(rawEntries('ours')).toEqual(rawEntries('theirs'));
        expect(rawEntries('our-set')).toEqual(rawEntries('their-set'));
        expect([ours.size, ourSet.size]).toEqual([theirs.size, theirSet.size]);
        const seen: Array<[number, unknown]> = [];
        ours.forEach((value, key, table) => {
          expect(table).toBe(ours);
          seen.push([key, value]);
        });
        const expected: Array<[number, unknown]> = [];
        theirs.forEach((value, key) => expected.push([key, value]));
        expect(seen.sort((a, b) => a[0] - b[0])).toEqual(expected.sort((a, b) => a[0] - b[0]));
      }),
      { numRuns: 50 },
    );
  });

  it('a set stores each key with 8 zero bytes', () => {
    sdk.typedKvSet('members', sdk.string).add('ada');
    expect(rawEntries('members')).toEqual([`${hex(sdk.string.encode('ada'))}=0000000000000000`]);
  });

  it('rawKv is ccf.kv', () => {
    expect(sdk.rawKv['x']).toBe(polyfill.ccf.kv['x']);
  });
});
