// A local `ccf` global for plain Node, so that an app's handlers can be unit-tested without a node:
// in-memory KV maps with a node's transaction semantics (polyfill-kv.ts), ccf.crypto on node:crypto
// (polyfill-crypto.ts), converters, rpc calls recorded for assertions, and consensus stubs.
// The test/conformance suite runs the same scenarios here and in Synod's sandbox.
//
//   import { polyfill } from "@synod/app-sdk/polyfill.js";   // installs globalThis.ccf, as ccf-app's does
//   const { list } = await import("../src/endpoints/items.ts");
//   const res = polyfill.invoke(list, { path: "/app/items", caller: userCaller("a1b2…") });
//   expect(res.status).toBe(200); expect(res.json()).toEqual([...]);
//
// One polyfill per process, installed on import: app modules keep map handles from import time
// (`typedKv("items", …)` at top level), so reset() empties the maps without replacing them.

import { PolyfillError } from './errors.ts';
import { polyfillLimits } from './limits.ts';
import { createPolyfillCrypto, isArrayBuffer, toArrayBuffer } from './polyfill-crypto.ts';
import { MemoryStore, MemoryTx, createKvMaps, type ExecutionMode, type KvContext } from './polyfill-kv.ts';
import { buildRequest, normalizeResponse, type PolyfillRequestInit } from './polyfill-http.ts';
import type {
  CCF,
  HistoricalState,
  Receipt,
  Request,
  Response,
  SnpAttestation,
  TransactionId,
  TransactionStatus,
  UserCertAuthnIdentity,
} from './types.ts';

export { InternalError, InvalidResponseError, PolyfillError } from './errors.ts';
export type { ExecutionMode } from './polyfill-kv.ts';
export type { PolyfillRequestInit } from './polyfill-http.ts';

/** What `ccf.consensus` answers. By default every transaction is committed at once, in view 1. */
export interface PolyfillConsensus {
  lastCommittedTxId(): TransactionId;
  statusForTxId(view: number, seqno: number): TransactionStatus;
  /** undefined: no such seqno (the app sees null). */
  viewForSeqno(seqno: number): number | undefined;
}

/** What `ccf.historicalState` shows to a handler invoked with mode "historical". */
export interface PolyfillHistoricalState {
  /** "view.seqno". */
  transactionId: string;
  /** CCF's receipt for that transaction (any JSON-compatible value will do in a test). */
  receipt: unknown;
  /** The maps as of that transaction: ccf.historicalState.kv reads them. */
  maps?: Record<string, Iterable<[ArrayBuffer, ArrayBuffer]>>;
}

export interface InvokeOptions {
  /**
   * The endpoint's mode in app.json: readonly and historical handlers cannot write. Default readwrite,
   * or historical when `historical` is given.
   */
  mode?: ExecutionMode;
  /** For historical endpoints: the past state the handler sees; absent, ccf.historicalState is undefined. */
  historical?: PolyfillHistoricalState;
}

/** A handler's response as a node would send it, and what happened to its writes. */
export interface PolyfillResponse<T = any> {
  status: number;
  /** With CCF's default content-type added when the handler set none. */
  headers: Record<string, string>;
  body: Uint8Array;
  text(): string;
  json(): T;
  /** The object the handler returned. */
  response: Response;
  /** True when the writes were applied (2xx in a readwrite endpoint, unless setApplyWrites said otherwise). */
  applied: boolean;
  /** Version given to the writes, when they were applied and changed something. */
  version: number | undefined;
  applyWrites: boolean | undefined;
  claimsDigest: ArrayBuffer | undefined;
}

type Handler = (request: Request) => unknown;

/** One recorded call to ccf.rpc. */
export type RpcCall = { method: 'setApplyWrites'; value: boolean } | { method: 'setClaimsDigest'; value: ArrayBuffer };

const DEFAULT_VIEW = 1;

/** As ccf-app's polyfill: the name exists (modules bind it at import), verification is not offered. */
const SNP_ATTESTATION: SnpAttestation = {
  verifySnpAttestation(): never {
    throw new Error('SEV-SNP attestation verification is not available in the polyfill');
  },
};

const NOT_HISTORICAL = 'ccf.historicalState is only available while an endpoint with "mode": "historical" handles a request';

/**
 * ccf.historicalState.kv's maps: read-only, over the state given to the running historical invoke.
 * Outside one, using them throws, as in the sandbox.
 */
