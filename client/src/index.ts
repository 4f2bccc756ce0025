// Public API of @synod/client in Node: the HTTP client (SynodClient over node:https: createClient),
// receipt verification (browser-safe: src/verify depends only on @noble/*, cborg and
// @peculiar/asn1-*), offline ledger reading and audit (reads files), with private-domain decryption
// when the ledger secret is given. Browsers import ./browser.ts instead.
export * from './errors.ts';
export * from './verify/index.ts';
export * from './ledger/index.ts';
export * from './audit/index.ts';
export * from './client/index.ts';
export * from './client/node.ts';
export * from './gov/index.ts';
export { createGovernanceClient, type CreateGovernanceClientOptions } from './gov/node.ts';
// The audit that also decrypts: same name and options as audit/audit.ts's, plus `ledgerSecret`.
// An explicit export takes precedence over the `export *` above.
export {
  auditLedger,
  PrivateDomainCheck,
  type DecryptingAuditOptions,
  type DecryptingAuditReport,
  type DecryptingAuditFailure,
  type DecryptingAuditCheck,
  type PrivateDomainCounts,
  type PrivateWrite,
} from './audit/decrypting-audit.ts';
export { importLedgerSecret, decryptPrivateDomain, parsePrivateDomain, LEDGER_SECRET_BYTES } from './ledger/private-domain.ts';
// Offline recovery of the ledger secret(s) from the ledger's recovery shares and members' encryption keys.
export {
  auditLedgerWithRecoveryShares,
  recoverLedgerSecretsFromShares,
  readLatestRecoverySharesRecord,
  combineSecretShares,
  parseSecretShare,
  unwrapRecoveredSecrets,
  RecoverySharesError,
  RecoverySharesErrorCode,
  RECOVERY_SHARES_MAP,
  type RecoverySharesAuditOptions,
  type RecoverySharesAuditReport,
  type RecoveredLedgerSecret,
  type RecoveredLedgerSecrets,
  type RecoverySharesRecord,
  type SecretShare,
} from './audit/recovery-shares.ts';
