// A deployed JS app: its bundle, evaluated once in a QuickJS engine that is kept for all its requests,
// and `invoke`, which runs one endpoint's handler against a caller-provided KV transaction.
//
// Lifecycle of a request (CCF's js_generic, src/js/registry.cpp): the handler receives CCF's request
// object, may use `ccf.*`, and returns `{statusCode?, headers?, body?}` (or a promise of it, whose jobs are
// run before returning). The caller gets a response, or a failure carrying a JsError; it answers 500 for
// failures, commits the Tx on 2xx unless the app called ccf.rpc.setApplyWrites.
//
// Reuse: CCF starts a fresh interpreter per request unless an endpoint opts into interpreter reuse; Synod
// always reuses, because QuickJS on WebAssembly takes milliseconds to start and tens of microseconds to
// call. So module-level state survives between requests (as with CCF's reuse policies), and module
// top-level code runs once, at load, where ccf.kv is not available (it throws a clear error).
//
// Limits and recovery: heap (QuickJS's allocator limit), stack (QuickJS's stack limit, capped by what
// the host thread can back, engine.ts), time (QuickJS's interrupt handler against a deadline). After a
// stack overflow or an ordinary exception the engine is kept. After a timeout or out-of-memory, or when
// the engine itself failed, the engine is replaced: a spare engine is instantiated in advance, so the
// replacement (bootstrap + evaluating the bundle) is synchronous and the next request finds it ready.

import { KvError, type Tx } from '../kv/index.ts';
import { BOOTSTRAP_SOURCE } from './bootstrap.ts';
import { endpointTable, findEndpoint, validateBundle, type Bundle, type JsEndpoint, type JsEndpointTable } from './bundle.ts';
import { createEngine, type Engine, type Ptr } from './engine.ts';
import { hostStackBudgetBytes } from './stack.ts';
import { JsError, assert, type JsErrorCode, type JsExceptionDetails } from './errors.ts';
import { SandboxHost } from './globals.ts';
import type { InvocationOutcome, InvokeHooks, JsRequest, JsResponse } from './invocation.ts';
import { defaultRuntimeLimits, jsLimits, type JsRuntimeLimits } from './limits.ts';

export interface JsAppOptions {
  /** Governance's set_js_runtime_options; CCF's defaults when absent. */
  limits?: Partial<JsRuntimeLimits>;
}

export type InvokeResult =
  | {
      ok: true;
      response: JsResponse;
      /** Set when the app called ccf.rpc.setApplyWrites: overrides "apply on 2xx". */
      applyWrites?: boolean;
      /** Set when the app called ccf.rpc.setClaimsDigest (32 bytes). */
      claimsDigest?: Uint8Array;
    }
  | { ok: false; error: JsError };

export interface JsAppStats {
  /** Engines replaced after running out of memory or an engine failure. */
  restarts: number;
  /** Time to put a working engine back after the last replacement, in milliseconds. */
  lastRecoveryMs: number | undefined;
  /** The current engine's QuickJS heap in use, and its WebAssembly linear memory (undefined while none). */
  heapUsedBytes: number | undefined;
  memoryBytes: number | undefined;
}

/** The endpoint to run: from the app's table, or looked up by method and app.json path. */
export type EndpointRef = JsEndpoint | { method: string; path: string };

interface Instance {
  engine: Engine;
  host: SandboxHost;
  invoke: Ptr;
  /** `${js_module}\n${js_function}` → exported function. */
  handlers: Map<string, Ptr>;
  /** The same by endpoint object, filled as requests arrive (no key string to build per request). */
  byEndpoint: WeakMap<JsEndpoint, Ptr>;
}

const handlerKey = (endpoint: JsEndpoint): string => `${endpoint.properties.js_module}\n${endpoint.properties.js_function}`;

