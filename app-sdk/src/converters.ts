// Data converters between typed values and the ArrayBuffers the KV stores, as @microsoft/ccf-app's
// converters module provides them, with the same byte layouts — so that maps written by an app on
// ccf-app read back unchanged after it switches to this package, and the other way round:
//   bool 1 byte (1 = true); int8 1 byte; uint8 2 bytes (ccf-app allocates 2, the second is 0);
//   int16/uint16/int32/uint32/float32/float64/int64/uint64 little-endian; string UTF-8 (ccf.strToBuf);
//   json UTF-8 JSON (ccf.jsonCompatibleToBuf); typedArray the view's bytes; arrayBuffer unchanged.
// Encoders check their input (type and range) and throw TypeError / RangeError, as ccf-app does.

import { ccfGlobal } from './global.ts';
import type { JsonCompatible } from './types.ts';

export interface DataConverter<T> {
  encode(val: T): ArrayBuffer;
  decode(arr: ArrayBuffer): T;
}

export type TypedArray = ArrayBufferView;

export interface TypedArrayConstructor<T extends TypedArray> {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T;
}

function requireNumber(val: unknown): asserts val is number {
  if (typeof val !== 'number') throw new TypeError(`Value ${String(val)} is not a number`);
}

function requireInteger(val: unknown, min: number, max: number, type: string): asserts val is number {
  requireNumber(val);
  if (!Number.isInteger(val)) throw new TypeError(`Value ${val} is not an integer`);
  if (val < min || val > max) throw new RangeError(`value is not within ${type} range`);
}

function requireBigInt(val: unknown): asserts val is bigint {
  if (typeof val !== 'bigint') throw new TypeError(`Value ${String(val)} is not a bigint`);
}

/** A converter through a DataView of `bytes` bytes, written at offset 0. */
function viaDataView<T>(bytes: number, check: (val: T) => void, write: (view: DataView, val: T) => void, read: (view: DataView) => T): DataConverter<T> {
  return {
    encode(val: T): ArrayBuffer {
      check(val);
      const buffer = new ArrayBuffer(bytes);
      write(new DataView(buffer), val);
      return buffer;
    },
    decode(arr: ArrayBuffer): T {
      return read(new DataView(arr));
    },
  };
}

const LE = true;

export const bool: DataConverter<boolean> = viaDataView<boolean>(
  1,
  (val) => {
    if (typeof val !== 'boolean') throw new TypeError(`Value ${String(val)} is not a boolean`);
  },
  (view, val) => view.setUint8(0, val ? 1 : 0),
  (view) => view.getUint8(0) === 1,
);

export const int8: DataConverter<number> = viaDataView<number>(
  1,
  (val) => requireInteger(val, -128, 127, 'int8'),
  (view, val) => view.setInt8(0, val),
  (view) => view.getInt8(0),
);

/** Two bytes, as ccf-app writes them (keys written by either package must be the same bytes). */
export const uint8: DataConverter<number> = viaDataView<number>(
  2,
  (val) => requireInteger(val, 0, 255, 'uint8'),
  (view, val) => view.setUint8(0, val),
  (view) => view.getUint8(0),
);

export const int16: DataConverter<number> = viaDataView<number>(
  2,
  (val) => requireInteger(val, -32768, 32767, 'int16'),
  (view, val) => view.setInt16(0, val, LE),
  (view) => view.getInt16(0, LE),
);

export const uint16: DataConverter<number> = viaDataView<number>(
  2,
  (val) => requireInteger(val, 0, 65535, 'uint16'),
  (view, val) => view.setUint16(0, val, LE),
  (view) => view.getUint16(0, LE),
);

export const int32: DataConverter<number> = viaDataView<number>(
  4,
  (val) => requireInteger(val, -2147483648, 2147483647, 'int32'),
  (view, val) => view.setInt32(0, val, LE),
  (view) => view.getInt32(0, LE),
);

export const uint32: DataConverter<number> = viaDataView<number>(
  4,
  (val) => requireInteger(val, 0, 4294967295, 'uint32'),
  (view, val) => view.setUint32(0, val, LE),
  (view) => view.getUint32(0, LE),
);

export const int64: DataConverter<bigint> = viaDataView<bigint>(
  8,
  requireBigInt,
  (view, val) => view.setBigInt64(0, val, LE),
  (view) => view.getBigInt64(0, LE),
);

export const uint64: DataConverter<bigint> = viaDataView<bigint>(
  8,
  requireBigInt,
  (view, val) => view.setBigUint64(0, val, LE),
  (view) => view.getBigUint64(0, LE),
);

export const float32: DataConverter<number> = viaDataView<number>(
  4,
  requireNumber,
  (view, val) => view.setFloat32(0, val, LE),
  (view) => view.getFloat32(0, LE),
);

export const float64: DataConverter<number> = viaDataView<number>(
  8,
  requireNumber,
  (view, val) => view.setFloat64(0, val, LE),
  (view) => view.getFloat64(0, LE),
);

export const string: DataConverter<string> = {
  encode(val: string): ArrayBuffer {
    if (typeof val !== 'string') throw new TypeError(`Value ${String(val)} is not a string`);
    return ccfGlobal().strToBuf(val);
  },
  decode(buf: ArrayBuffer): string {
    return ccfGlobal().bufToStr(buf);
  },
};

class JsonConverter<T> implements DataConverter<T> {
  encode(val: T): ArrayBuffer {
    return ccfGlobal().jsonCompatibleToBuf(val);
  }
  decode(buf: ArrayBuffer): T {
    return ccfGlobal().bufToJsonCompatible(buf);
  }
}

/** Refuses values JSON would not give back unchanged: Maps and Dates, at any depth. */
function checkJsonSafe(val: unknown): void {
  if (val instanceof Map) throw new TypeError('Value contains a Map, which cannot be converted to JSON');
  if (val instanceof Date) throw new TypeError('Value contains a Date, which cannot be converted back from JSON');
  if (typeof val === 'object' && val !== null) {
    for (const item of Array.isArray(val) ? val : Object.values(val)) checkJsonSafe(item);
  }
}

class CheckedJsonConverter<T> extends JsonConverter<T> {
  override encode(val: T): ArrayBuffer {
    checkJsonSafe(val);
    return super.encode(val);
  }
}

export const json = <T extends JsonCompatible<T>>(): DataConverter<T> => new JsonConverter<T>();

export const checkedJson = <T extends JsonCompatible<T>>(): DataConverter<T> => new CheckedJsonConverter<T>();

/** Stores a typed array's own bytes (its view, not the whole underlying buffer). */
export const typedArray = <T extends TypedArray>(clazz: TypedArrayConstructor<T>): DataConverter<T> => ({
  encode(val: T): ArrayBuffer {
    return (val.buffer as ArrayBuffer).slice(val.byteOffset, val.byteOffset + val.byteLength);
  },
  decode(buf: ArrayBuffer): T {
    return new clazz(buf);
  },
});

export const arrayBuffer: DataConverter<ArrayBuffer> = {
  encode: (val: ArrayBuffer): ArrayBuffer => val,
  decode: (buf: ArrayBuffer): ArrayBuffer => buf,
};
