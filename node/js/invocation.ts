// What crosses between the frontend and a JS handler: the request as the frontend hands it over, the
// hooks it provides, the response and other outcomes it gets back, and the checks on what the app
// returns (CCF's rules for content types; headers that are valid HTTP).

import type { Tx } from '../kv/index.ts';
import type { ExecutionMode } from './kv-access.ts';
import { jsLimits } from './limits.ts';
import { BodyKind } from './ops.ts';
import type { Ptr } from './quickjs.ts';

/** The request as the frontend hands it over (CCF's request object is built from it, lazily). */
export interface JsRequest {
  method: string;
  /** Request path without the query, e.g. `/app/log/private`. */
  path: string;
  /** Raw query string without `?`. */
  query: string;
  /** The endpoint's path template as registered, e.g. `/app/records/{id}`. */
  route: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  params: Record<string, string>;
  body: Uint8Array;
  /**
   * CCF's caller identity object (`{policy, id, data, cert}` …), JSON-compatible, or null; or a function
   * that returns it (or a getter), called at most once and only if the handler reads `request.caller`
   * (building it costs KV reads and a certificate decode that most handlers never need).
   */
  caller: unknown;
  /** Defaults to path + `?` + query. */
  url?: string;
}

export type TxStatus = 'Unknown' | 'Pending' | 'Committed' | 'Invalid';

/** What `ccf.consensus` reads; the enclave provides it. */
export interface ConsensusHooks {
  lastCommittedTxId(): { view: number; seqno: number };
  statusForTxId(view: number, seqno: number): TxStatus;
  /** undefined: no such seqno (the sandbox sees null). */
  viewForSeqno(seqno: number): number | undefined;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface InvokeHooks {
  consensus?: ConsensusHooks;
  /** console.* output of the app, one bounded line at a time. */
  log?: (level: LogLevel, line: string) => void;
  /** Historical endpoints: what `ccf.historicalState` shows. Absent, it is undefined in handlers. */
  historical?: HistoricalHooks;
  /** `ccf.historical.getStateRange` / `dropCachedStates`. Absent, they throw. */
  historicalRange?: HistoricalRangeHooks;
  /**
   * Overrides the endpoint's mode for kv access: set only by the host, for governance code (the
   * constitution, ballots), which runs as 'governance' or 'governance-readonly'.
   */
  executionMode?: ExecutionMode;
}

/**
 * CCF's ccf.historical: the sandbox's call is synchronous, so the enclave answers null while it fetches
 * (and starts the fetch), and the states once a later call asks for the same range on that handle.
 */
export interface HistoricalRangeHooks {
  getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): HistoricalHooks[] | null;
  dropCachedStates(handle: number): boolean;
}

/** CCF's `ccf.historicalState` for one request: a past transaction's TxID, receipt and store. */
export interface HistoricalHooks {
  /** `view.seqno`. */
  transactionId: string;
  /** CCF's receipt object, JSON-compatible. */
  receipt: unknown;
  /** A transaction on a store of what that transaction wrote; only read (ccf.historicalState.kv). */
  tx: Tx;
}

export interface JsResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** What a handler left behind: a response (or why there is none) and its requests to the caller. */
export interface InvocationOutcome {
  response?: JsResponse;
  /** Set when the handler returned something that is not a response. */
  invalidResponse?: string;
  /** An exception from an async handler (owned by the caller: describe, then free). */
  asyncException?: Ptr;
  applyWrites?: boolean;
  claimsDigest?: Uint8Array;
}

const CONTENT_TYPES: Partial<Record<number, string>> = {
  [BodyKind.text]: 'text/plain',
  [BodyKind.textBytes]: 'text/plain',
  [BodyKind.bytes]: 'application/octet-stream',
  [BodyKind.json]: 'application/json',
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Deepest nesting of [ and { outside strings; the JSON need not be valid (the parser decides that). */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return deepest;
}

/** CCF's default content type for a body kind (string, bytes, JSON), or undefined for no body. */
export function defaultContentType(kind: number): string | undefined {
  return CONTENT_TYPES[kind];
}

/** The app's response headers, or why they cannot be sent. */
export function checkResponseHeaders(parsed: Record<string, string>): Record<string, string> | string {
  const names = Object.keys(parsed);
  if (names.length > jsLimits.responseHeadersMax) return `more than ${jsLimits.responseHeadersMax} response headers`;
  let total = 0;
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = parsed[name]!;
    total += name.length + value.length;
    if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value) || total > jsLimits.responseHeaderBytesMax) {
      return `Invalid endpoint function return value (header ${JSON.stringify(name.slice(0, 64))}).`;
    }
    headers[name] = value;
  }
  return headers;
}