class HistoricalKvContext implements KvContext {
  readonly store = new MemoryStore();
  readonly #tx = new MemoryTx('historical');
  state: PolyfillHistoricalState | undefined;

  get currentTx(): MemoryTx {
    if (this.state === undefined) throw new Error(NOT_HISTORICAL);
    return this.#tx;
  }

  begin(state: PolyfillHistoricalState | undefined): void {
    this.store.reset();
    this.state = state;
    if (state === undefined) return;
    const tx = new MemoryTx('readwrite');
    for (const [name, entries] of Object.entries(state.maps ?? {})) writeEntries(tx, name, entries);
    this.store.commit(tx);
  }
}

function writeEntries(tx: MemoryTx, mapName: string, entries: Iterable<[ArrayBuffer, ArrayBuffer]>): void {
  const writes = tx.writesOf(mapName).writes;
  for (const [key, value] of entries) {
    if (!isArrayBuffer(key) || !isArrayBuffer(value)) throw new PolyfillError('map entries are [ArrayBuffer, ArrayBuffer] pairs');
    const keyBytes = new Uint8Array(key.slice(0));
    writes.set(Buffer.from(keyBytes).toString('latin1'), { key: keyBytes, value: new Uint8Array(value.slice(0)) });
  }
}

export class CcfPolyfill implements KvContext {
  readonly store = new MemoryStore();
  /** The object installed as `globalThis.ccf`. */
  readonly ccf: CCF;
  /** Every ccf.rpc call since the last reset() or invoke(). */
  readonly rpcCalls: RpcCall[] = [];
  #tx: MemoryTx | undefined;
  readonly #historical = new HistoricalKvContext();
  #consensus: PolyfillConsensus | undefined;
  #metricsLogging = false;

  constructor() {
    this.ccf = this.#createGlobal();
  }

  get currentTx(): MemoryTx | undefined {
    return this.#tx;
  }

  /** The last setApplyWrites value recorded (undefined: not called). */
  get applyWrites(): boolean | undefined {
    const call = [...this.rpcCalls].reverse().find((c) => c.method === 'setApplyWrites');
    return call === undefined ? undefined : (call.value as boolean);
  }

  /** The last setClaimsDigest value recorded. */
  get claimsDigest(): ArrayBuffer | undefined {
    const call = [...this.rpcCalls].reverse().find((c) => c.method === 'setClaimsDigest');
    return call === undefined ? undefined : (call.value as ArrayBuffer);
  }

  /** The version of the last committed write (0: none yet). */
  get version(): number {
    return this.store.version;
  }

  /** Sets `globalThis.ccf` to this polyfill's global (again, if something replaced it). */
  install(): this {
    const scope = globalThis as { ccf?: CCF; snp_attestation?: SnpAttestation };
    scope.ccf = this.ccf;
    scope.snp_attestation = SNP_ATTESTATION;
    return this;
  }

