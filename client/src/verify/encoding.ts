// Byte encodings used by CCF receipts: lowercase hex (RFC 4648 §8), base64 (RFC 4648 §4) and PEM
// (RFC 7468). Decoders are strict on purpose: a receipt that only verifies after lenient decoding
// (stray characters skipped, padding ignored) would let two different strings denote one receipt.

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes hex; throws TypeError on odd length or a non-hex character. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) throw new TypeError('not a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map<string, number>([...B64].map((c, i) => [c, i]));
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes padded base64; throws TypeError on anything else (whitespace included). */
export function base64ToBytes(text: string): Uint8Array {
  if (typeof text !== 'string' || !B64_RE.test(text)) throw new TypeError('not a padded base64 string');
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of clean) {
    value = (value << 6) | (B64_INDEX.get(c) as number);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  // Non-canonical encodings (non-zero pad bits) would give two spellings of one byte string.
  if ((value & ((1 << bits) - 1)) !== 0) throw new TypeError('base64 has non-zero padding bits');
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=';
    s += i + 2 < bytes.length ? B64[n & 63]! : '=';
  }
  return s;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----/g;

/** All PEM blocks with the given label ("CERTIFICATE"), decoded, in order of appearance. */
export function pemToDerAll(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  if (typeof pem !== 'string') throw new TypeError('PEM must be a string');
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(PEM_RE)) {
    if (m[1] !== label) continue;
    out.push(base64ToBytes(m[2]!.replace(/\r?\n/g, '')));
  }
  return out;
}

/** Exactly one PEM block with the label; throws TypeError otherwise. */
export function pemToDer(pem: string, label = 'CERTIFICATE'): Uint8Array {
  const all = pemToDerAll(pem, label);
  if (all.length !== 1) throw new TypeError(`expected one PEM ${label} block, found ${all.length}`);
  return all[0]!;
}

export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = bytesToBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function utf8ToBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function bytesToUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
