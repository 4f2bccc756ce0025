// The host side of the `ccf` global: answers the sandbox's host function (ops.ts) for one engine.
//
// This is where capabilities are enforced. Every operation reads its arguments from the sandbox as
// untrusted values (type and size checked here, whatever the bootstrap wrappers did), and every kv
// operation checks the map against the capability table (kv-access.ts) for the endpoint's mode. State
// that belongs to one request (the Tx, the response, claims digest, open iterators) lives in an
// `Invocation` that exists only between `begin` and `finish`; outside it, kv and request operations
// throw in the sandbox instead of touching anything.

import { randomBytes } from 'node:crypto';
import { kvLimits, type Tx, type TxMap } from '../kv/index.ts';
import type { Engine, EngineHost, Ptr } from './engine.ts';
import { SandboxThrow, assert, rangeError, typeError } from './errors.ts';
import * as crypto from './crypto.ts';
import { canRead, canWrite, mapAccess, type AccessDecision, type ExecutionMode } from './kv-access.ts';
import { jsLimits } from './limits.ts';
import { verifySnpAttestationJson } from './snp-attestation.ts';
import { BodyKind, HISTORICAL_MAP_ID_BASE, HistoricalOp, Op, REQUEST_FIELDS, RESPOND_HAS_HEADERS } from './ops.ts';
import {
  checkResponseHeaders,
  defaultContentType,
  jsonDepth,
  type ConsensusHooks,
  type HistoricalHooks,
  type HistoricalRangeHooks,
  type InvocationOutcome,
  type InvokeHooks,
  type JsRequest,
  type LogLevel,
} from './invocation.ts';

export type { ConsensusHooks, HistoricalHooks, InvocationOutcome, InvokeHooks, JsRequest, JsResponse, LogLevel, TxStatus } from './invocation.ts';

interface Invocation {
  gen: number;
  tx: Tx;
  mode: ExecutionMode;
  request: JsRequest;
  hooks: InvokeHooks;
  /** Indexed by map id. */
  txMaps: Array<TxMap | undefined>;
  iterators: Array<{ entries: Array<[Uint8Array, Uint8Array]>; next: number } | undefined>;
  logLines: number;
  outcome: InvocationOutcome;
  /** ccf.historicalState, for a request to a historical endpoint. */
  historical: HistoricalInvocation | undefined;
  /** States handed out by ccf.historical.getStateRange in this request, by slot. */
  rangeStates: HistoricalInvocation[];
}

interface HistoricalInvocation {
  hooks: HistoricalHooks;
  /** Indexed by map id, like Invocation.txMaps, on the historical store's Tx. */
  txMaps: Array<TxMap | undefined>;
  receiptJson: string | undefined;
}

/**
 * As CCF: bad arguments to ccf.historical are RangeErrors; a fetch that failed is an InternalError
 * "Failed to …: reason". The enclave marks bad arguments with the code InvalidInput.
 */
function rangeHookError(error: unknown, what: string): SandboxThrow {
  if (error instanceof SandboxThrow) return error;
  const message = (error as Error)?.message ?? String(error);
  if ((error as { code?: unknown })?.code === 'InvalidInput') return new SandboxThrow('RangeError', message);
  return new SandboxThrow('InternalError', `${what}: ${message}`);
}

const WRITE_METHODS = new Set(['set', 'delete', 'clear']);

const RANDOM_POOL_BYTES = 4096;

export class SandboxHost implements EngineHost {
  readonly #engine: Engine;
  readonly #modules: ReadonlyMap<string, string>;
  readonly #mapIds = new Map<string, number>();
  readonly #mapNames: string[] = [];
  readonly #access: Record<ExecutionMode, Array<AccessDecision | undefined>> = { readwrite: [], readonly: [], historical: [], governance: [], 'governance-readonly': [] };
  #invocation: Invocation | undefined;
  #gen = 0;
  #random = Buffer.alloc(0);
  #randomOffset = 0;

