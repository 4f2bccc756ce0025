// CCF's serialised ledger entry (CCF src/kv/serialised_entry_format.h, generic_serialise_wrapper.h,
// encryptor.h; DESIGN.md "Ledger entry"). All integers little-endian:
//
//   header   version u8 = 1 | flags u8 | size u48 (bytes after the header)
//   GCM      tag [16] | IV [12] = seqno u64 ‖ view u32 (top bit set for snapshots)
//            public-domain length u64 | public domain | private domain (AES-256-GCM ciphertext, absent
//            when empty; AAD = the public domain bytes)
//   public   entry type u8 | version i64 (= seqno) | claims digest [32] (types 2, 4)
//            | commit-evidence digest [32] (types 3, 4) | max conflict version i64 | maps...
//   map      name (u64 len + bytes) | read version i64 | read count u64, (key, version i64)*
//            | write count u64, (key, value)* | remove count u64, key*   (keys/values u64 len + bytes)
//   snapshot (type 1) hash at snapshot (u64 len + bytes) | view history (u64 byte len + i64*)
//            | per map: name | version i64 | raw state (u64 len + bytes)
//
// The private domain, once decrypted, holds maps in the same layout (no header). CCF computes the GCM
// tag even when the private domain is empty, so every entry's public domain is authenticated by the
// ledger secret; the real CCF ledgers in conformance/ show exactly that (no entry has an all-zero tag).

import { invalidArgument, LedgerFormatError } from './errors.ts';
import { Reader, Writer } from './bytes.ts';
import { GCM_IV_BYTES, GCM_TAG_BYTES, LedgerSecret, VIEW_MAX } from './secret.ts';

export const ENTRY_FORMAT_VERSION = 1;
export const ENTRY_HEADER_BYTES = 8;
const DIGEST_BYTES = 32;
/** Bytes between the header and the public domain: tag, IV, public-domain length. */
const GCM_PREFIX_BYTES = GCM_TAG_BYTES + GCM_IV_BYTES + 8;
const SNAPSHOT_IV_BIT = 0x8000_0000;
/** Largest entry this node writes; CCF's own bound is 2^48 (the u48 size). */
export const LEDGER_ENTRY_BYTES_MAX = 2 ** 31;
/** Longest map name, in UTF-8 bytes. CCF's names are dozens of bytes. */
export const MAP_NAME_BYTES_MAX = 4096;
/** Maps one entry may touch. */
export const MAPS_PER_ENTRY_MAX = 65_536;
export const PUBLIC_MAP_PREFIX = 'public:';

export const EntryFlags = { ForceLedgerChunkAfter: 0x01, ForceLedgerChunkBefore: 0x02 } as const;

export const EntryType = {
  WriteSet: 0,
  Snapshot: 1,
  WriteSetWithClaims: 2,
  WriteSetWithCommitEvidence: 3,
  WriteSetWithCommitEvidenceAndClaims: 4,
} as const;
export type EntryTypeValue = (typeof EntryType)[keyof typeof EntryType];

const hasClaims = (type: EntryTypeValue) => type === 2 || type === 4;
const hasCommitEvidence = (type: EntryTypeValue) => type === 3 || type === 4;

export interface MapWrites {
  name: string;
  writes: Array<[Uint8Array, Uint8Array]>;
  removes: Uint8Array[];
}

export interface EntryContent {
  seqno: number;
  view: number;
  /** 32 bytes; zeros when the app set none. */
  claimsDigest: Uint8Array;
  /** SHA-256 of the commit evidence string. */
  commitEvidenceDigest: Uint8Array;
  maxConflictVersion: number;
  /** `public:` maps go to the public domain, the rest to the encrypted private domain. */
  maps: MapWrites[];
}

export interface EncodeOptions {
  /** Header flags (EntryFlags); 0 by default. */
  flags?: number;
}

export interface DecodedMap extends MapWrites {
  readVersion: number;
  reads: Array<[Uint8Array, number]>;
}

export interface SnapshotMap {
  name: string;
  version: number;
  /** CCF's serialised map state (its internal CHAMP map format), left undecoded. */
  raw: Uint8Array;
}

export interface SnapshotBody {
  hashAtSnapshot: Uint8Array;
  viewHistory: number[];
  publicMaps: SnapshotMap[];
  /** null when the private domain is present but no secret was given. */
  privateMaps: SnapshotMap[] | null;
}

