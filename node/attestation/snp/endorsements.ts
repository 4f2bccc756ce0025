// Fetching and caching SEV-SNP endorsements (VCEK, ASK, ARK) for a report: AMD "VCEK Certificate and
// KDS Interface Specification" (57230) for the Key Distribution Service, and the sources CCF supports
// (include/ccf/pal/attestation_sev_snp_endorsements.h).
//
// Where platforms serve them:
// - the host, in the extended report's certificate table (configfs-tsm `auxblob`, see device.ts);
// - AMD KDS: GET {base}/vcek/v1/{product}/{hwid}?blSPL&teeSPL&snpSPL&ucodeSPL[&fmcSPL] answers the VCEK
//   in DER; GET {base}/vcek/v1/{product}/cert_chain answers the ASK then the ARK in PEM;
// - Azure's certificate cache: GET {base}/SevSnpVM/certificates/{chipId}/{tcb}?api-version=2020-10-15-preview
//   answers a PEM chain;
// - THIM on Azure confidential containers: GET http://169.254.169.254/metadata/THIM/amd/certification
//   with header `Metadata: true` answers JSON {vcekCert, certificateChain, tcbm, cacheControl};
// - a host-provided file with a PEM chain or that THIM JSON (ACI passes it base64-encoded in
//   UVM_HOST_AMD_CERTIFICATE).
// None of these is trusted: whatever they return is verified by snp/verify.ts against the pinned roots
// and the report itself (chip ID and TCB in the VCEK), so a stale or wrong answer is refused there.

import { readFile } from 'node:fs/promises';
import { toHex } from '../bytes.ts';
import { AttestationError } from '../errors.ts';
import { endorsementCertificateCount, endorsementsCacheEntriesMax, endorsementsFetchTimeoutMs, endorsementsResponseBytesMax } from '../limits.ts';
import type { SnpProduct } from '../platform.ts';
import { derToPem, splitPemBundle } from './certs.ts';
import { decodeTcb, kdsHardwareId, productFromCpuid, tcbU64Hex, type SnpReport } from './report.ts';

export const amdKdsBaseUrl = 'https://kdsintf.amd.com';
export const azureCacheBaseUrl = 'https://global.acccache.azure.net';
export const thimUrl = 'http://169.254.169.254/metadata/THIM/amd/certification';

export type EndorsementsSource =
  | { kind: 'amd-kds'; baseUrl?: string }
  | { kind: 'azure-cache'; baseUrl?: string }
  | { kind: 'thim'; url?: string }
  | { kind: 'file'; path: string };

export type FetchLike = (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;

export interface EndorsementsProviderOptions {
  source: EndorsementsSource;
  /** Defaults to the global fetch; tests inject one (no network in tests). */
  fetch?: FetchLike;
  readFile?: (path: string) => Promise<Uint8Array>;
  timeoutMs?: number;
  /** For version 2 reports, which carry no CPUID to name the product. */
  product?: SnpProduct;
}

export interface EndorsementsProvider {
  /** The PEM bundle VCEK, ASK, ARK for this report, from the cache when it was fetched before. */
  get(report: SnpReport): Promise<string>;
}

function unavailable(message: string, cause?: unknown): AttestationError {
  return new AttestationError('SNP_ENDORSEMENTS_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

export function createEndorsementsProvider(options: EndorsementsProviderOptions): EndorsementsProvider {
  const source = options.source;
  if (typeof source !== 'object' || source === null || !['amd-kds', 'azure-cache', 'thim', 'file'].includes(source.kind)) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'source must be amd-kds, azure-cache, thim or file');
  }
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const read = options.readFile ?? (async (path: string) => new Uint8Array(await readFile(path)));
  const timeoutMs = options.timeoutMs ?? endorsementsFetchTimeoutMs;
  const cache = new Map<string, Promise<string>>();

  // Remembers successful answers (and in-flight requests, so concurrent callers share one fetch).
  const cached = (key: string, load: () => Promise<string>): Promise<string> => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    if (cache.size >= endorsementsCacheEntriesMax) cache.delete(cache.keys().next().value!);
    const pending = load();
    cache.set(key, pending);
    pending.catch(() => {
      if (cache.get(key) === pending) cache.delete(key);
    });
    return pending;
  };
  const get = (url: string, headers: Record<string, string> = {}) => fetchBounded(fetchImpl, url, headers, timeoutMs);

  return {
    async get(report: SnpReport): Promise<string> {
      const product = productFromCpuid(report.cpuid) ?? options.product;
      switch (source.kind) {
        case 'amd-kds': {
          if (product === undefined) throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'the report names no product (version 2); configure `product`');
          const base = source.baseUrl ?? amdKdsBaseUrl;
          const vcekUrl = kdsVcekUrl(base, product, report);
          const chainUrl = `${base}/vcek/v1/${product}/cert_chain`;
          // The ASK/ARK chain is the same for every chip of a product, so it is cached on its own.
          return cached(vcekUrl, async () => {
            const [vcekDer, chain] = await Promise.all([get(vcekUrl), cached(chainUrl, async () => text(await get(chainUrl)))]);
            return normaliseBundle(derToPem(vcekDer) + chain);
          });
        }
        case 'azure-cache': {
          const url = `${source.baseUrl ?? azureCacheBaseUrl}/SevSnpVM/certificates/${toHex(report.chipId)}/${tcbU64Hex(report.tcbRaw.reported)}?api-version=2020-10-15-preview`;
          return cached(url, async () => normaliseBundle(text(await get(url))));
        }
        case 'thim': {
          const url = source.url ?? thimUrl;
          return cached(url, async () => fromThimJson(text(await get(url, { Metadata: 'true' }))));
        }
        case 'file':
          return cached(`file:${source.path}`, async () => fromHostFile(await read(source.path).catch((error) => Promise.reject(unavailable(`cannot read ${source.path}`, error)))));
      }
    },
  };
}

