// Verification of CCF COSE receipts: draft-ietf-cose-merkle-tree-proofs with CCF's tree profile
// (draft-birkholz-cose-receipts-ccf-profile; DESIGN.md "COSE receipt"; CCF's python ccf.receipt
// verify_cose is the reference behaviour). The receipt is the service's COSE_Sign1 over a detached
// Merkle root, with inclusion proofs in unprotected header 396: {-1: [bstr .cbor {1: leaf, 2: path}]}.
// Each proof is folded to a root and the signature must verify over it with the service key named
// by `kid` (hex SHA-256 of that key's SubjectPublicKeyInfo).
import { ReceiptError, ReceiptErrorCode } from '../errors.ts';
import { bytesToHex, bytesToUtf8 } from './encoding.ts';
import {
  type CborMap,
  type CoseSign1,
  HEADER_ALG,
  HEADER_CWT_CLAIMS,
  HEADER_KID,
  HEADER_VDP,
  HEADER_VDS,
  decodeCbor,
  decodeCoseSign1,
  verifyCoseSign1,
} from './cose.ts';
import { type PathStep, DIGEST_BYTES, foldPath, leafDigest, parseCommitEvidence } from './merkle.ts';
import { type VerifiedReceipt, type VerifyReceiptOptions, checkClaims } from './receipt.ts';
import { type SignatureChecker, directChecker, loadServiceCerts } from './trust.ts';
import { type ParsedCertificate, publicKeyId } from './x509.ts';

/** Value of header 395 for CCF's ledger tree (SHA-256, CCF leaf format). */
export const VDS_CCF_LEDGER_SHA256 = 2;
/** Label of the inclusion proofs inside header 396. */
export const VDP_INCLUSION_PROOFS = -1;
const PROOF_LEAF = 1;
const PROOF_PATH = 2;
const TXID_RE = /^(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})$/;

/** Verifies a CCF COSE receipt (CBOR bytes); throws ReceiptError naming the first check that fails. */
export function verifyCoseReceipt(receipt: Uint8Array, options: VerifyReceiptOptions = {}): VerifiedReceipt {
  const opts = options ?? {};
  if (typeof opts !== 'object') throw new ReceiptError(ReceiptErrorCode.malformed, 'options must be an object');
  return verifyCoseReceiptWith(receipt, opts, loadServiceCerts(opts), directChecker);
}

export function verifyCoseReceiptWith(
  receipt: Uint8Array,
  options: VerifyReceiptOptions,
  serviceCerts: readonly ParsedCertificate[],
  checker: SignatureChecker,
): VerifiedReceipt {
  if (!(receipt instanceof Uint8Array)) throw fail(ReceiptErrorCode.malformed, 'a COSE receipt must be bytes');
  let message: CoseSign1;
  try {
    message = decodeCoseSign1(receipt);
  } catch (e) {
    throw fail(ReceiptErrorCode.malformed, `not a COSE_Sign1 receipt: ${(e as Error).message}`);
  }
  const header = readProtectedHeader(message.protectedHeader);
  if (message.payload !== null) throw fail(ReceiptErrorCode.malformed, 'the receipt payload must be detached (nil)');
  if (serviceCerts.length === 0) {
    throw fail(ReceiptErrorCode.noServiceCert, 'a COSE receipt can only be verified against a service certificate');
  }
  const service = serviceCerts.find((c) => publicKeyId(c.publicKey) === header.kid);
  if (!service) throw fail(ReceiptErrorCode.coseUnknownKid, `kid ${header.kid} is not the key of any given service certificate`);

  const proofs = readInclusionProofs(message.unprotectedHeader);
  let first: VerifiedReceipt | undefined;
  proofs.forEach((proof, i) => {
    const evidence = parseCommitEvidence(proof.commitEvidence);
    if (!evidence) {
      throw fail(ReceiptErrorCode.badCommitEvidence, `proof ${i}: commit evidence is not of the form ce:{view}.{seqno}:{64 hex}`);
    }
    checkClaims(options.claims, proof.claimsDigest);
    const leaf = leafDigest(proof.writeSetDigest, proof.commitEvidence, proof.claimsDigest);
    const root = foldPath(leaf, proof.path);
    if (!verifyCoseSign1(message, service.publicKey, root, checker)) {
      throw fail(ReceiptErrorCode.badSignature, `proof ${i}: COSE signature does not verify over root ${bytesToHex(root)}`);
    }
    first ??= {
      format: 'cose',
      txid: `${evidence.view}.${evidence.seqno}`,
      view: evidence.view,
      seqno: evidence.seqno,
      leaf: bytesToHex(leaf),
      root: bytesToHex(root),
      nodeId: undefined,
      signatureTxid: header.txid,
      claimsDigest: bytesToHex(proof.claimsDigest),
      leafOnly: false,
      serviceKeyId: header.kid,
      issuerKeyId: undefined,
    };
  });
  return first as VerifiedReceipt;
}

