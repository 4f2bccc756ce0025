// A naive serializer for CCF ledger entries and chunk files (the inverse of src/ledger), used as a
// model in round-trip properties and to forge tampered ledgers that are still well-formed.
import { concatBytes, utf8ToBytes } from '../../src/verify/encoding.ts';
import type { LedgerEntry, MapChanges, PublicDomain } from '../../src/ledger/entry.ts';

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

function i64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
  return b;
}

function sized(bytes: Uint8Array): Uint8Array {
  return concatBytes(u64(bytes.length), bytes);
}

export function serializePublicDomain(d: PublicDomain): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(d.entryType), i64(d.version)];
  if (d.claimsDigest) parts.push(d.claimsDigest);
  if (d.commitEvidenceDigest) parts.push(d.commitEvidenceDigest);
  parts.push(i64(d.maxConflictVersion));
  for (const [name, changes] of d.maps) parts.push(serializeMap(name, changes));
  return concatBytes(...parts);
}

function serializeMap(name: string, m: MapChanges): Uint8Array {
  const parts = [sized(utf8ToBytes(name)), u64(0), u64(0), u64(m.writes.length)];
  for (const [k, v] of m.writes) parts.push(sized(k), sized(v));
  parts.push(u64(m.removes.length));
  for (const k of m.removes) parts.push(sized(k));
  return concatBytes(...parts);
}

export interface EntryParts {
  flags: number;
  gcmTag: Uint8Array;
  iv: Uint8Array;
  publicDomain: PublicDomain;
  privateDomain: Uint8Array;
}

export function serializeEntry(e: EntryParts): Uint8Array {
  const pub = serializePublicDomain(e.publicDomain);
  const body = concatBytes(e.gcmTag, e.iv, u64(pub.length), pub, e.privateDomain);
  const header = new Uint8Array(8);
  header[0] = 1;
  header[1] = e.flags;
  const dv = new DataView(header.buffer);
  dv.setUint32(2, body.length % 2 ** 32, true);
  dv.setUint16(6, Math.floor(body.length / 2 ** 32), true);
  return concatBytes(header, body);
}

/** Re-serializes an entry after `edit` changed its public domain (GCM tag, IV, private domain kept). */
export function rewriteEntry(entry: LedgerEntry, edit: (d: PublicDomain) => void): Uint8Array {
  const publicDomain: PublicDomain = { ...entry.publicDomain, maps: new Map(entry.publicDomain.maps) };
  edit(publicDomain);
  return serializeEntry({ flags: entry.flags, gcmTag: entry.gcmTag, iv: entry.iv, publicDomain, privateDomain: entry.privateDomain });
}

/** A chunk file: u64 table offset (0 when open), entries, then u32 positions when complete. */
export function serializeChunk(entries: Uint8Array[], complete: boolean): Uint8Array {
  const positions: number[] = [];
  let offset = 8;
  for (const e of entries) {
    positions.push(offset);
    offset += e.length;
  }
  const table = new Uint8Array(complete ? 4 * positions.length : 0);
  positions.forEach((p, i) => complete && new DataView(table.buffer).setUint32(4 * i, p, true));
  return concatBytes(u64(complete ? offset : 0), ...entries, table);
}

export function ivFor(seqno: number, view: number): Uint8Array {
  const iv = new Uint8Array(12);
  const dv = new DataView(iv.buffer);
  dv.setBigUint64(0, BigInt(seqno), true);
  dv.setUint32(8, view, true);
  return iv;
}
