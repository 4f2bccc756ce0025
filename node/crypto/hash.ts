// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) over node:crypto, plus strict hex codecs.
// CCF's Merkle tree, leaves, commit evidence and identities are all SHA-256, so this is the hot path:
// one-shot calls into OpenSSL, results handed back as plain Uint8Array views (no copy) rather than
// Buffers, so that callers comparing or cloning bytes never trip over Buffer's extra behaviour.

import { createHash, createHmac, hash as oneShotHash } from 'node:crypto';
import { invalidArgument, invalidHex } from './errors.ts';

export const SHA256_BYTES = 32;

function asPlainBytes(buffer: Buffer): Uint8Array {
  // Digest buffers come from OpenSSL with their own ArrayBuffer, so a view is safe and copy-free.
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgument(`${what} must be a Uint8Array`);
}

/** SHA-256 of the concatenation of `parts`, without building the concatenation. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) {
    const part = parts[0]!;
    assertBytes(part, 'sha256 input');
    return asPlainBytes(oneShotHash('sha256', part, 'buffer'));
  }
  const hasher = createHash('sha256');
  for (const part of parts) {
    assertBytes(part, 'sha256 input');
    hasher.update(part);
  }
  return asPlainBytes(hasher.digest());
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  assertBytes(key, 'HMAC key');
  assertBytes(data, 'HMAC data');
  return asPlainBytes(createHmac('sha256', key).update(data).digest());
}

const SHA256_BLOCK_BYTES = 64;

/**
 * HMAC-SHA256 under one key, many messages: RFC 2104's H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)) with the two
 * padded keys computed once, as two one-shot hashes. A node derives commit evidence this way for every
 * transaction; createHmac sets up a keyed context per call and cost 3–4× as much there.
 */
export function hmacSha256With(key: Uint8Array): (data: Uint8Array) => Uint8Array {
  assertBytes(key, 'HMAC key');
  const block = key.byteLength > SHA256_BLOCK_BYTES ? sha256(key) : key;
  const inner = Buffer.alloc(SHA256_BLOCK_BYTES, 0x36);
  const outer = Buffer.alloc(SHA256_BLOCK_BYTES, 0x5c);
  for (let i = 0; i < block.byteLength; i++) {
    inner[i]! ^= block[i]!;
    outer[i]! ^= block[i]!;
  }
  return (data: Uint8Array): Uint8Array => {
    assertBytes(data, 'HMAC data');
    const innerDigest = oneShotHash('sha256', Buffer.concat([inner, data]), 'buffer');
    return asPlainBytes(oneShotHash('sha256', Buffer.concat([outer, innerDigest]), 'buffer'));
  };
}

export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'toHex input');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX_PATTERN = /^[0-9a-fA-F]*$/;

/** Parses hex (either case). Rejects odd lengths and non-hex characters, which Buffer would skip. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw invalidHex('hex input must be a string');
  if (hex.length % 2 !== 0) throw invalidHex(`hex string has odd length ${hex.length}`);
  if (!HEX_PATTERN.test(hex)) throw invalidHex('hex string contains a non-hex character');
  const buffer = Buffer.from(hex, 'hex');
  if (buffer.byteLength * 2 !== hex.length) throw invalidHex('hex string did not decode fully');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
}

/** Constant-time equality for secrets (MACs, tokens); length is not secret. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'equalBytes input');
  assertBytes(b, 'equalBytes input');
  if (a.byteLength !== b.byteLength) return false;
  let difference = 0;
  for (let i = 0; i < a.byteLength; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
