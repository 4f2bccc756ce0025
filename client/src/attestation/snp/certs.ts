// X.509 certificates of the SEV-SNP endorsement chain (RFC 5280), signed with RSASSA-PSS (RFC 8017)
// over SHA-384, and the VCEK extensions defined in AMD's "Versioned Chip Endorsement Key (VCEK)
// Certificate and KDS Interface Specification" (publication 57230).
//
// Each certificate is read twice: by the DER reader here, which yields the signed bytes, algorithm
// parameters and extensions, and by node:crypto's X509Certificate (OpenSSL). The two readings must
// agree on the public key, so a certificate that parses differently in the two is refused rather than
// half-trusted.

import { X509Certificate, constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { asBuffer, equalBytes } from '../bytes.ts';
import { AttestationError } from '../errors.ts';
import { certificateBytesMax, endorsementsBytesMax } from '../limits.ts';
import {
  children,
  content,
  decodeBoolean,
  decodeOid,
  decodeSmallUnsigned,
  decodeTime,
  encoding,
  expectTag,
  readRoot,
  tag,
  type DerNode,
} from './der.ts';

export const oid = {
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha384: '2.16.840.1.101.3.4.2.2',
  basicConstraints: '2.5.29.19',
  amdProductName: '1.3.6.1.4.1.3704.1.2',
  amdTcbPrefix: '1.3.6.1.4.1.3704.1.3.',
  amdHardwareId: '1.3.6.1.4.1.3704.1.4',
} as const;

/** The VCEK's TCB extensions: blSPL .1, teeSPL .2, snpSPL .3, ucodeSPL .8, fmcSPL .9 (Turin). */
export const amdTcbExtension = { bootloader: 1, tee: 2, snp: 3, microcode: 8, fmc: 9 } as const;

export interface Extension {
  critical: boolean;
  value: Uint8Array;
}

export interface ParsedCertificate {
  der: Uint8Array;
  tbs: Uint8Array;
  /** The outer signatureAlgorithm, encoded (must equal the one inside tbsCertificate). */
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  publicKey: KeyObject;
  extensions: ReadonlyMap<string, Extension>;
  isCa: boolean;
}

function malformed(message: string, cause?: unknown): AttestationError {
  return new AttestationError('SNP_ENDORSEMENTS_MALFORMED', message, cause === undefined ? undefined : { cause });
}

const pemBlock = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into DER certificates. Anything but whitespace between blocks is refused. */
export function splitPemBundle(bundle: string | Uint8Array): Uint8Array[] {
  let text: string;
  if (typeof bundle === 'string') {
    text = bundle;
  } else if (bundle instanceof Uint8Array) {
    if (bundle.length > endorsementsBytesMax) throw malformed(`endorsements are ${bundle.length} bytes, over ${endorsementsBytesMax}`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bundle);
    } catch (error) {
      throw malformed('endorsements are not UTF-8 text', error);
    }
  } else {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'endorsements must be a string or a Uint8Array');
  }
  if (text.length > endorsementsBytesMax) throw malformed(`endorsements are ${text.length} characters, over ${endorsementsBytesMax}`);
  const certificates: Uint8Array[] = [];
  let last = 0;
  for (const match of text.matchAll(pemBlock)) {
    if (text.slice(last, match.index).trim() !== '') throw malformed('endorsements contain text outside PEM certificate blocks');
    const body = match[1]!.replace(/\s+/g, '');
    if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw malformed('a PEM certificate block is not valid base64');
    const der = new Uint8Array(Buffer.from(body, 'base64'));
    if (der.length === 0 || der.length > certificateBytesMax) throw malformed(`a certificate is ${der.length} bytes`);
    certificates.push(der);
    last = match.index + match[0].length;
  }
  if (text.slice(last).trim() !== '') throw malformed('endorsements contain text outside PEM certificate blocks');
  return certificates;
}

