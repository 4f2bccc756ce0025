// Replay of the ledger the host read back from disk — hostile input, checked entry by entry before any of
// it is trusted: framing and AES-GCM tag (decodeEntry with the ledger secret: CCF computes the tag over
// the public domain even when there is no private domain, so every entry is authenticated), seqno and
// view continuity, commit evidence, and at every signature transaction the Merkle root and the node's
// signature over it.
//
// Policy on damage (never silent data loss):
// - a torn or damaged tail with no signature after it was never committed: it is cut back to the last
//   good entry, with a log line;
// - damage followed by a signature on disk is inside signed history: the node refuses to start and
//   names the file and offset, and nothing is truncated.
//
// Every signature's root is recomputed and compared; the ECDSA check itself runs on the last signature
// only. That is enough: each root covers every leaf before it, signature entries included, so any change
// to earlier bytes either breaks a root comparison or the last signature. (P-384 verification costs
// milliseconds; a large ledger holds thousands of signatures.)

import type { LedgerReadMessage, StoredEntryMessage } from '../boundary.ts';
import { equalBytes, sha256, toHex } from '../crypto/hash.ts';
import { verifyDigest } from '../crypto/keys.ts';
import { certificatePublicKeyDer, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { decodeEntry, leafFromDigests, type LedgerSecret, type DecodedEntry } from '../ledger/index.ts';
import type { Store } from '../kv/index.ts';
import type { MerkleTree } from '../merkle/tree.ts';
import { LedgerCorruptError } from '../errors.ts';
import type { TransactionHistory } from './history.ts';
import { Tables, UNIT_KEY, parseJsonBytes, type SignatureRecord } from './tables.ts';

export interface ReplayContext {
  secret: LedgerSecret;
  store: Store;
  tree: MerkleTree;
  history: TransactionHistory;
  nodeId: string;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The ledger continues a snapshot: its first entry is base.seqno + 1 (store and tree already restored). */
  base?: { seqno: number; view: number };
  /** Called for every replayed entry, after it is applied (the consensus log is rebuilt from these). */
  onEntry?: (entry: DecodedEntry, bytes: Uint8Array, isSignature: boolean) => void;
}

export interface ReplayResult {
  lastSeqno: number;
  lastView: number;
  views: Array<{ view: number; startSeqno: number }>;
  /**
   * The highest commit seqno a signature in the ledger records: committed for certain (a primary records
   * only what a majority holds), so the store is compacted up to it and never rolled back below it.
   */
  commitSeqno: number;
  /** Set when entries after the last signature must be removed from disk. */
  truncateTo?: number;
  droppedEntries: number;
  reason: string;
}

interface Checked {
  stored: StoredEntryMessage;
  entry: DecodedEntry;
  signature?: SignatureRecord;
}

export function replayLedger(ledger: LedgerReadMessage, ctx: ReplayContext): ReplayResult {
  const { checked, failure } = decodeAll(ledger.entries, ctx.secret, ctx.base);
  if (failure && hasSignatureAfter(ledger.entries, failure.index, ctx.secret)) {
    throw new LedgerCorruptError(failure.stored.file, failure.stored.offset, failure.message);
  }
  const views: ReplayResult['views'] = [];
  let lastSignatureIndex = -1;
  for (let i = checked.length - 1; i >= 0 && lastSignatureIndex < 0; i--) if (checked[i]!.signature) lastSignatureIndex = i;
  let commitSeqno = ctx.base?.seqno ?? 0;
  for (let i = 0; i < checked.length; i++) {
    const { stored, entry, signature } = checked[i]!;
    if (signature) checkSignature(stored, entry, signature, ctx, i === lastSignatureIndex);
    const writeSetDigest = sha256(stored.bytes);
    ctx.store.applyWrites(entry.seqno, entry.maps);
    ctx.tree.append(leafFromDigests(writeSetDigest, entry.commitEvidenceDigest, entry.claimsDigest));
    ctx.history.record(entry.seqno, writeSetDigest, entry.claimsDigest);
    if (signature) {
      ctx.history.recordSignature({
        seqno: entry.seqno,
        view: entry.view,
        root: fromHexStrict(signature.root),
        signature: new Uint8Array(Buffer.from(signature.sig, 'base64')),
        nodeId: signature.node,
        nodeCertPem: signature.cert,
        coseSignature: coseSignatureOf(entry),
      });
      // What the signature records as committed can never be rolled back; the undo log up to it can go.
      const recorded = Number.isSafeInteger(signature.commit_seqno) ? Math.min(signature.commit_seqno, entry.seqno) : 0;
      if (recorded > commitSeqno && isSignatureSeqno(checked, recorded)) {
        commitSeqno = recorded;
        ctx.store.compact(commitSeqno);
      }
    }
    ctx.onEntry?.(entry, stored.bytes, signature !== undefined);
    const lastView = views[views.length - 1];
    if (!lastView || lastView.view !== entry.view) views.push({ view: entry.view, startSeqno: entry.seqno });
  }
  const last = checked[checked.length - 1]?.entry;
  const dropped = ledger.entries.length - checked.length;
  const reasons: string[] = [];
  if (failure) reasons.push(`entry at ${failure.stored.file}:${failure.stored.offset} is damaged (${failure.message})`);
  if (ledger.tornTail) reasons.push(`torn write at ${ledger.tornTail.file}:${ledger.tornTail.offset} (${ledger.tornTail.reason})`);
  const mustTruncate = dropped > 0 || ledger.tornTail !== undefined;
  return {
    lastSeqno: last?.seqno ?? ctx.base?.seqno ?? 0,
    lastView: last?.view ?? ctx.base?.view ?? 0,
    views,
    commitSeqno,
    ...(mustTruncate ? { truncateTo: last?.seqno ?? ctx.base?.seqno ?? 0 } : {}),
    droppedEntries: dropped,
    reason: reasons.join('; '),
  };
}

function decodeAll(entries: StoredEntryMessage[], secret: LedgerSecret, base = { seqno: 0, view: 0 }): {
  checked: Checked[];
  failure?: { index: number; stored: StoredEntryMessage; message: string };
} {
  const checked: Checked[] = [];
  let previousView = base.view;
  for (let index = 0; index < entries.length; index++) {
    const stored = entries[index]!;
    try {
      const entry = decodeEntry(stored.bytes, secret);
      if (!entry.authenticated) throw new Error('entry is not authenticated by the ledger secret');
      if (entry.seqno !== base.seqno + index + 1) throw new Error(`expected seqno ${base.seqno + index + 1}, found ${entry.seqno}`);
      if (entry.view < previousView) throw new Error(`view went back from ${previousView} to ${entry.view}`);
      if (!equalBytes(secret.commitEvidenceDigest(entry.view, entry.seqno), entry.commitEvidenceDigest)) {
        throw new Error('commit evidence digest does not match the ledger secret');
      }
      const raw = mapValue(entry, Tables.signatures);
      const signature = raw ? parseJsonBytes<SignatureRecord>(raw) : undefined;
      previousView = entry.view;
      checked.push({ stored, entry, ...(signature ? { signature } : {}) });
    } catch (error) {
      return { checked, failure: { index, stored, message: (error as Error).message } };
    }
  }
  return { checked };
}

/** Whether an entry after `index` decodes as a signature: then the damage is inside committed history. */
function hasSignatureAfter(entries: StoredEntryMessage[], index: number, secret: LedgerSecret): boolean {
  for (let i = index + 1; i < entries.length; i++) {
    try {
      if (mapValue(decodeEntry(entries[i]!.bytes, secret), Tables.signatures)) return true;
    } catch {
      // A later entry that does not decode either says nothing either way.
    }
  }
  return false;
}

/**
 * Checks a signature transaction against the state replayed before it: its transaction id, the Merkle root
 * it signs and, when asked, its node's ECDSA signature by a node the ledger records with that certificate.
 * Failures are LedgerCorruptErrors at the entry's location, their message starting with `prefix`.
 */
export function checkSignature(
  stored: StoredEntryMessage,
  entry: DecodedEntry,
  signature: SignatureRecord,
  ctx: { tree: MerkleTree; store: Store },
  verifyCryptographically: boolean,
  prefix = '',
): void {
  const fail = (detail: string): never => {
    throw new LedgerCorruptError(stored.file, stored.offset, `${prefix}signature transaction at seqno ${entry.seqno}: ${detail}`);
  };
  if (signature.seqno !== entry.seqno || signature.view !== entry.view) fail('records another transaction id');
  const root = ctx.tree.root();
  if (toHex(root) !== signature.root) fail('the Merkle root of the entries before it does not match the signed root');
  if (!verifyCryptographically) return;
  let publicKey: Uint8Array;
  try {
    publicKey = certificatePublicKeyDer(signature.cert);
  } catch {
    return fail('its node certificate does not parse');
  }
  if (nodeIdFromPublicKeyDer(publicKey) !== signature.node) fail('node id does not match the certificate');
  // The signer must be a node of this service as the ledger itself records it, with that certificate.
  const info = ctx.store.get(Tables.nodesInfo, new TextEncoder().encode(signature.node));
  const recordedCert = info ? parseJsonBytes<{ cert?: string }>(info).cert : undefined;
  if (recordedCert === undefined) fail(`signed by node ${signature.node}, which the ledger does not record as a node`);
  if (recordedCert !== signature.cert) fail(`node ${signature.node} signed with a certificate the ledger does not record for it`);
  if (!verifyDigest(publicKey, root, new Uint8Array(Buffer.from(signature.sig, 'base64')))) fail('node signature is invalid');
}

function isSignatureSeqno(checked: Checked[], seqno: number): boolean {
  const first = checked[0]?.entry.seqno ?? 1;
  return checked[seqno - first]?.signature !== undefined;
}

function coseSignatureOf(entry: DecodedEntry): Uint8Array | undefined {
  const raw = mapValue(entry, Tables.coseSignatures);
  return raw ? new Uint8Array(Buffer.from(parseJsonBytes<string>(raw), 'base64')) : undefined;
}

function mapValue(entry: DecodedEntry, name: string): Uint8Array | undefined {
  const map = entry.maps.find((m) => m.name === name);
  const write = map?.writes.find(([key]) => equalBytes(key, UNIT_KEY));
  return write?.[1];
}

function fromHexStrict(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error('signature root is not 32 bytes of hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
