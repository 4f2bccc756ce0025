// Public API of @synod/client: receipt verification (browser-safe: src/verify depends only on
// @noble/*, cborg and @peculiar/asn1-*), offline ledger reading and audit (Node: reads files).
export * from './errors.ts';
export * from './verify/index.ts';
export * from './ledger/index.ts';
export * from './audit/index.ts';