  constructor(engine: Engine, modules: ReadonlyMap<string, string>) {
    this.#engine = engine;
    this.#modules = modules;
    engine.host = this;
  }

  moduleSource(name: string): string | undefined {
    return this.#modules.get(name);
  }

  /** Starts a request; returns its generation (request objects carry it). */
  begin(tx: Tx, mode: ExecutionMode, request: JsRequest, hooks: InvokeHooks): number {
    assert(this.#invocation === undefined, 'an invocation is already running on this engine');
    // An int32 (it crosses as one, engine.intArg); wrapping after 2^31 requests is harmless.
    this.#gen = this.#gen >= 0x7fffffff ? 1 : this.#gen + 1;
    const historical = hooks.historical === undefined ? undefined : { hooks: hooks.historical, txMaps: [], receiptJson: undefined };
    this.#invocation = { gen: this.#gen, tx, mode, request, hooks, txMaps: [], iterators: [], logLines: 0, outcome: {}, historical, rangeStates: [] };
    return this.#gen;
  }

  finish(): InvocationOutcome {
    const invocation = this.#invocation;
    assert(invocation !== undefined, 'finish without begin');
    this.#invocation = undefined;
    return invocation.outcome;
  }

  call(argc: number, argv: number): Ptr {
    const e = this.#engine;
    const op = argc > 0 ? e.number(e.arg(argv, 0)) : -1;
    if (op < Op.kvOpen) return this.#requestOp(op, argv);
    if (op < Op.strToBuf) return this.#kvOp(op, argc, argv);
    if (op < Op.digest) return this.#miscOp(op, argv);
    return this.#cryptoOp(op, argv);
  }

  // ---- arguments --------------------------------------------------------------------------------

  #number(argv: number, index: number): number {
    return this.#engine.number(this.#engine.arg(argv, index));
  }

