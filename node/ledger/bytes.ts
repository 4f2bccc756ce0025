// Little-endian readers and writers for CCF's serialised formats (CCF's `serialized::read/write` of
// fixed-width integers and u64-length-prefixed byte strings). The reader checks every length it reads
// against the bytes actually present and throws LedgerFormatError, so hostile input cannot make it read
// out of bounds, allocate by a forged count, or throw anything else.

import { LedgerFormatError, invalidArgument } from './errors.ts';

const TWO_POW_32 = 2 ** 32;
/** Largest high word of a u64 that still fits a safe JS integer (2^53 - 1). */
const SAFE_HIGH_WORD_MAX = 2 ** 21 - 1;

export class Reader {
  readonly #view: DataView;
  #offset: number;
  readonly #end: number;
  /** Added to positions in error messages, so they point into the enclosing buffer. */
  readonly #base: number;

  constructor(bytes: Uint8Array, base = 0) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = 0;
    this.#end = bytes.byteLength;
    this.#base = base;
  }

  get offset(): number {
    return this.#offset;
  }

  /** Offset in the enclosing buffer, for error messages. */
  get position(): number {
    return this.#base + this.#offset;
  }

  get remaining(): number {
    return this.#end - this.#offset;
  }

  get done(): boolean {
    return this.#offset === this.#end;
  }

  fail(code: 'LEDGER_MALFORMED' | 'LEDGER_TRUNCATED', message: string): never {
    throw new LedgerFormatError(code, message, this.#base + this.#offset);
  }

  #need(count: number, what: string): void {
    if (count > this.remaining) {
      this.fail('LEDGER_TRUNCATED', `${what} needs ${count} bytes but only ${this.remaining} remain`);
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#view.getUint8(this.#offset++);
  }

  u32(what: string): number {
    this.#need(4, what);
    const value = this.#view.getUint32(this.#offset, true);
    this.#offset += 4;
    return value;
  }

  /** A u64 that must fit a JS safe integer (lengths, counts, seqnos). */
  u64(what: string): number {
    this.#need(8, what);
    const low = this.#view.getUint32(this.#offset, true);
    const high = this.#view.getUint32(this.#offset + 4, true);
    if (high > SAFE_HIGH_WORD_MAX) this.fail('LEDGER_MALFORMED', `${what} does not fit in 53 bits`);
    this.#offset += 8;
    return high * TWO_POW_32 + low;
  }

  /** An i64 (CCF's `Version`) that must fit a JS safe integer. */
  i64(what: string): number {
    this.#need(8, what);
    const value = this.#view.getBigInt64(this.#offset, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail('LEDGER_MALFORMED', `${what} does not fit in 53 bits`);
    }
    this.#offset += 8;
    return Number(value);
  }

  /** `count` raw bytes, as a view into the reader's buffer. */
  take(count: number, what: string): Uint8Array {
    this.#need(count, what);
    const start = this.#view.byteOffset + this.#offset;
    this.#offset += count;
    return new Uint8Array(this.#view.buffer, start, count);
  }

  /** A u64 byte length, then that many bytes. */
  sized(what: string): Uint8Array {
    return this.take(this.u64(`length of ${what}`), what);
  }

  /** A u64 count whose items each take at least `bytesPerItemMin` bytes: bounded before any loop. */
  count(what: string, bytesPerItemMin: number): number {
    const count = this.u64(`count of ${what}`);
    if (count * bytesPerItemMin > this.remaining) {
      this.fail('LEDGER_TRUNCATED', `${count} ${what} cannot fit in the ${this.remaining} bytes that remain`);
    }
    return count;
  }
}

/** Writes into a buffer whose exact size was computed beforehand (the caller asserts it filled it). */
export class Writer {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
  }

  get offset(): number {
    return this.#offset;
  }

  u8(value: number): void {
    this.#view.setUint8(this.#offset, value);
    this.#offset += 1;
  }

  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`${value} is not a u64 JS can hold exactly`);
    this.#view.setUint32(this.#offset, value >>> 0, true);
    this.#view.setUint32(this.#offset + 4, Math.floor(value / TWO_POW_32), true);
    this.#offset += 8;
  }

  i64(value: number): void {
    if (!Number.isSafeInteger(value)) throw invalidArgument(`${value} is not an integer JS can hold exactly`);
    this.#view.setBigInt64(this.#offset, BigInt(value), true);
    this.#offset += 8;
  }

  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.#offset);
    this.#offset += bytes.byteLength;
  }

  sized(bytes: Uint8Array): void {
    this.u64(bytes.byteLength);
    this.raw(bytes);
  }
}
