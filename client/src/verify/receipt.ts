// Verification of CCF JSON receipts (GET /app/receipt; DESIGN.md "JSON receipt"; CCF's python
// ccf.receipt is the reference behaviour). A receipt proves that transaction view.seqno is in the
// ledger: its leaf, folded with the proof, gives a Merkle root that a node signed, and the node's
// certificate is endorsed by the service certificate (directly, or through `service_endorsements`
// across recoveries). Each check that fails throws a ReceiptError whose code names that check.
import { sha256 } from '@noble/hashes/sha2.js';
import { ReceiptError, ReceiptErrorCode } from '../errors.ts';
import { base64ToBytes, bytesToHex, equalBytes, hexToBytes } from './encoding.ts';
import { type PathStep, DIGEST_BYTES, foldPath, leafDigest, parseCommitEvidence } from './merkle.ts';
import { type ServiceCertOptions, type SignatureChecker, directChecker, loadServiceCerts } from './trust.ts';
import { type ParsedCertificate, isSignedByKey, parseCertificate, publicKeyId } from './x509.ts';

/** A CCF JSON receipt, as returned by the service. */
export interface JsonReceipt {
  signature: string;
  cert: string;
  node_id: string;
  proof: Array<{ left: string } | { right: string }>;
  leaf_components?: { write_set_digest: string; commit_evidence: string; claims_digest: string };
  /** Instead of leaf_components: the leaf itself (pre-2.x transactions, and signature transactions). */
  leaf?: string;
  service_endorsements?: string[];
}

export interface VerifyReceiptOptions extends ServiceCertOptions {
  /** The application claims; their SHA-256 must equal the receipt's claims digest. */
  claims?: Uint8Array;
}

/** What a verified receipt establishes. Hex strings are lowercase. */
export interface VerifiedReceipt {
  format: 'json' | 'cose';
  /** "view.seqno" of the transaction, from its commit evidence; absent for leaf-only receipts. */
  txid: string | undefined;
  view: number | undefined;
  seqno: number | undefined;
  leaf: string;
  root: string;
  /** JSON receipts: ID of the node that signed the root. */
  nodeId: string | undefined;
  /** COSE receipts: "view.seqno" of the signature transaction (protected header ccf.v1). */
  signatureTxid: string | undefined;
  claimsDigest: string | undefined;
  /** True for receipts that carry the leaf directly (signature transactions, pre-2.x entries). */
  leafOnly: boolean;
  /** Key ID (hex SHA-256 of SPKI) of the trusted service key the receipt chains to, if one was given. */
  serviceKeyId: string | undefined;
  /**
   * JSON receipts checked without a service certificate: key ID of the key that signed the node
   * certificate, recovered from its signature and AuthorityKeyIdentifier. Nothing vouches for it:
   * compare it with the service key ID you expect (the service's COSE kid is the same number).
   */
  issuerKeyId: string | undefined;
}

/** Verifies a CCF JSON receipt; throws ReceiptError naming the first check that fails. */
export function verifyReceipt(receipt: unknown, options: VerifyReceiptOptions = {}): VerifiedReceipt {
  const opts = options ?? {};
  if (typeof opts !== 'object') throw new ReceiptError(ReceiptErrorCode.malformed, 'options must be an object');
  return verifyJsonReceiptWith(receipt, opts, loadServiceCerts(opts), directChecker);
}

