// Requests and responses for the polyfill, shaped as Synod's sandbox shapes them (node/js/bootstrap.ts
// and invocation.ts, after CCF's): a request has headers (lower-case names), params, query (raw),
// url, path, method, route, hostname, body {text(), json(), arrayBuffer()} and caller; a handler's
// return value becomes a status, headers and bytes by CCF's rules — a string body is text/plain, an
// ArrayBuffer or typed array application/octet-stream, anything else JSON; the app's own
// content-type wins; no body, no content-type; the status defaults to 200 and must be an integer.

import { InvalidResponseError } from './errors.ts';
import { polyfillLimits } from './limits.ts';
import { isArrayBuffer, toArrayBuffer } from './polyfill-crypto.ts';
import type { AuthnIdentity, Request } from './types.ts';

export interface PolyfillRequestInit {
  /** Default GET, or POST when a body is given. */
  method?: string;
  /** The full path, e.g. "/app/items/42". Default "/app/". */
  path?: string;
  /** The endpoint's template, e.g. "/app/items/{id}". Default: the path. */
  route?: string;
  /** A raw query string ("a=1&b=x%20y"), or values to encode. */
  query?: string | Record<string, string>;
  params?: Record<string, string>;
  /** Names are lower-cased. A JSON body gets content-type application/json unless one is given. */
  headers?: Record<string, string>;
  /** A string or bytes are sent as they are; anything else as JSON. */
  body?: unknown;
  /** Default `{policy: "no_auth"}`; see userCaller(). */
  caller?: AuthnIdentity | null;
}

export interface NormalizedResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

function encodeQuery(query: string | Record<string, string> | undefined): string {
  if (query === undefined) return '';
  if (typeof query === 'string') return query.startsWith('?') ? query.slice(1) : query;
  return Object.entries(query)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

function bodyBytes(body: unknown): { bytes: Uint8Array; isJson: boolean } {
  if (body === undefined) return { bytes: new Uint8Array(0), isJson: false };
  if (typeof body === 'string') return { bytes: new Uint8Array(Buffer.from(body, 'utf8')), isJson: false };
  if (isArrayBuffer(body)) return { bytes: new Uint8Array(body.slice(0)), isJson: false };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), isJson: false };
  return { bytes: new Uint8Array(Buffer.from(JSON.stringify(body), 'utf8')), isJson: true };
}

export function buildRequest(init: PolyfillRequestInit): Request {
  const { bytes, isJson } = bodyBytes(init.body);
  const headers: Record<string, string> = { host: 'localhost' };
  if (isJson) headers['content-type'] = 'application/json';
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = String(value);
  const path = init.path ?? '/app/';
  const query = encodeQuery(init.query);
  const text = (): string => Buffer.from(bytes).toString('utf8');
  return {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    path,
    url: query === '' ? path : `${path}?${query}`,
    route: init.route ?? path,
    query,
    params: { ...(init.params ?? {}) },
    headers,
    hostname: headers['host']!,
    body: {
      text,
      json: () => JSON.parse(text()),
      arrayBuffer: () => toArrayBuffer(bytes),
    },
    caller: (init.caller === undefined ? { policy: 'no_auth' } : init.caller) as AuthnIdentity,
  };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function invalid(why: string): InvalidResponseError {
  return new InvalidResponseError(`Invalid endpoint function return value (${why}).`);
}

export function normalizeResponse(result: unknown): NormalizedResponse {
  if (result === null || typeof result !== 'object') throw invalid('not an object');
  const r = result as { statusCode?: unknown; headers?: unknown; body?: unknown };
  const status = r.statusCode === undefined || r.statusCode === null ? 200 : r.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status)) throw invalid('status code type');
  if (status < 100 || status > 599) throw invalid(`status code ${status} is not an HTTP status`);
  const headers: Record<string, string> = {};
  if (r.headers !== null && typeof r.headers === 'object') {
    const entries = Object.entries(r.headers as Record<string, unknown>);
    if (entries.length > polyfillLimits.responseHeadersMax) throw invalid(`more than ${polyfillLimits.responseHeadersMax} headers`);
    for (const [name, value] of entries) {
      const text = String(value);
      if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(text)) throw invalid(`header ${JSON.stringify(name)}`);
      headers[name] = text;
    }
  }
  const { body, contentType } = responseBody(r.body);
  if (body.byteLength > polyfillLimits.responseBodyBytesMax) throw invalid(`the body is larger than ${polyfillLimits.responseBodyBytesMax} bytes`);
  if (contentType !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
    headers['content-type'] = contentType;
  }
  return { status, headers, body };
}

function responseBody(body: unknown): { body: Uint8Array; contentType: string | undefined } {
  if (body === undefined) return { body: new Uint8Array(0), contentType: undefined };
  if (typeof body === 'string') return { body: new Uint8Array(Buffer.from(body, 'utf8')), contentType: 'text/plain' };
  if (isArrayBuffer(body)) return { body: new Uint8Array(body.slice(0)), contentType: 'application/octet-stream' };
  if (ArrayBuffer.isView(body)) {
    return { body: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), contentType: 'application/octet-stream' };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (error) {
    throw invalid(`error during JSON conversion of body: ${String(error)}`);
  }
  if (typeof json !== 'string') throw invalid('the body is not JSON-compatible');
  return { body: new Uint8Array(Buffer.from(json, 'utf8')), contentType: 'application/json' };
}