/** Checks governance's runtime options (CCF's field names or ours); throws JS_OPTIONS_INVALID. */
export function validateRuntimeLimits(input: Partial<JsRuntimeLimits>): JsRuntimeLimits {
  const pick = (value: number | undefined, fallback: number, min: number, max: number, name: string): number => {
    const chosen = value ?? fallback;
    if (!Number.isSafeInteger(chosen) || chosen < min || chosen > max) {
      throw new JsError('JS_OPTIONS_INVALID', `${name} must be an integer from ${min} to ${max}, not ${String(chosen)}`);
    }
    return chosen;
  };
  return {
    maxHeapBytes: pick(input.maxHeapBytes, defaultRuntimeLimits.maxHeapBytes, jsLimits.heapBytesMin, jsLimits.heapBytesMax, 'maxHeapBytes'),
    maxStackBytes: pick(input.maxStackBytes, defaultRuntimeLimits.maxStackBytes, jsLimits.stackBytesMin, jsLimits.stackBytesMax, 'maxStackBytes'),
    maxExecutionTimeMs: pick(
      input.maxExecutionTimeMs,
      defaultRuntimeLimits.maxExecutionTimeMs,
      jsLimits.executionTimeMsMin,
      jsLimits.executionTimeMsMax,
      'maxExecutionTimeMs',
    ),
  };
}

