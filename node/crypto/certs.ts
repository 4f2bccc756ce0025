// X.509 v3 certificates (RFC 5280) for CCF-style identities, built with @peculiar/x509 over WebCrypto.
//
// - The service identity is a self-signed CA certificate (CA:TRUE, critical; subject and authority key
//   identifiers). Node certificates are endorsed by it: issuer = the service subject, CA:FALSE, an
//   authority key identifier pointing at the service key, and SANs for the node's addresses, so that
//   clients pinning the service certificate can talk TLS to any node.
// - Members and users get self-signed certificates, as CCF's sandbox makes them.
// - IDs follow CCF: node ID = hex SHA-256 of the SPKI DER; member/user ID = hex SHA-256 of the cert DER.
// Signatures use ECDSA with SHA-384 for P-384 issuers and SHA-256 for P-256 issuers, as CCF does.
// Parsing and chain checks use node:crypto's X509Certificate (OpenSSL).

import { X509Certificate as NodeCertificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// Must precede @peculiar/x509: its dependency tsyringe checks for the Reflect metadata API on load.
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Metadata Reflection API before it loads
import * as x509 from '@peculiar/x509';
import { sha256, toHex } from './hash.ts';
import { generateKeyPair, parsePublicKey, type Curve, type KeyPair } from './keys.ts';
import { CryptoError, invalidArgument, invalidCertificate, invalidKey } from './errors.ts';

export const VALIDITY_DAYS_DEFAULT = 365;
export const VALIDITY_DAYS_MAX = 3650;
/** X.520 upper bound for a common name. */
export const COMMON_NAME_LENGTH_MAX = 64;
/** SAN entries per certificate; a node has a handful of interfaces. */
export const SUBJECT_ALT_NAMES_MAX = 64;
const SERIAL_BYTES = 16;
const MILLISECONDS_PER_DAY = 86_400_000;

// @peculiar/x509 is typed against the DOM's Crypto; node's webcrypto implements the same interface.
const webCrypto = webcrypto as unknown as Crypto;

const HASH_FOR_CURVE: Record<Curve, 'SHA-256' | 'SHA-384'> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384' };

export interface CertificateValidity {
  /** Defaults to the current time, rounded down to the second. */
  notBefore?: Date;
  validityDays?: number;
}

export interface SelfSignedOptions extends CertificateValidity {
  commonName: string;
}

export interface EndorsedOptions extends CertificateValidity {
  commonName: string;
  ipAddresses?: string[];
  dnsNames?: string[];
}

export interface Identity {
  certPem: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

function validity(options: CertificateValidity): { notBefore: Date; notAfter: Date } {
  const days = options.validityDays ?? VALIDITY_DAYS_DEFAULT;
  if (!Number.isInteger(days) || days < 1 || days > VALIDITY_DAYS_MAX) {
    throw invalidArgument(`validityDays must be an integer in 1..${VALIDITY_DAYS_MAX}, got ${days}`);
  }
  const startMs = options.notBefore?.getTime() ?? Math.floor(Date.now() / 1000) * 1000;
  if (!Number.isFinite(startMs)) throw invalidArgument('notBefore is not a valid date');
  // RFC 5280 4.1.2.5: the end is inclusive, so stop one second short of the whole number of days.
  return { notBefore: new Date(startMs), notAfter: new Date(startMs + days * MILLISECONDS_PER_DAY - 1000) };
}

function commonNameOf(commonName: string): x509.JsonName {
  if (typeof commonName !== 'string' || commonName.length === 0) {
    throw invalidArgument('commonName must be a non-empty string');
  }
  if (commonName.length > COMMON_NAME_LENGTH_MAX) {
    throw invalidArgument(`commonName is longer than ${COMMON_NAME_LENGTH_MAX} characters`);
  }
  // The JSON form avoids RFC 4514 string parsing, so commas or '=' in a name cannot inject attributes.
  return [{ CN: [commonName] }];
}

/** A positive 127-bit serial with no leading zero byte, so its DER length is fixed. */
function randomSerialHex(): string {
  const bytes = randomBytes(SERIAL_BYTES);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function ecdsaParams(curve: Curve): EcKeyImportParams {
  return { name: 'ECDSA', namedCurve: curve };
}

async function importPrivateKey(keyPair: KeyPair): Promise<CryptoKey> {
  let pkcs8: Buffer;
  try {
    pkcs8 = createPrivateKey(keyPair.privateKeyPem).export({ format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw invalidKey('issuer private key PEM could not be parsed', cause);
  }
  return webCrypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), ecdsaParams(keyPair.curve), false, ['sign']);
}

async function importPublicKey(spkiDer: Uint8Array, curve: Curve): Promise<CryptoKey> {
  // Copied: WebCrypto's types want bytes backed by a plain ArrayBuffer.
  return webCrypto.subtle.importKey('spki', new Uint8Array(spkiDer), ecdsaParams(curve), true, ['verify']);
}

function curveOfKeyObjectName(namedCurve: string | undefined): Curve {
  if (namedCurve === 'prime256v1') return 'P-256';
  if (namedCurve === 'secp384r1') return 'P-384';
  throw invalidKey(`unsupported curve ${String(namedCurve)}`);
}

/** PEM as OpenSSL writes it (trailing newline); parsing it here also proves OpenSSL accepts the DER. */
function openSslPem(cert: x509.X509Certificate): string {
  return new NodeCertificate(new Uint8Array(cert.rawData)).toString();
}

/** Self-signed CA certificate for a service identity (or any self-signed identity). */
export async function createSelfSignedCertificate(kp: KeyPair, opts: SelfSignedOptions): Promise<string> {
  const name = commonNameOf(opts.commonName);
  const { notBefore, notAfter } = validity(opts);
  const privateKey = await importPrivateKey(kp);
  const publicKey = await importPublicKey(kp.publicKeyDer, kp.curve);
  const keyId = await x509.SubjectKeyIdentifierExtension.create(publicKey, false, webCrypto);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialHex(),
      name,
      notBefore,
      notAfter,
      keys: { privateKey, publicKey },
      signingAlgorithm: { name: 'ECDSA', hash: HASH_FOR_CURVE[kp.curve] },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        keyId,
        new x509.AuthorityKeyIdentifierExtension(keyId.keyId, false),
      ],
    },
    webCrypto,
  );
  return openSslPem(cert);
}