  /** Empties every map, forgets rpc calls, restores the default consensus answers. Map handles stay valid. */
  reset(): void {
    if (this.#tx !== undefined) throw new PolyfillError('reset() while a handler is running');
    this.store.reset();
    this.rpcCalls.length = 0;
    this.#consensus = undefined;
  }

  /** Replaces the consensus answers (undefined: back to "everything committed in view 1"). */
  setConsensus(consensus: Partial<PolyfillConsensus> | undefined): void {
    this.#consensus = consensus === undefined ? undefined : { ...this.#defaultConsensus(), ...consensus };
  }

  /** Writes committed state directly, bypassing the capability table (e.g. to seed public:ccf.gov.* maps). */
  seed(mapName: string, entries: Iterable<[ArrayBuffer, ArrayBuffer]>): number | undefined {
    if (this.#tx !== undefined) throw new PolyfillError('seed() while a handler is running');
    const tx = new MemoryTx('readwrite');
    writeEntries(tx, mapName, entries);
    return this.store.commit(tx);
  }

  /** The committed entries of a map, in write order. */
  entries(mapName: string): Array<[ArrayBuffer, ArrayBuffer]> {
    return [...this.store.committed(mapName).values()].map((e) => [toArrayBuffer(e.key), toArrayBuffer(e.value)]);
  }

  /** A request object as a handler receives it. */
  request(init: PolyfillRequestInit = {}): Request {
    return buildRequest(init);
  }

  /**
   * Runs a handler as a node would: in a transaction whose writes apply on a 2xx response (or as
   * setApplyWrites says), with the response normalized as the node sends it. A handler that throws, or
   * returns something that is not a response, leaves nothing written and the error is rethrown (on a
   * node the caller would get a 500). Async handlers give a promise.
   */
  invoke<T = any>(handler: (request: Request) => Promise<unknown>, init?: PolyfillRequestInit, options?: InvokeOptions): Promise<PolyfillResponse<T>>;
  invoke<T = any>(handler: (request: Request) => unknown, init?: PolyfillRequestInit, options?: InvokeOptions): PolyfillResponse<T>;
  invoke(handler: Handler, init: PolyfillRequestInit = {}, options: InvokeOptions = {}): PolyfillResponse | Promise<PolyfillResponse> {
    if (typeof handler !== 'function') throw new PolyfillError('invoke() takes the handler function first');
    if (this.#tx !== undefined) throw new PolyfillError('invoke() while another handler is running: await the previous one');
    const mode = options.mode ?? (options.historical === undefined ? 'readwrite' : 'historical');
    if (options.historical !== undefined && mode !== 'historical') throw new PolyfillError('historical state is for mode "historical" only');
    const request = buildRequest(init);
    const tx = new MemoryTx(mode);
    this.rpcCalls.length = 0;
    this.#historical.begin(options.historical);
    this.#tx = tx;
    let result: unknown;
    try {
      result = handler(request);
    } catch (error) {
      this.#end();
      throw error;
    }
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      return Promise.resolve(result).then(
        (value) => this.#finish(tx, value),
        (error: unknown) => {
          this.#end();
          throw error;
        },
      );
    }
    return this.#finish(tx, result);
  }

  #end(): void {
    this.#tx = undefined;
    this.#historical.begin(undefined);
  }

  #finish(tx: MemoryTx, result: unknown): PolyfillResponse {
    this.#end();
    const normalized = normalizeResponse(result);
    const applyWrites = this.applyWrites;
    const success = normalized.status >= 200 && normalized.status < 300;
    const applied = tx.mode === 'readwrite' && (applyWrites ?? success);
    const version = applied ? this.store.commit(tx) : undefined;
    const body = normalized.body;
    return {
      status: normalized.status,
      headers: normalized.headers,
      body,
      text: () => Buffer.from(body).toString('utf8'),
      json: () => JSON.parse(Buffer.from(body).toString('utf8')),
      response: result as Response,
      applied,
      version,
      applyWrites,
      claimsDigest: this.claimsDigest,
    };
  }