/** CCF's `set_js_runtime_options` arguments (max_heap_bytes, max_stack_bytes, max_execution_time_ms). */
export function runtimeLimitsFromCcf(args: Record<string, unknown>): JsRuntimeLimits {
  const number = (key: string): number | undefined => {
    const value = args[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number') throw new JsError('JS_OPTIONS_INVALID', `${key} must be a number`);
    return value;
  };
  return validateRuntimeLimits({
    maxHeapBytes: number('max_heap_bytes'),
    maxStackBytes: number('max_stack_bytes'),
    maxExecutionTimeMs: number('max_execution_time_ms'),
  });
}

/** Validates the bundle, starts an engine, evaluates every module an endpoint names. */
export async function loadJsApp(bundle: unknown, options: JsAppOptions = {}): Promise<JsApp> {
  const validated = validateBundle(bundle);
  const limits = validateRuntimeLimits(options.limits ?? {});
  const app = new JsApp(validated, limits);
  await app.start();
  return app;
}

export class JsApp {
  readonly bundle: Bundle;
  readonly endpoints: JsEndpointTable;
  readonly #modules: ReadonlyMap<string, string>;
  #limits: JsRuntimeLimits;
  #instance: Instance | undefined;
  #spare: Engine | undefined;
  #pending: Promise<void> | undefined;
  #disposed = false;
  #stats = { restarts: 0, lastRecoveryMs: undefined as number | undefined };

  /** Use loadJsApp. */
  constructor(bundle: Bundle, limits: JsRuntimeLimits) {
    this.bundle = bundle;
    this.endpoints = endpointTable(bundle);
    this.#modules = new Map(bundle.modules.map((m) => [m.name, m.module]));
    this.#limits = limits;
  }

  /** The limits in force; `maxStackBytes` is what QuickJS was granted (see hostStackBudgetBytes). */
  get limits(): JsRuntimeLimits {
    return { ...this.#limits, maxStackBytes: this.#grantedStackBytes() };
  }

  get stats(): JsAppStats {
    const engine = this.#instance?.engine;
    return { ...this.#stats, heapUsedBytes: engine?.heapUsedBytes(), memoryBytes: engine?.memoryBytes };
  }

  /** True while an engine is ready for requests. */
  get ready(): boolean {
    return this.#instance !== undefined;
  }

  async start(): Promise<void> {
    assert(this.#instance === undefined, 'start called twice');
    this.#instance = this.#build(await this.#newEngine());
    this.#prepareSpare();
  }

  /** Applies new limits (set_js_runtime_options): later requests run on an engine built with them. */
  async setLimits(input: Partial<JsRuntimeLimits>): Promise<void> {
    const limits = validateRuntimeLimits({ ...this.#limits, ...input });
    this.#limits = limits;
    this.#spare = undefined;
    const instance = this.#build(await this.#newEngine());
    if (this.#disposed) return;
    this.#instance = instance;
    this.#prepareSpare();
  }

  /** Resolves once a replacement started after a failure (if any) is in place. */
  async settled(): Promise<void> {
    while (this.#pending !== undefined) await this.#pending;
  }

  dispose(): void {
    // Engines own their linear memory; dropping them frees everything, whatever state they are in.
    this.#disposed = true;
    this.#instance = undefined;
    this.#spare = undefined;
  }

  invoke(ref: EndpointRef, request: JsRequest, tx: Tx, hooks: InvokeHooks = {}): InvokeResult {
    if (this.#disposed) return failure('JS_APP_DISPOSED', 'this app was replaced or removed');
    const endpoint = 'properties' in ref ? ref : findEndpoint(this.endpoints, ref.method, ref.path);
    const instance = this.#instance;
    if (instance === undefined) return failure('JS_RESTARTING', 'the JS engine is being replaced after a failure; retry shortly');
    let fn = instance.byEndpoint.get(endpoint);
    if (fn === undefined) {
      fn = instance.handlers.get(handlerKey(endpoint));
      if (fn !== undefined) instance.byEndpoint.set(endpoint, fn);
    }
    if (fn === undefined) return failure('JS_INVALID_ARGUMENT', `no handler loaded for ${endpoint.method} ${endpoint.path}`);
    const { engine, host } = instance;
    const gen = host.begin(tx, hooks.executionMode ?? endpoint.properties.mode, request, hooks);
    let exception: Ptr = 0;
    let outcome: InvocationOutcome;
    let engineError: JsError | undefined;
    engine.resetCallState();
    engine.deadlineMs = performance.now() + this.#limits.maxExecutionTimeMs;
    try {
      exception = this.#run(instance, fn, gen, hooks.historical !== undefined, request.query);
    } catch (error) {
      if (!(error instanceof JsError)) throw error;
      engineError = error;
    } finally {
      engine.deadlineMs = Number.POSITIVE_INFINITY;
      outcome = host.finish();
    }
    const result = this.#classify(instance, exception, outcome, engineError);
    engine.free(exception);
    if (outcome.asyncException !== undefined) engine.free(outcome.asyncException);
    return result;
  }

  /**
   * Calls the handler and runs its promise jobs while the request is still current; returns the
   * exception that ended it, or 0. No job may outlive the request: one left queued would run during the
   * next request, against that request's Tx.
   */
  #run(instance: Instance, fn: Ptr, gen: number, historical: boolean, query: string): Ptr {
    const { engine } = instance;
    // The query string goes along with the call (the handler's request.query then needs no host call);
    // one holding NUL is left to the host call, which hands it over as bytes.
    const queryPtr = query === '' ? engine.emptyString : query.includes('\0') ? engine.undefined : engine.newString(query);
    let result;
    try {
      result = engine.call4(instance.invoke, engine.undefined, fn, engine.intArg(0, gen), engine.intArg(1, historical ? 1 : 0), queryPtr);
    } finally {
      if (queryPtr !== engine.emptyString && queryPtr !== engine.undefined) engine.free(queryPtr);
    }
    let exception = 0;
    if (result.ok) engine.free(result.value);
    else exception = result.exception;
    const jobs = engine.runJobs();
    if (!jobs.ok) {
      if (exception === 0) exception = jobs.exception;
      else engine.free(jobs.exception);
    }
    drainJobs(engine);
    return exception;
  }

  #classify(instance: Instance, exception: Ptr, outcome: InvocationOutcome, engineError: JsError | undefined): InvokeResult {
    const { engine } = instance;
    const fault = engine.hostFault;
    if (fault instanceof KvError && fault.code === 'KV_INVARIANT') throw fault;
    if (engineError !== undefined || engine.poisoned !== undefined) {
      this.#replace(instance);
      return { ok: false, error: engineError ?? new JsError('JS_ENGINE_FAILED', 'the JS engine failed and was replaced') };
    }
    if (fault !== undefined) {
      // Our side failed (for instance the caller's Tx was already committed): never a success, even if
      // the app caught the error it saw.
      return failure('JS_INVALID_ARGUMENT', `a host function failed: ${(fault as Error)?.message ?? String(fault)}`);
    }
    const thrown = exception !== 0 ? exception : (outcome.asyncException ?? 0);
    if (thrown !== 0) {
      // The engine is kept: QuickJS unwinds an interrupt cleanly, and module state a handler left half
      // updated is no different from what an exception leaves (CCF apps keep no state between requests).
      if (engine.stopReason === 'interrupted') return failure('JS_TIMEOUT', 'Operation took too long to complete.');
      const details = engine.describe(thrown);
      if (engine.poisoned !== undefined) this.#replace(instance);
      return this.#exceptionFailure(instance, details);
    }
    if (outcome.invalidResponse !== undefined) return failure('JS_INVALID_RESPONSE', outcome.invalidResponse);
    if (outcome.response === undefined) {
      return failure('JS_INVALID_RESPONSE', 'the handler returned a promise that did not settle');
    }
    const result: InvokeResult = { ok: true, response: outcome.response };
    if (outcome.applyWrites !== undefined) result.applyWrites = outcome.applyWrites;
    if (outcome.claimsDigest !== undefined) result.claimsDigest = outcome.claimsDigest;
    return result;
  }

  #exceptionFailure(instance: Instance, details: JsExceptionDetails): InvokeResult {
    if (details.name === 'InternalError' && details.message === 'out of memory') {
      this.#replace(instance);
      return failure('JS_OUT_OF_MEMORY', `The app ran out of memory (limit ${this.#limits.maxHeapBytes} bytes).`, details);
    }
    // QuickJS reports it as an InternalError, or a SyntaxError when the parser (JSON.parse, eval) overflows.
    if ((details.name === 'InternalError' || details.name === 'SyntaxError') && details.message === 'stack overflow') {
      return failure('JS_STACK_OVERFLOW', `The app overflowed its stack (limit ${this.#grantedStackBytes()} bytes).`, details);
    }
    return failure('JS_EXCEPTION', 'Exception thrown while executing.', details);
  }

  // ---- engines ----------------------------------------------------------------------------------

  #grantedStackBytes(): number {
    return Math.max(jsLimits.stackBytesMin, Math.min(this.#limits.maxStackBytes, hostStackBudgetBytes()));
  }

  #newEngine(): Promise<Engine> {
    return createEngine({ heapBytes: this.#limits.maxHeapBytes, stackBytes: this.#grantedStackBytes() });
  }

  #prepareSpare(): void {
    if (this.#disposed || this.#spare !== undefined) return;
    const limits = this.#limits;
    this.#newEngine().then(
      (engine) => {
        if (!this.#disposed && this.#limits === limits) this.#spare ??= engine;
      },
      () => {
        // Instantiation itself failed (out of memory on the host?): the next replacement retries.
      },
    );
  }

  /** Swaps in a fresh engine for a failed or dirty one, synchronously when a spare is ready. */
  #replace(failed: Instance): void {
    if (this.#instance !== failed || this.#disposed) return;
    this.#stats.restarts += 1;
    this.#instance = undefined;
    const started = performance.now();
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare !== undefined) {
      try {
        this.#instance = this.#build(spare);
        this.#stats.lastRecoveryMs = performance.now() - started;
        this.#prepareSpare();
        return;
      } catch {
        // Fall through to an asynchronous rebuild on a new engine.
      }
    }
    const pending = this.#newEngine()
      .then((engine) => {
        if (this.#disposed) return;
        this.#instance = this.#build(engine);
        this.#stats.lastRecoveryMs = performance.now() - started;
        this.#prepareSpare();
      })
      .finally(() => {
        if (this.#pending === pending) this.#pending = undefined;
      });
    this.#pending = pending;
  }

  /** Bootstrap, then load every module an endpoint names and look its handlers up. */
  #build(engine: Engine): Instance {
    const host = new SandboxHost(engine, this.#modules);
    engine.resetCallState();
    engine.deadlineMs = performance.now() + this.#limits.maxExecutionTimeMs;
    try {
      const entries = bootstrap(engine);
      const handlers = new Map<string, Ptr>();
      const loaded = new Map<string, Ptr>();
      try {
        for (const endpoint of this.endpoints) {
          const { js_module: moduleName, js_function: name } = endpoint.properties;
          let namespace = loaded.get(moduleName);
          if (namespace === undefined) {
            namespace = loadModule(engine, entries.load, moduleName);
            loaded.set(moduleName, namespace);
          }
          if (!handlers.has(handlerKey(endpoint))) handlers.set(handlerKey(endpoint), exportedFunction(engine, namespace, moduleName, name));
        }
      } finally {
        for (const namespace of loaded.values()) engine.free(namespace);
        engine.free(entries.load);
      }
      return { engine, host, invoke: entries.invoke, handlers, byEndpoint: new WeakMap() };
    } finally {
      engine.deadlineMs = Number.POSITIVE_INFINITY;
    }
  }
}

/** Jobs left after a failure run with the clock already expired, so each stops at its first check. */
function drainJobs(engine: Engine): void {
  if (!engine.jobsPending()) return;
  const { deadlineMs, stopReason } = engine;
  engine.deadlineMs = Number.NEGATIVE_INFINITY;
  try {
    for (let round = 0; round < DRAIN_ROUNDS_MAX && engine.jobsPending(); round++) {
      const jobs = engine.runJobs();
      if (!jobs.ok) engine.free(jobs.exception);
    }
    if (engine.jobsPending()) engine.poisoned ??= new Error('promise jobs kept queueing more jobs after the request ended');
  } finally {
    engine.deadlineMs = deadlineMs;
    engine.stopReason = stopReason;
  }
}

const DRAIN_ROUNDS_MAX = 1_000;

function failure(code: JsErrorCode, message: string, details?: JsExceptionDetails): InvokeResult {
  return { ok: false, error: new JsError(code, message, details) };
}

const ERROR_CLASSES = ['Error', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'InternalError'] as const;

function bootstrap(engine: Engine): { invoke: Ptr; load: Ptr } {
  const script = engine.evalScript(BOOTSTRAP_SOURCE, 'synod:bootstrap');
  if (!script.ok) throw loadFailure(engine, script.exception, 'the sandbox bootstrap failed');
  const hostFunction = engine.newHostFunction('host');
  const entries = engine.call(script.value, engine.undefined, [hostFunction]);
  engine.free(hostFunction);
  engine.free(script.value);
  if (!entries.ok) throw loadFailure(engine, entries.exception, 'the sandbox bootstrap failed');
  try {
    const invoke = engine.getProp(entries.value, '0');
    const load = engine.getProp(entries.value, '1');
    ERROR_CLASSES.forEach((name, i) => {
      const constructor = engine.getProp(entries.value, String(i + 2));
      engine.setErrorClass(name, constructor);
      engine.free(constructor);
    });
    return { invoke, load };
  } finally {
    engine.free(entries.value);
  }
}

function loadModule(engine: Engine, load: Ptr, name: string): Ptr {
  const nameValue = engine.newString(name);
  const started = engine.call(load, engine.undefined, [nameValue]);
  engine.free(nameValue);
  if (!started.ok) throw loadFailure(engine, started.exception, `module '${name}' failed to load`);
  try {
    const jobs = engine.runJobs();
    if (!jobs.ok) throw loadFailure(engine, jobs.exception, `module '${name}' failed to load`);
    const state = engine.promiseState(started.value);
    if (state === 'fulfilled') return engine.promiseResult(started.value);
    if (state === 'rejected') throw loadFailure(engine, engine.promiseResult(started.value), `module '${name}' failed to load`);
    throw new JsError('JS_MODULE_LOAD_FAILED', `module '${name}' did not finish loading (top-level await that never settles?)`);
  } finally {
    engine.free(started.value);
  }
}

function exportedFunction(engine: Engine, namespace: Ptr, moduleName: string, name: string): Ptr {
  const fn = engine.getProp(namespace, name);
  if (engine.typeOf(fn) !== 'function') {
    engine.free(fn);
    throw new JsError('JS_MODULE_LOAD_FAILED', `module '${moduleName}' does not export a function '${name}'`);
  }
  return fn;
}

/** A deploy-time failure from an exception value (which it frees). */
function loadFailure(engine: Engine, exception: Ptr, what: string): JsError {
  const details = engine.stopReason === 'interrupted' ? { name: 'InternalError', message: 'interrupted (time limit)' } : engine.describe(exception);
  engine.free(exception);
  const stack = details.stack ? `\n${details.stack}` : '';
  return new JsError('JS_MODULE_LOAD_FAILED', `${what}: ${details.name}: ${details.message}${stack}`, details);
}
