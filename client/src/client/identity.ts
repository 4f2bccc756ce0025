// Who the client is: a user or member certificate and the means to sign with its key. The same
// identity serves certificate auth (the transport presents certificate and key in the TLS handshake)
// and COSE_Sign1-signed requests (a Signer signs; it may hold the key in memory via @noble/curves,
// or be a non-extractable WebCrypto key, or anything that returns an IEEE P1363 signature).
import { p256, p384 } from '@noble/curves/nist.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { UsageError, UsageErrorCode } from '../errors.ts';
import type { Curve } from '../verify/ecdsa.ts';
import { verifyEcdsa } from '../verify/ecdsa.ts';
import { bytesToHex, equalBytes } from '../verify/encoding.ts';
import { type ParsedCertificate, parseCertificate } from '../verify/x509.ts';
import { parsePrivateKeyPem } from './private-key.ts';

export type Role = 'user' | 'member';

/** Signs `message` with ECDSA, hashing it with the curve's hash (SHA-256 on P-256, SHA-384 on P-384). */
export interface Signer {
  readonly curve: Curve;
  /** Returns the signature as IEEE P1363 r ‖ s (what COSE carries). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface IdentityInput {
  /** PEM of the user or member certificate (its SHA-256 is the caller ID). */
  certPem: string;
  /** PEM of the private key (SEC 1 or PKCS#8): needed for certificate auth, and signs COSE requests unless `signer` is given. */
  keyPem?: string;
  /** Signs COSE requests instead of `keyPem` (e.g. webCryptoSigner for a non-extractable key). */
  signer?: Signer;
  /** Default 'user'. Members sign with the governance header names (ccf.gov.msg.*). */
  role?: Role;
}

export interface Identity {
  role: Role;
  certPem: string;
  keyPem: string | undefined;
  /** The caller ID: hex SHA-256 of the certificate DER (what COSE `kid` carries). */
  id: string;
  curve: Curve;
  cert: ParsedCertificate;
  signer: Signer | undefined;
}

const HASHES = { 'P-256': sha256, 'P-384': sha384 } as const;
const CURVES = { 'P-256': p256, 'P-384': p384 } as const;

/** A Signer over a private scalar held in memory (@noble/curves: any JavaScript runtime). */
export function scalarSigner(curve: Curve, scalar: Uint8Array): Signer {
  const c = CURVES[curve];
  if (!c || !(scalar instanceof Uint8Array)) throw new UsageError(UsageErrorCode.invalidArgument, 'scalarSigner needs a P-256/P-384 curve and a scalar');
  const secret = scalar.slice();
  return {
    curve,
    sign: async (message) => c.sign(HASHES[curve](message), secret, { prehash: false, format: 'compact' }),
  };
}

/** A Signer over a WebCrypto ECDSA private key (works with non-extractable keys, in browsers and Node). */
export function webCryptoSigner(key: CryptoKey): Signer {
  const algorithm = key?.algorithm as EcKeyAlgorithm | undefined;
  const curve = algorithm?.namedCurve;
  if (algorithm?.name !== 'ECDSA' || (curve !== 'P-256' && curve !== 'P-384') || key.type !== 'private') {
    throw new UsageError(UsageErrorCode.invalidArgument, 'webCryptoSigner needs an ECDSA P-256 or P-384 private CryptoKey');
  }
  const hash = curve === 'P-384' ? 'SHA-384' : 'SHA-256';
  return {
    curve,
    sign: async (message) => new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash }, key, message as BufferSource)),
  };
}

/** Validates an identity: the certificate parses, the key matches it, the signer is on its curve. */
export function loadIdentity(input: IdentityInput): Identity {
  if (typeof input !== 'object' || input === null) throw new UsageError(UsageErrorCode.invalidArgument, 'identity must be { certPem, keyPem?, signer?, role? }');
  const role = input.role ?? 'user';
  if (role !== 'user' && role !== 'member') throw new UsageError(UsageErrorCode.invalidArgument, `identity role must be 'user' or 'member', got ${String(role)}`);
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(input.certPem);
  } catch (e) {
    throw new UsageError(UsageErrorCode.invalidArgument, `identity certificate: ${(e as Error).message}`);
  }
  const curve = cert.publicKey.curve;
  let signer = input.signer;
  if (input.keyPem !== undefined) {
    const key = parsePrivateKeyPem(input.keyPem);
    const point = CURVES[key.curve].getPublicKey(key.scalar, false);
    if (key.curve !== curve || !equalBytes(point, cert.publicKey.point)) {
      throw new UsageError(UsageErrorCode.invalidArgument, 'identity: the private key does not belong to the certificate');
    }
    signer ??= scalarSigner(key.curve, key.scalar);
  }
  if (signer && signer.curve !== curve) {
    throw new UsageError(UsageErrorCode.invalidArgument, `identity: the signer is on ${signer.curve}, the certificate's key on ${curve}`);
  }
  return { role, certPem: input.certPem, keyPem: input.keyPem, id: bytesToHex(sha256(cert.der)), curve, cert, signer };
}

/** True when `signature` (P1363) over `message` verifies with the identity's certificate key. */
export function verifiesWithIdentity(identity: Identity, message: Uint8Array, signature: Uint8Array): boolean {
  return verifyEcdsa(identity.cert.publicKey, HASHES[identity.curve](message), signature, 'p1363');
}
