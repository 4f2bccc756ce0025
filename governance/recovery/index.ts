// Recovery shares and disaster recovery (CCF's recovery scheme): see shares.ts and endpoints.ts.
export * from './sharing.ts';
export * from './shares.ts';
export * from './tables.ts';
export { recoveryEndpoints, registerRecovery } from './endpoints.ts';
