// Test support, not production code: a throwaway AMD-shaped endorsement chain (fake ARK -> ASK ->
// VCEK, RSASSA-PSS/SHA-384 and ECDSA P-384 as AMD uses, RFC 5280 DER written by hand) and a way to
// re-sign edited SEV-SNP reports with the fake VCEK. A fake ARK is not pinned, so the verifier refuses
// everything it signs unless a test injects it through `trustedArks`.

import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { SnpProduct, TcbVersion, TrustedArk } from '../platform.ts';
import { derToPem, oid as knownOid } from './certs.ts';
import { encodeTcb, snpSignatureOffset, snpSignedBytes } from './report.ts';

// --- A small DER writer (X.690) ---------------------------------------------------------------

function tlv(tagByte: number, body: Uint8Array): Uint8Array {
  let header: number[];
  if (body.length < 0x80) header = [tagByte, body.length];
  else {
    const lengthBytes: number[] = [];
    for (let n = body.length; n > 0; n = Math.floor(n / 256)) lengthBytes.unshift(n % 256);
    header = [tagByte, 0x80 | lengthBytes.length, ...lengthBytes];
  }
  return Buffer.concat([Buffer.from(header), body]);
}
const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
export const der = {
  seq: (...parts: Uint8Array[]) => tlv(0x30, cat(...parts)),
  set: (...parts: Uint8Array[]) => tlv(0x31, cat(...parts)),
  explicit: (n: number, ...parts: Uint8Array[]) => tlv(0xa0 + n, cat(...parts)),
  octets: (bytes: Uint8Array) => tlv(0x04, bytes),
  bits: (bytes: Uint8Array) => tlv(0x03, cat(Uint8Array.of(0), bytes)),
  null: () => Uint8Array.of(0x05, 0x00),
  bool: (value: boolean) => Uint8Array.of(0x01, 0x01, value ? 0xff : 0x00),
  utf8: (text: string) => tlv(0x0c, Buffer.from(text, 'utf8')),
  ia5: (text: string) => tlv(0x16, Buffer.from(text, 'latin1')),
  int(value: number): Uint8Array {
    const bytes: number[] = [];
    for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    if (bytes.length === 0 || bytes[0]! >= 0x80) bytes.unshift(0);
    return tlv(0x02, Uint8Array.from(bytes));
  },
  oid(dotted: string): Uint8Array {
    const arcs = dotted.split('.').map(Number);
    const body: number[] = [];
    for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
      const chunk = [arc & 0x7f];
      for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
      body.push(...chunk);
    }
    return tlv(0x06, Uint8Array.from(body));
  },
  time(date: Date): Uint8Array {
    const iso = date.toISOString();
    const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
    return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
  },
};

const rsaPssSha384 = der.seq(
  der.oid(knownOid.rsassaPss),
  der.seq(
    der.explicit(0, der.seq(der.oid(knownOid.sha384), der.null())),
    der.explicit(1, der.seq(der.oid(knownOid.mgf1), der.seq(der.oid(knownOid.sha384), der.null()))),
    der.explicit(2, der.int(48)),
  ),
);
// RSASSA-PKCS1-v1_5 with SHA-384, to show the verifier refuses a scheme AMD does not use.
const rsaPkcs1Sha384 = der.seq(der.oid('1.2.840.113549.1.1.12'), der.null());
// PSS parameters naming SHA-256 and a 32-byte salt: a label the verifier must not ignore.
const sha256 = '2.16.840.1.101.3.4.2.1';
const rsaPssSha256Label = der.seq(
  der.oid(knownOid.rsassaPss),
  der.seq(
    der.explicit(0, der.seq(der.oid(sha256), der.null())),
    der.explicit(1, der.seq(der.oid(knownOid.mgf1), der.seq(der.oid(sha256), der.null()))),
    der.explicit(2, der.int(32)),
  ),
);

/** How a certificate is signed: AMD's scheme, PKCS#1 v1.5, or AMD's scheme under a SHA-256 label. */
export type TestSignatureScheme = 'pss' | 'pkcs1' | 'pss-labelled-sha256';

