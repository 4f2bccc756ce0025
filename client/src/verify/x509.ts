// X.509 certificates (RFC 5280) as far as CCF receipts need them: ECDSA keys on P-256/P-384
// (RFC 5480), ecdsa-with-SHA256/384/512 signatures (RFC 5758), SubjectPublicKeyInfo digests for
// identities. Parsing is @peculiar/asn1-x509 (browser-safe). The bytes that get hashed or compared
// (TBSCertificate, SubjectPublicKeyInfo) are re-encodings, so we require the whole certificate to
// re-encode to exactly its input: then they are the very bytes that were signed, and a lenient parser
// (trailing garbage, BER) cannot make two different inputs denote one certificate.
import { AsnConvert } from '@peculiar/asn1-schema';
import { AuthorityKeyIdentifier, Certificate, SubjectPublicKeyInfo, id_ce_authorityKeyIdentifier } from '@peculiar/asn1-x509';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, equalBytes, pemToDer } from './encoding.ts';
import { type Curve, recoverPublicKeys, verifyEcdsa } from './ecdsa.ts';
import type { SignatureChecker } from './trust.ts';

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
// namedCurve parameters, DER-encoded OBJECT IDENTIFIERs (RFC 5480 §2.1.1.1).
const NAMED_CURVE_DER: ReadonlyArray<[Curve, Uint8Array]> = [
  ['P-256', Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07)],
  ['P-384', Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22)],
];
const SIGNATURE_HASHES: Record<string, (data: Uint8Array) => Uint8Array> = {
  '1.2.840.10045.4.3.2': sha256,
  '1.2.840.10045.4.3.3': sha384,
  '1.2.840.10045.4.3.4': sha512,
};

/** DER of the namedCurve OBJECT IDENTIFIER for a curve (the SubjectPublicKeyInfo parameter). */
export function namedCurveDer(curve: Curve): Uint8Array {
  return NAMED_CURVE_DER.find(([c]) => c === curve)![1];
}

/** An EC public key: curve and SEC1 uncompressed point, with its SubjectPublicKeyInfo DER. */
export interface PublicKey {
  curve: Curve;
  point: Uint8Array;
  spkiDer: Uint8Array;
}

export interface ParsedCertificate {
  der: Uint8Array;
  tbsDer: Uint8Array;
  publicKey: PublicKey;
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** keyIdentifier of the AuthorityKeyIdentifier extension, when present. */
  authorityKeyId: Uint8Array | undefined;
}

/** Parses a PEM string (one CERTIFICATE block) or DER bytes; throws TypeError when unusable. */
/**
 * Parsed certificates by their PEM text. Receipts under one node certificate repeat the same PEM, and
 * ASN.1 parsing costs far more than the rest of a receipt check; the results are treated as immutable.
 */
const PARSED_CERTIFICATES_MAX = 64;
const parsedByPem = new Map<string, ParsedCertificate>();

export function parseCertificate(input: string | Uint8Array): ParsedCertificate {
  if (typeof input !== 'string') return parseCertificateUncached(input);
  const cached = parsedByPem.get(input);
  if (cached) return cached;
  const parsed = parseCertificateUncached(input);
  if (parsedByPem.size >= PARSED_CERTIFICATES_MAX) parsedByPem.delete(parsedByPem.keys().next().value!);
  parsedByPem.set(input, Object.freeze(parsed));
  return parsed;
}

function parseCertificateUncached(input: string | Uint8Array): ParsedCertificate {
  const der = typeof input === 'string' ? pemToDer(input) : input;
  if (!(der instanceof Uint8Array) || der.length === 0) throw new TypeError('certificate must be PEM or DER');
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (e) {
    throw new TypeError(`not an X.509 certificate: ${(e as Error).message}`);
  }
  // asn1-schema ignores trailing bytes; a certificate must be exactly one DER element.
  const reencoded = new Uint8Array(AsnConvert.serialize(cert));
  if (!equalBytes(reencoded, der)) throw new TypeError('certificate is not canonical DER');
  const tbs = cert.tbsCertificate;
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const publicKey = parsePublicKeyInfo(tbs.subjectPublicKeyInfo);
  const signatureAlgorithm = cert.signatureAlgorithm.algorithm;
  return {
    der,
    tbsDer,
    publicKey,
    issuerDer: new Uint8Array(AsnConvert.serialize(tbs.issuer)),
    subjectDer: new Uint8Array(AsnConvert.serialize(tbs.subject)),
    signatureAlgorithm,
    signature: new Uint8Array(cert.signatureValue),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    authorityKeyId: readAuthorityKeyId(tbs.extensions ?? []),
  };
}

