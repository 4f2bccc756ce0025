// Verifying a whole service's attestation offline, from what its nodes serve (/node/quotes,
// /node/network/nodes) and the certificate each node presents over TLS. Trusted: only the service
// certificate the caller pins, AMD's pinned roots, and the measurements the caller expects. For each
// Trusted node:
//
// 1. its quote is present and names it;
// 2. its certificate was issued and signed by the service certificate, and is valid now;
// 3. its node ID is SHA-256 of the certificate's public key (SPKI DER), as CCF derives node IDs;
// 4. its report verifies (SNP: AMD chain, signature, guest policy; virtual: structure only, INSECURE)
//    and its report data is SHA-256 of that same public key: the report binds this node's TLS key;
// 5. the measurement the node claims (quote.measurement) is the one in the verified report;
// 6. with expected measurements given, the measurement is one of them;
// 7. with requireSecure, the platform is secure (not virtual).

import { X509Certificate, createHash } from 'node:crypto';
import { AttestationError } from './errors.ts';
import { verifyEvidence } from './evidence.ts';
import { reportDataForPublicKey, type Evidence, type TrustedArk, type VerifiedAttestation } from './platform.ts';

/** One entry of CCF's GET /node/quotes. */
export interface ServedQuote {
  node_id: string;
  raw: string;
  endorsements?: string;
  format: string;
  measurement?: string;
  uvm_endorsements?: string;
}

/** One entry of CCF's GET /node/network/nodes (the fields used here). */
export interface ServedNode {
  node_id: string;
  status: string;
  rpc_interfaces?: Record<string, { published_address?: string }>;
}

export interface VerifyServiceInput {
  serviceCertPem: string;
  nodes: readonly ServedNode[];
  quotes: readonly ServedQuote[];
  /** Each node's certificate (PEM) as presented over TLS, by node ID; absent when it could not be fetched. */
  nodeCertificates: ReadonlyMap<string, string | { error: string }>;
}

export interface VerifyServiceOptions {
  /** Hex measurements the caller accepts; empty or absent: any measurement (reported, not judged). */
  expectMeasurements?: readonly string[];
  /** Refuse virtual (insecure) nodes. Default false: they pass, shown as not secure. */
  requireSecure?: boolean;
  now?: Date;
  /** Replaces the pinned AMD roots. Tests only. */
  trustedArks?: readonly TrustedArk[];
}

export interface NodeVerdict {
  nodeId: string;
  status: string;
  platform: string | null;
  product: string | null;
  measurement: string | null;
  hostData: string | null;
  secure: boolean | null;
  ok: boolean;
  /** Named reasons, `CODE: detail`; empty when ok. */
  problems: string[];
}

export interface ServiceVerdict {
  ok: boolean;
  nodes: NodeVerdict[];
  /** Problems not tied to one Trusted node (e.g. no Trusted node at all). */
  problems: string[];
}

const hexPattern = /^[0-9a-f]+$/;

function base64Bytes(value: string | undefined, what: string): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', `${what} is not base64`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/** CCF's evidence from a served quote. */
export function evidenceOfServedQuote(quote: ServedQuote): Evidence {
  if (quote.format !== 'AMD_SEV_SNP_v1' && quote.format !== 'Insecure_Virtual') {
    throw new AttestationError('ATTESTATION_FORMAT_UNSUPPORTED', `quote format ${JSON.stringify(String(quote.format))} is not supported`);
  }
  const report = base64Bytes(quote.raw, 'raw');
  const endorsements = base64Bytes(quote.endorsements, 'endorsements');
  return { format: quote.format, report, endorsements: quote.format === 'AMD_SEV_SNP_v1' ? Buffer.from(endorsements).toString('utf8') : endorsements };
}

/** A node certificate's public key (SPKI DER); throws NODE_CERT_MALFORMED. */
export function nodeCertificateKey(certPem: string): Uint8Array {
  try {
    return new Uint8Array(new X509Certificate(certPem).publicKey.export({ format: 'der', type: 'spki' }));
  } catch (error) {
    throw new Error(`NODE_CERT_MALFORMED: ${(error as Error).message}`);
  }
}

/** Checks that the service certificate issued and signed a node certificate, valid at `now`. */
export function checkNodeCertificateEndorsed(certPem: string, serviceCertPem: string, now: Date): void {
  const cert = new X509Certificate(certPem);
  let service: X509Certificate;
  try {
    service = new X509Certificate(serviceCertPem);
  } catch (error) {
    throw new Error(`SERVICE_CERT_MALFORMED: ${(error as Error).message}`);
  }
  if (!cert.checkIssued(service) || !cert.verify(service.publicKey)) {
    throw new Error('NODE_CERT_NOT_ENDORSED: the node certificate is not signed by the service certificate');
  }
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
    throw new Error(`NODE_CERT_EXPIRED: valid ${cert.validFrom} to ${cert.validTo}`);
  }
}

