// What a receipt is checked against: the service certificates the caller trusts, and the one place
// every ECDSA verification goes through, so that a batch verifier can memoise verifications
// (many receipts share one signed root; one node certificate is endorsed once).
import { ReceiptError, ReceiptErrorCode } from '../errors.ts';
import { bytesToHex } from './encoding.ts';
import { verifyEcdsa } from './ecdsa.ts';
import { type ParsedCertificate, type PublicKey, parseCertificate, publicKeyId, recoverIssuerKey } from './x509.ts';

/** Certificates the caller trusts as service identities; several after disaster recoveries. */
export interface ServiceCertOptions {
  /** PEM of the current service certificate. */
  serviceCert?: string;
  /** PEMs of every service identity to trust (e.g. the ones before each recovery). */
  serviceCerts?: readonly string[];
}

/** Verifies one ECDSA signature over a digest; implementations may remember earlier answers. */
export interface SignatureChecker {
  check(key: PublicKey, digest: Uint8Array, signature: Uint8Array, format: 'der' | 'p1363'): boolean;
  /** The key that signed a certificate, named by its AuthorityKeyIdentifier (see recoverIssuerKey). */
  recoverIssuer(cert: ParsedCertificate): PublicKey | undefined;
}

/** Verifies every time; what `verifyReceipt` uses. */
export const directChecker: SignatureChecker = { check: verifyEcdsa, recoverIssuer: recoverIssuerKey };

/**
 * Remembers successful verifications, keyed by key, digest and signature bytes: a later request with
 * exactly the same three answers true without curve arithmetic. Failures are not remembered (they
 * are rare, and caching them would let garbage fill the cache). Oldest entries are dropped first.
 */
export class MemoizingChecker implements SignatureChecker {
  private readonly verified = new Map<string, true>();
  private readonly issuers = new Map<string, PublicKey>();
  verifications = 0;
  hits = 0;
  constructor(private readonly entriesMax: number) {}

  recoverIssuer(cert: ParsedCertificate): PublicKey | undefined {
    const id = `issuer|${bytesToHex(cert.tbsDer)}|${bytesToHex(cert.signature)}`;
    if (this.issuers.has(id)) {
      this.hits++;
      return this.issuers.get(id);
    }
    this.verifications++;
    const key = recoverIssuerKey(cert);
    if (key) {
      if (this.issuers.size >= this.entriesMax) this.issuers.delete(this.issuers.keys().next().value as string);
      this.issuers.set(id, key);
    }
    return key;
  }

  check(key: PublicKey, digest: Uint8Array, signature: Uint8Array, format: 'der' | 'p1363'): boolean {
    const id = `${publicKeyId(key)}|${bytesToHex(digest)}|${format}|${bytesToHex(signature)}`;
    if (this.verified.has(id)) {
      this.hits++;
      return true;
    }
    this.verifications++;
    const ok = verifyEcdsa(key, digest, signature, format);
    if (ok) {
      if (this.verified.size >= this.entriesMax) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(id, true);
    }
    return ok;
  }
}

/** Parses the caller's trusted service certificates; a bad one is reported with its position. */
export function loadServiceCerts(options: ServiceCertOptions): ParsedCertificate[] {
  const pems: unknown[] = [];
  if (options.serviceCert !== undefined) pems.push(options.serviceCert);
  if (options.serviceCerts !== undefined) {
    if (!Array.isArray(options.serviceCerts)) {
      throw new ReceiptError(ReceiptErrorCode.badCertificate, 'serviceCerts must be an array of PEM strings');
    }
    pems.push(...options.serviceCerts);
  }
  return pems.map((pem, i) => {
    if (typeof pem !== 'string') {
      throw new ReceiptError(ReceiptErrorCode.badCertificate, `service certificate #${i} is not a PEM string`);
    }
    try {
      return parseCertificate(pem);
    } catch (e) {
      throw new ReceiptError(
        ReceiptErrorCode.badCertificate,
        `service certificate #${i} cannot be used: ${(e as Error).message}`,
      );
    }
  });
}
