// Public API of @synod/client in Node: the HTTP client (SynodClient over node:https: createClient),
// receipt verification (browser-safe: src/verify depends only on @noble/*, cborg and
// @peculiar/asn1-*), offline ledger reading and audit (reads files), with private-domain decryption.
// Browsers import ./browser.ts instead.
export * from './errors.ts';
export * from './verify/index.ts';
export * from './ledger/index.ts';
export * from './audit/index.ts';
export * from './client/index.ts';
export * from './client/node.ts';
