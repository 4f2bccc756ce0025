// Single-character and single-byte mutations for "verifies if and only if nothing changed" tests.
import { ReceiptError } from '../../src/errors.ts';

/** The string with character i replaced by a different character of the same class where possible. */
export function flipChar(text: string, i: number): string {
  const c = text[i]!;
  let replacement: string;
  if (/[0-9a-f]/.test(c)) replacement = ((parseInt(c, 16) + 1) % 16).toString(16);
  else if (/[A-Z]/.test(c)) replacement = c === 'Z' ? 'A' : String.fromCharCode(c.charCodeAt(0) + 1);
  else replacement = c === 'x' ? 'y' : 'x';
  return text.slice(0, i) + replacement + text.slice(i + 1);
}

export function flipByte(bytes: Uint8Array, i: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[i]! ^= mask;
  return out;
}

/** Runs `verify` and returns the ReceiptError code it threw, or 'ACCEPTED' if it did not throw. */
export function outcome(verify: () => unknown): string {
  try {
    verify();
    return 'ACCEPTED';
  } catch (e) {
    if (e instanceof ReceiptError) return e.code;
    throw e;
  }
}

export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