  #defaultConsensus(): PolyfillConsensus {
    return {
      lastCommittedTxId: () => ({ view: DEFAULT_VIEW, seqno: this.store.version }),
      statusForTxId: (view, seqno) => {
        if (seqno > this.store.version || seqno === 0) return 'Unknown';
        return view === DEFAULT_VIEW ? 'Committed' : 'Invalid';
      },
      viewForSeqno: (seqno) => (seqno >= 1 && seqno <= this.store.version ? DEFAULT_VIEW : undefined),
    };
  }

  #consensusNow(): PolyfillConsensus {
    return this.#consensus ?? this.#defaultConsensus();
  }

  #createGlobal(): CCF {
    const crypto = createPolyfillCrypto();
    const text = createTextConverters();
    const historicalContext = this.#historical;
    const historicalState = {
      get transactionId(): string {
        if (historicalContext.state === undefined) throw new Error(NOT_HISTORICAL);
        return historicalContext.state.transactionId;
      },
      get receipt(): Receipt {
        if (historicalContext.state === undefined) throw new Error(NOT_HISTORICAL);
        return historicalContext.state.receipt as Receipt;
      },
      kv: createKvMaps(historicalContext),
    };
    // As in the sandbox: one object serves every historical request (ccf-app captures it at import);
    // handlers of other endpoints see undefined.
    const currentHistoricalState = (): HistoricalState | undefined =>
      this.#tx === undefined || historicalContext.state !== undefined ? historicalState : undefined;
    const record = (call: RpcCall): void => {
      this.rpcCalls.push(call);
    };
    const global: CCF = {
      kv: createKvMaps(this),
      ...text,
      crypto,
      generateAesKey: crypto.generateAesKey,
      generateRsaKeyPair: crypto.generateRsaKeyPair,
      generateEcdsaKeyPair: crypto.generateEcdsaKeyPair,
      wrapKey: crypto.wrapKey,
      digest: crypto.digest,
      isValidX509CertBundle: crypto.isValidX509CertBundle,
      isValidX509CertChain: crypto.isValidX509CertChain,
      rpc: {
        setApplyWrites(force: boolean): void {
          if (typeof force !== 'boolean') throw new TypeError('First argument must be a boolean');
          record({ method: 'setApplyWrites', value: force });
        },
        setClaimsDigest(digest: ArrayBuffer): void {
          if (!isArrayBuffer(digest)) throw new TypeError('Argument must be an ArrayBuffer');
          if (digest.byteLength !== polyfillLimits.claimsDigestBytes) {
            throw new TypeError(`Argument must be an ArrayBuffer of ${polyfillLimits.claimsDigestBytes} bytes, not ${digest.byteLength}`);
          }
          record({ method: 'setClaimsDigest', value: digest.slice(0) });
        },
      },
      consensus: {
        getLastCommittedTxId: () => {
          const { view, seqno } = this.#consensusNow().lastCommittedTxId();
          return { view, seqno };
        },
        getStatusForTxId: (view: number, seqno: number) =>
          this.#consensusNow().statusForTxId(txNumber(view, 'view'), txNumber(seqno, 'seqno')),
        getViewForSeqno: (seqno: number) => this.#consensusNow().viewForSeqno(txNumber(seqno, 'seqno')) ?? null,
      },
      historical: {
        getStateRange(): never {
          throw new Error('ccf.historical.getStateRange is not available in the polyfill (nor in Synod yet): use an endpoint in historical mode');
        },
        dropCachedStates(): never {
          throw new Error('ccf.historical.dropCachedStates is not available in the polyfill (nor in Synod yet)');
        },
      },
      // As in current CCF and Synod: the clock is always available; the call returns its argument.
      enableUntrustedDateTime: (enable: boolean) => !!enable,
      enableMetricsLogging: (enable: boolean) => {
        if (typeof enable !== 'boolean') throw new TypeError('First argument must be a boolean');
        const previous = this.#metricsLogging;
        this.#metricsLogging = enable;
        return previous;
      },
    };
    Object.defineProperty(global, 'historicalState', { get: currentHistoricalState, enumerable: true, configurable: true });
    return global;
  }
}

/** A view or seqno as the sandbox reads it: a number, truncated, non-negative. */
function txNumber(value: unknown, what: string): number {
  const n = Math.trunc(Number(value));
  if (!Number.isSafeInteger(n)) throw new RangeError(`Invalid ${what}: not a number`);
  if (n < 0) throw new RangeError(`Invalid ${what}: cannot be negative`);
  return n;
}

/**
 * UTF-8 as QuickJS writes it: a lone surrogate becomes its own three bytes (WTF-8) rather than U+FFFD.
 * Decoding replaces invalid bytes with U+FFFD.
 */
function createTextConverters(): Pick<CCF, 'strToBuf' | 'bufToStr' | 'jsonCompatibleToBuf' | 'bufToJsonCompatible'> {
  const strToBuf = (s: string): ArrayBuffer => {
    if (typeof s !== 'string') throw new TypeError('Argument must be a string');
    return toArrayBuffer(LONE_SURROGATE.test(s) ? wtf8(s) : Buffer.from(s, 'utf8'));
  };
  const bufToStr = (buffer: ArrayBuffer): string => {
    if (!isArrayBuffer(buffer)) throw new TypeError('Argument must be an ArrayBuffer');
    return Buffer.from(buffer).toString('utf8');
  };
  return {
    strToBuf,
    bufToStr,
    jsonCompatibleToBuf: (value: unknown) => strToBuf(JSON.stringify(value)),
    bufToJsonCompatible: (buffer: ArrayBuffer) => JSON.parse(bufToStr(buffer)),
  };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function wtf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    if (c > 0xffff) i++;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** A caller as a user_cert endpoint sees it. */
export function userCaller(id: string, options: { data?: unknown; cert?: string } = {}): UserCertAuthnIdentity {
  return { policy: 'user_cert', id, data: options.data ?? null, cert: options.cert ?? '' };
}

/** The process's polyfill, installed as `globalThis.ccf` when this module is imported. */
export const polyfill: CcfPolyfill = new CcfPolyfill().install();

/** (Re)installs the process's polyfill as `globalThis.ccf` and returns it. */
export function installPolyfill(): CcfPolyfill {
  return polyfill.install();
}
