// Byte-string helpers for the store. Keys are held internally as latin1 strings (one char per byte) so
// they can index JS Maps; the mapping is a bijection, and comparing two such strings compares the bytes
// lexicographically, which is the order CCF serialises keys in.

import { invalidArgument } from './errors.ts';

// Buffer's latin1Slice reads any Uint8Array without wrapping it in a Buffer first: about twice as fast
// as Buffer.from(...).toString('latin1') for short keys, which matters on every get and set.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (start: number, end: number) => string })
  .latin1Slice;

export function keyString(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('keys must be Uint8Arrays');
  if (latin1Slice !== undefined) return latin1Slice.call(bytes, 0, bytes.byteLength);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The bytes of a key string, as a fresh plain Uint8Array. */
export function keyBytes(key: string): Uint8Array {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return bytes;
}

export function describeKey(key: string, shownMax: number): string {
  const shown = Buffer.from(key.slice(0, shownMax), 'latin1').toString('hex');
  return key.length > shownMax ? `${shown}…` : shown;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
