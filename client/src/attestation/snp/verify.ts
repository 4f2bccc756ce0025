// SEV-SNP report verification: AMD "SEV Secure Nested Paging Firmware ABI Specification" (56860) for
// the report and its signature, AMD "VCEK Certificate and KDS Interface Specification" (57230) for the
// VCEK -> ASK -> ARK chain, following the checks CCF makes (src/pal/attestation.cpp).
//
// Order matters. First establish authenticity (structure, chain to a pinned AMD root, signature), and
// only then read anything the report claims: a policy bit or a measurement from an unsigned report
// means nothing. The only fields consulted before the signature are those needed to find the key
// (signature algorithm, signing key) and the CPUID, which names the product whose root must sign.

import { createHash, verify } from 'node:crypto';
import { asBuffer, equalBytes, isAllZero, toHex } from '../bytes.ts';
import { AttestationError } from '../errors.ts';
import { endorsementCertificateCount, verifiedChainCacheEntriesMax } from '../limits.ts';
import {
  checkCommonOptions,
  tcbMeetsMinimum,
  type MinimumTcb,
  type SnpProduct,
  type TcbVersion,
  type TrustedArk,
  type VerifiedAttestation,
  type VerifyOptions,
} from '../platform.ts';
import {
  amdHardwareId,
  amdIntegerExtension,
  amdProductName,
  amdTcbExtension,
  checkValidity,
  oid,
  parseCertificate,
  splitPemBundle,
  verifyIssuedBy,
  type ParsedCertificate,
} from './certs.ts';
import {
  decodeTcb,
  parseSnpReport,
  productFromCpuid,
  signingKey,
  snpSignatureAlgorithmEcdsaP384Sha384,
  snpSignatureScalarBytes,
  type SnpReport,
} from './report.ts';
import { pinnedArks } from './roots.ts';

export const snpMeasurementBytes = 48;
export const snpHostDataBytes = 32;
export const vmplMaxDefault = 0;

export interface SnpVerifiedAttestation extends VerifiedAttestation {
  platform: 'snp';
  product: SnpProduct;
  tcb: TcbVersion;
  snpReport: SnpReport;
}

interface TrustedRoot {
  product: SnpProduct;
  certificate: ParsedCertificate;
}

let pinnedRoots: readonly TrustedRoot[] | undefined;

function parseRoots(arks: readonly TrustedArk[]): readonly TrustedRoot[] {
  return arks.map((ark) => {
    const ders = splitPemBundle(ark.certificatePem);
    if (ders.length !== 1) throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `trusted ARK for ${ark.product} must be one certificate`);
    return { product: ark.product, certificate: parseCertificate(ders[0]!) };
  });
}

/**
 * Verifies an SEV-SNP report against its endorsements (PEM: VCEK, ASK, ARK) and the caller's policy.
 * Returns what the report attests; throws AttestationError naming the first check that failed.
 */
