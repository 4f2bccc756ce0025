// `synod keygen`: an ECDSA identity for a member or user, written as CCF's keygenerator.sh writes it:
// `<name>_privk.pem` (SEC1 "EC PRIVATE KEY") and `<name>_cert.pem` (self-signed, CN=<name>, one year).
// Key generation and signing use node:crypto (this runs in Node only); the certificate layout is
// tools/x509-builder.ts.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, UsageErrorCode } from '../errors.ts';
import { buildCertificate } from '../tools/x509-builder.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, derToPem } from '../verify/encoding.ts';
import type { Curve } from '../verify/ecdsa.ts';
import { keyIdentifier, parseCertificate, parsePublicKey, publicKeyId } from '../verify/x509.ts';

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const VALIDITY_DAYS = 365;

export interface KeygenOptions {
  name: string;
  curve: Curve;
  outDir: string;
  force: boolean;
}

export interface KeygenResult {
  certPath: string;
  privateKeyPath: string;
  /** Member/user ID: hex SHA-256 of the certificate DER. */
  id: string;
  /** Hex SHA-256 of the public key (SubjectPublicKeyInfo DER). */
  keyId: string;
}

export function keygen(options: KeygenOptions): KeygenResult {
  if (!NAME_RE.test(options.name)) {
    throw new UsageError(UsageErrorCode.invalidArgument, `--name must be 1-64 characters of letters, digits, '_', '.', '-'`);
  }
  if (options.curve !== 'P-256' && options.curve !== 'P-384') {
    throw new UsageError(UsageErrorCode.invalidArgument, `--curve must be P-256 or P-384`);
  }
  const certPath = join(options.outDir, `${options.name}_cert.pem`);
  const privateKeyPath = join(options.outDir, `${options.name}_privk.pem`);
  for (const path of [certPath, privateKeyPath]) {
    if (!options.force && existsSync(path)) throw new UsageError(UsageErrorCode.invalidArgument, `${path} exists (use --force to overwrite)`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: options.curve });
  const key = parsePublicKey(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })));
  const hash = options.curve === 'P-384' ? 'sha384' : 'sha256';
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01; // positive and without a leading zero byte
  const der = buildCertificate({
    subjectCommonName: options.name,
    issuerCommonName: options.name,
    subjectPoint: key.point,
    subjectCurve: key.curve,
    serial,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALIDITY_DAYS * 86_400_000),
    isCertificateAuthority: true,
    subjectKeyId: keyIdentifier(key),
    authorityKeyId: keyIdentifier(key),
    signatureHash: options.curve === 'P-384' ? 'SHA-384' : 'SHA-256',
    sign: (tbs) => new Uint8Array(sign(hash, tbs, { key: privateKey, dsaEncoding: 'der' })),
  });
  parseCertificate(der); // paired check: what we wrote must read back
  const privatePem = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  try {
    writeFileSync(privateKeyPath, privatePem, { mode: 0o600 });
    writeFileSync(certPath, derToPem(der));
  } catch (e) {
    throw new UsageError(UsageErrorCode.io, `cannot write identity files in ${options.outDir}: ${(e as Error).message}`);
  }
  return { certPath, privateKeyPath, id: bytesToHex(sha256(der)), keyId: publicKeyId(key) };
}
