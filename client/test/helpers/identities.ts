// Member and user identities for client tests, made as `synod keygen` makes them (self-signed
// certificate, SEC 1 key), in memory; the PKCS#8 form of the same key is what the sandbox writes.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { buildCertificate } from '../../src/tools/x509-builder.ts';
import { derToPem } from '../../src/verify/encoding.ts';
import type { Curve } from '../../src/verify/ecdsa.ts';
import { keyIdentifier, parsePublicKey } from '../../src/verify/x509.ts';

export interface TestIdentity {
  certPem: string;
  /** SEC 1 "EC PRIVATE KEY". */
  keyPem: string;
  /** The same key as PKCS#8 "PRIVATE KEY". */
  pkcs8Pem: string;
  curve: Curve;
}

export function makeIdentity(name: string, curve: Curve = 'P-384'): TestIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const key = parsePublicKey(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const der = buildCertificate({
    subjectCommonName: name,
    issuerCommonName: name,
    subjectPoint: key.point,
    subjectCurve: curve,
    serial,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    isCertificateAuthority: true,
    subjectKeyId: keyIdentifier(key),
    authorityKeyId: keyIdentifier(key),
    signatureHash: curve === 'P-384' ? 'SHA-384' : 'SHA-256',
    sign: (tbs) => new Uint8Array(sign(curve === 'P-384' ? 'sha384' : 'sha256', tbs, privateKey)),
  });
  const keyPem = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const pkcs8Pem = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem: derToPem(der), keyPem, pkcs8Pem, curve };
}