/** The verification itself, with trust anchors already parsed and a pluggable signature checker. */
export function verifyJsonReceiptWith(
  receipt: unknown,
  options: VerifyReceiptOptions,
  serviceCerts: readonly ParsedCertificate[],
  checker: SignatureChecker,
): VerifiedReceipt {
  const r = readReceipt(receipt);
  let leaf: Uint8Array;
  let evidence: ReturnType<typeof parseCommitEvidence>;
  if (r.components) {
    evidence = parseCommitEvidence(r.components.commitEvidence);
    if (!evidence) {
      throw fail(ReceiptErrorCode.badCommitEvidence, 'commit_evidence is not of the form ce:{view}.{seqno}:{64 hex}');
    }
    checkClaims(options.claims, r.components.claimsDigest);
    leaf = leafDigest(r.components.writeSetDigest, r.components.commitEvidence, r.components.claimsDigest);
  } else {
    if (options.claims !== undefined) {
      throw fail(ReceiptErrorCode.claimsMismatch, 'claims were given but a leaf-only receipt has no claims digest');
    }
    leaf = r.leaf as Uint8Array;
  }
  const root = foldPath(leaf, r.proof);
  const cert = parseOrFail(r.cert, 'cert');
  const nodeId = publicKeyId(cert.publicKey);
  if (nodeId !== r.nodeId) {
    throw fail(ReceiptErrorCode.nodeIdMismatch, `node_id ${r.nodeId} is not the SHA-256 of cert's public key (${nodeId})`);
  }
  if (!checker.check(cert.publicKey, root, r.signature, 'der')) {
    throw fail(ReceiptErrorCode.badSignature, `signature does not verify over root ${bytesToHex(root)} with cert's key`);
  }
  const serviceKeyId = checkEndorsement(cert, r.endorsements, serviceCerts, checker);
  // After the root signature on purpose: most altered receipts fail there, before a key recovery.
  const issuerKeyId = serviceCerts.length === 0 ? issuerOf(cert, checker) : undefined;
  return {
    format: 'json',
    txid: evidence ? `${evidence.view}.${evidence.seqno}` : undefined,
    view: evidence?.view,
    seqno: evidence?.seqno,
    leaf: bytesToHex(leaf),
    root: bytesToHex(root),
    nodeId,
    signatureTxid: undefined,
    claimsDigest: r.components ? bytesToHex(r.components.claimsDigest) : undefined,
    leafOnly: !r.components,
    serviceKeyId,
    issuerKeyId,
  };
}

/**
 * With no service certificate to check against, the node certificate's bytes outside its key would
 * be authenticated by nothing. CCF writes an AuthorityKeyIdentifier naming the service key; we require
 * the certificate's own signature to be by that key (found by public-key recovery), so an altered
 * certificate is rejected, and report which key that is. Every CCF node certificate carries the
 * extension; one without it can only be checked against a service certificate.
 */
function issuerOf(cert: ParsedCertificate, checker: SignatureChecker): string {
  if (!cert.authorityKeyId) {
    throw fail(ReceiptErrorCode.certInconsistent, 'cert has no AuthorityKeyIdentifier, so nothing ties it to a service key: give the service certificate');
  }
  const issuer = checker.recoverIssuer(cert);
  if (!issuer) {
    throw fail(ReceiptErrorCode.certInconsistent, "cert's signature is not by the key its AuthorityKeyIdentifier names: the certificate was altered");
  }
  return publicKeyId(issuer);
}

/** Throws unless `claims` (when given) hash to `claimsDigest`. Shared with COSE receipts. */
export function checkClaims(claims: Uint8Array | undefined, claimsDigest: Uint8Array): void {
  if (claims === undefined) return;
  if (!(claims instanceof Uint8Array)) throw fail(ReceiptErrorCode.malformed, 'options.claims must be a Uint8Array');
  if (!equalBytes(sha256(claims), claimsDigest)) {
    throw fail(ReceiptErrorCode.claimsMismatch, `SHA-256 of the given claims is not claims_digest ${bytesToHex(claimsDigest)}`);
  }
}

/**
 * Node certificate → endorsements[0] → … → one trusted service certificate, each signed by the next,
 * as CCF chains a node of an earlier service identity to the current one. Returns the key ID reached.
 */
function checkEndorsement(
  cert: ParsedCertificate,
  endorsementPems: readonly string[],
  serviceCerts: readonly ParsedCertificate[],
  checker: SignatureChecker,
): string | undefined {
  if (serviceCerts.length === 0) return undefined;
  let current = cert;
  endorsementPems.forEach((pem, i) => {
    const endorser = parseOrFail(pem, `service_endorsements[${i}]`);
    if (!signedBy(current, endorser, checker)) {
      throw fail(ReceiptErrorCode.notEndorsed, `${i === 0 ? 'cert' : `service_endorsements[${i - 1}]`} is not signed by service_endorsements[${i}]`);
    }
    current = endorser;
  });
  const anchor = serviceCerts.find((s) => signedBy(current, s, checker));
  if (!anchor) {
    const what = endorsementPems.length === 0 ? 'node cert' : 'last service endorsement';
    throw fail(ReceiptErrorCode.notEndorsed, `${what} is not signed by any given service certificate`);
  }
  return publicKeyId(anchor.publicKey);
}