export function verifySnpReport(reportBytes: Uint8Array, endorsements: string | Uint8Array, options: VerifyOptions): SnpVerifiedAttestation {
  const common = checkCommonOptions(options, snpMeasurementBytes, snpHostDataBytes);
  const snp = checkSnpOptions(options);
  const report = parseSnpReport(reportBytes);
  const chain = verifyChain(endorsements, snp.roots, snp.now);
  const cpuidProduct = productFromCpuid(report.cpuid);
  if (cpuidProduct !== null && cpuidProduct !== chain.product) {
    throw new AttestationError(
      'SNP_ROOT_OF_TRUST_MISMATCH',
      `the report comes from a ${cpuidProduct} processor, but its endorsements chain to the ${chain.product} root`,
    );
  }
  verifyReportSignature(report, chain.vcek);
  // Authentic from here on: the report was signed by a genuine AMD processor of chain.product.
  const tcb = decodeTcb(report.tcbRaw.reported, chain.product);
  checkVcekBinding(report, chain.vcek, chain.product, tcb);
  checkGuestPolicy(report, snp.vmplMax);
  checkMinimumTcb(tcb, chain.product, snp.minimumTcb);
  if (common.expectedReportData !== 'any' && !equalBytes(report.reportData, common.expectedReportData)) {
    throw new AttestationError('SNP_REPORT_DATA_MISMATCH', `report data ${toHex(report.reportData)} is not the expected ${toHex(common.expectedReportData)}`);
  }
  const measurement = toHex(report.measurement);
  if (common.trustedMeasurements !== 'any' && !common.trustedMeasurements.has(measurement)) {
    throw new AttestationError('SNP_MEASUREMENT_UNTRUSTED', `measurement ${measurement} is not among the trusted measurements`);
  }
  const hostData = toHex(report.hostData);
  if (common.trustedHostData !== 'any' && !common.trustedHostData.has(hostData)) {
    throw new AttestationError('SNP_HOST_DATA_UNTRUSTED', `host data ${hostData} is not among the trusted host data`);
  }
  return {
    platform: 'snp',
    product: chain.product,
    secure: true,
    measurement,
    hostData,
    reportData: new Uint8Array(report.reportData),
    tcb,
    chipId: toHex(report.chipId),
    policy: report.policy,
    vmpl: report.vmpl,
    reportVersion: report.version,
    snpReport: report,
  };
}

interface SnpOptions {
  vmplMax: number;
  now: Date;
  minimumTcb: MinimumTcb | 'any';
  roots: readonly TrustedRoot[];
}

function checkSnpOptions(options: VerifyOptions): SnpOptions {
  const vmplMax = options.vmplMax ?? vmplMaxDefault;
  if (!Number.isInteger(vmplMax) || vmplMax < 0 || vmplMax > 3) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'vmplMax must be an integer from 0 to 3 (higher levels are host-generated)');
  }
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'now must be a valid Date');
  }
  if (options.minimumTcb !== 'any') checkMinimumTcbOption(options.minimumTcb);
  let roots: readonly TrustedRoot[];
  if (options.trustedArks === undefined) {
    roots = pinnedRoots ??= parseRoots(pinnedArks);
  } else {
    if (!Array.isArray(options.trustedArks) || options.trustedArks.length === 0) {
      throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'trustedArks must be a non-empty array when given');
    }
    for (const ark of options.trustedArks) checkProduct(ark.product, 'trustedArks[].product');
    roots = parseRoots(options.trustedArks);
  }
  return { vmplMax, now, minimumTcb: options.minimumTcb, roots };
}

function checkProduct(product: unknown, what: string): asserts product is SnpProduct {
  if (product !== 'Milan' && product !== 'Genoa' && product !== 'Turin') {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `${what} must be Milan, Genoa or Turin`);
  }
}

function checkMinimumTcbOption(minimumTcb: MinimumTcb): void {
  if (typeof minimumTcb !== 'object' || minimumTcb === null) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', "minimumTcb must be an object keyed by product, or 'any'");
  }
  for (const [product, tcb] of Object.entries(minimumTcb)) {
    checkProduct(product, 'minimumTcb key');
    const fields: (keyof TcbVersion)[] = product === 'Turin' ? ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] : ['bootloader', 'tee', 'snp', 'microcode'];
    for (const field of fields) {
      const value = tcb?.[field];
      if (!Number.isInteger(value) || value! < 0 || value! > 255) {
        throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `minimumTcb.${product}.${field} must be an integer from 0 to 255`);
      }
    }
  }
}

interface Chain {
  product: SnpProduct;
  vcek: ParsedCertificate;
  ask: ParsedCertificate;
  ark: ParsedCertificate;
}

// A chain costs two parses of each certificate and three RSA-4096 verifications, and the same chain
// comes back again and again (a node re-joining, an auditor replaying joins). Chains verified against
// the pinned roots are remembered by the SHA-256 of their bytes; the validity dates are not part of
// what is remembered and are checked on every call against that call's `now`.
const verifiedChains = new Map<string, Chain>();

