// Snapshot evidence and committed snapshot files, as CCF has them (src/node/snapshotter.h,
// src/service/tables/snapshot_evidence.h, src/snapshots/filenames.h):
//
// - Right after a snapshot at seqno s is serialised, a transaction writes
//   `public:ccf.internal.snapshot_evidence` = {"hash": hex SHA-256 of the snapshot entry, "version": s}
//   with that same SHA-256 as its claims digest. Its leaf therefore commits to the snapshot.
// - Once a signature after the evidence transaction is committed, the evidence's JSON receipt is
//   appended to the entry and the file becomes `snapshot_<s>_<evidence seqno>.committed`.
// - Verifying the file = verifying that receipt with the entry as its claims: the leaf from the receipt's
//   components, folded with its proof, is a root the node signed, and the node's certificate is endorsed
//   by the service certificate (directly, or through `service_endorsements` across recoveries).

import { createHash } from 'node:crypto';
import { certificatePublicKeyDer, isEndorsedBy, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { sha256, toHex } from '../crypto/hash.ts';
import { verifyDigest } from '../crypto/keys.ts';
import { UNIT_KEY, jsonBytes } from '../enclave/tables.ts';
import type { Tx } from '../kv/index.ts';
import { ENTRY_HEADER_BYTES, leafFromDigests, readEntryHeader } from '../ledger/index.ts';
import { GCM_TAG_BYTES } from '../ledger/secret.ts';
import { foldProof, MERKLE_PROOF_STEPS_MAX, type ProofStep } from '../merkle/tree.ts';
import { badEvidence, invalidArgument, malformed } from './errors.ts';

export const SNAPSHOT_EVIDENCE_MAP = 'public:ccf.internal.snapshot_evidence';
const SNAPSHOT_IV_BIT = 0x8000_0000;
/** Longest receipt accepted after a snapshot entry (CCF's are about 2 KB; endorsements add ~1 KB each). */
export const SNAPSHOT_RECEIPT_BYTES_MAX = 256 * 1024;
const SERVICE_ENDORSEMENTS_MAX = 64;
const NAME_RE = /^snapshot_([1-9][0-9]{0,15})_([1-9][0-9]{0,15})\.committed$/;
const HEX64 = /^[0-9a-f]{64}$/;
const COMMIT_EVIDENCE_RE = /^ce:(0|[1-9][0-9]{0,15})\.([1-9][0-9]{0,15}):[0-9a-f]{64}$/;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** SHA-256 of the snapshot entry: the evidence's `hash` and claims digest. */
export function snapshotDigest(entryBytes: Uint8Array): Uint8Array {
  if (!(entryBytes instanceof Uint8Array)) throw invalidArgument('snapshotDigest takes the entry bytes');
  return sha256(entryBytes);
}

/** snapshotDigest over `stepBytes` at a time, pausing in between (see serializeSnapshotInSteps). */
export async function snapshotDigestInSteps(
  entryBytes: Uint8Array,
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
  stepBytes = 4 * 1024 * 1024,
): Promise<Uint8Array> {
  if (!(entryBytes instanceof Uint8Array)) throw invalidArgument('snapshotDigestInSteps takes the entry bytes');
  const hash = createHash('sha256');
  for (let at = 0; at < entryBytes.byteLength; at += stepBytes) {
    hash.update(entryBytes.subarray(at, Math.min(entryBytes.byteLength, at + stepBytes)));
    if (at + stepBytes < entryBytes.byteLength) await pause();
  }
  return new Uint8Array(hash.digest());
}

/**
 * Writes the evidence of the snapshot `entryBytes` (taken at `seqno`) in `tx`, and returns the claims
 * digest the transaction must carry: `enclave.execute(tx => snapshotEvidenceWrite(tx, bytes, seqno),
 * undefined, () => digest)`, or pass the returned digest however the caller sets claims.
 */
export function snapshotEvidenceWrite(tx: Tx, entryBytes: Uint8Array, seqno: number, knownDigest?: Uint8Array): Uint8Array {
  const { seqno: entrySeqno } = snapshotEntryInfo(entryBytes);
  if (entrySeqno !== seqno) throw invalidArgument(`the snapshot entry is at ${entrySeqno}, not ${seqno}`);
  // The caller may have hashed the entry already (snapshotDigestInSteps): a large one costs ~0.5 ms per MB.
  const digest = knownDigest ?? snapshotDigest(entryBytes);
  tx.map(SNAPSHOT_EVIDENCE_MAP).set(UNIT_KEY, jsonBytes({ hash: toHex(digest), version: seqno }));
  return digest;
}

/** Seqno and length of the snapshot entry at the start of `bytes` (framing and IV only; nothing decrypted). */
export function snapshotEntryInfo(bytes: Uint8Array): { seqno: number; entryBytes: number } {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('expected bytes');
  const ivAt = ENTRY_HEADER_BYTES + GCM_TAG_BYTES;
  if (bytes.byteLength < ivAt + 12) throw malformed(`${bytes.byteLength} bytes are too few for a snapshot entry`);
  const header = readEntryHeader(bytes, 0);
  if (header.version !== 1) throw malformed(`entry format ${header.version} is not 1`);
  if (header.entryBytes > bytes.byteLength || header.entryBytes < ivAt + 12) {
    throw malformed(`the snapshot entry declares ${header.entryBytes} bytes, ${bytes.byteLength} are present`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(ivAt, true);
  const high = view.getUint32(ivAt + 4, true);
  if (high >= 2 ** 21) throw malformed('the snapshot seqno does not fit in 53 bits');
  if ((view.getUint32(ivAt + 8, true) & SNAPSHOT_IV_BIT) === 0) throw malformed('the IV does not mark a snapshot');
  return { seqno: high * 2 ** 32 + low, entryBytes: header.entryBytes };
}

/** CCF's file name for a committed snapshot. */
export function snapshotFileName(seqno: number, evidenceSeqno: number): string {
  if (!Number.isSafeInteger(seqno) || !Number.isSafeInteger(evidenceSeqno) || seqno < 1 || evidenceSeqno <= seqno) {
    throw invalidArgument(`no snapshot file name for seqno ${seqno} with evidence at ${evidenceSeqno}`);
  }
  return `snapshot_${seqno}_${evidenceSeqno}.committed`;
}

export function parseSnapshotFileName(name: string): { seqno: number; evidenceSeqno: number } | undefined {
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  const seqno = Number(m[1]);
  const evidenceSeqno = Number(m[2]);
  if (!Number.isSafeInteger(evidenceSeqno) || evidenceSeqno <= seqno) return undefined;
  return { seqno, evidenceSeqno };
}

/** The committed file: the entry followed by the evidence's JSON receipt. */
export function completeSnapshotFile(entryBytes: Uint8Array, receiptJson: string | object): Uint8Array {
  const { entryBytes: length } = snapshotEntryInfo(entryBytes);
  if (length !== entryBytes.byteLength) throw invalidArgument(`${entryBytes.byteLength - length} bytes follow the snapshot entry`);
  const text = typeof receiptJson === 'string' ? receiptJson : JSON.stringify(receiptJson);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument('the receipt is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidArgument('the receipt is not a JSON object');
  const receipt = utf8.encode(text);
  if (receipt.byteLength > SNAPSHOT_RECEIPT_BYTES_MAX) throw invalidArgument(`a receipt of ${receipt.byteLength} bytes`);
  const out = new Uint8Array(entryBytes.byteLength + receipt.byteLength);
  out.set(entryBytes, 0);
  out.set(receipt, entryBytes.byteLength);
  return out;
}

export interface SplitSnapshotFile {
  /** The snapshot entry (a view into the file). */
  entry: Uint8Array;
  seqno: number;
  /** The receipt, parsed (not verified). */
  receipt: unknown;
}

/** Splits a committed file into entry and receipt (framing only; see verifySnapshotFile). */
export function splitSnapshotFile(file: Uint8Array): SplitSnapshotFile {
  const { seqno, entryBytes } = snapshotEntryInfo(file);
  const tail = file.subarray(entryBytes);
  if (tail.byteLength === 0) throw malformed('the snapshot has no evidence receipt: it was never committed');
  if (tail.byteLength > SNAPSHOT_RECEIPT_BYTES_MAX) throw malformed(`${tail.byteLength} bytes after the snapshot entry are too many for a receipt`);
  let receipt: unknown;
  try {
    receipt = JSON.parse(utf8Strict.decode(tail));
  } catch {
    throw malformed('the bytes after the snapshot entry are not a JSON receipt');
  }
  return { entry: file.subarray(0, entryBytes), seqno, receipt };
}

export interface VerifiedSnapshotFile {
  /** Seqno the snapshot was taken at. */
  seqno: number;
  /** TxID of the evidence transaction. */
  evidenceView: number;
  evidenceSeqno: number;
  /** The snapshot entry, for deserializeSnapshot (a view into the file). */
  entry: Uint8Array;
  /** ID of the node that signed the root covering the evidence. */
  nodeId: string;
}

function hexField(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !HEX64.test(value)) throw badEvidence(`receipt ${what} is not 64 lowercase hex digits`);
  return new Uint8Array(Buffer.from(value, 'hex'));
}

function strictBase64(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw badEvidence(`receipt ${what} is not base64`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw badEvidence(`receipt ${what} is not canonical base64`);
  return new Uint8Array(bytes);
}

const PEM_RE = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----\r?\n?$/;

/** One PEM certificate whose base64 decodes to exactly one byte string (no stray bits in the padding). */
function canonicalPem(pem: string): boolean {
  const m = PEM_RE.exec(pem);
  if (!m || pem.length > 16 * 1024) return false;
  const body = m[1]!.replace(/\r?\n/g, '');
  return Buffer.from(body, 'base64').toString('base64') === body;
}

/**
 * Verifies a committed snapshot file against the service certificate, or any of a list of service
 * identities the caller trusts (a snapshot from before a recovery is signed under an earlier one),
 * and returns what it proves. `name`, when given, must agree.
 */
export function verifySnapshotFile(
  file: Uint8Array,
  serviceCertPem: string | readonly string[],
  options: { name?: string } = {},
): VerifiedSnapshotFile {
  const trusted = typeof serviceCertPem === 'string' ? [serviceCertPem] : serviceCertPem;
  if (!Array.isArray(trusted) || trusted.length === 0 || trusted.some((c) => typeof c !== 'string')) {
    throw invalidArgument('the service certificate is a PEM string, or a non-empty list of them');
  }
  const { entry, seqno, receipt } = splitSnapshotFile(file);
  if (typeof receipt !== 'object' || receipt === null || Array.isArray(receipt)) throw badEvidence('the receipt is not a JSON object');
  const r = receipt as Record<string, unknown>;
  const components = r.leaf_components as Record<string, unknown> | undefined;
  if (typeof components !== 'object' || components === null) throw badEvidence('the receipt has no leaf_components: it is not the receipt of an evidence transaction');
  const writeSet = hexField(components.write_set_digest, 'write_set_digest');
  const claims = hexField(components.claims_digest, 'claims_digest');
  const commitEvidence = components.commit_evidence;
  if (typeof commitEvidence !== 'string') throw badEvidence('receipt commit_evidence is not a string');
  const ce = COMMIT_EVIDENCE_RE.exec(commitEvidence);
  if (!ce) throw badEvidence('receipt commit_evidence is not ce:<view>.<seqno>:<64 hex>');
  const evidenceView = Number(ce[1]);
  const evidenceSeqno = Number(ce[2]);
  if (!Number.isSafeInteger(evidenceSeqno) || evidenceSeqno <= seqno) {
    throw badEvidence(`the evidence at ${evidenceSeqno} does not follow the snapshot at ${seqno}`);
  }
  if (toHex(claims) !== toHex(snapshotDigest(entry))) throw badEvidence('the receipt\'s claims digest is not the SHA-256 of this snapshot');

  if (!Array.isArray(r.proof) || r.proof.length > MERKLE_PROOF_STEPS_MAX) throw badEvidence('receipt proof is not a list of steps');
  const proof: ProofStep[] = r.proof.map((step: unknown, i: number) => {
    const keys = typeof step === 'object' && step !== null ? Object.keys(step) : [];
    if (keys.length !== 1 || (keys[0] !== 'left' && keys[0] !== 'right')) throw badEvidence(`receipt proof step ${i} is not {left} or {right}`);
    const hash = hexField((step as Record<string, unknown>)[keys[0]], `proof step ${i}`);
    return keys[0] === 'left' ? { left: hash } : { right: hash };
  });
  const leaf = leafFromDigests(writeSet, sha256(utf8.encode(commitEvidence)), claims);
  const root = foldProof(leaf, proof);

  if (typeof r.cert !== 'string' || !canonicalPem(r.cert)) throw badEvidence('receipt cert is not a PEM certificate in canonical base64');
  let nodeKey: Uint8Array;
  try {
    nodeKey = certificatePublicKeyDer(r.cert);
  } catch (error) {
    throw badEvidence('receipt cert is not a certificate', error);
  }
  const signature = strictBase64(r.signature, 'signature');
  if (!verifyDigest(nodeKey, root, signature)) throw badEvidence('the receipt\'s signature does not verify over the root its proof gives');
  const nodeId = nodeIdFromPublicKeyDer(nodeKey);
  if (r.node_id !== nodeId) throw badEvidence('receipt node_id is not the ID of its certificate\'s key');

  const endorsements = r.service_endorsements ?? [];
  if (!Array.isArray(endorsements) || endorsements.length > SERVICE_ENDORSEMENTS_MAX || endorsements.some((e) => typeof e !== 'string')) {
    throw badEvidence('receipt service_endorsements is not a list of certificates');
  }
  let current = r.cert;
  for (const endorsement of endorsements as string[]) {
    if (!isEndorsedBy(current, endorsement)) throw badEvidence('a service endorsement does not endorse the certificate before it');
    current = endorsement;
  }
  if (!trusted.some((service) => isEndorsedBy(current, service))) {
    throw badEvidence('the node certificate is not endorsed by the service certificate');
  }

  if (options.name !== undefined) {
    const name = parseSnapshotFileName(options.name);
    if (!name || name.seqno !== seqno || name.evidenceSeqno !== evidenceSeqno) {
      throw badEvidence(`${options.name} does not name a snapshot at ${seqno} with evidence at ${evidenceSeqno}`);
    }
  }
  return { seqno, evidenceView, evidenceSeqno, entry, nodeId };
}