export interface DecodedEntry {
  flags: number;
  entryType: EntryTypeValue;
  /** The public domain's version; equal to the IV's seqno (checked). */
  seqno: number;
  /** From the IV (31 bits). */
  view: number;
  /** The IV's snapshot bit; set exactly for entry type 1 (checked). */
  isSnapshot: boolean;
  /** 32 zero bytes when the entry type carries no claims digest (CCF's default). */
  claimsDigest: Uint8Array;
  /** 32 zero bytes when the entry type carries no commit-evidence digest (types 0, 1, 2). */
  commitEvidenceDigest: Uint8Array;
  maxConflictVersion: number;
  tag: Uint8Array;
  iv: Uint8Array;
  /** The serialised public domain: the AAD of the GCM tag. */
  publicDomain: Uint8Array;
  /** Empty when the entry has no private domain. */
  privateCiphertext: Uint8Array;
  publicMaps: DecodedMap[];
  /** null when there is a private domain but no secret was given to decrypt it. */
  privateMaps: DecodedMap[] | null;
  /** Public maps, then private maps when decrypted. Empty for snapshots (see `snapshot`). */
  maps: DecodedMap[];
  /** True when a secret was given and the GCM tag verified. */
  authenticated: boolean;
  snapshot: SnapshotBody | null;
}

