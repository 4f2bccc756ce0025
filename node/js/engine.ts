// One QuickJS engine: a WebAssembly instance of quickjs-emscripten's release build, holding one QuickJS
// runtime and one context, driven through the build's C interface (`QTS_*`) directly.
//
// Why not quickjs-emscripten's QuickJSContext: every call from the sandbox into a host function goes
// there through a generator-based scope and several wrapper objects per argument, which costs 10-20 µs
// per call (measured; a kv.get is one such call). Here a host call is the C callback plus a few typed-array
// reads, about 0.6 µs. The FFI is documented as unstable, so the package version is pinned exactly and
// `selfCheck` verifies the parts we rely on when the first engine starts.
//
// Each engine owns its own linear memory. Disposing one is dropping it: nothing in it is freed one by one,
// so a sandbox left corrupt by a trap (a host stack overflow unwinding through QuickJS, a failed assertion)
// never has to be cleaned up, only replaced.
//
// Pointers: a `Ptr` is a `JSValue*` in linear memory. Owned pointers (returned by QTS_New*, QTS_Call,
// QTS_GetProp, QTS_Eval…) must be released with `free`; argument pointers inside a host call are
// borrowed. A host function returns an owned pointer (or 0 for undefined) and QuickJS takes it over.

import { EvalFlags, JSPromiseStateEnum } from 'quickjs-emscripten';
import { JsError, SandboxThrow, assert, type JsExceptionDetails } from './errors.ts';
import { jsLimits } from './limits.ts';
import { instantiate, type Ptr, type RawFfi, type RawModule } from './quickjs.ts';

export type { Ptr } from './quickjs.ts';

/** What the owner of an engine answers for it. */
export interface EngineHost {
  /** The sandbox called its host function; return an owned pointer, or 0 for undefined. */
  call(argc: number, argv: number): Ptr;
  /** Source of a module the sandbox imports, or undefined if the bundle has none by that name. */
  moduleSource(name: string): string | undefined;
}

export interface EngineOptions {
  heapBytes: number;
  stackBytes: number;
}

/** Why the last call stopped, beyond an ordinary exception. */
export type StopReason = 'interrupted' | undefined;

/** The result of running sandbox code: an owned value, or an owned exception. */
export type Outcome = { ok: true; value: Ptr } | { ok: false; exception: Ptr };

export type SandboxErrorClass = SandboxThrow['jsClass'];

// QuickJS on wasm32 NaN-boxes values: a JSValue is 8 bytes, so argv[i] is argv + 8 i (checked in selfCheck).
const JSVALUE_BYTES = 8;
const ARGV_SLOTS_MAX = 16;
// With NaN-boxing a JSValue is (tag << 32) | payload, and JS_TAG_INT is 0: an int32 is its own value with
// a zero high word, owns nothing, and can be written straight into linear memory (checked in #checkInts).
const JS_TAG_INT = 0;
/** Fixed JSValue slots the host writes int32 arguments into, instead of allocating one value per call. */
const INT_SLOTS = 4;

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const memoryBytes = Math.min(options.heapBytes + jsLimits.wasmMemoryMarginBytes, jsLimits.wasmMemoryBytesMax);
  const { module, ffi } = await instantiate(memoryBytes);
  return new Engine(module, ffi, options);
}

export class Engine {
  readonly rt: number;
  readonly ctx: number;
  /** Set when a trap or host stack overflow escaped QuickJS: nothing in this engine may run again. */
  poisoned: Error | undefined;
  /** Deadline for the current call, in performance.now() milliseconds. */
  deadlineMs = Number.POSITIVE_INFINITY;
  stopReason: StopReason;
  /** An unexpected host failure during the current call (a bug on our side, not the app's). */
  hostFault: unknown;
  host: EngineHost | undefined;

  readonly #module: RawModule;
  readonly #ffi: RawFfi;
  readonly #argv: number;
  readonly #jobContextOut: number;
  readonly #intSlots: number;
  readonly #undefinedPtr: Ptr;
  readonly #emptyString: Ptr;
  /** Linear-memory copies behind the views handed out by arrayBufferView, freed by releaseViews. */
  readonly #viewCopies: number[] = [];
  #heap: NodeBuffer;
  /** The module's HEAPU8 that #heap was made from: emscripten replaces HEAPU8 when memory grows. */
  #heapSource: Uint8Array;
  /** Error constructors captured before app code ran, so thrown errors are real TypeErrors etc. */
  #errorClasses = new Map<SandboxErrorClass, Ptr>();

