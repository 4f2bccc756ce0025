// Test fixtures for the ledger files (used by files.test.ts and the crash child process it kills).

/** A framed stand-in for a ledger entry (the host only looks at framing): its body names its seqno. */
export function fakeEntry(seqno: number, variant = 0, flags = 0): Uint8Array {
  const body = Buffer.from(`entry ${seqno}.${variant} `.padEnd(20 + (seqno % 17), '.'));
  const out = Buffer.alloc(8 + body.length);
  out[0] = 1;
  out[1] = flags;
  out.writeUIntLE(body.length, 2, 6);
  body.copy(out, 8);
  return new Uint8Array(out);
}

export const isSignature = (seqno: number): boolean => seqno % 5 === 0;
