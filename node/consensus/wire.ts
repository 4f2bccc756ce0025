// TEMPORARY minimal codec (lead), replaced by the transport engineer's validated version.
import { decode, encode } from 'cborg';
import type { Message } from './raft/types.ts';
import type { RequestMessage, ResponseMessage } from '../boundary.ts';
export type PeerFrame =
  | { kind: 'raft'; message: Message }
  | { kind: 'forward'; id: number; request: RequestMessage }
  | { kind: 'forward-response'; id: number; response: ResponseMessage };
export class WireError extends Error { readonly code = 'MalformedFrame'; }
export function encodeFrame(frame: PeerFrame): Uint8Array {
  return encode(JSON.parse(JSON.stringify(frame, (_k, v) => (v instanceof Uint8Array ? { __b: Buffer.from(v).toString('base64') } : v === undefined ? null : v))));
}
export function decodeFrame(bytes: Uint8Array): PeerFrame {
  try {
    const raw = decode(bytes);
    const fix = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(fix);
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.__b === 'string') return new Uint8Array(Buffer.from(o.__b, 'base64'));
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) if (x !== null) out[k] = fix(x);
        return out;
      }
      return v;
    };
    return fix(raw) as PeerFrame;
  } catch (e) { throw new WireError((e as Error).message); }
}
