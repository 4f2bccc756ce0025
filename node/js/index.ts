// node/js: the sandboxed JavaScript runtime for CCF-style app bundles. See README.md.

export { loadJsApp, JsApp, validateRuntimeLimits, runtimeLimitsFromCcf } from './runtime.ts';
export type { InvokeResult, JsAppOptions, JsAppStats, EndpointRef } from './runtime.ts';
export { validateBundle, endpointTable, findEndpoint, normalizeModuleName, AUTHN_POLICIES } from './bundle.ts';
export type {
  Bundle,
  BundleModule,
  AppMetadata,
  EndpointProperties,
  EndpointMode,
  AuthnPolicy,
  ForwardingRequired,
  RedirectionStrategy,
  JsEndpoint,
  JsEndpointTable,
} from './bundle.ts';
export type { JsRequest, JsResponse, InvokeHooks, ConsensusHooks, HistoricalHooks, HistoricalRangeHooks, LogLevel, TxStatus } from './invocation.ts';
export { mapAccess, type Access, type AccessDecision, type ExecutionMode } from './kv-access.ts';
export { JsError, isJsError, JS_ERROR_CODES, type JsErrorCode, type JsExceptionDetails } from './errors.ts';
export { jsLimits, defaultRuntimeLimits, type JsRuntimeLimits } from './limits.ts';