function verifyChain(endorsements: string | Uint8Array, roots: readonly TrustedRoot[], now: Date): Chain {
  const cacheable = roots === pinnedRoots;
  const key = cacheable ? endorsementsDigest(endorsements) : '';
  let chain = cacheable ? verifiedChains.get(key) : undefined;
  if (chain === undefined) {
    chain = verifyChainSignatures(endorsements, roots);
    if (cacheable) {
      if (verifiedChains.size >= verifiedChainCacheEntriesMax) verifiedChains.delete(verifiedChains.keys().next().value!);
      verifiedChains.set(key, chain);
    }
  }
  checkValidity(chain.ark, now, 'the ARK');
  checkValidity(chain.ask, now, 'the ASK');
  checkValidity(chain.vcek, now, 'the VCEK');
  return chain;
}

function endorsementsDigest(endorsements: string | Uint8Array): string {
  const hash = createHash('sha256');
  if (typeof endorsements === 'string') hash.update(endorsements, 'utf8');
  else if (endorsements instanceof Uint8Array) hash.update(endorsements);
  else throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'endorsements must be a string or a Uint8Array');
  return hash.digest('hex');
}

/** VCEK signed by ASK, ASK by ARK, ARK self-signed and equal (by public key) to a trusted root. */
function verifyChainSignatures(endorsements: string | Uint8Array, roots: readonly TrustedRoot[]): Chain {
  const ders = splitPemBundle(endorsements);
  if (ders.length !== endorsementCertificateCount) {
    throw new AttestationError('SNP_ENDORSEMENTS_MALFORMED', `endorsements must hold ${endorsementCertificateCount} certificates (VCEK, ASK, ARK), found ${ders.length}`);
  }
  const [vcek, ask, ark] = ders.map((der) => parseCertificate(der)) as [ParsedCertificate, ParsedCertificate, ParsedCertificate];
  const root = roots.find((candidate) => equalBytes(candidate.certificate.spki, ark.spki));
  if (root === undefined) {
    throw new AttestationError('SNP_ROOT_OF_TRUST_UNKNOWN', 'the endorsements end at a root key that is not a pinned AMD ARK');
  }
  verifyIssuedBy(ark, root.certificate, 'ARK (self-signature)');
  verifyIssuedBy(ask, ark, 'ASK (signed by the ARK)');
  verifyIssuedBy(vcek, ask, 'VCEK (signed by the ASK)');
  const details = vcek.publicKey.asymmetricKeyDetails;
  if (vcek.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1') {
    throw new AttestationError('SNP_ENDORSEMENTS_MALFORMED', 'the VCEK key is not an ECDSA P-384 key');
  }
  return { product: root.product, vcek, ask, ark };
}

function verifyReportSignature(report: SnpReport, vcek: ParsedCertificate): void {
  if (report.signatureAlgorithm !== snpSignatureAlgorithmEcdsaP384Sha384) {
    throw new AttestationError('SNP_SIGNATURE_ALGORITHM_UNSUPPORTED', `signature algorithm ${report.signatureAlgorithm} is not ECDSA P-384 with SHA-384`);
  }
  if (report.signingKey !== signingKey.vcek || report.maskChipKey) {
    // VLEK-signed reports chain to a cloud provider's key (ASVK) and carry no chip ID; not supported yet.
    throw new AttestationError('SNP_SIGNING_KEY_UNSUPPORTED', `report signed by key ${report.signingKey}${report.maskChipKey ? ' with the chip key masked' : ''}; only VCEK is supported`);
  }
  const r = report.signatureR;
  const s = report.signatureS;
  // r and s are 72-byte little-endian fields holding 48-byte scalars: the padding and the reserved tail
  // are not signed, so anything but zeros there is refused rather than ignored.
  const scalarsPadded = isAllZero(r.subarray(snpSignatureScalarBytes)) && isAllZero(s.subarray(snpSignatureScalarBytes));
  const tailZero = isAllZero(report.signatureField.subarray(r.length + s.length));
  const signature = new Uint8Array(2 * snpSignatureScalarBytes);
  signature.set(Uint8Array.from(r.subarray(0, snpSignatureScalarBytes)).reverse(), 0);
  signature.set(Uint8Array.from(s.subarray(0, snpSignatureScalarBytes)).reverse(), snpSignatureScalarBytes);
  const valid =
    scalarsPadded &&
    tailZero &&
    verify('sha384', asBuffer(report.signedBytes), { key: vcek.publicKey, dsaEncoding: 'ieee-p1363' }, asBuffer(signature));
  if (!valid) throw new AttestationError('SNP_SIGNATURE_INVALID', 'the report signature does not verify with the VCEK');
}

