// Minimal X.509 v3 certificate builder (RFC 5280 §4.1) for ECDSA keys: enough to write the
// self-signed member/user certificates `synod keygen` produces (as CCF's keygenerator.sh does) and
// the certificate chains that tests need. Signing is a callback so that the caller picks the crypto
// (node:crypto in the CLI, @noble/curves in tests); this module only lays out the bytes.
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  AuthorityKeyIdentifier,
  KeyIdentifier,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import type { Curve } from '../verify/ecdsa.ts';
import { encodePublicKeyInfo } from '../verify/x509.ts';

const OID_COMMON_NAME = '2.5.4.3';
const SIGNATURE_OID: Record<'SHA-256' | 'SHA-384', string> = {
  'SHA-256': '1.2.840.10045.4.3.2',
  'SHA-384': '1.2.840.10045.4.3.3',
};

export interface CertificateRequest {
  subjectCommonName: string;
  issuerCommonName: string;
  /** SEC1 uncompressed point of the subject's key. */
  subjectPoint: Uint8Array;
  subjectCurve: Curve;
  /** Positive serial number as big-endian bytes (at most 20). */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  isCertificateAuthority: boolean;
  signatureHash: 'SHA-256' | 'SHA-384';
  /** SHA-1 key identifiers (RFC 5280 §4.2.1.1/2) to write, as CCF and OpenSSL do. */
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  /** Signs the DER TBSCertificate with the issuer key (hashing with signatureHash) and returns a DER ECDSA signature. */
  sign: (tbsDer: Uint8Array) => Uint8Array;
}

export { encodePublicKeyInfo };

/** Builds and signs a certificate; returns its DER. */
export function buildCertificate(req: CertificateRequest): Uint8Array {
  if (req.serial.length === 0 || req.serial.length > 20 || req.serial[0]! >= 0x80) {
    throw new TypeError('serial must be 1..20 bytes with the top bit clear');
  }
  const algorithm = new AlgorithmIdentifier({ algorithm: SIGNATURE_OID[req.signatureHash] });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: req.serial.slice().buffer,
    signature: algorithm,
    issuer: commonName(req.issuerCommonName),
    validity: new Validity({ notBefore: req.notBefore, notAfter: req.notAfter }),
    subject: commonName(req.subjectCommonName),
    subjectPublicKeyInfo: AsnConvert.parse(encodePublicKeyInfo(req.subjectCurve, req.subjectPoint), SubjectPublicKeyInfo),
    extensions: new Extensions(extensions(req)),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = req.sign(tbsDer);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: signature.slice().buffer });
  return new Uint8Array(AsnConvert.serialize(cert));
}

function extensions(req: CertificateRequest): Extension[] {
  const out = [
    new Extension({
      extnID: id_ce_basicConstraints,
      critical: true,
      extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: req.isCertificateAuthority }))),
    }),
  ];
  if (req.subjectKeyId) {
    const value = AsnConvert.serialize(new SubjectKeyIdentifier(req.subjectKeyId.slice().buffer));
    out.push(new Extension({ extnID: id_ce_subjectKeyIdentifier, critical: false, extnValue: new OctetString(value) }));
  }
  if (req.authorityKeyId) {
    const value = AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(req.authorityKeyId.slice().buffer) }));
    out.push(new Extension({ extnID: id_ce_authorityKeyIdentifier, critical: false, extnValue: new OctetString(value) }));
  }
  return out;
}

function commonName(cn: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new AttributeValue({ utf8String: cn }) }),
    ]),
  ]);
}