/** Checks the protected header is CCF's: ES256/ES384, kid, vds = 2, optional CWT claims and ccf.v1. */
function readProtectedHeader(h: CborMap): { kid: string; txid: string | undefined } {
  const alg = h.get(HEADER_ALG);
  if (alg !== -35 && alg !== -7) throw fail(ReceiptErrorCode.coseBadHeader, `alg must be ES384 (-35) or ES256 (-7), got ${String(alg)}`);
  const kid = h.get(HEADER_KID);
  if (!(kid instanceof Uint8Array)) throw fail(ReceiptErrorCode.coseBadHeader, 'kid (4) must be a byte string');
  let kidText: string;
  try {
    kidText = bytesToUtf8(kid);
  } catch {
    throw fail(ReceiptErrorCode.coseBadHeader, 'kid (4) must be hex text');
  }
  if (!/^[0-9a-f]{64}$/.test(kidText)) throw fail(ReceiptErrorCode.coseBadHeader, 'kid (4) must be 64 lowercase hex characters');
  if (h.get(HEADER_VDS) !== VDS_CCF_LEDGER_SHA256) {
    throw fail(ReceiptErrorCode.coseBadHeader, `verifiable data structure (395) must be ${VDS_CCF_LEDGER_SHA256} (CCF ledger)`);
  }
  if (h.has(HEADER_CWT_CLAIMS) && !(h.get(HEADER_CWT_CLAIMS) instanceof Map)) {
    throw fail(ReceiptErrorCode.coseBadHeader, 'CWT claims (15) must be a map');
  }
  let txid: string | undefined;
  if (h.has('ccf.v1')) {
    const ccf = h.get('ccf.v1');
    const t = ccf instanceof Map ? ccf.get('txid') : undefined;
    if (typeof t !== 'string' || !TXID_RE.test(t)) throw fail(ReceiptErrorCode.coseBadHeader, 'ccf.v1 must be a map with txid "view.seqno"');
    txid = t;
  }
  return { kid: kidText, txid };
}

interface InclusionProof {
  writeSetDigest: Uint8Array;
  commitEvidence: string;
  claimsDigest: Uint8Array;
  path: PathStep[];
}

function readInclusionProofs(unprotected: CborMap): InclusionProof[] {
  const vdp = unprotected.get(HEADER_VDP);
  const list = vdp instanceof Map ? vdp.get(VDP_INCLUSION_PROOFS) : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw fail(ReceiptErrorCode.malformed, 'unprotected header 396 must map -1 to a non-empty array of inclusion proofs');
  }
  return list.map((encoded: unknown, i: number) => {
    if (!(encoded instanceof Uint8Array)) throw fail(ReceiptErrorCode.malformed, `inclusion proof ${i} must be a byte string`);
    let proof: unknown;
    try {
      proof = decodeCbor(encoded);
    } catch (e) {
      throw fail(ReceiptErrorCode.malformed, `inclusion proof ${i}: ${(e as Error).message}`);
    }
    return readInclusionProof(proof, i);
  });
}

function readInclusionProof(proof: unknown, i: number): InclusionProof {
  const leaf = proof instanceof Map ? proof.get(PROOF_LEAF) : undefined;
  const path = proof instanceof Map ? proof.get(PROOF_PATH) : undefined;
  if (!Array.isArray(leaf) || leaf.length !== 3 || !isDigest(leaf[0]) || typeof leaf[1] !== 'string' || !isDigest(leaf[2])) {
    throw fail(ReceiptErrorCode.malformed, `inclusion proof ${i}: leaf must be [bstr 32, tstr, bstr 32]`);
  }
  if (!Array.isArray(path)) throw fail(ReceiptErrorCode.malformed, `inclusion proof ${i}: path must be an array`);
  const steps = path.map((step: unknown, j: number): PathStep => {
    if (!Array.isArray(step) || step.length !== 2 || typeof step[0] !== 'boolean' || !isDigest(step[1])) {
      throw fail(ReceiptErrorCode.malformed, `inclusion proof ${i}: path[${j}] must be [bool, bstr 32]`);
    }
    return { side: step[0] ? 'left' : 'right', hash: step[1] };
  });
  return { writeSetDigest: leaf[0], commitEvidence: leaf[1], claimsDigest: leaf[2], path: steps };
}

function isDigest(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === DIGEST_BYTES;
}

function fail(code: ReceiptErrorCode, message: string): ReceiptError {
  return new ReceiptError(code, message);
}