function readAuthorityKeyId(extensions: ReadonlyArray<{ extnID: string; extnValue: { buffer: ArrayBuffer } }>): Uint8Array | undefined {
  const ext = extensions.find((e) => e.extnID === id_ce_authorityKeyIdentifier);
  if (!ext) return undefined;
  const aki = AsnConvert.parse(ext.extnValue.buffer, AuthorityKeyIdentifier);
  return aki.keyIdentifier ? new Uint8Array(aki.keyIdentifier.buffer) : undefined;
}

/** Parses SubjectPublicKeyInfo DER (as CCF stores service keys in endorsements). */
export function parsePublicKey(spkiDer: Uint8Array): PublicKey {
  let spki: SubjectPublicKeyInfo;
  try {
    spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
  } catch (e) {
    throw new TypeError(`not a SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
  const key = parsePublicKeyInfo(spki);
  if (!equalBytes(key.spkiDer, spkiDer)) throw new TypeError('public key is not canonical DER');
  return key;
}

function parsePublicKeyInfo(spki: SubjectPublicKeyInfo): PublicKey {
  if (spki.algorithm.algorithm !== OID_EC_PUBLIC_KEY) throw new TypeError('public key is not an EC key');
  const params = spki.algorithm.parameters ? new Uint8Array(spki.algorithm.parameters) : new Uint8Array();
  const named = NAMED_CURVE_DER.find(([, oid]) => equalBytes(oid, params));
  if (!named) throw new TypeError('EC key is not on P-256 or P-384');
  const point = new Uint8Array(spki.subjectPublicKey);
  return { curve: named[0], point, spkiDer: new Uint8Array(AsnConvert.serialize(spki)) };
}

/** Hex SHA-256 of the SubjectPublicKeyInfo DER: CCF's node ID and COSE `kid` of a service key. */
export function publicKeyId(key: PublicKey): string {
  return bytesToHex(sha256(key.spkiDer));
}

/**
 * True when the certificate's signature verifies with `key`: the endorsement check CCF makes between a
 * node certificate and the service certificate. Names are not compared, as CCF does not compare them.
 */
export function isSignedByKey(
  cert: ParsedCertificate,
  key: PublicKey,
  checker: Pick<SignatureChecker, 'check'> = { check: verifyEcdsa },
): boolean {
  const hash = SIGNATURE_HASHES[cert.signatureAlgorithm];
  if (!hash) return false;
  return checker.check(key, hash(cert.tbsDer), cert.signature, 'der');
}

/** RFC 5280 §4.2.1.2 method 1 key identifier: SHA-1 of the subjectPublicKey bits (the EC point). */
export function keyIdentifier(key: { point: Uint8Array }): Uint8Array {
  return sha1(key.point);
}

/**
 * The key that signed `cert`, found without holding it: the ECDSA public-key recovery candidate whose
 * key identifier is the certificate's AuthorityKeyIdentifier (as CCF, through OpenSSL, writes it).
 * Undefined when the certificate has no AuthorityKeyIdentifier or no candidate matches it, i.e. when
 * its signature does not belong to the key it names: the certificate was altered or is not CCF's.
 * This authenticates nothing by itself; it names the issuer for a caller to compare with a key it trusts.
 */
export function recoverIssuerKey(cert: ParsedCertificate): PublicKey | undefined {
  const hash = SIGNATURE_HASHES[cert.signatureAlgorithm];
  if (!hash || !cert.authorityKeyId) return undefined;
  for (const candidate of recoverPublicKeys(hash(cert.tbsDer), cert.signature)) {
    if (!equalBytes(keyIdentifier(candidate), cert.authorityKeyId)) continue;
    const key = { ...candidate, spkiDer: encodePublicKeyInfo(candidate.curve, candidate.point) };
    // Recovery only proposes keys; check the signature as any verifier would.
    if (verifyEcdsa(key, hash(cert.tbsDer), cert.signature, 'der')) return key;
  }
  return undefined;
}

/** SubjectPublicKeyInfo DER for an EC point (RFC 5480 §2). */
export function encodePublicKeyInfo(curve: Curve, point: Uint8Array): Uint8Array {
  const spki = new SubjectPublicKeyInfo();
  spki.algorithm.algorithm = OID_EC_PUBLIC_KEY;
  spki.algorithm.parameters = namedCurveDer(curve).slice().buffer;
  spki.subjectPublicKey = point.slice().buffer;
  return new Uint8Array(AsnConvert.serialize(spki));
}
