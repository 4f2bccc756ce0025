// Public API of @synod/client: receipt verification (browser-safe), offline ledger reading and audit.
export * from './errors.ts';
export * from './verify/index.ts';