  constructor(module: RawModule, ffi: RawFfi, options: EngineOptions) {
    this.#module = module;
    this.#ffi = ffi;
    this.#heap = heapView(module);
    this.#heapSource = module.HEAPU8;
    module.callbacks = {
      callFunction: (_asyncify, _ctx, _thisPtr, argc, argv) => this.#onHostCall(argc, argv),
      shouldInterrupt: () => this.#onInterruptCheck(),
      loadModuleSource: (_asyncify, _rt, _ctx, name) => this.#onLoadModule(name),
      normalizeModule: () => 0, // not enabled: QuickJS's default normalizer resolves './x' and '../x'
      freeHostRef: () => {},
    };
    this.rt = ffi.QTS_NewRuntime();
    assert(this.rt !== 0, 'QuickJS runtime allocation failed');
    ffi.QTS_RuntimeSetMemoryLimit(this.rt, options.heapBytes);
    ffi.QTS_RuntimeSetMaxStackSize(this.rt, options.stackBytes);
    ffi.QTS_RuntimeEnableInterruptHandler(this.rt);
    ffi.QTS_RuntimeEnableModuleLoader(this.rt, 0);
    this.ctx = ffi.QTS_NewContext(this.rt, 0);
    assert(this.ctx !== 0, 'QuickJS context allocation failed');
    this.#argv = this.malloc(ARGV_SLOTS_MAX * 4);
    this.#jobContextOut = this.malloc(4);
    this.#intSlots = this.malloc(INT_SLOTS * JSVALUE_BYTES);
    this.#undefinedPtr = ffi.QTS_GetUndefined();
    selfCheck(ffi);
    this.#emptyString = this.newString('');
    this.#checkInts();
  }

