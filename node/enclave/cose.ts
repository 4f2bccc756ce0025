// COSE_Sign1 (RFC 9052) signatures over Merkle roots with the service key, in CCF's profile of COSE
// receipts (draft-ietf-cose-merkle-tree-proofs, draft-birkholz-cose-receipts-ccf-profile):
// protected header {alg ES384, kid, vds = 2 (CCF ledger), CWT claims {iat}, "ccf.v1" {txid}}, detached
// payload = the 32-byte root. A COSE receipt is that signature with an inclusion proof in unprotected
// header 396.

import { createHash } from 'node:crypto';
import { decode, encode } from 'cborg';
import { sha256, toHex } from '../crypto/hash.ts';
import { digestSigner } from '../crypto/keys.ts';
import type { NonceSource } from '../crypto/nonces.ts';
import type { ProofStep } from '../merkle/tree.ts';

const COSE_ALG = 1;
const COSE_KID = 4;
const COSE_CWT_CLAIMS = 15;
const CWT_IAT = 6;
const COSE_VDS = 395;
const COSE_VDP = 396;
const VDS_CCF_LEDGER_SHA256 = 2;
const VDP_INCLUSION_PROOFS = -1;
const ALG_ES384 = -35;
const ALG_ES256 = -7;
/** CBOR tag 18 (COSE_Sign1) fits in one initial byte: major type 6, value 18. */
const TAG_COSE_SIGN1 = 0xd2;

export interface CoseSigner {
  /** ECDSA over a digest of the Sig_structure, r ‖ s (RFC 9053 §2.1). */
  signDigest: (digest: Uint8Array) => Uint8Array;
  alg: number;
  hash: 'sha384' | 'sha256';
  kid: Uint8Array;
}

/**
 * kid is the hex SHA-256 of the service public key DER, carried as bytes. With `nonces`, the costly part
 * of each signature is done ahead on a worker thread (node/crypto/nonces.ts).
 */
export function coseSigner(privateKeyPem: string, publicKeyDer: Uint8Array, curve: 'P-256' | 'P-384', nonces?: NonceSource): CoseSigner {
  return {
    signDigest: digestSigner(privateKeyPem, { encoding: 'ieee-p1363', ...(nonces ? { nonces } : {}) }),
    alg: curve === 'P-384' ? ALG_ES384 : ALG_ES256,
    hash: curve === 'P-384' ? 'sha384' : 'sha256',
    kid: new TextEncoder().encode(toHex(sha256(publicKeyDer))),
  };
}

/** Signs `root` for the transaction `txid` at time `iatSeconds`; returns a tagged COSE_Sign1, payload detached. */
export function signRoot(signer: CoseSigner, root: Uint8Array, txid: string, iatSeconds: number): Uint8Array {
  const protectedHeader = new Map<number | string, unknown>([
    [COSE_ALG, signer.alg],
    [COSE_KID, signer.kid],
    [COSE_CWT_CLAIMS, new Map([[CWT_IAT, iatSeconds]])],
    [COSE_VDS, VDS_CCF_LEDGER_SHA256],
    ['ccf.v1', new Map([['txid', txid]])],
  ]);
  const protectedBytes = encode(protectedHeader);
  const toBeSigned = encode(['Signature1', protectedBytes, new Uint8Array(0), root]);
  const signature = signer.signDigest(new Uint8Array(createHash(signer.hash).update(toBeSigned).digest()));
  return tagged(encode([protectedBytes, new Map(), null, new Uint8Array(signature)]));
}

/**
 * Adds an inclusion proof to a COSE signature, making a COSE receipt. The leaf is
 * [write_set_digest, commit_evidence, claims_digest]; the path lists [is_left, sibling] from the leaf up.
 */
export function coseReceipt(
  coseSignature: Uint8Array,
  leaf: { writeSetDigest: Uint8Array; commitEvidence: string; claimsDigest: Uint8Array },
  proof: readonly ProofStep[],
): Uint8Array {
  if (coseSignature[0] !== TAG_COSE_SIGN1) throw new Error('not a tagged COSE_Sign1');
  // Decoding what we encoded ourselves: positions are fixed by signRoot.
  const [protectedBytes, , , signature] = decode(coseSignature.subarray(1), { useMaps: true }) as [
    Uint8Array, Map<number, unknown>, null, Uint8Array,
  ];
  const path = proof.map((step) => ('left' in step ? [true, step.left] : [false, step.right]));
  const inclusion = encode(new Map<number, unknown>([
    [1, [leaf.writeSetDigest, leaf.commitEvidence, leaf.claimsDigest]],
    [2, path],
  ]));
  const unprotected = new Map<number, unknown>([[COSE_VDP, new Map([[VDP_INCLUSION_PROOFS, [inclusion]]])]]);
  return tagged(encode([protectedBytes, unprotected, null, signature]));
}

function tagged(array: Uint8Array): Uint8Array {
  const out = new Uint8Array(array.length + 1);
  out[0] = TAG_COSE_SIGN1;
  out.set(array, 1);
  return out;
}
