// The binding to quickjs-emscripten's release build (sync variant): the slice of its C interface
// (`QTS_*`) that engine.ts drives, and loading the WebAssembly module. The FFI is documented as unstable,
// so the package is pinned exactly (package.json) and engine.ts checks what it relies on at start.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RELEASE_SYNC } from 'quickjs-emscripten';

/** A `JSValue*` (or other pointer) in the instance's linear memory. */
export type Ptr = number;

/** The slice of the C interface engine.ts uses, with plain numbers for pointers. */
export interface RawFfi {
  QTS_NewRuntime(): number;
  QTS_NewContext(rt: number, intrinsics: number): number;
  QTS_RuntimeSetMemoryLimit(rt: number, limit: number): void;
  QTS_RuntimeSetMaxStackSize(rt: number, bytes: number): void;
  QTS_RuntimeEnableInterruptHandler(rt: number): void;
  QTS_RuntimeEnableModuleLoader(rt: number, customNormalize: number): void;
  QTS_GetUndefined(): Ptr;
  QTS_GetNull(): Ptr;
  QTS_GetTrue(): Ptr;
  QTS_GetFalse(): Ptr;
  QTS_FreeValuePointer(ctx: number, value: Ptr): void;
  QTS_FreeCString(ctx: number, str: number): void;
  QTS_DupValuePointer(ctx: number, value: Ptr): Ptr;
  QTS_NewObject(ctx: number): Ptr;
  QTS_NewArrayBuffer(ctx: number, buffer: number, length: number): Ptr;
  QTS_NewFloat64(ctx: number, value: number): Ptr;
  QTS_GetFloat64(ctx: number, value: Ptr): number;
  QTS_NewString(ctx: number, str: number): Ptr;
  QTS_GetString(ctx: number, value: Ptr): number;
  QTS_GetArrayBuffer(ctx: number, value: Ptr): number;
  QTS_GetArrayBufferLength(ctx: number, value: Ptr): number;
  QTS_IsJobPending(rt: number): number;
  QTS_RuntimeComputeMemoryUsage(rt: number, ctx: number): Ptr;
  QTS_ExecutePendingJob(rt: number, maxJobs: number, lastJobContext: number): Ptr;
  QTS_GetProp(ctx: number, object: Ptr, key: Ptr): Ptr;
  QTS_SetProp(ctx: number, object: Ptr, key: Ptr, value: Ptr): void;
  QTS_Call(ctx: number, fn: Ptr, thisValue: Ptr, argc: number, argv: number): Ptr;
  QTS_ResolveException(ctx: number, maybeException: Ptr): Ptr;
  QTS_Eval(ctx: number, code: number, length: number, filename: string, detectModule: number, flags: number): Ptr;
  QTS_Typeof(ctx: number, value: Ptr): number;
  QTS_Throw(ctx: number, error: Ptr): Ptr;
  QTS_NewError(ctx: number): Ptr;
  QTS_NewFunction(ctx: number, name: string, length: number, isConstructor: boolean, hostRefId: number): Ptr;
  QTS_ArgvGetJSValueConstPointer(argv: number, index: number): Ptr;
  QTS_PromiseState(ctx: number, promise: Ptr): number;
  QTS_PromiseResult(ctx: number, promise: Ptr): Ptr;
}

export interface RawModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  callbacks: RawCallbacks;
}

export interface RawCallbacks {
  callFunction(asyncify: unknown, ctx: number, thisPtr: Ptr, argc: number, argv: number, hostRefId: number): Ptr;
  shouldInterrupt(asyncify: unknown, rt: number): 0 | 1;
  loadModuleSource(asyncify: unknown, rt: number, ctx: number, moduleName: string): number;
  normalizeModule(asyncify: unknown, rt: number, ctx: number, base: string, name: string): number;
  freeHostRef(asyncify: unknown, rt: number, id: number): void;
}

type ModuleLoader = (options: Record<string, unknown>) => Promise<unknown>;

interface Loaded {
  wasm: WebAssembly.Module;
  loader: ModuleLoader;
  Ffi: new (module: unknown) => unknown;
}

let loaded: Promise<Loaded> | undefined;

async function load(): Promise<Loaded> {
  const fromQuickjs = createRequire(createRequire(import.meta.url).resolve('quickjs-emscripten'));
  const wasmPath = fromQuickjs.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  const wasm = await WebAssembly.compile(readFileSync(wasmPath));
  const loader = (await RELEASE_SYNC.importModuleLoader()) as unknown as ModuleLoader;
  const Ffi = (await RELEASE_SYNC.importFFI()) as unknown as new (module: unknown) => unknown;
  return { wasm, loader, Ffi };
}

const WASM_PAGE_BYTES = 64 * 1024;
// The build's own initial memory (its C stack alone is 5 MiB); the instance may not start smaller.
const WASM_INITIAL_BYTES = 16 * 1024 * 1024;

/**
 * A fresh instance of the build with its own linear memory, capped at `memoryBytes` (at least the
 * build's initial 16 MiB). The module is compiled once per process: instantiating it again takes 1-4 ms
 * instead of ~20 ms.
 */
export async function instantiate(memoryBytes: number): Promise<{ module: RawModule; ffi: RawFfi }> {
  loaded ??= load();
  const { wasm, loader, Ffi } = await loaded;
  const wasmMemory = new WebAssembly.Memory({
    initial: WASM_INITIAL_BYTES / WASM_PAGE_BYTES,
    maximum: Math.max(WASM_INITIAL_BYTES, memoryBytes) / WASM_PAGE_BYTES,
  });
  const module = (await loader({
    wasmMemory,
    instantiateWasm(imports: WebAssembly.Imports, onSuccess: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      const instance = new WebAssembly.Instance(wasm, imports);
      onSuccess(instance, wasm);
      return instance.exports;
    },
  })) as RawModule;
  return { module, ffi: new Ffi(module) as RawFfi };
}
