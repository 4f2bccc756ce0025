// Checks of one signature transaction (DESIGN.md "Signature transaction"; CCF's python
// ccf.ledger LedgerValidator is the reference behaviour, which this extends with endorsement and
// COSE checks). At seqno s the service signs the root over leaves 0..s-1:
//   1. the recorded root equals the root of the tree the auditor rebuilt from the entries;
//   2. the record's seqno and view are the entry's own;
//   3. the signing node is known, Trusted (or Retired: a retiring primary signs until its
//      retirement commits), and its certificate's key hashes to its node ID;
//   4. the node's ECDSA signature over the root (taken as a prehashed digest) verifies;
//   5. the node certificate is signed by the service identity in effect at s;
//   6. the COSE_Sign1 in ccf.internal.cose_signatures, when present, has CCF's protected header,
//      the service key as kid and this transaction as ccf.v1 txid, and verifies over the root.
import { base64ToBytes, bytesToHex, bytesToUtf8, hexToBytes } from '../verify/encoding.ts';
import { type CoseSign1, HEADER_KID, HEADER_VDS, decodeCoseSign1, verifyCoseSign1 } from '../verify/cose.ts';
import { VDS_CCF_LEDGER_SHA256 } from '../verify/cose-receipt.ts';
import { verifyEcdsa } from '../verify/ecdsa.ts';
import { type ParsedCertificate, isSignedByKey, parseCertificate, publicKeyId } from '../verify/x509.ts';
import type { MapChanges } from '../ledger/entry.ts';
import { Tables, valueJsonString, valueObject } from '../ledger/tables.ts';
import { AuditCheck, CheckFailed } from './report.ts';
import { type AuditState, type EntryLocation, txidOf } from './state.ts';

const SIGNING_STATUSES = new Set(['Trusted', 'Retired']);

interface SignatureRecord {
  node: string;
  seqno: number;
  view: number;
  root: Uint8Array;
  sig: Uint8Array;
  cert: string | undefined;
}

/** True when the entry is a signature transaction. */
export function isSignatureEntry(maps: Map<string, MapChanges>): boolean {
  return (maps.get(Tables.signatures)?.writes.length ?? 0) > 0;
}

/** Runs checks 1–6 against the state as of just before this entry's own leaf is appended. */
export function checkSignatureEntry(state: AuditState, maps: Map<string, MapChanges>, at: EntryLocation): void {
  const writes = maps.get(Tables.signatures)!.writes;
  if (writes.length !== 1) throw new CheckFailed(AuditCheck.signatureFields, `a signature transaction writes one signature, found ${writes.length}`);
  const record = readSignature(writes[0]![1]);
  state.counts.signatures++;

  const expectedRoot = state.tree.root();
  if (bytesToHex(record.root) !== bytesToHex(expectedRoot)) {
    const since = (state.lastSignature?.seqno ?? 0) + 1;
    throw new CheckFailed(
      AuditCheck.merkleRoot,
      `signed root ${bytesToHex(record.root)} differs from the root ${bytesToHex(expectedRoot)} rebuilt from the ${state.tree.size} leaves before it: ` +
        `an entry in seqnos ${since}..${at.seqno - 1} (after the last verified signature) or this record was changed`,
    );
  }
  if (record.seqno !== at.seqno || record.view !== at.view) {
    throw new CheckFailed(AuditCheck.signatureFields, `signature record names ${record.view}.${record.seqno} but is stored at ${txidOf(at)}`);
  }
  const cert = signerCertificate(state, record);
  // Each root is signed once: nothing to remember, so no memoizing checker here.
  if (!verifyEcdsa(cert.publicKey, record.root, record.sig, 'der')) {
    throw new CheckFailed(AuditCheck.nodeSignature, `node ${record.node}'s signature over root ${bytesToHex(record.root)} does not verify`);
  }
  const identity = state.currentIdentity();
  if (!identity) throw new CheckFailed(AuditCheck.nodeEndorsement, 'a signature precedes any service identity (public:ccf.gov.service.info)');
  if (!isSignedByKey(cert, identity.key, state.checker)) {
    throw new CheckFailed(AuditCheck.nodeEndorsement, `node ${record.node}'s certificate is not signed by the service identity in effect (${identity.keyId})`);
  }
  state.counts.signaturesVerified++;

  const cose = maps.get(Tables.coseSignatures)?.writes;
  if (cose && cose.length > 0) checkCoseSignature(state, cose[0]![1], record.root, at);
  state.lastSignature = at;
}

