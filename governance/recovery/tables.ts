// Recovery's maps, named as CCF names them (src/service/tables/shares.h, secrets.h), so auditors find
// the recovery state where they expect it. All are public: what they hold is encrypted.

import { Tables } from '../../node/enclave/tables.ts';

export const RecoveryTables = {
  /**
   * Unit key → JSON RecoverySharesInfo: {wrapped_latest_ledger_secret (base64: the ledger secrets,
   * AES-256-GCM under the wrapping key), encrypted_shares: {member ID: base64 RSA-OAEP-256 ciphertext of
   * that member's share of the wrapping key}, threshold, ledger_secret_start_seqnos}.
   */
  recoveryShares: 'public:ccf.internal.recovery_shares',
  /**
   * Member ID → base64 of the share that member submitted during recovery, AES-256-GCM under a key
   * derived from the recovering service's own ledger secret (never plaintext in the ledger). Cleared
   * when recovery completes.
   */
  submittedShares: 'public:ccf.internal.encrypted_submitted_shares',
  memberEncryptionKeys: Tables.memberEncryptionKeys,
  memberInfo: Tables.memberInfo,
  serviceConfig: Tables.serviceConfig,
  serviceInfo: Tables.serviceInfo,
} as const;

export interface RecoverySharesInfo {
  wrapped_latest_ledger_secret: string;
  encrypted_shares: Record<string, string>;
  threshold: number;
  /** The seqno from which each wrapped ledger secret encrypts the ledger, oldest first. */
  ledger_secret_start_seqnos: number[];
}