export function derToPem(der: Uint8Array): string {
  const lines = asBuffer(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const root = expectTag(readRoot(der), tag.sequence, 'Certificate');
  const [tbsNode, algorithmNode, signatureNode, extra] = children(der, root);
  if (extra !== undefined) throw malformed('certificate DER: extra fields after the signature');
  expectTag(tbsNode, tag.sequence, 'tbsCertificate');
  expectTag(algorithmNode, tag.sequence, 'signatureAlgorithm');
  const bitString = content(der, expectTag(signatureNode, tag.bitString, 'signatureValue'));
  if (bitString.length < 2 || bitString[0] !== 0) throw malformed('certificate DER: signature is not a whole number of bytes');
  const tbs = parseTbs(der, tbsNode!);
  if (!equalBytes(tbs.innerAlgorithm, encoding(der, algorithmNode!))) {
    throw malformed('certificate DER: the two signature algorithm fields differ');
  }
  const publicKey = crossCheckedPublicKey(der, tbs.spki);
  return {
    der,
    tbs: encoding(der, tbsNode!),
    signatureAlgorithm: encoding(der, algorithmNode!),
    signature: bitString.subarray(1),
    issuer: tbs.issuer,
    subject: tbs.subject,
    notBefore: tbs.notBefore,
    notAfter: tbs.notAfter,
    spki: tbs.spki,
    publicKey,
    extensions: tbs.extensions,
    isCa: isCa(tbs.extensions),
  };
}

interface Tbs {
  innerAlgorithm: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  extensions: Map<string, Extension>;
}

// TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer, validity, subject,
//   subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL, [3] extensions }
function parseTbs(der: Uint8Array, tbsNode: DerNode): Tbs {
  const fields = children(der, tbsNode);
  const versionWrapper = expectTag(fields[0], tag.context0, 'version');
  const [versionNode] = children(der, versionWrapper);
  if (decodeSmallUnsigned(der, versionNode!, 'version') !== 2) throw malformed('certificate DER: not an X.509 v3 certificate');
  expectTag(fields[1], tag.integer, 'serialNumber');
  const innerAlgorithm = encoding(der, expectTag(fields[2], tag.sequence, 'signature'));
  const issuer = encoding(der, expectTag(fields[3], tag.sequence, 'issuer'));
  const validity = children(der, expectTag(fields[4], tag.sequence, 'validity'));
  if (validity.length !== 2) throw malformed('certificate DER: validity must have two times');
  const subject = encoding(der, expectTag(fields[5], tag.sequence, 'subject'));
  const spki = encoding(der, expectTag(fields[6], tag.sequence, 'subjectPublicKeyInfo'));
  let extensions = new Map<string, Extension>();
  for (const field of fields.slice(7)) {
    if (field.tag === 0x81 || field.tag === 0xa1 || field.tag === 0x82 || field.tag === 0xa2) continue;
    if (field.tag !== tag.context3 || extensions.size > 0) throw malformed(`certificate DER: unexpected field 0x${field.tag.toString(16)}`);
    extensions = parseExtensions(der, field);
  }
  return {
    innerAlgorithm,
    issuer,
    subject,
    notBefore: decodeTime(der, validity[0]!, 'notBefore'),
    notAfter: decodeTime(der, validity[1]!, 'notAfter'),
    spki,
    extensions,
  };
}

function parseExtensions(der: Uint8Array, wrapper: DerNode): Map<string, Extension> {
  const [list, extra] = children(der, wrapper);
  if (extra !== undefined) throw malformed('certificate DER: extensions wrapper holds more than one value');
  const extensions = new Map<string, Extension>();
  for (const node of children(der, expectTag(list, tag.sequence, 'extensions'))) {
    const parts = children(der, expectTag(node, tag.sequence, 'extension'));
    const id = decodeOid(der, parts[0]!);
    const hasCritical = parts.length === 3;
    if (parts.length !== 2 && !hasCritical) throw malformed(`certificate DER: extension ${id} has ${parts.length} fields`);
    const critical = hasCritical ? decodeBoolean(der, parts[1]!, `extension ${id} critical flag`) : false;
    const value = content(der, expectTag(parts[hasCritical ? 2 : 1], tag.octetString, `extension ${id} value`));
    if (extensions.has(id)) throw malformed(`certificate DER: extension ${id} appears twice`);
    extensions.set(id, { critical, value });
  }
  return extensions;
}

// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
function isCa(extensions: ReadonlyMap<string, Extension>): boolean {
  const extension = extensions.get(oid.basicConstraints);
  if (extension === undefined) return false;
  const value = extension.value;
  const [first] = children(value, expectTag(readRoot(value), tag.sequence, 'basicConstraints'));
  return first !== undefined && first.tag === tag.boolean && decodeBoolean(value, first, 'basicConstraints cA');
}

function crossCheckedPublicKey(der: Uint8Array, spki: Uint8Array): KeyObject {
  let openssl: X509Certificate;
  let publicKey: KeyObject;
  try {
    openssl = new X509Certificate(asBuffer(der));
    publicKey = createPublicKey({ key: asBuffer(spki), format: 'der', type: 'spki' });
  } catch (error) {
    throw malformed('a certificate or its public key could not be read by OpenSSL', error);
  }
  const opensslSpki = openssl.publicKey.export({ type: 'spki', format: 'der' });
  if (!equalBytes(opensslSpki, spki)) throw malformed('OpenSSL and the DER reader disagree on a certificate public key');
  return publicKey;
}

/**
 * Requires RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt, the only scheme AMD signs its
 * chain with. Pinning the parameters stops a weaker hash being substituted inside a valid structure.
 */
function checkRsaPssSha384(algorithm: Uint8Array, what: string): void {
  const fail = (reason: string): never => {
    throw new AttestationError('SNP_CERT_CHAIN_INVALID', `${what} is not signed with RSASSA-PSS/SHA-384: ${reason}`);
  };
  const [algorithmId, parameters, extra] = children(algorithm, readRoot(algorithm));
  if (decodeOid(algorithm, algorithmId!) !== oid.rsassaPss) fail('another algorithm');
  if (parameters === undefined || parameters.tag !== tag.sequence || extra !== undefined) fail('missing parameters');
  let hash = '';
  let mgfHash = '';
  let salt = -1;
  let trailer = 1;
  for (const field of children(algorithm, parameters!)) {
    const [inner] = children(algorithm, field);
    if (inner === undefined) fail('empty parameter');
    if (field.tag === tag.context0) hash = algorithmOid(algorithm, inner!);
    else if (field.tag === tag.context1) {
      const [mgf, mgfParameters] = children(algorithm, expectTag(inner, tag.sequence, 'maskGenAlgorithm'));
      if (decodeOid(algorithm, mgf!) !== oid.mgf1 || mgfParameters === undefined) fail('mask generation is not MGF1');
      mgfHash = algorithmOid(algorithm, mgfParameters!);
    } else if (field.tag === tag.context2) salt = decodeSmallUnsigned(algorithm, inner!, 'saltLength');
    else if (field.tag === tag.context3) trailer = decodeSmallUnsigned(algorithm, inner!, 'trailerField');
    else fail('unknown parameter');
  }
  if (hash !== oid.sha384 || mgfHash !== oid.sha384 || salt !== 48 || trailer !== 1) fail('unexpected parameters');
}

function algorithmOid(bytes: Uint8Array, node: DerNode): string {
  const [id] = children(bytes, expectTag(node, tag.sequence, 'AlgorithmIdentifier'));
  return decodeOid(bytes, id!);
}

/** Verifies that `issuer` signed `subject`: names chain and the RSA-PSS signature is valid. */
export function verifyIssuedBy(subject: ParsedCertificate, issuer: ParsedCertificate, what: string): void {
  if (!issuer.isCa) throw new AttestationError('SNP_CERT_CHAIN_INVALID', `${what}: the issuer is not a CA certificate`);
  if (!equalBytes(subject.issuer, issuer.subject)) {
    throw new AttestationError('SNP_CERT_CHAIN_INVALID', `${what}: issuer name does not match the signer's subject`);
  }
  checkRsaPssSha384(subject.signatureAlgorithm, what);
  if (issuer.publicKey.asymmetricKeyType !== 'rsa') {
    throw new AttestationError('SNP_CERT_CHAIN_INVALID', `${what}: the signer's key is not RSA`);
  }
  const valid = verify(
    'sha384',
    asBuffer(subject.tbs),
    { key: issuer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
    asBuffer(subject.signature),
  );
  if (!valid) throw new AttestationError('SNP_CERT_CHAIN_INVALID', `${what}: signature does not verify`);
}

export function checkValidity(certificate: ParsedCertificate, now: Date, what: string): void {
  const time = now.getTime();
  if (time < certificate.notBefore.getTime() || time > certificate.notAfter.getTime()) {
    throw new AttestationError(
      'SNP_CERT_EXPIRED',
      `${what} is valid from ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}, not at ${now.toISOString()}`,
    );
  }
}

/** An AMD extension holding a DER INTEGER (the TCB security patch levels). */
export function amdIntegerExtension(certificate: ParsedCertificate, id: string): number | null {
  const extension = certificate.extensions.get(id);
  if (extension === undefined) return null;
  return decodeSmallUnsigned(extension.value, readRoot(extension.value), `extension ${id}`);
}

/** The VCEK product name (an IA5String such as "Milan-B0" or "Genoa"). */
export function amdProductName(certificate: ParsedCertificate): string | null {
  const extension = certificate.extensions.get(oid.amdProductName);
  if (extension === undefined) return null;
  const node = expectTag(readRoot(extension.value), tag.ia5String, 'productName');
  return Buffer.from(content(extension.value, node)).toString('latin1');
}

/** The VCEK hardware ID: the raw extension value is the chip ID (AMD does not wrap it further). */
export function amdHardwareId(certificate: ParsedCertificate): Uint8Array | null {
  return certificate.extensions.get(oid.amdHardwareId)?.value ?? null;
}
