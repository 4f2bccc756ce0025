// @synod/app-sdk: what app developers import, API-compatible with @microsoft/ccf-app. This entry point
// has what ccf-app's has (kv, converters, consensus, historical, endpoints) and runs inside the app
// sandbox: no Node APIs. Other entry points:
//   @synod/app-sdk/crypto.js    ccf.crypto as functions (as @microsoft/ccf-app/crypto.js)
//   @synod/app-sdk/global.js    the ccf global and its types (as @microsoft/ccf-app/global.js)
//   @synod/app-sdk/polyfill.js  the ccf global in plain Node, for unit tests (node:crypto, in-memory KV)
//   @synod/app-sdk/bundle       the bundle builder (node:fs), also the synod-build-bundle command
export * from './kv.ts';
export * from './converters.ts';
export * from './consensus.ts';
export * from './historical.ts';
export * from './endpoints.ts';
export type * from './types.ts';