/**
 * The VCEK is derived for one chip at one TCB; AMD records both in its extensions. Check they are
 * this report's, so that a VCEK cannot vouch for a report it was not issued for.
 */
function checkVcekBinding(report: SnpReport, vcek: ParsedCertificate, product: SnpProduct, tcb: TcbVersion): void {
  const mismatch = (what: string): never => {
    throw new AttestationError('SNP_VCEK_MISMATCH', `the VCEK ${what}`);
  };
  const hardwareId = amdHardwareId(vcek);
  const chipId = product === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId;
  if (hardwareId === null) mismatch('has no hardware ID extension');
  if (!equalBytes(hardwareId!, chipId)) mismatch(`was issued for chip ${toHex(hardwareId!)}, not ${toHex(chipId)}`);
  const fields: (keyof typeof amdTcbExtension)[] = product === 'Turin' ? ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] : ['bootloader', 'tee', 'snp', 'microcode'];
  for (const field of fields) {
    const endorsed = amdIntegerExtension(vcek, `${oid.amdTcbPrefix}${amdTcbExtension[field]}`);
    if (endorsed === null) mismatch(`has no ${field} TCB extension`);
    if (endorsed !== tcb[field]) mismatch(`was issued for ${field} level ${endorsed}, the report has ${tcb[field]}`);
  }
  const productName = amdProductName(vcek);
  if (productName !== null && productName !== product && !productName.startsWith(`${product}-`)) {
    mismatch(`names product ${productName}, but chains to the ${product} root`);
  }
}

function checkGuestPolicy(report: SnpReport, vmplMax: number): void {
  const policy = report.policy;
  if (!policy.reservedBitSet || policy.unknownBits.length > 0) {
    throw new AttestationError('SNP_POLICY_UNKNOWN_BITS', `guest policy ${policy.rawHex} sets bits this verifier does not understand`);
  }
  if (policy.debugAllowed) {
    throw new AttestationError('SNP_DEBUG_POLICY', 'the guest policy allows debugging, so the host can read and change guest memory');
  }
  if (policy.migrationAgentAllowed) {
    throw new AttestationError('SNP_MIGRATION_AGENT', 'the guest policy allows a migration agent, which could clone this node');
  }
  if (report.vmpl > vmplMax) {
    throw new AttestationError('SNP_VMPL_TOO_HIGH', `the report was requested at VMPL ${report.vmpl}; at most ${vmplMax} is accepted`);
  }
}

function checkMinimumTcb(tcb: TcbVersion, product: SnpProduct, minimumTcb: MinimumTcb | 'any'): void {
  if (minimumTcb === 'any') return;
  const minimum = minimumTcb[product];
  if (minimum === undefined) {
    throw new AttestationError('SNP_TCB_TOO_LOW', `no minimum TCB is configured for ${product}, so none is accepted`);
  }
  if (!tcbMeetsMinimum(tcb, minimum)) {
    throw new AttestationError('SNP_TCB_TOO_LOW', `reported TCB ${JSON.stringify(tcb)} is below the minimum ${JSON.stringify(minimum)} for ${product}`);
  }
}
