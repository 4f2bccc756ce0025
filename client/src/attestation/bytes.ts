// Byte helpers for node/attestation: hex, comparisons and argument checks.
//
// node/crypto has equivalents, but this folder keeps its dependencies to node:* so that an auditor can
// read the attestation path alone. Hex is lower-case on output and strict on input: an odd length or a
// stray character is an error, never silently truncated.

import { AttestationError, type AttestationErrorCode } from './errors.ts';

const hexPattern = /^(?:[0-9a-fA-F]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string, what: string, code: AttestationErrorCode = 'ATTESTATION_INVALID_ARGUMENT'): Uint8Array {
  if (typeof hex !== 'string' || !hexPattern.test(hex)) {
    throw new AttestationError(code, `${what} must be a hex string of whole bytes`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Parses hex that must decode to exactly `byteLength` bytes; returns it lower-cased. */
export function normaliseHex(hex: string, byteLength: number, what: string, code: AttestationErrorCode = 'ATTESTATION_INVALID_ARGUMENT'): string {
  const bytes = fromHex(hex, what, code);
  if (bytes.length !== byteLength) {
    throw new AttestationError(code, `${what} must be ${byteLength} bytes (${byteLength * 2} hex digits), got ${bytes.length}`);
  }
  return hex.toLowerCase();
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

export function isAllZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/** A Buffer view over the same memory (no copy), for node:crypto calls. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function requireBytes(value: unknown, what: string, byteLength?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `${what} must be a Uint8Array`);
  }
  if (byteLength !== undefined && value.length !== byteLength) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `${what} must be ${byteLength} bytes, got ${value.length}`);
  }
  return value;
}
