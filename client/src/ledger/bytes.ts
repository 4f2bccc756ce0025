// A bounds-checked little-endian reader over untrusted ledger bytes. Every read checks it stays
// inside the buffer and every 64-bit length must fit in a safe integer, so a corrupted length is
// reported where it occurs instead of surfacing later as a wrong slice.
import { LedgerErrorCode, LedgerFormatError } from '../errors.ts';

export class ByteReader {
  private readonly view: DataView;
  position: number;

  /** `base` is added to positions in error messages (the buffer's offset within its file). */
  constructor(
    readonly bytes: Uint8Array,
    readonly base = 0,
    readonly code: LedgerErrorCode = LedgerErrorCode.badEntry,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = 0;
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  fail(message: string, at = this.position): LedgerFormatError {
    return new LedgerFormatError(this.code, `${message} (at byte ${this.base + at})`, this.base + at);
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) throw this.fail(`${what}: needs ${n} bytes, ${this.remaining} left`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.position++]!;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.position, true);
    this.position += 4;
    return v;
  }

  /** An unsigned 48-bit integer (the ledger entry size field). */
  u48(what: string): number {
    this.need(6, what);
    const v = this.view.getUint32(this.position, true) + this.view.getUint16(this.position + 4, true) * 2 ** 32;
    this.position += 6;
    return v;
  }

  u64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.position, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`${what}: ${v} is out of range`);
    this.position += 8;
    return Number(v);
  }

  i64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigInt64(this.position, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw this.fail(`${what}: ${v} is out of range`);
    this.position += 8;
    return Number(v);
  }

  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.position, this.position + n);
    this.position += n;
    return out;
  }

  /** A u64 length followed by that many bytes (keys, values, map names). */
  sized(what: string): Uint8Array {
    const start = this.position;
    const n = this.u64(`${what} length`);
    if (n > this.remaining) throw this.fail(`${what}: length ${n} exceeds the ${this.remaining} bytes left`, start);
    return this.take(n, what);
  }
}