  /** The int32 encoding intArg and int rely on, checked against QuickJS itself on every engine. */
  #checkInts(): void {
    for (const value of [0, 1, -7, 2 ** 31 - 1]) {
      const slot = this.intArg(0, value);
      assert(this.#ffi.QTS_GetFloat64(this.ctx, slot) === value && this.number(slot) === value, 'unexpected int32 JSValue encoding in this QuickJS build');
    }
    const float = this.newNumber(0.5);
    const int = this.newNumber(3);
    try {
      assert(Number.isNaN(this.#intOrNaN(float)), 'unexpected float64 JSValue encoding in this QuickJS build');
      assert(this.#intOrNaN(int) === 3 || this.#ffi.QTS_GetFloat64(this.ctx, int) === 3, 'unexpected number JSValue encoding in this QuickJS build');
    } finally {
      this.free(float);
      this.free(int);
    }
  }

  // ---- values -----------------------------------------------------------------------------------

  get undefined(): Ptr {
    return this.#undefinedPtr;
  }

  malloc(bytes: number): number {
    const pointer = this.#module._malloc(Math.max(bytes, 1));
    if (pointer === 0) throw new SandboxThrow('InternalError', 'out of memory');
    return pointer;
  }

  free(value: Ptr): void {
    if (value !== 0) this.#ffi.QTS_FreeValuePointer(this.ctx, value);
  }

  dup(value: Ptr): Ptr {
    return this.#ffi.QTS_DupValuePointer(this.ctx, value);
  }

  /** Argument `index` of a host call (borrowed). */
  arg(argv: number, index: number): Ptr {
    return argv + JSVALUE_BYTES * index;
  }

  newNumber(value: number): Ptr {
    return this.#ffi.QTS_NewFloat64(this.ctx, value);
  }

  /**
   * A borrowed int32 value in fixed slot `slot` (0..3), for call arguments: no allocation, nothing to
   * free. The slot is overwritten by the next intArg with the same slot number.
   */
  intArg(slot: number, value: number): Ptr {
    assert(slot >= 0 && slot < INT_SLOTS && (value | 0) === value, 'intArg takes a slot 0..3 and an int32');
    const pointer = this.#intSlots + JSVALUE_BYTES * slot;
    const heap = this.#heapBuffer();
    heap.writeInt32LE(value, pointer);
    heap.writeInt32LE(JS_TAG_INT, pointer + 4);
    return pointer;
  }

  /** A borrowed empty string (for call arguments; never freed). */
  get emptyString(): Ptr {
    return this.#emptyString;
  }

  newBoolean(value: boolean): Ptr {
    return this.#ffi.QTS_DupValuePointer(this.ctx, value ? this.#ffi.QTS_GetTrue() : this.#ffi.QTS_GetFalse());
  }

  newNull(): Ptr {
    return this.#ffi.QTS_DupValuePointer(this.ctx, this.#ffi.QTS_GetNull());
  }

  /** A string without NUL characters (QuickJS reads it as a C string); callers route others via JSON. */
  newString(value: string): Ptr {
    const [pointer] = this.#writeCString(value);
    try {
      return this.#ffi.QTS_NewString(this.ctx, pointer);
    } finally {
      this.#module._free(pointer);
    }
  }

  /** A string from UTF-8 bytes without a NUL byte; invalid sequences become U+FFFD, as in CCF. */
  newStringFromUtf8(bytes: Uint8Array): Ptr {
    const pointer = this.malloc(bytes.length + 1);
    const heap = this.#heapBytes();
    heap.set(bytes, pointer);
    heap[pointer + bytes.length] = 0;
    try {
      return this.#ffi.QTS_NewString(this.ctx, pointer);
    } finally {
      this.#module._free(pointer);
    }
  }

  newArrayBuffer(bytes: Uint8Array): Ptr {
    const pointer = this.malloc(bytes.length);
    this.#heapBytes().set(bytes, pointer);
    // QuickJS takes the block over and frees it with the ArrayBuffer.
    return this.#ffi.QTS_NewArrayBuffer(this.ctx, pointer, bytes.length);
  }

  newObject(): Ptr {
    return this.#ffi.QTS_NewObject(this.ctx);
  }

  newHostFunction(name: string): Ptr {
    return this.#ffi.QTS_NewFunction(this.ctx, name, 0, false, 1);
  }

  /** A number argument (int32 values are read straight from linear memory). */
  number(value: Ptr): number {
    const int = this.#intOrNaN(value);
    return int === int ? int : this.#ffi.QTS_GetFloat64(this.ctx, value);
  }

  #intOrNaN(value: Ptr): number {
    const heap = this.#heapBuffer();
    return heap.readInt32LE(value + 4) === JS_TAG_INT ? heap.readInt32LE(value) : Number.NaN;
  }

  /** The value's string form as QuickJS encodes it (CESU-style for lone surrogates, as CCF's to_str). */
  string(value: Ptr): string {
    const pointer = this.#ffi.QTS_GetString(this.ctx, value);
    if (pointer === 0) throw new SandboxThrow('InternalError', 'out of memory');
    try {
      const heap = this.#heapBuffer();
      return heap.utf8Slice(pointer, heap.indexOf(0, pointer));
    } finally {
      this.#ffi.QTS_FreeCString(this.ctx, pointer);
    }
  }

  /**
   * The raw UTF-8 bytes QuickJS produces for a string value (stops at the first NUL), as a Buffer (small
   * ones come from Node's pool: a new ArrayBuffer per response costs more than the copy). Not for the KV
   * store, whose values must own their bytes.
   */
  stringBytes(value: Ptr): Buffer {
    const pointer = this.#ffi.QTS_GetString(this.ctx, value);
    if (pointer === 0) throw new SandboxThrow('InternalError', 'out of memory');
    try {
      const heap = this.#heapBuffer();
      const end = heap.indexOf(0, pointer);
      const bytes = Buffer.allocUnsafe(end - pointer);
      heap.copy(bytes, 0, pointer, end);
      return bytes;
    } finally {
      this.#ffi.QTS_FreeCString(this.ctx, pointer);
    }
  }

  /** A new ArrayBuffer holding a string value's UTF-8, copied inside linear memory. */
  stringToArrayBuffer(value: Ptr): Ptr {
    const source = this.#ffi.QTS_GetString(this.ctx, value);
    if (source === 0) throw new SandboxThrow('InternalError', 'out of memory');
    try {
      const length = this.#heapBuffer().indexOf(0, source) - source;
      const target = this.malloc(length);
      this.#heapBytes().copyWithin(target, source, source + length);
      return this.#ffi.QTS_NewArrayBuffer(this.ctx, target, length);
    } finally {
      this.#ffi.QTS_FreeCString(this.ctx, source);
    }
  }

  /**
   * A view of an ArrayBuffer's bytes, or undefined if the value is not an (attached) ArrayBuffer: a copy
   * in linear memory, valid until releaseViews or until linear memory grows (any allocation may grow
   * it), so only for synchronous use that calls nothing in this engine, such as a KV key lookup.
   */
  arrayBufferView(value: Ptr): Uint8Array | undefined {
    const length = this.#ffi.QTS_GetArrayBufferLength(this.ctx, value);
    const pointer = this.#ffi.QTS_GetArrayBuffer(this.ctx, value);
    if (pointer === 0) return undefined;
    this.#viewCopies.push(pointer);
    return this.#heapBytes().subarray(pointer, pointer + length);
  }

  /** Frees what the views of arrayBufferView point to; they must not be used afterwards. */
  releaseViews(): void {
    const copies = this.#viewCopies;
    for (let i = 0; i < copies.length; i++) this.#module._free(copies[i]!);
    copies.length = 0;
  }

  /**
   * A string from the UTF-8 bytes of an ArrayBuffer without a NUL byte (as newStringFromUtf8), copied
   * inside linear memory; 0 if the bytes hold a NUL; undefined if the value is not an ArrayBuffer or
   * holds more than `maxBytes`: then lastArrayBufferLength is its length, or -1 if it is no ArrayBuffer.
   */
  arrayBufferToString(value: Ptr, maxBytes: number): Ptr | undefined {
    const length = this.#ffi.QTS_GetArrayBufferLength(this.ctx, value);
    const source = this.#ffi.QTS_GetArrayBuffer(this.ctx, value);
    this.lastArrayBufferLength = source === 0 ? -1 : length;
    if (source === 0) return undefined;
    try {
      if (length > maxBytes) return undefined;
      if (this.#heapBuffer().subarray(source, source + length).indexOf(0) >= 0) return 0;
      const target = this.malloc(length + 1);
      const heap = this.#heapBytes();
      heap.copyWithin(target, source, source + length);
      heap[target + length] = 0;
      try {
        return this.#ffi.QTS_NewString(this.ctx, target);
      } finally {
        this.#module._free(target);
      }
    } finally {
      this.#module._free(source);
    }
  }

  /** Byte length of the ArrayBuffer arrayBufferToString last looked at (-1: not an ArrayBuffer). */
  lastArrayBufferLength = 0;

  /** A copy of an ArrayBuffer's bytes, or undefined if the value is not an (attached) ArrayBuffer. */
  arrayBuffer(value: Ptr): Uint8Array | undefined {
    const length = this.#ffi.QTS_GetArrayBufferLength(this.ctx, value);
    const pointer = this.#ffi.QTS_GetArrayBuffer(this.ctx, value);
    if (pointer === 0) return undefined;
    try {
      return this.#heapBytes().slice(pointer, pointer + length);
    } finally {
      this.#module._free(pointer);
    }
  }

  typeOf(value: Ptr): string {
    const pointer = this.#ffi.QTS_Typeof(this.ctx, value);
    try {
      const heap = this.#heapBuffer();
      return heap.latin1Slice(pointer, heap.indexOf(0, pointer));
    } finally {
      this.#module._free(pointer);
    }
  }

  getProp(object: Ptr, key: string): Ptr {
    const keyPtr = this.newString(key);
    try {
      return this.#ffi.QTS_GetProp(this.ctx, object, keyPtr);
    } finally {
      this.free(keyPtr);
    }
  }

  setProp(object: Ptr, key: string, value: Ptr): void {
    const keyPtr = this.newString(key);
    try {
      this.#ffi.QTS_SetProp(this.ctx, object, keyPtr, value);
    } finally {
      this.free(keyPtr);
    }
  }

  promiseState(value: Ptr): 'pending' | 'fulfilled' | 'rejected' | 'not-a-promise' {
    const state = this.#ffi.QTS_PromiseState(this.ctx, value);
    if (state === JSPromiseStateEnum.Pending) return 'pending';
    if (state === JSPromiseStateEnum.Fulfilled) return 'fulfilled';
    if (state === JSPromiseStateEnum.Rejected) return 'rejected';
    return 'not-a-promise';
  }

  promiseResult(value: Ptr): Ptr {
    return this.#ffi.QTS_PromiseResult(this.ctx, value);
  }

  /** Remembers the sandbox's own error constructors; until then errors are plain `Error`s. */
  setErrorClass(name: SandboxErrorClass, constructor: Ptr): void {
    this.#errorClasses.set(name, this.dup(constructor));
  }

  /** Raises `new <jsClass>(message)` in the sandbox; returns the exception marker a host function returns. */
  throwError(jsClass: SandboxErrorClass, message: string): Ptr {
    const text = this.newString(message.replaceAll('\0', ' '));
    let error: Ptr = 0;
    try {
      const constructor = this.#errorClasses.get(jsClass);
      if (constructor === undefined) {
        error = this.#ffi.QTS_NewError(this.ctx);
        this.setProp(error, 'message', text);
      } else {
        error = this.#callRaw(constructor, this.#undefinedPtr, [text]);
        const thrown = this.#ffi.QTS_ResolveException(this.ctx, error);
        if (thrown !== 0) {
          this.free(error);
          error = thrown;
        }
      }
      return this.#ffi.QTS_Throw(this.ctx, error);
    } finally {
      this.free(text);
      this.free(error);
    }
  }

  // ---- running code -----------------------------------------------------------------------------

  /** Evaluates a global (non-module) script. */
  evalScript(code: string, filename: string): Outcome {
    const [pointer, length] = this.#writeCString(code);
    try {
      return this.#guard(() => this.#settle(this.#ffi.QTS_Eval(this.ctx, pointer, length, filename, 0, EvalFlags.JS_EVAL_TYPE_GLOBAL)));
    } finally {
      this.#module._free(pointer);
    }
  }

  call(fn: Ptr, thisValue: Ptr, args: readonly Ptr[]): Outcome {
    return this.#guard(() => this.#settle(this.#callRaw(fn, thisValue, args)));
  }

  /** call with four arguments, without the closure and array (the per-request path). */
  call4(fn: Ptr, thisValue: Ptr, a: Ptr, b: Ptr, c: Ptr, d: Ptr): Outcome {
    if (this.poisoned) throw new JsError('JS_ENGINE_FAILED', `engine unusable after: ${this.poisoned.message}`);
    try {
      const heap = this.#heapBuffer();
      const argv = this.#argv;
      heap.writeUInt32LE(a, argv);
      heap.writeUInt32LE(b, argv + 4);
      heap.writeUInt32LE(c, argv + 8);
      heap.writeUInt32LE(d, argv + 12);
      return this.#settle(this.#ffi.QTS_Call(this.ctx, fn, thisValue, 4, argv));
    } catch (error) {
      this.poisoned = error instanceof Error ? error : new Error(String(error));
      throw new JsError('JS_ENGINE_FAILED', `the JS engine failed: ${this.poisoned.message}`, undefined, { cause: error });
    }
  }

  /** Bytes QuickJS has allocated (what its heap limit counts). */
  heapUsedBytes(): number {
    const usage = this.#ffi.QTS_RuntimeComputeMemoryUsage(this.rt, this.ctx);
    const used = this.getProp(usage, 'memory_used_size');
    try {
      return this.number(used);
    } finally {
      this.free(used);
      this.free(usage);
    }
  }

  /** Size of the instance's linear memory, which only grows. */
  get memoryBytes(): number {
    return this.#module.HEAPU8.byteLength;
  }

  /** Forgets why the previous call stopped; call before each request or load. */
  resetCallState(): void {
    this.stopReason = undefined;
    this.hostFault = undefined;
  }

  jobsPending(): boolean {
    return this.#ffi.QTS_IsJobPending(this.rt) !== 0;
  }

  /** Runs queued promise jobs until none is left; an exception in one stops there. */
  runJobs(): Outcome {
    if (this.#ffi.QTS_IsJobPending(this.rt) === 0) return { ok: true, value: 0 };
    return this.#guard(() => {
      while (this.#ffi.QTS_IsJobPending(this.rt) !== 0) {
        const result = this.#ffi.QTS_ExecutePendingJob(this.rt, 1, this.#jobContextOut);
        // Success is the number of jobs run; anything else is the exception a job raised.
        if (this.typeOf(result) !== 'number') return { ok: false, exception: result };
        this.free(result);
      }
      return { ok: true, value: 0 };
    });
  }

  /** Name, message and stack of an exception value, bounded; never throws. */
  describe(exception: Ptr): JsExceptionDetails {
    const text = (key: string): string | undefined => {
      const value = this.getProp(exception, key);
      try {
        const type = this.typeOf(value);
        return type === 'string' ? bounded(this.string(value)) : undefined;
      } finally {
        this.free(value);
      }
    };
    try {
      if (this.typeOf(exception) !== 'object') return { name: 'Error', message: bounded(this.string(exception)) };
      const stack = text('stack');
      const details: JsExceptionDetails = { name: text('name') ?? 'Error', message: text('message') ?? '' };
      if (stack !== undefined && stack.length > 0) details.stack = stack;
      return details;
    } catch (error) {
      // Reading it ran sandbox code (a getter) that broke the engine, or ran out of memory: replace it.
      if (!(error instanceof SandboxThrow)) this.poisoned ??= error instanceof Error ? error : new Error(String(error));
      return { name: 'Error', message: '(the exception could not be read)' };
    }
  }

  // ---- internals --------------------------------------------------------------------------------

  #callRaw(fn: Ptr, thisValue: Ptr, args: readonly Ptr[]): Ptr {
    assert(args.length <= ARGV_SLOTS_MAX, 'too many arguments for one call');
    const heap = this.#heapBuffer();
    for (let i = 0; i < args.length; i++) heap.writeUInt32LE(args[i]!, this.#argv + 4 * i);
    return this.#ffi.QTS_Call(this.ctx, fn, thisValue, args.length, this.#argv);
  }

  #settle(result: Ptr): Outcome {
    const exception = this.#ffi.QTS_ResolveException(this.ctx, result);
    if (exception === 0) return { ok: true, value: result };
    this.free(result);
    return { ok: false, exception };
  }

  /**
   * Anything thrown out of QuickJS itself (not a JS exception, which is a value) means its C state was
   * unwound behind its back: the engine is unusable from then on.
   */
  #guard(run: () => Outcome): Outcome {
    if (this.poisoned) throw new JsError('JS_ENGINE_FAILED', `engine unusable after: ${this.poisoned.message}`);
    try {
      return run();
    } catch (error) {
      this.poisoned = error instanceof Error ? error : new Error(String(error));
      throw new JsError('JS_ENGINE_FAILED', `the JS engine failed: ${this.poisoned.message}`, undefined, { cause: error });
    }
  }

