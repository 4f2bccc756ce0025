// Attestation endpoints, as CCF serves them (src/node/rpc/node_frontend.h):
//   GET /node/quotes/self    this node's quote: {node_id, raw, endorsements, format, measurement, uvm_endorsements?}
//   GET /node/quotes         {quotes: [...]} for every Trusted node, from its nodes.info quote_info
//   GET /node/attestations[/self]   CCF's newer names for the same ({attestations: [...]} for the list)
// `raw` and `endorsements` are base64 (CCF's JSON for byte vectors); `measurement` is hex, the node's
// code_digest when recorded, else read from the report. Nothing here is verified: a client verifies the
// reports itself (synod verify-service), as it must not trust the node it asks.

import { RpcError } from '../errors.ts';
import type { Enclave } from './enclave.ts';
import type { Endpoint, EndpointResponse, NativeApp } from './frontend.ts';
import { Tables, fromUtf8, parseJsonBytes, utf8 } from './tables.ts';
import { parseSnpReport } from '../attestation/snp/report.ts';
import { parseVirtualReport } from '../attestation/virtual.ts';
import type { QuoteInfo } from '../attestation/node-evidence.ts';

interface StoredNodeInfo {
  status?: string;
  quote_info?: Partial<QuoteInfo> & { uvm_endorsements?: string };
  code_digest?: string;
}

export interface QuoteResponse {
  node_id: string;
  raw: string;
  endorsements: string;
  format: string;
  measurement?: string;
  uvm_endorsements?: string;
}

export interface QuotesAppOptions {
  /**
   * This node's own quote_info when nodes.info does not (yet) hold it, e.g. a joining node before it
   * is trusted. CCF serves the node's own quote from node state in the same way.
   */
  ownQuoteInfo?: () => QuoteInfo | undefined;
}

/** The measurement a report states, in hex; null when it cannot be read. Not a verification. */
export function measurementOfQuote(quote: Partial<QuoteInfo>): string | null {
  if (typeof quote.quote !== 'string') return null;
  try {
    const report = new Uint8Array(Buffer.from(quote.quote, 'base64'));
    if (quote.format === 'Insecure_Virtual') return parseVirtualReport(report).measurement;
    if (quote.format === 'AMD_SEV_SNP_v1') return Buffer.from(parseSnpReport(report).measurement).toString('hex');
  } catch {
    return null;
  }
  return null;
}

function toQuote(nodeId: string, quote: StoredNodeInfo['quote_info'], codeDigest: string | undefined): QuoteResponse | null {
  if (quote === undefined || typeof quote.quote !== 'string' || typeof quote.format !== 'string') return null;
  const out: QuoteResponse = { node_id: nodeId, raw: quote.quote, endorsements: typeof quote.endorsements === 'string' ? quote.endorsements : '', format: quote.format };
  const measurement = typeof codeDigest === 'string' && codeDigest.length > 0 ? codeDigest : measurementOfQuote(quote);
  if (measurement !== null) out.measurement = measurement;
  if (typeof quote.uvm_endorsements === 'string') out.uvm_endorsements = quote.uvm_endorsements;
  return out;
}

function readNodeInfo(enclave: Enclave, nodeId: string): StoredNodeInfo | undefined {
  const raw = enclave.store.get(Tables.nodesInfo, utf8(nodeId));
  if (raw === undefined) return undefined;
  try {
    return parseJsonBytes<StoredNodeInfo>(raw);
  } catch {
    return undefined;
  }
}

export function selfQuote(enclave: Enclave, options: QuotesAppOptions = {}): QuoteResponse {
  const info = readNodeInfo(enclave, enclave.nodeId);
  const quoteInfo = info?.quote_info ?? options.ownQuoteInfo?.();
  if (quoteInfo === undefined) throw new RpcError('ResourceNotFound', 'Could not find node quote.');
  const quote = toQuote(enclave.nodeId, quoteInfo, info?.quote_info !== undefined ? info.code_digest : undefined);
  if (quote === null) throw new RpcError('InternalError', 'Failed to extract code id from node quote.');
  if (quote.measurement === undefined) throw new RpcError('InternalError', 'Failed to extract code id from node quote.');
  return quote;
}

export function trustedQuotes(enclave: Enclave): QuoteResponse[] {
  const quotes: QuoteResponse[] = [];
  enclave.store.forEachCommitted(Tables.nodesInfo, (key, value) => {
    let info: StoredNodeInfo;
    try {
      info = parseJsonBytes<StoredNodeInfo>(value);
    } catch {
      return;
    }
    if (info.status !== 'Trusted') return;
    const quote = toQuote(fromUtf8(key), info.quote_info, info.code_digest);
    if (quote !== null) quotes.push(quote);
  });
  return quotes;
}

export function quotesApp(enclave: Enclave, options: QuotesAppOptions = {}): NativeApp {
  const get = (path: string, summary: string, builtin: () => EndpointResponse): Endpoint => ({
    method: 'GET',
    path,
    authn: ['no_auth'],
    mode: 'readonly',
    beforeOpen: true,
    summary,
    builtin: () => builtin(),
  });
  return {
    name: 'quotes',
    endpoints: [
      get('/node/quotes/self', "This node's attestation report (quote), endorsements and measurement", () => ({ body: selfQuote(enclave, options) })),
      get('/node/quotes', 'Attestation reports of all trusted nodes', () => ({ body: { quotes: trustedQuotes(enclave) } })),
      get('/node/attestations/self', "This node's attestation report, endorsements and measurement", () => ({ body: selfQuote(enclave, options) })),
      get('/node/attestations', 'Attestation reports of all trusted nodes', () => ({ body: { attestations: trustedQuotes(enclave) } })),
    ],
  };
}
