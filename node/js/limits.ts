// Limits for node/js, the sandboxed JavaScript runtime, kept together (TIGER_STYLE: put a limit on
// everything, units last in the name).
//
// The three runtime limits default to CCF's (`JSRuntimeOptions`: 100 MiB heap, 1 MiB stack, 5 s per
// request); governance changes them with `set_js_runtime_options`, within the bounds below. Everything an
// app hands the host (keys, values, responses, log lines) is hostile input and is bounded here.

export const jsLimits = {
  /** CCF's default `max_heap_bytes`. */
  heapBytesDefault: 100 * 1024 * 1024,
  /** States ccf.historical.getStateRange may hand out within one request. */
  historicalRangeStatesMax: 4096,
  /** CCF's default `max_stack_bytes`; the host's own stack may lower what is granted (runtime.ts). */
  stackBytesDefault: 1024 * 1024,
  /** CCF's default `max_execution_time_ms`. */
  executionTimeMsDefault: 5_000,

  /** Bounds governance may set. Below the minimums QuickJS cannot even start a context. */
  heapBytesMin: 4 * 1024 * 1024,
  heapBytesMax: 1024 * 1024 * 1024,
  stackBytesMin: 64 * 1024,
  /** QuickJS's C stack lives in WebAssembly linear memory, 5 MiB in this build; keep a margin. */
  stackBytesMax: 4 * 1024 * 1024,
  executionTimeMsMin: 10,
  executionTimeMsMax: 60_000,

  /**
   * Memory the WebAssembly instance may grow to beyond the heap limit. QuickJS counts its own
   * allocations against the heap limit; buffers the host hands in are outside that count, so the linear
   * memory itself is capped as a backstop.
   */
  wasmMemoryMarginBytes: 64 * 1024 * 1024,
  /** WebAssembly32 cannot address more. */
  wasmMemoryBytesMax: 2 * 1024 * 1024 * 1024,

  /** Bundle shape. CCF has no explicit bounds; these are far above any real app. */
  bundleModulesMax: 1_024,
  bundleModuleBytesMax: 8 * 1024 * 1024,
  bundleTotalBytesMax: 64 * 1024 * 1024,
  bundleEndpointsMax: 4_096,
  moduleNameLengthMax: 512,
  endpointPathLengthMax: 1_024,
  functionNameLengthMax: 256,

  /** Keys and values an app may write (the native apps' bound, node/limits.ts). */
  kvKeyBytesMax: 64 * 1024,
  kvValueBytesMax: 1024 * 1024,
  /** Entries handed to a `forEach` callback per crossing into the sandbox. */
  forEachBatchBytesMax: 256 * 1024,
  /** Nested forEach iterations open at once in one request. */
  forEachOpenMax: 64,

  /**
   * Nesting of a request body read with request.body.json(). A client controls this directly, and very
   * deep JSON can exhaust the host's stack in QuickJS's parser and later JSON.stringify (engine.ts);
   * no real request nests this deep.
   */
  requestJsonDepthMax: 1_024,
  /** Response body, as the frontend will send it. */
  responseBodyBytesMax: 16 * 1024 * 1024,
  responseHeadersMax: 64,
  responseHeaderBytesMax: 16 * 1024,
  /** One console line, and lines per request, before they are cut. */
  logLineBytesMax: 4 * 1024,
  logLinesPerRequestMax: 100,
  /** Error messages and stacks copied out of the sandbox into error results. */
  errorTextBytesMax: 4 * 1024,

  /** Crypto arguments. RSA key generation is slow and cannot be interrupted, hence the cap. */
  rsaKeyBitsMin: 1_024,
  rsaKeyBitsMax: 4_096,
  cryptoInputBytesMax: 16 * 1024 * 1024,
  certificateChainMax: 16,
} as const;

export interface JsRuntimeLimits {
  maxHeapBytes: number;
  maxStackBytes: number;
  maxExecutionTimeMs: number;
}

export const defaultRuntimeLimits: JsRuntimeLimits = {
  maxHeapBytes: jsLimits.heapBytesDefault,
  maxStackBytes: jsLimits.stackBytesDefault,
  maxExecutionTimeMs: jsLimits.executionTimeMsDefault,
};