function subjectAltNames(opts: EndorsedOptions): x509.SubjectAlternativeNameExtension | undefined {
  const ipAddresses = opts.ipAddresses ?? [];
  const dnsNames = opts.dnsNames ?? [];
  if (ipAddresses.length + dnsNames.length > SUBJECT_ALT_NAMES_MAX) {
    throw invalidArgument(`at most ${SUBJECT_ALT_NAMES_MAX} subject alternative names`);
  }
  const names: x509.JsonGeneralNames = [];
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw invalidArgument(`not an IP address: ${String(ip)}`);
    names.push({ type: 'ip', value: ip });
  }
  for (const dns of dnsNames) {
    if (typeof dns !== 'string' || !/^[A-Za-z0-9*]([A-Za-z0-9.*-]{0,252})$/.test(dns)) {
      throw invalidArgument(`not a DNS name: ${String(dns)}`);
    }
    names.push({ type: 'dns', value: dns });
  }
  return names.length === 0 ? undefined : new x509.SubjectAlternativeNameExtension(names, false);
}

function parsePeculiar(certPem: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(certPem);
  } catch (cause) {
    throw invalidCertificate('certificate PEM could not be parsed', cause);
  }
}

/**
 * A certificate for `subjectPublicKeyPem` signed by the issuer (normally the service identity). The
 * issuer's key pair must be the one its certificate certifies.
 */
