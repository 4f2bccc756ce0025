// Error catalogue for @synod/app-sdk. Two kinds:
// - What the `ccf` API throws inside an app, in the polyfill as in the sandbox: the built-in TypeError
//   and RangeError, and InternalError (QuickJS has that class; Node does not, so it is defined here
//   with the same name) for operations that failed underneath, such as a key that does not parse.
// - What the tooling throws at its caller, each with a stable `code`: BundleError (the bundle builder),
//   PolyfillError (misuse of the polyfill's test API), InvalidResponseError (a handler returned
//   something the node would answer with a 500).

/** As QuickJS's InternalError: the operation failed underneath (`name` is "InternalError"). */
export class InternalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'InternalError';
    // Not super(message, options): Error's second argument is ES2022, and apps may compile for ES2020.
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, configurable: true, writable: true });
  }
}

export class BundleError extends Error {
  readonly code = 'InvalidBundle';
}

export class PolyfillError extends Error {
  readonly code = 'PolyfillMisuse';
}

/** The handler's return value is not a response; on a node the caller would get a 500 and no writes apply. */
export class InvalidResponseError extends Error {
  readonly code = 'InvalidResponse';
}