  #onHostCall(argc: number, argv: number): Ptr {
    try {
      assert(this.host !== undefined, 'host call without a host');
      return this.host.call(argc, argv);
    } catch (error) {
      if (error instanceof SandboxThrow) return this.throwError(error.jsClass, error.message);
      // A bug or broken invariant on the host side: fail this call loudly, report it to the caller.
      this.hostFault ??= error;
      return this.throwError('InternalError', 'host function failed');
    }
  }

  #onInterruptCheck(): 0 | 1 {
    if (performance.now() <= this.deadlineMs) return 0;
    this.stopReason = 'interrupted';
    return 1;
  }

  #onLoadModule(name: string): number {
    try {
      const source = this.host?.moduleSource(name);
      if (source !== undefined) return this.#writeCString(source)[0];
      this.free(this.throwError('ReferenceError', `module '${name}' is not part of this app's bundle`));
    } catch (error) {
      this.hostFault ??= error;
    }
    return 0;
  }

  /** A NUL-terminated UTF-8 copy in linear memory, owned by the caller: [pointer, byte length]. */
  #writeCString(value: string): [number, number] {
    const length = Buffer.byteLength(value, 'utf8');
    const pointer = this.malloc(length + 1);
    const heap = this.#heapBuffer();
    heap.utf8Write(value, pointer, length);
    heap[pointer + length] = 0;
    return [pointer, length];
  }

  /** Linear memory as a plain Uint8Array (whose slice copies; a Buffer's slice would not). */
  #heapBytes(): Uint8Array {
    return this.#module.HEAPU8;
  }

  /** A Buffer over linear memory, renewed when the memory has grown (growing detaches the old one). */
  #heapBuffer(): NodeBuffer {
    // An identity check on the view object (reading .buffer each time costs more than the rest of a read).
    if (this.#heapSource !== this.#module.HEAPU8) {
      this.#heapSource = this.#module.HEAPU8;
      this.#heap = heapView(this.#module);
    }
    return this.#heap;
  }
}

/** Node's Buffer has these fast paths; its type declarations omit them. */
interface NodeBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  utf8Write(value: string, offset: number, length: number): number;
}

function heapView(module: RawModule): NodeBuffer {
  const bytes = module.HEAPU8;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as NodeBuffer;
}

function bounded(text: string): string {
  return text.length > jsLimits.errorTextBytesMax ? `${text.slice(0, jsLimits.errorTextBytesMax)}…` : text;
}

let checked = false;

function selfCheck(ffi: RawFfi): void {
  if (checked) return;
  // The argv arithmetic in `arg` assumes 8-byte JSValues; the C helper is the reference.
  assert(ffi.QTS_ArgvGetJSValueConstPointer(1024, 3) === 1024 + 3 * JSVALUE_BYTES, 'unexpected JSValue size in this QuickJS build');
  checked = true;
}