  #string(argv: number, index: number): string {
    return this.#engine.string(this.#engine.arg(argv, index));
  }

  #bytes(argv: number, index: number, maxBytes = jsLimits.cryptoInputBytesMax): Uint8Array {
    const bytes = this.#engine.arrayBuffer(this.#engine.arg(argv, index));
    if (bytes === undefined) throw typeError('Argument must be an ArrayBuffer');
    if (bytes.length > maxBytes) throw rangeError(`ArrayBuffer argument is larger than ${maxBytes} bytes`);
    return bytes;
  }

  /**
   * A view of an ArrayBuffer argument, for a KV key or value that the store reads (or copies) at once;
   * valid until engine.releaseViews, which the caller must reach (try/finally). No copy on the host side.
   */
  #view(argv: number, index: number, maxBytes: number): Uint8Array {
    const bytes = this.#engine.arrayBufferView(this.#engine.arg(argv, index));
    if (bytes === undefined) throw typeError('Argument must be an ArrayBuffer');
    if (bytes.length > maxBytes) throw rangeError(`ArrayBuffer argument is larger than ${maxBytes} bytes`);
    return bytes;
  }

  /** A string for the sandbox; one holding NUL travels as UTF-8 bytes (the bootstrap decodes it). */
  #hostString(value: string): Ptr {
    if (!value.includes('\0')) return this.#engine.newString(value);
    return this.#engine.newArrayBuffer(Buffer.from(value, 'utf8'));
  }

  #requireInvocation(what: string): Invocation {
    const invocation = this.#invocation;
    if (invocation === undefined) {
      throw new SandboxThrow('Error', `${what} is only available while a request is handled (module top-level code runs once, at load)`);
    }
    return invocation;
  }

  #requestOf(argv: number): Invocation {
    const invocation = this.#requireInvocation('the request');
    if (this.#number(argv, 1) !== invocation.gen) {
      throw new SandboxThrow('Error', 'this request object belongs to a request that has already been handled');
    }
    return invocation;
  }

  // ---- request and response -----------------------------------------------------------------------

  #requestOp(op: number, argv: number): Ptr {
    const e = this.#engine;
    switch (op) {
      case Op.requestField:
        return this.#requestField(this.#requestOf(argv).request, this.#number(argv, 2));
      case Op.bodyText: {
        const body = this.#requestOf(argv).request.body;
        return body.includes(0) ? e.newArrayBuffer(body) : e.newStringFromUtf8(body);
      }
      case Op.bodyBuffer:
        return e.newArrayBuffer(this.#requestOf(argv).request.body);
      case Op.bodyJson: {
        const body = this.#requestOf(argv).request.body;
        if (jsonDepth(body) > jsLimits.requestJsonDepthMax) {
          throw new SandboxThrow('SyntaxError', `the request body nests JSON deeper than ${jsLimits.requestJsonDepthMax} levels`);
        }
        return body.includes(0) ? e.newArrayBuffer(body) : e.newStringFromUtf8(body);
      }
      case Op.respond:
        this.#respond(this.#requireInvocation('respond'), argv);
        return 0;
      case Op.fail: {
        const outcome = this.#requireInvocation('fail').outcome;
        if (outcome.response === undefined && outcome.asyncException === undefined) outcome.asyncException = e.dup(e.arg(argv, 1));
        return 0;
      }
      default:
        throw typeError(`unknown host operation ${op}`);
    }
  }

  #requestField(request: JsRequest, index: number): Ptr {
    switch (REQUEST_FIELDS[index]) {
      case 'method':
        return this.#hostString(request.method);
      case 'path':
        return this.#hostString(request.path);
      case 'query':
        return this.#hostString(request.query);
      case 'url':
        return this.#hostString(request.url ?? (request.query === '' ? request.path : `${request.path}?${request.query}`));
      case 'route':
        return this.#hostString(request.route);
      case 'hostname': {
        const host = request.headers.host;
        return host === undefined ? this.#engine.newNull() : this.#hostString(host);
      }
      case 'headers':
        return this.#engine.newString(JSON.stringify(request.headers));
      case 'params':
        return this.#engine.newString(JSON.stringify(request.params));
      case 'caller': {
        // Read once: it may be a getter that builds the object (node/enclave/jsapp.ts).
        const raw = request.caller;
        const caller = typeof raw === 'function' ? (raw as () => unknown)() : raw;
        return this.#engine.newString(JSON.stringify(caller ?? null));
      }
      default:
        throw typeError('unknown request field');
    }
  }

  #respond(invocation: Invocation, argv: number): void {
    const outcome = invocation.outcome;
    if (outcome.response !== undefined || outcome.invalidResponse !== undefined) return;
    const e = this.#engine;
    const flags = this.#number(argv, 1);
    const kind = flags & ~RESPOND_HAS_HEADERS;
    if (kind === BodyKind.invalid) {
      outcome.invalidResponse = this.#string(argv, 4);
      return;
    }
    const status = this.#number(argv, 2);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      outcome.invalidResponse = `Invalid endpoint function return value (status code ${status} is not an HTTP status).`;
      return;
    }
    const headers = (flags & RESPOND_HAS_HEADERS) === 0 ? {} : this.#responseHeaders(this.#string(argv, 3), outcome);
    if (headers === undefined) return;
    const bodyPtr = e.arg(argv, 4);
    let body: Uint8Array;
    if (kind === BodyKind.none) body = new Uint8Array(0);
    else if (kind === BodyKind.text || kind === BodyKind.json) body = e.stringBytes(bodyPtr);
    else {
      const bytes = e.arrayBuffer(bodyPtr);
      if (bytes === undefined) {
        outcome.invalidResponse = 'Invalid endpoint function return value (the body is not an ArrayBuffer).';
        return;
      }
      body = bytes;
    }
    if (body.length > jsLimits.responseBodyBytesMax) {
      outcome.invalidResponse = `the response body is larger than ${jsLimits.responseBodyBytesMax} bytes`;
      return;
    }
    const contentType = defaultContentType(kind);
    if (contentType !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = contentType;
    }
    outcome.response = { status, headers, body };
  }

  #responseHeaders(json: string, outcome: InvocationOutcome): Record<string, string> | undefined {
    const checked = checkResponseHeaders(JSON.parse(json) as Record<string, string>);
    if (typeof checked === 'string') {
      outcome.invalidResponse = checked;
      return undefined;
    }
    return checked;
  }

  // ---- ccf.kv -----------------------------------------------------------------------------------

  #kvOp(op: number, argc: number, argv: number): Ptr {
    const e = this.#engine;
    if (op === Op.kvOpen) return e.newNumber(this.#openMap(this.#string(argv, 1)));
    if (op === Op.kvOpenHistorical) {
      // ccf.historicalState.kv: BASE + id; the kv of getStateRange's state in slot s: BASE * (s + 2) + id.
      const id = this.#openMap(this.#string(argv, 1));
      if (argc < 3 || e.typeOf(e.arg(argv, 2)) !== 'number') return e.newNumber(HISTORICAL_MAP_ID_BASE + id);
      const slot = this.#number(argv, 2);
      if (!Number.isSafeInteger(slot) || slot < 0 || slot >= jsLimits.historicalRangeStatesMax) throw typeError('not a historical state');
      return e.newNumber(HISTORICAL_MAP_ID_BASE * (slot + 2) + id);
    }
    if (op === Op.kvIterNext) return this.#iterNext(this.#requireInvocation('ccf.kv'), this.#number(argv, 1));
    if (op === Op.kvIterClose) {
      const invocation = this.#invocation;
      if (invocation !== undefined) invocation.iterators[this.#number(argv, 1)] = undefined;
      return 0;
    }
    const id = this.#number(argv, 1);
    // Keys and values are read through views of linear memory: the store turns a key into a string and
    // copies a value at once, and nothing in between allocates in the engine (which could move memory).
    switch (op) {
      case Op.kvGet: {
        const map = this.#txMap(id, 'get');
        let value: Uint8Array | undefined;
        try {
          value = map.get(this.#view(argv, 2, jsLimits.kvKeyBytesMax));
        } finally {
          e.releaseViews();
        }
        return value === undefined ? 0 : e.newArrayBuffer(value);
      }
      case Op.kvHas: {
        const map = this.#txMap(id, 'has');
        try {
          return e.newBoolean(map.has(this.#view(argv, 2, jsLimits.kvKeyBytesMax)));
        } finally {
          e.releaseViews();
        }
      }
      case Op.kvSet: {
        const map = this.#txMap(id, 'set');
        // Both copies exist before either view is taken: taking the second copy may grow linear memory.
        const key = this.#bytes(argv, 2, jsLimits.kvKeyBytesMax);
        try {
          map.set(key, this.#view(argv, 3, jsLimits.kvValueBytesMax));
        } finally {
          e.releaseViews();
        }
        return 0;
      }
      case Op.kvDelete: {
        const map = this.#txMap(id, 'delete');
        try {
          map.delete(this.#view(argv, 2, jsLimits.kvKeyBytesMax));
        } finally {
          e.releaseViews();
        }
        return 0;
      }
      case Op.kvClear:
        this.#txMap(id, 'clear').clear();
        return 0;
      case Op.kvSize:
        return e.newNumber(this.#txMap(id, 'size').size);
      case Op.kvVersion: {
        const map = this.#txMap(id, 'getVersionOfPreviousWrite');
        let version: number | undefined;
        try {
          version = map.getVersionOfPreviousWrite(this.#view(argv, 2, jsLimits.kvKeyBytesMax));
        } finally {
          e.releaseViews();
        }
        return version === undefined ? 0 : e.newNumber(version);
      }
      case Op.kvIterOpen:
        return e.newNumber(this.#iterOpen(this.#requireInvocation('ccf.kv'), this.#txMap(id, 'forEach')));
      default:
        throw typeError(`unknown host operation ${op}`);
    }
  }

  #openMap(name: string): number {
    if (name.length === 0 || name.length > kvLimits.mapNameLengthMax) {
      throw typeError(`map names must be non-empty strings of at most ${kvLimits.mapNameLengthMax} characters`);
    }
    let id = this.#mapIds.get(name);
    if (id === undefined) {
      id = this.#mapNames.length;
      if (id >= HISTORICAL_MAP_ID_BASE) throw rangeError(`more than ${HISTORICAL_MAP_ID_BASE} distinct map names`);
      this.#mapNames.push(name);
      this.#mapIds.set(name, id);
    }
    return id;
  }

  #txMap(id: number, method: string): TxMap {
    const invocation = this.#requireInvocation('ccf.kv');
    if (id >= HISTORICAL_MAP_ID_BASE) {
      const kind = Math.floor(id / HISTORICAL_MAP_ID_BASE);
      const historical = kind === 1 ? this.#historicalOf(invocation) : invocation.rangeStates[kind - 2];
      if (historical === undefined) throw typeError('this historical state belongs to a request that has already been handled');
      return this.#historicalMap(historical, id % HISTORICAL_MAP_ID_BASE, method);
    }
    const name = this.#mapNames[id];
    if (name === undefined) throw typeError('not a kv map handle');
    const cache = this.#access[invocation.mode];
    const decision = (cache[id] ??= mapAccess(name, invocation.mode));
    const writes = WRITE_METHODS.has(method);
    if (writes ? !canWrite(decision.access) : !canRead(decision.access)) {
      const state = decision.access === 'none' ? 'not accessible' : 'read-only';
      throw typeError(`Cannot call ${method} on map '${name}': it is ${state} to this app here (${decision.rule}).`);
    }
    return (invocation.txMaps[id] ??= invocation.tx.map(name));
  }

  /** A map of ccf.historicalState.kv: maps the app may read, read-only whatever the endpoint (as CCF). */
  #historicalMap(historical: HistoricalInvocation, id: number, method: string): TxMap {
    const name = this.#mapNames[id];
    if (name === undefined) throw typeError('not a kv map handle');
    const decision = (this.#access.historical[id] ??= mapAccess(name, 'historical'));
    if (!canRead(decision.access)) {
      throw typeError(`Cannot call ${method} on map '${name}' of ccf.historicalState.kv: it is not accessible to this app (${decision.rule}).`);
    }
    if (WRITE_METHODS.has(method)) {
      throw typeError(`Cannot call ${method} on map '${name}' of ccf.historicalState.kv: historical state is read-only.`);
    }
    return (historical.txMaps[id] ??= historical.hooks.tx.map(name));
  }

  #historicalOf(invocation: Invocation): HistoricalInvocation {
    if (invocation.historical === undefined) {
      throw new SandboxThrow('Error', 'ccf.historicalState is only available while an endpoint with "mode": "historical" handles a request');
    }
    return invocation.historical;
  }

  #historicalOp(subOp: number, argv: number): Ptr {
    const e = this.#engine;
    switch (subOp) {
      case HistoricalOp.transactionId:
        return e.newString(this.#historicalOf(this.#requireInvocation('ccf.historicalState')).hooks.transactionId);
      case HistoricalOp.receipt: {
        const historical = this.#historicalOf(this.#requireInvocation('ccf.historicalState'));
        return e.newString((historical.receiptJson ??= JSON.stringify(historical.hooks.receipt)));
      }
      case HistoricalOp.getStateRange:
        return this.#getStateRange(argv);
      case HistoricalOp.dropCachedStates:
      {
        const handle = this.#rangeNumber(argv, 2, 'handle');
        try {
          return e.newBoolean(this.#historicalRange().dropCachedStates(handle));
        } catch (error) {
          throw rangeHookError(error, 'Failed to drop cached states');
        }
      }
      default:
        throw typeError('unknown ccf.historical operation');
    }
  }

  #historicalRange(): HistoricalRangeHooks {
    const hooks = this.#requireInvocation('ccf.historical').hooks.historicalRange;
    if (hooks === undefined) throw new SandboxThrow('Error', 'ccf.historical is not available to this app (the node serves no historical queries)');
    return hooks;
  }

  #rangeNumber(argv: number, index: number, name: string): number {
    const value = this.#engine.arg(argv, index);
    if (this.#engine.typeOf(value) !== 'number') throw typeError(`${name} must be a number`);
    return this.#engine.number(value);
  }

  /** null while fetching; else JSON `[[slot, transactionId, receipt], …]` (the bootstrap builds the objects). */
  #getStateRange(argv: number): Ptr {
    const e = this.#engine;
    const invocation = this.#requireInvocation('ccf.historical.getStateRange');
    const [handle, start, end, expiry] = [
      this.#rangeNumber(argv, 2, 'handle'), this.#rangeNumber(argv, 3, 'startSeqno'),
      this.#rangeNumber(argv, 4, 'endSeqno'), this.#rangeNumber(argv, 5, 'secondsUntilExpiry'),
    ];
    let states: HistoricalHooks[] | null;
    try {
      states = this.#historicalRange().getStateRange(handle, start, end, expiry);
    } catch (error) {
      throw rangeHookError(error, 'Failed to get state range');
    }
    if (states === null) return e.newNull();
    if (invocation.rangeStates.length + states.length > jsLimits.historicalRangeStatesMax) {
      throw rangeError(`more than ${jsLimits.historicalRangeStatesMax} historical states in one request`);
    }
    const out: Array<[number, string, unknown]> = [];
    for (const hooks of states) {
      out.push([invocation.rangeStates.length, hooks.transactionId, hooks.receipt]);
      invocation.rangeStates.push({ hooks, txMaps: [], receiptJson: undefined });
    }
    return e.newString(JSON.stringify(out));
  }

  #iterOpen(invocation: Invocation, map: TxMap): number {
    const open = invocation.iterators.filter((it) => it !== undefined).length;
    if (open >= jsLimits.forEachOpenMax) throw rangeError(`more than ${jsLimits.forEachOpenMax} nested forEach calls`);
    const entries: Array<[Uint8Array, Uint8Array]> = [];
    map.forEach((value, key) => entries.push([key, value]));
    invocation.iterators.push({ entries, next: 0 });
    return invocation.iterators.length - 1;
  }

  /** The next batch as one ArrayBuffer of (u32 LE length, key, u32 LE length, value)*, or undefined. */
  #iterNext(invocation: Invocation, id: number): Ptr {
    const iterator = invocation.iterators[id];
    if (iterator === undefined || iterator.next >= iterator.entries.length) return 0;
    let end = iterator.next;
    let bytes = 0;
    do {
      const [key, value] = iterator.entries[end]!;
      bytes += 8 + key.length + value.length;
      end += 1;
    } while (end < iterator.entries.length && bytes < jsLimits.forEachBatchBytesMax);
    const batch = Buffer.allocUnsafe(bytes);
    let offset = 0;
    for (let i = iterator.next; i < end; i++) {
      const [key, value] = iterator.entries[i]!;
      offset = batch.writeUInt32LE(key.length, offset);
      batch.set(key, offset);
      offset = batch.writeUInt32LE(value.length, offset + key.length);
      batch.set(value, offset);
      offset += value.length;
    }
    iterator.next = end;
    return this.#engine.newArrayBuffer(batch);
  }

  // ---- converters, rpc, consensus, console, random ------------------------------------------------

  #miscOp(op: number, argv: number): Ptr {
    const e = this.#engine;
    switch (op) {
      case Op.strToBuf:
        return e.stringToArrayBuffer(e.arg(argv, 1));
      case Op.bufToStr: {
        // Converted inside linear memory (no host copy); 0 when it holds NUL (the sandbox decodes those).
        const text = e.arrayBufferToString(e.arg(argv, 1), jsLimits.cryptoInputBytesMax);
        if (text !== undefined) return text;
        if (e.lastArrayBufferLength > jsLimits.cryptoInputBytesMax) {
          throw rangeError(`ArrayBuffer argument is larger than ${jsLimits.cryptoInputBytesMax} bytes`);
        }
        throw typeError('Argument must be an ArrayBuffer');
      }
      case Op.setApplyWrites:
        this.#requireInvocation('ccf.rpc').outcome.applyWrites = this.#number(argv, 1) !== 0;
        return 0;
      case Op.setClaimsDigest: {
        const digest = this.#bytes(argv, 1);
        if (digest.length !== 32) throw typeError(`Argument must be an ArrayBuffer of 32 bytes, not ${digest.length}`);
        this.#requireInvocation('ccf.rpc').outcome.claimsDigest = digest;
        return 0;
      }
      case Op.lastCommittedTxId: {
        const { view, seqno } = this.#consensus().lastCommittedTxId();
        return e.newString(JSON.stringify([view, seqno]));
      }
      case Op.statusForTxId:
        return e.newString(this.#consensus().statusForTxId(this.#txNumber(argv, 1, 'view'), this.#txNumber(argv, 2, 'seqno')));
      case Op.viewForSeqno: {
        const view = this.#consensus().viewForSeqno(this.#txNumber(argv, 1, 'seqno'));
        return view === undefined ? e.newNull() : e.newNumber(view);
      }
      case Op.historical:
        return this.#historicalOp(this.#number(argv, 1), argv);
      case Op.log:
        this.#log(this.#string(argv, 1) as LogLevel, this.#string(argv, 2));
        return 0;
      case Op.random:
        return e.newNumber(this.#randomDouble());
      default:
        throw typeError(`unknown host operation ${op}`);
    }
  }

  #consensus(): ConsensusHooks {
    const hooks = this.#requireInvocation('ccf.consensus').hooks.consensus;
    if (hooks === undefined) throw new SandboxThrow('InternalError', 'ccf.consensus is not available to this invocation');
    return hooks;
  }

  #txNumber(argv: number, index: number, what: string): number {
    const value = Math.trunc(this.#number(argv, index));
    if (!Number.isSafeInteger(value)) throw rangeError(`Invalid ${what}: not a number`);
    if (value < 0) throw rangeError(`Invalid ${what}: cannot be negative`);
    return value;
  }

  #log(level: LogLevel, line: string): void {
    const invocation = this.#invocation;
    const log = invocation?.hooks.log;
    if (invocation === undefined || log === undefined) return;
    invocation.logLines += 1;
    if (invocation.logLines > jsLimits.logLinesPerRequestMax) return;
    const bounded = line.length > jsLimits.logLineBytesMax ? `${line.slice(0, jsLimits.logLineBytesMax)}…` : line;
    log(level, invocation.logLines === jsLimits.logLinesPerRequestMax ? `${bounded} (further lines dropped)` : bounded);
  }

  /** A uniform double in [0, 1) from 53 random bits, like CCF's Math.random over its entropy source. */
  #randomDouble(): number {
    if (this.#randomOffset + 8 > this.#random.length) {
      this.#random = randomBytes(RANDOM_POOL_BYTES);
      this.#randomOffset = 0;
    }
    const high = this.#random.readUInt32LE(this.#randomOffset) >>> 11;
    const low = this.#random.readUInt32LE(this.#randomOffset + 4);
    this.#randomOffset += 8;
    return (high * 2 ** 32 + low) / 2 ** 53;
  }

  // ---- ccf.crypto -------------------------------------------------------------------------------

  #algorithm(argv: number): crypto.SigningAlgorithm {
    return { name: this.#string(argv, 1), hash: this.#string(argv, 2), saltLength: this.#number(argv, 3) };
  }

  readonly #jsonString = (value: unknown): Ptr => this.#engine.newString(JSON.stringify(value));

  #wrapParameters(argv: number): crypto.WrapParameters {
    return {
      name: this.#string(argv, 3),
      label: this.#number(argv, 4) !== 0 ? this.#bytes(argv, 5) : undefined,
      aesKeyBits: this.#number(argv, 6),
    };
  }

  #cryptoOp(op: number, argv: number): Ptr {
    const e = this.#engine;
    // A method, not a closure: tsx's keepNames would wrap a per-call closure in an Object.defineProperty.
    const json = this.#jsonString;
    switch (op) {
      case Op.digest:
        return e.newArrayBuffer(crypto.digest(this.#string(argv, 1), this.#bytes(argv, 2)));
      case Op.generateAesKey:
        return e.newArrayBuffer(crypto.generateAesKey(this.#number(argv, 1)));
      case Op.generateRsaKeyPair:
        return json(crypto.generateRsaKeyPair(this.#number(argv, 1), this.#number(argv, 2)));
      case Op.generateEcdsaKeyPair:
        return json(crypto.generateEcdsaKeyPair(this.#string(argv, 1)));
      case Op.generateEddsaKeyPair:
        return json(crypto.generateEddsaKeyPair(this.#string(argv, 1)));
      case Op.sign:
        return e.newArrayBuffer(crypto.sign(this.#algorithm(argv), this.#bytes(argv, 4), this.#bytes(argv, 5)));
      case Op.verifySignature: {
        const key = Buffer.from(this.#bytes(argv, 4)).toString('utf8');
        return e.newBoolean(crypto.verifySignature(this.#algorithm(argv), key, this.#bytes(argv, 5), this.#bytes(argv, 6)));
      }
      case Op.wrapKey:
        return e.newArrayBuffer(crypto.wrapKey(this.#bytes(argv, 1), this.#bytes(argv, 2), this.#wrapParameters(argv)));
      case Op.unwrapKey:
        return e.newArrayBuffer(crypto.unwrapKey(this.#bytes(argv, 1), this.#bytes(argv, 2), this.#wrapParameters(argv)));
      case Op.isValidX509CertBundle:
        return e.newBoolean(crypto.isValidX509CertBundle(this.#string(argv, 1)));
      case Op.isValidX509CertChain:
        return e.newBoolean(crypto.isValidX509CertChain(this.#string(argv, 1), this.#string(argv, 2)));
      case Op.pemToJwk: {
        const kid = this.#number(argv, 3) !== 0 ? this.#string(argv, 4) : undefined;
        return json(crypto.pemToJwk(this.#number(argv, 1), this.#string(argv, 2), kid));
      }
      case Op.jwkToPem:
        return e.newString(crypto.jwkToPem(this.#number(argv, 1), this.#string(argv, 2)));
      case Op.pemToId:
        return e.newString(crypto.pemToId(this.#string(argv, 1)));
      case Op.verifySnpAttestation: {
        const optional = (index: number) => (e.typeOf(e.arg(argv, index)) === 'undefined' ? undefined : index);
        const uvm = optional(3);
        const tcb = optional(4);
        return e.newString(verifySnpAttestationJson({
          evidence: this.#bytes(argv, 1),
          endorsements: this.#bytes(argv, 2),
          uvmEndorsements: uvm === undefined ? undefined : this.#bytes(argv, uvm),
          endorsedTcb: tcb === undefined ? undefined : this.#string(argv, tcb),
        }));
      }
      default:
        throw typeError(`unknown host operation ${op}`);
    }
  }
}
