// Snapshots of the whole KV state in CCF's format (CCF src/kv/snapshot.h, src/kv/store.h,
// src/node/history.h init_from_snapshot; DESIGN.md "Ledger entry"). A snapshot is one ledger-framed
// entry of type 1 (Snapshot):
//
//   header    version u8 = 1 | flags u8 = 0 | size u48
//   GCM       tag [16] | IV = seqno u64 ‖ u32 0x8000_0000 (CCF puts view 0 with the snapshot bit: a
//             snapshot is taken once per seqno, so the seqno alone keeps the IV unique)
//             | public-domain length u64 | public domain | private domain (AES-256-GCM, AAD = public domain)
//   public    entry type u8 = 1 | version i64 = seqno | max conflict version i64 = 0
//             | hash at snapshot (u64 len + 32 bytes: the Merkle leaf of the signature at seqno)
//             | view history (u64 byte len + i64 per view: first seqno of view i + 1)
//             | public maps: name (u64 len + bytes) | map version i64 | state (u64 len + bytes, format.ts)
//   private   the other maps, same layout, encrypted with the ledger secret
//
// Maps are in name byte order, keys in key byte order. The Merkle tree travels as CCF's does: in the map
// `public:ccf.internal.tree` (merklecpp form of leaves up to seqno − 1, written by the signature at seqno;
// ccf-tree.ts), and the restoring node appends the hash at snapshot, the signature's own leaf, to get
// the tree of seqno + 1 leaves from which later roots and receipts follow.