function readSignature(value: Uint8Array): SignatureRecord {
  const v = valueObject(value, Tables.signatures);
  const fail = (what: string) => new CheckFailed(AuditCheck.tableValue, `signature record: ${what}`);
  if (typeof v.node !== 'string') throw fail('node must be a string');
  if (!Number.isSafeInteger(v.seqno) || !Number.isSafeInteger(v.view)) throw fail('seqno and view must be integers');
  if (v.cert !== undefined && typeof v.cert !== 'string') throw fail('cert must be a PEM string');
  let root: Uint8Array;
  let sig: Uint8Array;
  try {
    root = hexToBytes(String(v.root));
    sig = base64ToBytes(String(v.sig));
  } catch {
    throw fail('root must be hex and sig base64');
  }
  if (root.length !== 32) throw fail('root must be 32 bytes');
  return { node: v.node, seqno: v.seqno as number, view: v.view as number, root, sig, cert: v.cert as string | undefined };
}

/** The certificate the node signed with: the one in the record (2.x+), else the one on file for it. */
function signerCertificate(state: AuditState, record: SignatureRecord): ParsedCertificate {
  const node = state.nodes.get(record.node);
  const pem = record.cert ?? node?.endorsedCertPem ?? node?.infoCertPem;
  if (!node || !pem) throw new CheckFailed(AuditCheck.nodeCertificate, `signing node ${record.node} is not in ${Tables.nodesInfo}`);
  if (!SIGNING_STATUSES.has(node.status ?? '')) {
    throw new CheckFailed(AuditCheck.signerStatus, `signing node ${record.node} has status ${node.status ?? 'none'}, not Trusted or Retired`);
  }
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(pem);
  } catch (e) {
    throw new CheckFailed(AuditCheck.nodeCertificate, `node ${record.node}'s certificate cannot be parsed: ${(e as Error).message}`);
  }
  const id = publicKeyId(cert.publicKey);
  if (id !== record.node) throw new CheckFailed(AuditCheck.nodeCertificate, `node ID ${record.node} is not the SHA-256 of its certificate's public key (${id})`);
  return cert;
}

function checkCoseSignature(state: AuditState, value: Uint8Array, root: Uint8Array, at: EntryLocation): void {
  state.counts.coseSignatures++;
  const fail = (message: string) => new CheckFailed(AuditCheck.coseSignature, `COSE signature at ${txidOf(at)}: ${message}`);
  let message: CoseSign1;
  try {
    message = decodeCoseSign1(base64ToBytes(valueJsonString(value, Tables.coseSignatures)));
  } catch (e) {
    throw fail(`cannot be decoded: ${(e as Error).message}`);
  }
  const identity = state.currentIdentity()!;
  const kid = message.protectedHeader.get(HEADER_KID);
  const kidText = kid instanceof Uint8Array ? safeUtf8(kid) : undefined;
  if (kidText !== identity.keyId) throw fail(`kid ${kidText ?? '(missing)'} is not the service key in effect (${identity.keyId})`);
  if (message.protectedHeader.get(HEADER_VDS) !== VDS_CCF_LEDGER_SHA256) throw fail('verifiable data structure (395) is not 2');
  const ccf = message.protectedHeader.get('ccf.v1');
  const txid = ccf instanceof Map ? ccf.get('txid') : undefined;
  if (txid !== txidOf(at)) throw fail(`ccf.v1 txid ${String(txid)} is not this transaction`);
  if (message.payload !== null) throw fail('payload must be detached');
  if (!verifyCoseSign1(message, identity.key, root)) throw fail('signature does not verify over the root with the service key');
  state.counts.coseSignaturesVerified++;
}

function safeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return bytesToUtf8(bytes);
  } catch {
    return undefined;
  }
}