const name = (commonName: string) => der.seq(der.set(der.seq(der.oid('2.5.4.3'), der.utf8(commonName))));
const extension = (id: string, value: Uint8Array, critical = false) =>
  der.seq(der.oid(id), ...(critical ? [der.bool(true)] : []), der.octets(value));

interface CertificateSpec {
  serial: number;
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signer: KeyObject;
  extensions: Uint8Array[];
  notBefore: Date;
  notAfter: Date;
  scheme?: TestSignatureScheme;
}

export function makeCertificate(spec: CertificateSpec): Uint8Array {
  const scheme = spec.scheme ?? 'pss';
  const algorithm = scheme === 'pkcs1' ? rsaPkcs1Sha384 : scheme === 'pss' ? rsaPssSha384 : rsaPssSha256Label;
  const tbs = der.seq(
    der.explicit(0, der.int(2)),
    der.int(spec.serial),
    algorithm,
    name(spec.issuer),
    der.seq(der.time(spec.notBefore), der.time(spec.notAfter)),
    name(spec.subject),
    new Uint8Array(spec.publicKey.export({ type: 'spki', format: 'der' })),
    der.explicit(3, der.seq(...spec.extensions)),
  );
  const signature =
    scheme === 'pkcs1'
      ? sign('sha384', tbs, spec.signer)
      : sign('sha384', tbs, { key: spec.signer, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
  return der.seq(tbs, algorithm, der.bits(signature));
}

// --- The chain ---------------------------------------------------------------------------------

export interface TestChainOptions {
  product: SnpProduct;
  chipId: Uint8Array;
  tcb: TcbVersion;
  /** Written to the VCEK's productName extension; defaults to the product. */
  productName?: string | null;
  omitHardwareId?: boolean;
  vcekNotAfter?: Date;
  /** Leave the CA flag off the ASK (it still signs the VCEK). */
  askNotCa?: boolean;
  /** Put another issuer name in the VCEK than the ASK's subject (the ASK still signs it). */
  vcekIssuerName?: string;
  /** How the ASK signs the VCEK (default: RSASSA-PSS/SHA-384 as AMD does). */
  vcekScheme?: TestSignatureScheme;
}

export interface TestChain {
  arkPem: string;
  askPem: string;
  vcekPem: string;
  /** VCEK, ASK, ARK: the order the verifier expects. */
  endorsements: string;
  vcekPrivateKey: KeyObject;
  trustedArk: TrustedArk;
}

// RSA key generation is the slow part; tests share a few keys, which is fine for throwaway roots.
let rsaKeys: { ark: { publicKey: KeyObject; privateKey: KeyObject }; ask: { publicKey: KeyObject; privateKey: KeyObject } } | undefined;

export function createTestChain(options: TestChainOptions): TestChain {
  rsaKeys ??= {
    ark: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ask: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  };
  const vcekKeys = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const notBefore = new Date('2024-01-01T00:00:00Z');
  const notAfter = new Date('2049-01-01T00:00:00Z');
  const ca = [extension(knownOid.basicConstraints, der.seq(der.bool(true)), true)];
  const arkName = `ARK-${options.product}`;
  const askName = `SEV-${options.product}`;
  const ark = makeCertificate({ serial: 1, subject: arkName, issuer: arkName, publicKey: rsaKeys.ark.publicKey, signer: rsaKeys.ark.privateKey, extensions: ca, notBefore, notAfter });
  const askExtensions = options.askNotCa ? [extension('2.5.29.15', Uint8Array.of(0x03, 0x02, 0x01, 0x06))] : ca;
  const ask = makeCertificate({ serial: 2, subject: askName, issuer: arkName, publicKey: rsaKeys.ask.publicKey, signer: rsaKeys.ark.privateKey, extensions: askExtensions, notBefore, notAfter });
  const vcek = makeCertificate({
    serial: 3,
    subject: 'SEV-VCEK',
    issuer: options.vcekIssuerName ?? askName,
    publicKey: vcekKeys.publicKey,
    signer: rsaKeys.ask.privateKey,
    extensions: vcekExtensions(options),
    notBefore,
    notAfter: options.vcekNotAfter ?? notAfter,
    scheme: options.vcekScheme ?? 'pss',
  });
  const [arkPem, askPem, vcekPem] = [ark, ask, vcek].map(derToPem) as [string, string, string];
  return {
    arkPem,
    askPem,
    vcekPem,
    endorsements: vcekPem + askPem + arkPem,
    vcekPrivateKey: vcekKeys.privateKey,
    trustedArk: { product: options.product, certificatePem: arkPem },
  };
}

function vcekExtensions(options: TestChainOptions): Uint8Array[] {
  const spl = (n: number, value: number) => extension(`${knownOid.amdTcbPrefix}${n}`, der.int(value));
  const extensions = [extension('1.3.6.1.4.1.3704.1.1', der.int(0))];
  const productName = options.productName === undefined ? options.product : options.productName;
  if (productName !== null) extensions.push(extension(knownOid.amdProductName, der.ia5(productName)));
  extensions.push(spl(1, options.tcb.bootloader), spl(2, options.tcb.tee), spl(3, options.tcb.snp), spl(8, options.tcb.microcode));
  if (options.product === 'Turin') extensions.push(spl(9, options.tcb.fmc ?? 0));
  const hardwareId = options.product === 'Turin' ? options.chipId.subarray(0, 8) : options.chipId;
  if (!options.omitHardwareId) extensions.push(extension(knownOid.amdHardwareId, hardwareId));
  return extensions;
}

// --- Reports -----------------------------------------------------------------------------------

/** Writes r and s (little-endian, zero-padded to 72 bytes) over the report's signed region. */
export function signReport(report: Uint8Array, vcekPrivateKey: KeyObject): Uint8Array {
  const signed = new Uint8Array(report);
  signed.fill(0, snpSignatureOffset);
  const signature = sign('sha384', signed.subarray(0, snpSignedBytes), { key: vcekPrivateKey, dsaEncoding: 'ieee-p1363' });
  signed.set(Uint8Array.from(signature.subarray(0, 48)).reverse(), snpSignatureOffset);
  signed.set(Uint8Array.from(signature.subarray(48, 96)).reverse(), snpSignatureOffset + 72);
  return signed;
}

export interface ReportEdits {
  version?: number;
  policy?: bigint;
  vmpl?: number;
  reportData?: Uint8Array;
  measurement?: Uint8Array;
  hostData?: Uint8Array;
  reportedTcb?: { tcb: TcbVersion; product: SnpProduct };
  cpuid?: { family: number; model: number; stepping: number };
  chipId?: Uint8Array;
  keyInfo?: number;
}

/** Copies a report and edits fields (offsets from the ABI spec); re-sign it afterwards. */
export function editReport(report: Uint8Array, edits: ReportEdits): Uint8Array {
  const edited = new Uint8Array(report);
  const view = new DataView(edited.buffer);
  if (edits.version !== undefined) view.setUint32(0x000, edits.version, true);
  if (edits.policy !== undefined) view.setBigUint64(0x008, edits.policy, true);
  if (edits.vmpl !== undefined) view.setUint32(0x030, edits.vmpl, true);
  if (edits.keyInfo !== undefined) view.setUint32(0x048, edits.keyInfo, true);
  if (edits.reportData !== undefined) edited.set(edits.reportData, 0x050);
  if (edits.measurement !== undefined) edited.set(edits.measurement, 0x090);
  if (edits.hostData !== undefined) edited.set(edits.hostData, 0x0c0);
  if (edits.reportedTcb !== undefined) edited.set(encodeTcb(edits.reportedTcb.tcb, edits.reportedTcb.product), 0x180);
  if (edits.cpuid !== undefined) edited.set([edits.cpuid.family, edits.cpuid.model, edits.cpuid.stepping], 0x188);
  if (edits.chipId !== undefined) edited.set(edits.chipId, 0x1a0);
  return edited;
}