import { certificatePublicKeyDer, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { sha256, toHex } from '../crypto/hash.ts';
import { verifyDigest } from '../crypto/keys.ts';
import { Tables, UNIT_KEY, type SignatureRecord } from '../enclave/tables.ts';
import type { SignatureInfo } from '../enclave/history.ts';
import { KvError, Store, isPublicMap } from '../kv/index.ts';
import { Writer } from '../ledger/bytes.ts';
import {
  decodeEntry,
  entryIv,
  ENTRY_FORMAT_VERSION,
  ENTRY_HEADER_BYTES,
  EntryType,
  LEDGER_ENTRY_BYTES_MAX,
  LedgerFormatError,
  LedgerSecret,
  MAP_NAME_BYTES_MAX,
  MAPS_PER_ENTRY_MAX,
  type DecodedEntry,
} from '../ledger/index.ts';
import { GCM_IV_BYTES, GCM_TAG_BYTES } from '../ledger/secret.ts';
import { MerkleTree } from '../merkle/tree.ts';
import { parseCcfTree, serializeCcfTree } from './ccf-tree.ts';
import { inconsistent, invalidArgument, malformed, SnapshotError } from './errors.ts';
import {
  ccfViewHistory,
  decodeMapState,
  encodeMapStateSteps,
  viewsFromHistory,
  type TermStart,
  type VersionedKv,
  type ViewStart,
} from './format.ts';

const HASH_BYTES = 32;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
/** Longest signature record accepted (JSON with a certificate and a signature: about 1.2 KB in CCF). */
const SIGNATURE_RECORD_BYTES_MAX = 64 * 1024;

export interface SnapshotMap {
  name: string;
  /** Seqno of the last write to the map (at most the snapshot's seqno). */
  version: number;
  /** [key, value, version], in key byte order. */
  entries: VersionedKv[];
}

export interface SerializeSnapshotInput {
  /** The store, at `seqno` (its current version): snapshots are taken right after a signature. */
  store: Store;
  /** Seqno of the signature transaction the snapshot is taken at. */
  seqno: number;
  /** View of that signature transaction. */
  view: number;
  /** The Merkle tree with the signature's own leaf appended (size seqno + 1). */
  tree: MerkleTree;
  secret: LedgerSecret;
  /**
   * Consensus's view starts (ascending; `{view, startSeqno}` or Raft's `{term, index}`), for the view
   * history CCF records. Without them the history
   * says only that `view` holds `seqno` (earlier views are then unknown to a node that restores it).
   */
  views?: ReadonlyArray<ViewStart | TermStart>;
  /** Further maps to carry (node-local state not in the store); names must not clash with the store's. */
  extra?: ReadonlyArray<{ name: string; entries: readonly VersionedKv[] }>;
  /** Refuse a store without a signature record at `seqno` (default true). */
  requireSignature?: boolean;
}

interface PreparedMap {
  name: Uint8Array;
  version: number;
  state: Uint8Array;
}

/** The snapshot entry bytes: what `writePending` stores and whose SHA-256 the evidence commits to. */
export function serializeSnapshot(input: SerializeSnapshotInput): Uint8Array {
  const steps = serializeSteps(input, Infinity);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Bytes of map state encoded, copied or encrypted between two pauses of serializeSnapshotInSteps. */
export const SNAPSHOT_STEP_BYTES = 1024 * 1024;

/**
 * serializeSnapshot with a pause (`await pause()`, by default until the event loop's next turn) after
 * about every SNAPSHOT_STEP_BYTES of work, the same bytes in the end. The store and the tree are read
 * before the first pause, so later transactions do not reach the snapshot; the node keeps serving
 * (and heartbeating) while a large snapshot is encoded and encrypted (~3 µs per key in one piece).
 */
export async function serializeSnapshotInSteps(
  input: SerializeSnapshotInput,
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
  stepBytes = SNAPSHOT_STEP_BYTES,
): Promise<Uint8Array> {
  const steps = serializeSteps(input, stepBytes);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

function* serializeSteps(input: SerializeSnapshotInput, stepBytes: number): Generator<void, Uint8Array, void> {
  if (typeof input !== 'object' || input === null) throw invalidArgument('serializeSnapshot takes an object');
  const { store, seqno, view, tree, secret } = input;
  if (!(store instanceof Store)) throw invalidArgument('store must be a Store');
  if (!(tree instanceof MerkleTree)) throw invalidArgument('tree must be a MerkleTree');
  if (!(secret instanceof LedgerSecret)) throw invalidArgument('secret must be a LedgerSecret');
  if (!Number.isSafeInteger(seqno) || seqno < 1) throw invalidArgument(`seqno ${seqno} is not a positive integer`);
  if (!Number.isSafeInteger(view) || view < 0 || view > 2 ** 31 - 1) throw invalidArgument(`view ${view} is not in [0, 2^31)`);
  if (store.version !== seqno) {
    throw invalidArgument(`the store is at ${store.version}: a snapshot at ${seqno} is taken right after the signature at ${seqno}`);
  }
  if (tree.size !== seqno + 1) {
    throw invalidArgument(`the tree has ${tree.size} leaves: a snapshot at ${seqno} needs the signature's leaf appended (${seqno + 1})`);
  }

  const maps = new Map<string, VersionedKv[]>();
  for (const { name, entries } of store.snapshot().maps) maps.set(name, entries);
  for (const extra of input.extra ?? []) {
    if (typeof extra?.name !== 'string' || extra.name.length === 0) throw invalidArgument('every extra map needs a name');
    if (maps.has(extra.name)) throw invalidArgument(`extra map ${extra.name} is also in the store`);
    if (!Array.isArray(extra.entries)) throw invalidArgument(`extra map ${extra.name} needs an entries array`);
    const entries = extra.entries.map((e): VersionedKv => {
      if (!Array.isArray(e) || !(e[0] instanceof Uint8Array) || !(e[1] instanceof Uint8Array)) {
        throw invalidArgument(`extra map ${extra.name}: entries are [key, value, version]`);
      }
      if (!Number.isSafeInteger(e[2]) || e[2] < 1 || e[2] > seqno) throw invalidArgument(`extra map ${extra.name}: version ${e[2]} outside [1, ${seqno}]`);
      return [e[0], e[1], e[2]];
    });
    entries.sort((a, b) => Buffer.compare(a[0], b[0]));
    for (let i = 1; i < entries.length; i++) {
      if (Buffer.compare(entries[i - 1]![0], entries[i]![0]) === 0) throw invalidArgument(`extra map ${extra.name}: a key appears twice`);
    }
    maps.set(extra.name, entries);
  }

  const root = tree.root(seqno);
  const signature = store.get(Tables.signatures, UNIT_KEY);
  if (signature !== undefined && store.getVersion(Tables.signatures, UNIT_KEY) === seqno) {
    const record = parseSignatureRecord(signature, seqno);
    if (record.root !== toHex(root)) throw invalidArgument(`the signature at ${seqno} signed root ${record.root}, but the tree's root is ${toHex(root)}`);
  } else if (input.requireSignature ?? true) {
    throw invalidArgument(`there is no signature transaction at ${seqno}: snapshots are taken at signatures`);
  }

  // The tree as the signature at seqno wrote it, or as it would have: leaves up to seqno − 1.
  const stored = store.get(Tables.tree, UNIT_KEY);
  if (stored !== undefined && store.getVersion(Tables.tree, UNIT_KEY) === seqno) {
    const parsed = parseCcfTree(stored);
    if (parsed.to !== seqno - 1 || !equal(parsed.tree.root(seqno), root)) {
      throw invalidArgument(`the tree the signature at ${seqno} stored does not match the tree given`);
    }
  } else {
    maps.set(Tables.tree, [[UNIT_KEY, serializeCcfTree(tree, seqno - 1, Math.max(tree.firstIndex, seqno - 1)), seqno]]);
  }

  const history = input.views === undefined ? new Array<number>(view).fill(seqno) : ccfViewHistory(input.views, seqno);
  if (history.length !== view) {
    throw invalidArgument(`the views given put seqno ${seqno} in view ${history.length}, not ${view}`);
  }

  const hashAtSnapshot = tree.leaf(seqno);
  // Everything read from the store and the tree is in hand: from here on, pauses are safe.
  yield;

  const prepared: PreparedMap[] = [];
  for (const [name, entries] of maps) {
    const nameBytes = utf8.encode(name);
    if (nameBytes.byteLength > MAP_NAME_BYTES_MAX) throw invalidArgument(`map name ${name.slice(0, 40)}… is too long`);
    let version = 0;
    for (const entry of entries) version = Math.max(version, entry[2]);
    prepared.push({ name: nameBytes, version, state: yield* encodeMapStateSteps(entries, stepBytes) });
  }
  if (prepared.length > MAPS_PER_ENTRY_MAX) throw invalidArgument(`${prepared.length} maps is more than an entry holds`);
  prepared.sort((a, b) => Buffer.compare(a.name, b.name));
  const publicMaps = prepared.filter((m) => isPublicMap(utf8Strict.decode(m.name)));
  const privateMaps = prepared.filter((m) => !isPublicMap(utf8Strict.decode(m.name)));
  const mapsBytes = (list: PreparedMap[]) => list.reduce((n, m) => n + 8 + m.name.byteLength + 8 + 8 + m.state.byteLength, 0);

  const publicBytes = 1 + 8 + 8 + 8 + HASH_BYTES + 8 + 8 * history.length + mapsBytes(publicMaps);
  const privateBytes = mapsBytes(privateMaps);
  const size = GCM_TAG_BYTES + GCM_IV_BYTES + 8 + publicBytes + privateBytes;
  if (ENTRY_HEADER_BYTES + size > LEDGER_ENTRY_BYTES_MAX) throw invalidArgument(`the snapshot would be ${size} bytes, over the limit`);

  const pub = new Writer(publicBytes);
  pub.u8(EntryType.Snapshot);
  pub.i64(seqno);
  pub.i64(0); // max conflict version: CCF writes none for snapshots
  pub.sized(hashAtSnapshot);
  pub.u64(8 * history.length);
  for (const start of history) pub.i64(start);
  yield* writeMapsSteps(pub, publicMaps, stepBytes);
  filled(pub, 'public domain');
  const priv = new Writer(privateBytes);
  yield* writeMapsSteps(priv, privateMaps, stepBytes);
  filled(priv, 'private domain');
  for (const m of privateMaps) m.state.fill(0);

  // The entry: header, tag (known once encrypted), IV, public domain, then the private domain's
  // ciphertext written in place.
  const iv = entryIv(seqno, 0, true);
  const out = new Writer(ENTRY_HEADER_BYTES + size);
  out.u8(ENTRY_FORMAT_VERSION);
  out.u8(0);
  for (let i = 0, rest = size; i < 6; i++, rest = Math.floor(rest / 256)) out.u8(rest % 256);
  const tagAt = out.offset;
  out.raw(new Uint8Array(GCM_TAG_BYTES));
  out.raw(iv);
  out.u64(pub.bytes.byteLength);
  yield* rawSteps(out, pub.bytes, stepBytes);
  const ciphertextAt = out.offset;
  const tag = yield* secret.encryptInto(iv, priv.bytes, pub.bytes, out.bytes, ciphertextAt, stepBytes);
  priv.bytes.fill(0);
  out.bytes.set(tag, tagAt);
  if (ciphertextAt + privateBytes !== out.bytes.byteLength) throw new Error('snapshot assertion failed: snapshot size');
  return out.bytes;
}

function* writeMapsSteps(writer: Writer, maps: PreparedMap[], stepBytes: number): Generator<void, void, void> {
  for (const m of maps) {
    writer.sized(m.name);
    writer.i64(m.version);
    writer.u64(m.state.byteLength);
    yield* rawSteps(writer, m.state, stepBytes);
  }
}

/** writer.raw(bytes) in pieces of stepBytes, pausing between them. */
function* rawSteps(writer: Writer, bytes: Uint8Array, stepBytes: number): Generator<void, void, void> {
  for (let at = 0; at < bytes.byteLength; at += stepBytes) {
    writer.raw(bytes.subarray(at, Math.min(bytes.byteLength, at + stepBytes)));
    if (at + stepBytes < bytes.byteLength) yield;
  }
}

function filled(writer: Writer, what: string): void {
  if (writer.offset !== writer.bytes.byteLength) throw new Error(`snapshot assertion failed: ${what} size`);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

function parseSignatureRecord(bytes: Uint8Array, seqno: number): SignatureRecord {
  if (bytes.byteLength > SIGNATURE_RECORD_BYTES_MAX) throw inconsistent(`the signature record at ${seqno} is ${bytes.byteLength} bytes`);
  let record: unknown;
  try {
    record = JSON.parse(utf8Strict.decode(bytes));
  } catch {
    throw inconsistent(`the signature record at ${seqno} is not JSON`);
  }
  const r = record as Partial<SignatureRecord> | null;
  if (
    typeof r !== 'object' || r === null || r.seqno !== seqno || !Number.isSafeInteger(r.view) ||
    typeof r.root !== 'string' || !/^[0-9a-f]{64}$/.test(r.root) || typeof r.sig !== 'string' ||
    typeof r.cert !== 'string' || typeof r.node !== 'string'
  ) {
    throw inconsistent(`the signature record at ${seqno} is not a signature of seqno ${seqno}`);
  }
  return r as SignatureRecord;
}

export interface RestoredSnapshot {
  seqno: number;
  /** View of the signature at `seqno` (the view history's length; 0 when it is empty). */
  view: number;
  /** CCF's view history as stored (first seqno of view i + 1). */
  viewHistory: number[];
  /** The same as consensus keeps it: each view that has transactions and its first seqno. */
  views: ViewStart[];
  /** The Merkle leaf of the signature at `seqno`. */
  hashAtSnapshot: Uint8Array;
  /** Every map, public then private, each in name order (maps left empty by removes included). */
  maps: SnapshotMap[];
  /** A fresh store at version `seqno` holding every non-empty map. */
  store: Store;
  /** The Merkle tree with seqno + 1 leaves; it holds leaves from `tree.firstIndex` on. */
  tree: MerkleTree;
  /** The signature transaction at `seqno`, when the snapshot was taken at one (always, for ours and CCF's). */
  signature: SignatureRecord | undefined;
  /** The same, as TransactionHistory.recordSignature takes it. */
  signatureInfo: SignatureInfo | undefined;
  /** SHA-256 of the entry bytes: the claims digest of its evidence. */
  digest: Uint8Array;
  /** False when read without the ledger secret (`publicOnly`): nothing vouches for the bytes then. */
  authenticated: boolean;
}

export interface DeserializeOptions {
  /** Read only the public domain without authenticating it (inspection of CCF's snapshots; never to resume). */
  publicOnly?: boolean;
  /** Refuse a snapshot without a signature record at its seqno (default true). */
  requireSignature?: boolean;
}

/**
 * Decodes and checks a snapshot entry (hostile input): framing, GCM tag (which authenticates the whole
 * entry, public domain included), entry type and IV, every length, each map's state, the view history,
 * the tree against the signature's root and the node's signature over it. Then restores a store and tree.
 */
export function deserializeSnapshot(bytes: Uint8Array, secret: LedgerSecret | undefined, options: DeserializeOptions = {}): RestoredSnapshot {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('deserializeSnapshot takes the entry bytes');
  if (secret === undefined && options.publicOnly !== true) throw invalidArgument('without the ledger secret a snapshot can only be read publicOnly');
  if (secret !== undefined && !(secret instanceof LedgerSecret)) throw invalidArgument('secret must be a LedgerSecret');
  let entry: DecodedEntry;
  try {
    entry = decodeEntry(bytes, secret);
  } catch (error) {
    if (error instanceof LedgerFormatError && error.code !== 'LEDGER_INVALID_ARGUMENT') throw malformed(`not a valid snapshot entry: ${error.message}`, error);
    throw error;
  }
  if (entry.entryType !== EntryType.Snapshot || !entry.isSnapshot || entry.snapshot === null) {
    throw malformed(`entry type ${entry.entryType} is not a snapshot`);
  }
  if (entry.flags !== 0) throw malformed(`a snapshot's header flags are 0, not ${entry.flags}`);
  if (entry.maxConflictVersion !== 0) throw malformed(`a snapshot's max conflict version is 0, not ${entry.maxConflictVersion}`);
  const seqno = entry.seqno;
  if (seqno < 1) throw malformed(`a snapshot at seqno ${seqno}`);
  const body = entry.snapshot;
  if (body.hashAtSnapshot.byteLength !== HASH_BYTES) throw malformed(`the hash at snapshot is ${body.hashAtSnapshot.byteLength} bytes`);
  const views = viewsFromHistory(body.viewHistory, seqno);
  const privateMaps = options.publicOnly ? [] : body.privateMaps;
  if (privateMaps === null) throw malformed('the private domain was not decrypted');

  const maps: SnapshotMap[] = [];
  const byName = new Map<string, SnapshotMap>();
  for (const raw of [...body.publicMaps, ...privateMaps]) {
    if (byName.has(raw.name)) throw malformed(`map ${raw.name} appears twice`);
    if (raw.version < 0 || raw.version > seqno) throw inconsistent(`map ${raw.name} has version ${raw.version}, outside [0, ${seqno}]`);
    const map: SnapshotMap = { name: raw.name, version: raw.version, entries: decodeMapState(raw.raw, raw.name, raw.version) };
    byName.set(raw.name, map);
    maps.push(map);
  }

  const treeEntry = unitValue(byName.get(Tables.tree));
  if (treeEntry === undefined || treeEntry[1] !== seqno) throw inconsistent(`the snapshot has no Merkle tree written at ${seqno}`);
  const parsed = parseCcfTree(treeEntry[0]);
  if (parsed.to !== seqno - 1) throw inconsistent(`the stored tree ends at leaf ${parsed.to}, not ${seqno - 1}`);
  const tree = parsed.tree;
  tree.append(body.hashAtSnapshot);
  const root = tree.root(seqno);

  let signature: SignatureRecord | undefined;
  let signatureInfo: SignatureInfo | undefined;
  const sigEntry = unitValue(byName.get(Tables.signatures));
  if (sigEntry !== undefined && sigEntry[1] === seqno) {
    signature = parseSignatureRecord(sigEntry[0], seqno);
    if (signature.root !== toHex(root)) throw inconsistent(`the signature at ${seqno} signed ${signature.root}, the tree's root is ${toHex(root)}`);
    const sig = new Uint8Array(Buffer.from(signature.sig, 'base64'));
    let nodeKey: Uint8Array;
    try {
      nodeKey = certificatePublicKeyDer(signature.cert);
    } catch (error) {
      throw inconsistent(`the signature record at ${seqno} has no usable certificate: ${(error as Error).message}`);
    }
    if (nodeIdFromPublicKeyDer(nodeKey) !== signature.node || !verifyDigest(nodeKey, root, sig)) {
      throw inconsistent(`the signature record at ${seqno} is not node ${signature.node}'s signature of the root`);
    }
    const cose = unitValue(byName.get(Tables.coseSignatures));
    let coseSignature: Uint8Array | undefined;
    if (cose !== undefined && cose[1] === seqno) {
      try {
        const text = JSON.parse(utf8Strict.decode(cose[0])) as unknown;
        if (typeof text === 'string') coseSignature = new Uint8Array(Buffer.from(text, 'base64'));
      } catch {
        throw inconsistent(`the COSE signature at ${seqno} is not a JSON string`);
      }
    }
    signatureInfo = {
      seqno, view: signature.view, root, signature: sig, nodeId: signature.node, nodeCertPem: signature.cert,
      ...(coseSignature && coseSignature.byteLength > 0 ? { coseSignature } : {}),
    };
  } else if (options.requireSignature ?? true) {
    throw inconsistent(`the snapshot at ${seqno} was not taken at a signature`);
  }

  const store = new Store();
  try {
    store.restore({ version: seqno, maps: maps.map((m) => ({ name: m.name, entries: m.entries })) });
  } catch (error) {
    if (error instanceof KvError) throw inconsistent(`the maps do not load into a store: ${error.message}`);
    throw error;
  }
  return {
    seqno,
    view: body.viewHistory.length,
    viewHistory: [...body.viewHistory],
    views,
    hashAtSnapshot: body.hashAtSnapshot.slice(),
    maps,
    store,
    tree,
    signature,
    signatureInfo,
    digest: sha256(bytes),
    authenticated: secret !== undefined,
  };
}

/** The value and version of a single-value map (CCF's unit key), if it holds exactly that. */
function unitValue(map: SnapshotMap | undefined): [Uint8Array, number] | undefined {
  if (map === undefined || map.entries.length === 0) return undefined;
  if (map.entries.length !== 1 || !equal(map.entries[0]![0], UNIT_KEY)) throw inconsistent(`map ${map.name} holds more than its single value`);
  return [map.entries[0]![1], map.entries[0]![2]];
}


