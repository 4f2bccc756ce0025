// Offline ledger audit against a service certificate.
export { auditLedger, type AuditOptions } from './audit.ts';
export {
  AuditCheck,
  type AuditFailure,
  type AuditReport,
  type AuditCounts,
  type AuditProgress,
  type ProposalRecord,
  type ServiceIdentityRecord,
} from './report.ts';
