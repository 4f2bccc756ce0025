// ECDSA verification (FIPS 186-5) on NIST P-256 and P-384 with @noble/curves, always over a digest the
// caller computed. CCF signs its Merkle root "prehashed": the 32-byte root IS the digest, even on P-384,
// so hashing belongs to the caller. Signatures come as DER (X.509, CCF JSON receipts) or IEEE P1363 r‖s
// (COSE, RFC 9053 §2.1). High-S signatures are accepted because OpenSSL, which CCF uses, produces them.
import { p256, p384 } from '@noble/curves/nist.js';

export type Curve = 'P-256' | 'P-384';

const CURVES = { 'P-256': p256, 'P-384': p384 } as const;

/** Byte length of one scalar (r or s) for each curve: the P1363 signature is twice this. */
export const SCALAR_BYTES: Record<Curve, number> = { 'P-256': 32, 'P-384': 48 };

/**
 * True iff `signature` is a valid ECDSA signature of `digest` under `key`. Malformed signatures or keys
 * yield false rather than an exception: to a verifier, "cannot parse" and "does not verify" are the
 * same answer.
 */
export function verifyEcdsa(
  key: { curve: Curve; point: Uint8Array },
  digest: Uint8Array,
  signature: Uint8Array,
  format: 'der' | 'p1363',
): boolean {
  const curve = CURVES[key.curve];
  if (!curve) return false;
  if (format === 'p1363' && signature.length !== 2 * SCALAR_BYTES[key.curve]) return false;
  try {
    return curve.verify(signature, digest, key.point, {
      prehash: false,
      lowS: false,
      format: format === 'der' ? 'der' : 'compact',
    });
  } catch {
    return false;
  }
}

/**
 * The public keys, on either curve, for which `signature` (DER) is a valid signature of `digest`:
 * ECDSA public-key recovery (SEC 1 §4.1.6). Used to name the key that signed a certificate when the
 * verifier does not hold that key. Malformed input yields no candidates.
 */
export function recoverPublicKeys(digest: Uint8Array, signature: Uint8Array): Array<{ curve: Curve; point: Uint8Array }> {
  const found: Array<{ curve: Curve; point: Uint8Array }> = [];
  for (const curveName of ['P-384', 'P-256'] as const) {
    const curve = CURVES[curveName];
    let parsed;
    try {
      parsed = curve.Signature.fromBytes(signature, 'der');
    } catch {
      continue;
    }
    for (let recovery = 0; recovery < 4; recovery++) {
      try {
        const point = parsed.addRecoveryBit(recovery).recoverPublicKey(digest).toBytes(false);
        found.push({ curve: curveName, point });
      } catch {
        // This recovery id names no point for this signature: try the next.
      }
    }
  }
  return found;
}
