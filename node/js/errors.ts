// Error catalogue for node/js (house style: one errors.ts per folder, stable codes).
//
// Two kinds of failure leave this folder. Deploy-time failures (a bundle that does not validate, a
// module that does not compile or link) are thrown as JsError: the set_js_app proposal is refused.
// Request-time failures (the handler threw, ran out of time, memory or stack, returned something that is
// not a response) are returned, not thrown, as an InvokeFailure carrying a JsError: the frontend turns it
// into CCF's 500 `{"error": {"code": "InternalError", ...}}` and the runtime stays usable. Callers branch
// on `code`; messages may be reworded.

export const JS_ERROR_CODES = {
  // Deploy time: the bundle or the options are wrong. Status is the proposal's.
  JS_BUNDLE_INVALID: 400,
  JS_MODULE_LOAD_FAILED: 400,
  JS_OPTIONS_INVALID: 400,
  // Request time: the app failed this request. The frontend answers 500, as CCF does.
  JS_EXCEPTION: 500,
  JS_TIMEOUT: 500,
  JS_OUT_OF_MEMORY: 500,
  JS_STACK_OVERFLOW: 500,
  JS_INVALID_RESPONSE: 500,
  // The engine itself failed (a trap in WebAssembly, a host stack overflow). The instance is replaced.
  JS_ENGINE_FAILED: 500,
  // No engine instance is ready yet after a replacement; retry shortly.
  JS_RESTARTING: 503,
  // Misuse of this module's API by its caller: a programmer error.
  JS_INVALID_ARGUMENT: 500,
  JS_APP_DISPOSED: 500,
  JS_INVARIANT: 500,
} as const;

export type JsErrorCode = keyof typeof JS_ERROR_CODES;

export class JsError extends Error {
  readonly code: JsErrorCode;
  readonly httpStatus: number;
  /** For request-time failures: the JS exception's name, message and stack, when there was one. */
  readonly details?: JsExceptionDetails;

  constructor(code: JsErrorCode, message: string, details?: JsExceptionDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JsError';
    this.code = code;
    this.httpStatus = JS_ERROR_CODES[code];
    if (details !== undefined) this.details = details;
  }
}

/** What an exception looked like inside the sandbox (strings copied out, bounded). */
export interface JsExceptionDetails {
  name: string;
  message: string;
  stack?: string;
}

export function isJsError(error: unknown, code?: JsErrorCode): error is JsError {
  return error instanceof JsError && (code === undefined || error.code === code);
}

/** Assertions stay on in production: a broken invariant must stop the request, not corrupt state. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new JsError('JS_INVARIANT', `node/js invariant violated: ${message}`);
}

export function invalidBundle(message: string): JsError {
  return new JsError('JS_BUNDLE_INVALID', message);
}

/**
 * An error to be thrown inside the sandbox as a JS exception of the given class. Host functions throw
 * it; the bridge turns it into `new TypeError(message)` (etc.) in the app's realm.
 */
export class SandboxThrow extends Error {
  constructor(
    readonly jsClass: 'Error' | 'TypeError' | 'RangeError' | 'ReferenceError' | 'SyntaxError' | 'InternalError',
    message: string,
  ) {
    super(message);
    this.name = 'SandboxThrow';
  }
}

export function typeError(message: string): SandboxThrow {
  return new SandboxThrow('TypeError', message);
}

export function rangeError(message: string): SandboxThrow {
  return new SandboxThrow('RangeError', message);
}