/** The KDS VCEK URL: hardware ID (8 bytes from Turin on) and the reported TCB's security patch levels. */
export function kdsVcekUrl(base: string, product: SnpProduct, report: SnpReport): string {
  const tcb = decodeTcb(report.tcbRaw.reported, product);
  const levels = new URLSearchParams({ blSPL: String(tcb.bootloader), teeSPL: String(tcb.tee), snpSPL: String(tcb.snp), ucodeSPL: String(tcb.microcode) });
  if (product === 'Turin') levels.set('fmcSPL', String(tcb.fmc ?? 0));
  return `${base}/vcek/v1/${product}/${kdsHardwareId(report.chipId, product)}?${levels.toString()}`;
}

async function fetchBounded(fetchImpl: FetchLike, url: string, headers: Record<string, string>, timeoutMs: number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchImpl(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw unavailable(`fetching ${url} failed`, error);
  }
  if (response.status !== 200) throw unavailable(`${url} answered HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > endorsementsResponseBytesMax) throw unavailable(`${url} answered ${declared} bytes, over ${endorsementsResponseBytesMax}`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body !== null) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > endorsementsResponseBytesMax) throw unavailable(`${url} answered more than ${endorsementsResponseBytesMax} bytes`);
      chunks.push(chunk);
    }
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function text(value: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch (error) {
    throw new AttestationError('SNP_ENDORSEMENTS_MALFORMED', 'endorsements response is not UTF-8 text', { cause: error });
  }
}

/** Re-emits a chain as exactly VCEK, ASK, ARK in canonical PEM; the verifier does the real checks. */
function normaliseBundle(pem: string): string {
  const certificates = splitPemBundle(pem);
  if (certificates.length !== endorsementCertificateCount) {
    throw new AttestationError('SNP_ENDORSEMENTS_MALFORMED', `expected VCEK, ASK and ARK, got ${certificates.length} certificates`);
  }
  return certificates.map(derToPem).join('');
}

function fromThimJson(json: string): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new AttestationError('SNP_ENDORSEMENTS_MALFORMED', 'THIM answer is not JSON', { cause: error });
  }
  const { vcekCert, certificateChain } = (value ?? {}) as Record<string, unknown>;
  if (typeof vcekCert !== 'string' || typeof certificateChain !== 'string') {
    throw new AttestationError('SNP_ENDORSEMENTS_MALFORMED', 'THIM answer lacks vcekCert or certificateChain');
  }
  return normaliseBundle(vcekCert + '\n' + certificateChain);
}

function fromHostFile(content: Uint8Array): string {
  const body = text(content).trim();
  if (body.startsWith('-----BEGIN')) return normaliseBundle(body);
  if (body.startsWith('{')) return fromThimJson(body);
  if (/^[A-Za-z0-9+/=\s]+$/.test(body)) return fromThimJson(Buffer.from(body, 'base64').toString('utf8'));
  throw new AttestationError('SNP_ENDORSEMENTS_MALFORMED', 'host endorsements file is neither PEM nor THIM JSON');
}
