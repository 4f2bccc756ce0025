// Strict decoders for attacker-supplied text: base64url without padding (RFC 7515 §2, RFC 4648 §5),
// UTF-8 that must be valid, and JSON whose nesting is bounded. Lenient decoders (Buffer's) would accept
// several spellings of the same bytes, which a signature check must never do.

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes of canonical unpadded base64url `text`, or undefined if it is not exactly that. */
export function strictBase64UrlDecode(text: string): Uint8Array | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Non-zero bits in the last character's padding would decode to the same bytes: refuse them.
  if (bytes.toString('base64url') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function strictUtf8Decode(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Nesting depth of a parsed JSON value (a scalar is 0), counted without recursion. */
export function jsonDepth(value: unknown, depthMax: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    const inner = depth + 1;
    deepest = Math.max(deepest, inner);
    if (deepest > depthMax) return deepest;
    for (const child of Object.values(item)) stack.push([child, inner]);
  }
  return deepest;
}