function signedBy(cert: ParsedCertificate, endorser: ParsedCertificate, checker: SignatureChecker): boolean {
  // Routed through the checker so that batch verification remembers endorsements too.
  return isSignedByKey(cert, endorser.publicKey, checker);
}

interface ReadReceipt {
  signature: Uint8Array;
  cert: string;
  nodeId: string;
  proof: PathStep[];
  components: { writeSetDigest: Uint8Array; commitEvidence: string; claimsDigest: Uint8Array } | undefined;
  leaf: Uint8Array | undefined;
  endorsements: string[];
}

/** Validates the receipt's shape and decodes its fields; every problem is RECEIPT_MALFORMED. */
function readReceipt(receipt: unknown): ReadReceipt {
  if (!isObject(receipt)) throw fail(ReceiptErrorCode.malformed, 'receipt must be a JSON object');
  const signature = decodeField(() => base64ToBytes(receipt.signature as string), 'signature', 'base64');
  if (typeof receipt.cert !== 'string') throw fail(ReceiptErrorCode.malformed, 'cert must be a PEM string');
  if (typeof receipt.node_id !== 'string' || !/^[0-9a-f]{64}$/.test(receipt.node_id)) {
    throw fail(ReceiptErrorCode.malformed, 'node_id must be 64 lowercase hex characters');
  }
  if (!Array.isArray(receipt.proof)) throw fail(ReceiptErrorCode.malformed, 'proof must be an array');
  const proof = receipt.proof.map((step: unknown, i: number) => readStep(step, i));
  const endorsements = receipt.service_endorsements ?? [];
  if (!Array.isArray(endorsements) || !endorsements.every((e) => typeof e === 'string')) {
    throw fail(ReceiptErrorCode.malformed, 'service_endorsements must be an array of PEM strings');
  }
  const hasComponents = receipt.leaf_components !== undefined;
  if (hasComponents === (receipt.leaf !== undefined)) {
    throw fail(ReceiptErrorCode.malformed, 'receipt must have exactly one of leaf_components and leaf');
  }
  let components: ReadReceipt['components'];
  let leaf: Uint8Array | undefined;
  if (hasComponents) {
    const c = receipt.leaf_components;
    if (!isObject(c) || typeof c.commit_evidence !== 'string') {
      throw fail(ReceiptErrorCode.malformed, 'leaf_components must hold write_set_digest, commit_evidence, claims_digest');
    }
    components = {
      writeSetDigest: digestField(c.write_set_digest, 'leaf_components.write_set_digest'),
      commitEvidence: c.commit_evidence,
      claimsDigest: digestField(c.claims_digest, 'leaf_components.claims_digest'),
    };
  } else {
    leaf = digestField(receipt.leaf, 'leaf');
  }
  return { signature, cert: receipt.cert, nodeId: receipt.node_id, proof, components, leaf, endorsements };
}

function readStep(step: unknown, i: number): PathStep {
  if (!isObject(step) || Object.keys(step).length !== 1 || !('left' in step || 'right' in step)) {
    throw fail(ReceiptErrorCode.malformed, `proof[${i}] must be {"left": hex} or {"right": hex}`);
  }
  const side = 'left' in step ? 'left' : 'right';
  return { side, hash: digestField(step[side], `proof[${i}].${side}`) };
}

function digestField(value: unknown, name: string): Uint8Array {
  const bytes = decodeField(() => hexToBytes(value as string), name, 'hex');
  if (bytes.length !== DIGEST_BYTES) throw fail(ReceiptErrorCode.malformed, `${name} must be 32 bytes`);
  return bytes;
}

function decodeField<T>(decode: () => T, name: string, encoding: string): T {
  try {
    return decode();
  } catch {
    throw fail(ReceiptErrorCode.malformed, `${name} is not valid ${encoding}`);
  }
}

function parseOrFail(pem: string, name: string): ParsedCertificate {
  try {
    return parseCertificate(pem);
  } catch (e) {
    throw fail(ReceiptErrorCode.badCertificate, `${name} cannot be used: ${(e as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(code: ReceiptErrorCode, message: string): ReceiptError {
  return new ReceiptError(code, message);
}
