// Requests and responses at the HTTP level: what a body becomes on the wire, what a response offers
// its reader, and how a non-2xx answer becomes a typed error from the service's error body
// `{"error": {"code", "message", "details"?}}` (node/errors.ts, CCF's ODataErrorResponse).
import { HTTP_NO_ERROR_CODE, type SynodHttpError, SynodProtocolError, httpErrorFor } from '../errors.ts';
import { parseRetryAfterMs } from './backoff.ts';
import type { TransportResponse } from './transport.ts';

/** The header carrying the TxID `view.seqno` of a write. */
export const TXID_HEADER = 'x-ms-ccf-transaction-id';
/** How much of a non-JSON error body is quoted in the error message. */
const ERROR_QUOTE_CHARS_MAX = 200;

/** A request body: bytes as they are, a string as UTF-8 text, anything else as JSON. */
export type RequestBody = Uint8Array | string | number | boolean | null | object | undefined;

export interface SynodResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** `view.seqno` from x-ms-ccf-transaction-id, when the service sent it. */
  txid: string | undefined;
  /** The body parsed as JSON; throws SynodProtocolError when it is not JSON. */
  json<T = unknown>(): T;
  text(): string;
}

/** Encodes a body and names its content type (an explicit content-type header wins). */
export function encodeBody(body: RequestBody): { bytes: Uint8Array; contentType: string } | undefined {
  if (body === undefined) return undefined;
  if (body instanceof Uint8Array) return { bytes: body, contentType: 'application/octet-stream' };
  if (typeof body === 'string') return { bytes: new TextEncoder().encode(body), contentType: 'text/plain; charset=utf-8' };
  const text = JSON.stringify(body);
  if (text === undefined) throw new TypeError('the body cannot be serialized as JSON');
  return { bytes: new TextEncoder().encode(text), contentType: 'application/json' };
}

export function makeResponse(res: TransportResponse, what: string): SynodResponse {
  const txid = res.headers[TXID_HEADER];
  return {
    status: res.status,
    headers: res.headers,
    body: res.body,
    txid: txid && /^\d+\.\d+$/.test(txid) ? txid : undefined,
    text: () => new TextDecoder().decode(res.body),
    json<T>(): T {
      try {
        return JSON.parse(new TextDecoder().decode(res.body)) as T;
      } catch {
        throw new SynodProtocolError(`${what}: the response body is not JSON`);
      }
    },
  };
}

/** The typed error for a non-2xx response. */
export function errorFromResponse(res: TransportResponse, method: string, path: string, nowEpochMs = Date.now()): SynodHttpError {
  const text = new TextDecoder().decode(res.body);
  let code = HTTP_NO_ERROR_CODE;
  let serviceMessage = text.length > ERROR_QUOTE_CHARS_MAX ? `${text.slice(0, ERROR_QUOTE_CHARS_MAX)}…` : text;
  let details: unknown;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (typeof parsed?.error?.code === 'string') {
      code = parsed.error.code;
      serviceMessage = typeof parsed.error.message === 'string' ? parsed.error.message : '';
      details = parsed.error.details;
    }
  } catch {
    // Not CCF's error body (a proxy, or a crash before the frontend): keep the quoted text.
  }
  const retryAfterMs = parseRetryAfterMs(res.headers['retry-after'], nowEpochMs);
  return httpErrorFor({ status: res.status, code, serviceMessage, details, method, path, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}