/** The fixed 8-byte header at `offset`; `entryBytes` is the whole entry's length including it. */
export function readEntryHeader(bytes: Uint8Array, offset = 0): { version: number; flags: number; size: number; entryBytes: number } {
  if (offset < 0 || offset + ENTRY_HEADER_BYTES > bytes.byteLength) {
    throw new LedgerFormatError('LEDGER_TRUNCATED', 'fewer than 8 bytes left for an entry header', offset);
  }
  const size = bytes[offset + 2]! + bytes[offset + 3]! * 2 ** 8 + bytes[offset + 4]! * 2 ** 16 +
    bytes[offset + 5]! * 2 ** 24 + bytes[offset + 6]! * 2 ** 32 + bytes[offset + 7]! * 2 ** 40;
  return { version: bytes[offset]!, flags: bytes[offset + 1]!, size, entryBytes: ENTRY_HEADER_BYTES + size };
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

interface PreparedMap {
  map: MapWrites;
  name: Uint8Array;
  bytes: number;
}

function prepareMaps(maps: MapWrites[]): PreparedMap[] {
  if (!Array.isArray(maps) || maps.length > MAPS_PER_ENTRY_MAX) throw invalidArgument(`maps must be an array of at most ${MAPS_PER_ENTRY_MAX}`);
  const prepared = maps.map((map): PreparedMap => {
    if (typeof map?.name !== 'string' || map.name.length === 0) throw invalidArgument('every map needs a non-empty name');
    const name = utf8.encode(map.name);
    if (name.byteLength > MAP_NAME_BYTES_MAX) throw invalidArgument(`map name ${map.name.slice(0, 40)}… is too long`);
    if (!Array.isArray(map.writes) || !Array.isArray(map.removes)) throw invalidArgument(`map ${map.name}: writes and removes must be arrays`);
    let bytes = 8 + name.byteLength + 8 + 8 + 8 + 8;
    for (const pair of map.writes) {
      if (!Array.isArray(pair) || !(pair[0] instanceof Uint8Array) || !(pair[1] instanceof Uint8Array)) {
        throw invalidArgument(`map ${map.name}: each write is a [key, value] pair of Uint8Arrays`);
      }
      bytes += 16 + pair[0].byteLength + pair[1].byteLength;
    }
    for (const key of map.removes) {
      if (!(key instanceof Uint8Array)) throw invalidArgument(`map ${map.name}: each removed key is a Uint8Array`);
      bytes += 8 + key.byteLength;
    }
    return { map, name, bytes };
  });
  // Byte order of the names makes the encoding a function of the content alone.
  prepared.sort((a, b) => Buffer.compare(a.name, b.name));
  for (let i = 1; i < prepared.length; i++) {
    if (Buffer.compare(prepared[i - 1]!.name, prepared[i]!.name) === 0) throw invalidArgument(`map ${prepared[i]!.map.name} appears twice`);
  }
  return prepared;
}

function writeMaps(writer: Writer, maps: PreparedMap[]): void {
  for (const { map, name } of maps) {
    writer.sized(name);
    writer.i64(0); // read version: CCF writes NoVersion (0) when reads are not replicated
    writer.u64(0); // read count
    writer.u64(map.writes.length);
    for (const [key, value] of map.writes) {
      writer.sized(key);
      writer.sized(value);
    }
    writer.u64(map.removes.length);
    for (const key of map.removes) writer.sized(key);
  }
}

function checkContent(content: EntryContent, flags: number): void {
  if (typeof content !== 'object' || content === null) throw invalidArgument('entry content must be an object');
  const { seqno, view, claimsDigest, commitEvidenceDigest, maxConflictVersion } = content;
  if (!Number.isSafeInteger(seqno) || seqno < 0) throw invalidArgument(`seqno ${seqno} is not a non-negative integer`);
  if (!Number.isSafeInteger(view) || view < 0 || view > VIEW_MAX) throw invalidArgument(`view ${view} is not in [0, 2^31)`);
  if (!(claimsDigest instanceof Uint8Array) || claimsDigest.byteLength !== DIGEST_BYTES) throw invalidArgument('claimsDigest must be 32 bytes');
  if (!(commitEvidenceDigest instanceof Uint8Array) || commitEvidenceDigest.byteLength !== DIGEST_BYTES) {
    throw invalidArgument('commitEvidenceDigest must be 32 bytes');
  }
  if (!Number.isSafeInteger(maxConflictVersion)) throw invalidArgument('maxConflictVersion must be an integer');
  if (!Number.isInteger(flags) || flags < 0 || flags > 255) throw invalidArgument(`flags ${flags} is not a u8`);
}

/** IV = seqno u64 ‖ view u32, the view's top bit set for snapshots. */
export function entryIv(seqno: number, view: number, isSnapshot = false): Uint8Array {
  const iv = new Uint8Array(GCM_IV_BYTES);
  const data = new DataView(iv.buffer);
  data.setUint32(0, seqno >>> 0, true);
  data.setUint32(4, Math.floor(seqno / 2 ** 32), true);
  data.setUint32(8, (view | (isSnapshot ? SNAPSHOT_IV_BIT : 0)) >>> 0, true);
  return iv;
}

/**
 * The whole serialised entry (type 4: with claims and commit evidence). Public maps are written in the
 * clear; the others are encrypted with `secret`, which also authenticates the public domain.
 */
export function encodeEntry(content: EntryContent, secret: LedgerSecret, options: EncodeOptions = {}): Uint8Array {
  const flags = options.flags ?? 0;
  checkContent(content, flags);
  if (!(secret instanceof LedgerSecret)) throw invalidArgument('encodeEntry needs a LedgerSecret');
  const maps = prepareMaps(content.maps);
  const publicMaps = maps.filter((m) => m.map.name.startsWith(PUBLIC_MAP_PREFIX));
  const privateMaps = maps.filter((m) => !m.map.name.startsWith(PUBLIC_MAP_PREFIX));
  const sum = (list: PreparedMap[]) => list.reduce((total, m) => total + m.bytes, 0);
  const publicBytes = 1 + 8 + DIGEST_BYTES + DIGEST_BYTES + 8 + sum(publicMaps);
  const privateBytes = sum(privateMaps);
  const size = GCM_PREFIX_BYTES + publicBytes + privateBytes;
  if (ENTRY_HEADER_BYTES + size > LEDGER_ENTRY_BYTES_MAX) throw invalidArgument(`the entry would be ${size} bytes, over the limit`);

  const publicDomain = new Writer(publicBytes);
  publicDomain.u8(EntryType.WriteSetWithCommitEvidenceAndClaims);
  publicDomain.i64(content.seqno);
  publicDomain.raw(content.claimsDigest);
  publicDomain.raw(content.commitEvidenceDigest);
  publicDomain.i64(content.maxConflictVersion);
  writeMaps(publicDomain, publicMaps);
  assertFilled(publicDomain, 'public domain');

  const privateDomain = new Writer(privateBytes);
  writeMaps(privateDomain, privateMaps);
  assertFilled(privateDomain, 'private domain');

  const iv = entryIv(content.seqno, content.view);
  const { ciphertext, tag } = secret.encrypt(iv, privateDomain.bytes, publicDomain.bytes);
  privateDomain.bytes.fill(0);

  const out = new Writer(ENTRY_HEADER_BYTES + size);
  out.u8(ENTRY_FORMAT_VERSION);
  out.u8(flags);
  out.raw(u48(size));
  out.raw(tag);
  out.raw(iv);
  out.sized(publicDomain.bytes);
  out.raw(ciphertext);
  assertFilled(out, 'entry');
  return out.bytes;
}

function u48(value: number): Uint8Array {
  const bytes = new Uint8Array(6);
  for (let i = 0, rest = value; i < 6; i++, rest = Math.floor(rest / 256)) bytes[i] = rest % 256;
  return bytes;
}

function assertFilled(writer: Writer, what: string): void {
  if (writer.offset !== writer.bytes.byteLength) throw new Error(`ledger assertion failed: ${what} size mismatch`);
}

/**
 * Decodes one whole entry (exactly `bytes`). With a secret, the GCM tag is verified over the public
 * domain and the private domain is decrypted. Any malformed input throws LedgerFormatError.
 */
export function decodeEntry(bytes: Uint8Array, secret?: LedgerSecret): DecodedEntry {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('decodeEntry takes a Uint8Array');
  if (secret !== undefined && !(secret instanceof LedgerSecret)) throw invalidArgument('secret must be a LedgerSecret');
  // Our own copy: the views handed out cannot change under us if the caller's buffer does.
  const own = bytes.slice();
  const header = readEntryHeader(own, 0);
  if (header.version !== ENTRY_FORMAT_VERSION) {
    throw new LedgerFormatError('LEDGER_BAD_VERSION', `entry format ${header.version} is not ${ENTRY_FORMAT_VERSION}`, 0);
  }
  if (header.entryBytes > own.byteLength) {
    throw new LedgerFormatError('LEDGER_TRUNCATED', `the entry declares ${header.entryBytes} bytes but ${own.byteLength} are present`, 0);
  }
  if (header.entryBytes < own.byteLength) {
    throw new LedgerFormatError('LEDGER_TRAILING_BYTES', `${own.byteLength - header.entryBytes} bytes follow the entry`, header.entryBytes);
  }
  const reader = new Reader(own.subarray(ENTRY_HEADER_BYTES), ENTRY_HEADER_BYTES);
  const tag = reader.take(GCM_TAG_BYTES, 'GCM tag');
  const iv = reader.take(GCM_IV_BYTES, 'GCM IV');
  const publicStart = ENTRY_HEADER_BYTES + reader.offset + 8;
  const publicDomain = reader.sized('public domain');
  const privateCiphertext = reader.take(reader.remaining, 'private domain');

  const ivView = new Reader(iv, ENTRY_HEADER_BYTES + GCM_TAG_BYTES);
  const ivSeqno = ivView.u64('IV seqno');
  const term = ivView.u32('IV view');
  const isSnapshot = term >= SNAPSHOT_IV_BIT;

  const body = new Reader(publicDomain, publicStart);
  const fixed = decodePublicHeader(body);
  if (fixed.seqno !== ivSeqno) {
    throw new LedgerFormatError('LEDGER_IV_MISMATCH', `the IV says seqno ${ivSeqno} but the entry is version ${fixed.seqno}`, publicStart);
  }
  if (isSnapshot !== (fixed.entryType === EntryType.Snapshot)) {
    throw new LedgerFormatError('LEDGER_IV_MISMATCH', `the IV's snapshot bit disagrees with entry type ${fixed.entryType}`, publicStart);
  }

  let plaintext: Uint8Array | null = privateCiphertext.byteLength === 0 ? new Uint8Array(0) : null;
  if (secret !== undefined) plaintext = secret.decrypt(iv, tag, privateCiphertext, publicDomain);
  const privateReader = plaintext === null ? null : new Reader(plaintext, 0);

  let publicMaps: DecodedMap[] = [];
  let privateMaps: DecodedMap[] | null = [];
  let snapshot: SnapshotBody | null = null;
  if (fixed.entryType === EntryType.Snapshot) {
    const hashAtSnapshot = body.sized('hash at snapshot');
    const viewHistory = decodeViewHistory(body);
    const publicSnapshotMaps = decodeSnapshotMaps(body, true);
    const privateSnapshotMaps = privateReader === null ? null : decodeSnapshotMaps(privateReader, false);
    snapshot = { hashAtSnapshot, viewHistory, publicMaps: publicSnapshotMaps, privateMaps: privateSnapshotMaps };
  } else {
    publicMaps = decodeMaps(body, true);
    privateMaps = privateReader === null ? null : decodeMaps(privateReader, false);
  }
  return {
    flags: header.flags,
    ...fixed,
    view: term & ~SNAPSHOT_IV_BIT,
    isSnapshot,
    tag,
    iv,
    publicDomain,
    privateCiphertext,
    publicMaps,
    privateMaps,
    maps: privateMaps === null ? publicMaps : [...publicMaps, ...privateMaps],
    authenticated: secret !== undefined,
    snapshot,
  };
}

function decodePublicHeader(body: Reader) {
  const entryType = body.u8('entry type');
  if (entryType > EntryType.WriteSetWithCommitEvidenceAndClaims) {
    throw new LedgerFormatError('LEDGER_BAD_ENTRY_TYPE', `entry type ${entryType} is not one of 0..4`, body.position - 1);
  }
  const type = entryType as EntryTypeValue;
  const seqno = body.i64('version');
  if (seqno < 0) body.fail('LEDGER_MALFORMED', `version ${seqno} is negative`);
  const claimsDigest = hasClaims(type) ? body.take(DIGEST_BYTES, 'claims digest') : new Uint8Array(DIGEST_BYTES);
  const commitEvidenceDigest = hasCommitEvidence(type) ? body.take(DIGEST_BYTES, 'commit-evidence digest') : new Uint8Array(DIGEST_BYTES);
  const maxConflictVersion = body.i64('max conflict version');
  return { entryType: type, seqno, claimsDigest, commitEvidenceDigest, maxConflictVersion };
}

function decodeName(reader: Reader, isPublicDomain: boolean): string {
  const raw = reader.sized('map name');
  if (raw.byteLength === 0 || raw.byteLength > MAP_NAME_BYTES_MAX) reader.fail('LEDGER_MALFORMED', `map name of ${raw.byteLength} bytes`);
  let name: string;
  try {
    name = utf8Strict.decode(raw);
  } catch {
    return reader.fail('LEDGER_MALFORMED', 'map name is not UTF-8');
  }
  // A private map in the public domain would be plaintext that should have been encrypted.
  if (name.startsWith(PUBLIC_MAP_PREFIX) !== isPublicDomain) {
    reader.fail('LEDGER_MALFORMED', `map ${name} is in the ${isPublicDomain ? 'public' : 'private'} domain`);
  }
  return name;
}

function decodeMaps(reader: Reader, isPublicDomain: boolean): DecodedMap[] {
  const maps: DecodedMap[] = [];
  while (!reader.done) {
    if (maps.length === MAPS_PER_ENTRY_MAX) reader.fail('LEDGER_MALFORMED', `more than ${MAPS_PER_ENTRY_MAX} maps`);
    const name = decodeName(reader, isPublicDomain);
    const readVersion = reader.i64('read version');
    const reads: Array<[Uint8Array, number]> = [];
    for (let n = reader.count('reads', 16); n > 0; n--) reads.push([reader.sized('read key'), reader.i64('read key version')]);
    const writes: Array<[Uint8Array, Uint8Array]> = [];
    for (let n = reader.count('writes', 16); n > 0; n--) writes.push([reader.sized('written key'), reader.sized('written value')]);
    const removes: Uint8Array[] = [];
    for (let n = reader.count('removes', 8); n > 0; n--) removes.push(reader.sized('removed key'));
    maps.push({ name, readVersion, reads, writes, removes });
  }
  return maps;
}

function decodeViewHistory(reader: Reader): number[] {
  const raw = reader.sized('view history');
  if (raw.byteLength % 8 !== 0) reader.fail('LEDGER_MALFORMED', `view history of ${raw.byteLength} bytes is not whole i64s`);
  const items = new Reader(raw);
  const history: number[] = [];
  while (!items.done) history.push(items.i64('view history item'));
  return history;
}

function decodeSnapshotMaps(reader: Reader, isPublicDomain: boolean): SnapshotMap[] {
  const maps: SnapshotMap[] = [];
  while (!reader.done) {
    if (maps.length === MAPS_PER_ENTRY_MAX) reader.fail('LEDGER_MALFORMED', `more than ${MAPS_PER_ENTRY_MAX} maps`);
    const name = decodeName(reader, isPublicDomain);
    maps.push({ name, version: reader.i64('map version'), raw: reader.sized('map state') });
  }
  return maps;
}