export async function createEndorsedCertificate(
  subjectPublicKeyPem: string,
  issuer: { keyPair: KeyPair; certPem: string },
  opts: EndorsedOptions,
): Promise<string> {
  const subject = commonNameOf(opts.commonName);
  const { notBefore, notAfter } = validity(opts);
  const altNames = subjectAltNames(opts);
  const subjectKeyObject = parsePublicKey(subjectPublicKeyPem);
  const subjectCurve = curveOfKeyObjectName(subjectKeyObject.asymmetricKeyDetails?.namedCurve);
  const subjectDer = subjectKeyObject.export({ format: 'der', type: 'spki' });
  const issuerCert = parsePeculiar(issuer.certPem);
  if (toHex(certificatePublicKeyDer(issuer.certPem)) !== toHex(issuer.keyPair.publicKeyDer)) {
    throw invalidArgument("the issuer key pair does not match the issuer certificate's public key");
  }
  const subjectKey = await importPublicKey(subjectDer, subjectCurve);
  const issuerKeyId =
    issuerCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ??
    (await x509.SubjectKeyIdentifierExtension.create(issuerCert.publicKey, false, webCrypto)).keyId;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, false),
    await x509.SubjectKeyIdentifierExtension.create(subjectKey, false, webCrypto),
    new x509.AuthorityKeyIdentifierExtension(issuerKeyId, false),
  ];
  if (altNames !== undefined) extensions.push(altNames);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      // The issuer's own encoded name, not a re-encoding of it, so name chaining matches byte for byte.
      issuer: issuerCert.subjectName,
      subject,
      notBefore,
      notAfter,
      publicKey: subjectKey,
      signingKey: await importPrivateKey(issuer.keyPair),
      signingAlgorithm: { name: 'ECDSA', hash: HASH_FOR_CURVE[issuer.keyPair.curve] },
      extensions,
    },
    webCrypto,
  );
  return openSslPem(cert);
}

/** A fresh key pair and self-signed certificate, as CCF's sandbox makes for members and users. */
export async function createIdentity(name: string, curve: Curve): Promise<Identity> {
  const keyPair = generateKeyPair(curve);
  const certPem = await createSelfSignedCertificate(keyPair, { commonName: name });
  return { certPem, privateKeyPem: keyPair.privateKeyPem, publicKeyPem: keyPair.publicKeyPem };
}

function parseNode(certPem: string): NodeCertificate {
  if (typeof certPem !== 'string') throw invalidArgument('certificate must be a PEM string');
  try {
    return new NodeCertificate(certPem);
  } catch (cause) {
    throw invalidCertificate('certificate PEM could not be parsed', cause);
  }
}

/** The certificate's SubjectPublicKeyInfo, DER. */
export function certificatePublicKeyDer(certPem: string): Uint8Array {
  const der = parseNode(certPem).publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.buffer, der.byteOffset, der.byteLength).slice();
}

export function certificateDer(certPem: string): Uint8Array {
  const raw = parseNode(certPem).raw;
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
}

export function certificateDerToPem(der: Uint8Array): string {
  try {
    return new NodeCertificate(Buffer.from(der)).toString();
  } catch (cause) {
    throw invalidCertificate('certificate DER could not be parsed', cause);
  }
}

/** CCF node ID: hex SHA-256 of the node's SPKI DER. */
export function nodeIdFromPublicKeyDer(spkiDer: Uint8Array): string {
  if (!(spkiDer instanceof Uint8Array)) throw invalidArgument('public key must be SPKI DER bytes');
  return toHex(sha256(spkiDer));
}

/** CCF member/user ID: hex SHA-256 of the certificate DER. */
export function idFromCertificate(certPem: string): string {
  return toHex(sha256(certificateDer(certPem)));
}

/**
 * True if `issuerCertPem`'s subject names `certPem`'s issuer (with matching key identifiers, per
 * OpenSSL's checks) and its key verifies `certPem`'s signature. Validity dates are not checked here.
 * Unparsable certificates are not endorsed by anything: false, not a throw.
 */
export function isEndorsedBy(certPem: string, issuerCertPem: string): boolean {
  let cert: NodeCertificate;
  let issuer: NodeCertificate;
  try {
    cert = parseNode(certPem);
    issuer = parseNode(issuerCertPem);
  } catch (error) {
    if (error instanceof CryptoError && error.code === 'CRYPTO_INVALID_CERTIFICATE') return false;
    throw error;
  }
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}