function describe(error: unknown): string {
  if (error instanceof AttestationError) return `${error.code}: ${error.message}`;
  return (error as Error)?.message ?? String(error);
}

export function verifyServiceAttestation(input: VerifyServiceInput, options: VerifyServiceOptions = {}): ServiceVerdict {
  const now = options.now ?? new Date();
  const expected = (options.expectMeasurements ?? []).map((m) => m.trim().toLowerCase());
  const problems: string[] = [];
  for (const [index, m] of expected.entries()) {
    if (!hexPattern.test(m) || (m.length !== 64 && m.length !== 96)) problems.push(`BAD_EXPECTED_MEASUREMENT: --expect-measurement #${index + 1} is not 32 or 48 bytes of hex`);
  }
  const trusted = input.nodes.filter((node) => node.status === 'Trusted');
  if (trusted.length === 0) problems.push('NO_TRUSTED_NODES: the service lists no Trusted node');
  const quotesById = new Map<string, ServedQuote[]>();
  for (const quote of input.quotes) {
    const list = quotesById.get(quote.node_id) ?? [];
    list.push(quote);
    quotesById.set(quote.node_id, list);
  }
  for (const id of quotesById.keys()) {
    if (!trusted.some((node) => node.node_id === id)) problems.push(`QUOTE_FOR_UNKNOWN_NODE: /node/quotes has a quote for ${id}, which is not a Trusted node`);
  }

  const nodes = trusted.map((node): NodeVerdict => {
    const verdict: NodeVerdict = { nodeId: node.node_id, status: node.status, platform: null, product: null, measurement: null, hostData: null, secure: null, ok: false, problems: [] };
    const fail = (problem: string) => verdict.problems.push(problem);
    const quotes = quotesById.get(node.node_id) ?? [];
    if (quotes.length !== 1) {
      fail(quotes.length === 0 ? 'NO_QUOTE: /node/quotes has no quote for this node' : 'DUPLICATE_QUOTE: /node/quotes has several quotes for this node');
      return verdict;
    }
    const quote = quotes[0]!;
    const cert = input.nodeCertificates.get(node.node_id);
    let publicKeyDer: Uint8Array | null = null;
    if (cert === undefined || typeof cert !== 'string') {
      fail(`NODE_CERT_UNAVAILABLE: ${cert === undefined ? 'no certificate was obtained for this node' : cert.error}`);
    } else {
      try {
        publicKeyDer = nodeCertificateKey(cert);
        checkNodeCertificateEndorsed(cert, input.serviceCertPem, now);
      } catch (error) {
        fail(describe(error));
      }
      if (publicKeyDer !== null) {
        const keyId = createHash('sha256').update(publicKeyDer).digest('hex');
        if (keyId !== node.node_id.toLowerCase()) fail(`NODE_ID_MISMATCH: the certificate's key has ID ${keyId}, not this node's ID`);
      }
    }
    let verified: VerifiedAttestation | null = null;
    try {
      verified = verifyEvidence(evidenceOfServedQuote(quote), {
        allowVirtual: true,
        // Without the certificate the report is still checked, but cannot be bound to a key.
        expectedReportData: publicKeyDer === null ? 'any' : reportDataForPublicKey(publicKeyDer),
        trustedMeasurements: 'any',
        trustedHostData: 'any',
        minimumTcb: 'any',
        now,
        ...(options.trustedArks ? { trustedArks: options.trustedArks } : {}),
      });
    } catch (error) {
      fail(describe(error));
    }
    if (verified !== null) {
      verdict.platform = verified.platform;
      verdict.product = verified.product;
      verdict.measurement = verified.measurement;
      verdict.hostData = verified.hostData;
      verdict.secure = verified.secure;
      if (quote.measurement !== undefined && quote.measurement.toLowerCase() !== verified.measurement) {
        fail(`MEASUREMENT_CLAIM_MISMATCH: the node claims ${quote.measurement}, its report says ${verified.measurement}`);
      }
      if (expected.length > 0 && !expected.includes(verified.measurement)) {
        fail(`MEASUREMENT_NOT_EXPECTED: ${verified.measurement} is not among the expected measurements`);
      }
      if (options.requireSecure && !verified.secure) fail('NOT_SECURE: the node attests on the virtual platform, which proves nothing');
    }
    verdict.ok = verdict.problems.length === 0;
    return verdict;
  });
  return { ok: problems.length === 0 && nodes.every((n) => n.ok), nodes, problems };
}
