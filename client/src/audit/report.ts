// The audit report: what was checked, how much, and — when something does not hold — the first
// point where the ledger diverges from what a genuine CCF service writes, located precisely enough to
// open the file at that byte.

/** Names of the individual checks; a failure carries exactly one. Stable: scripts may match them. */
export const AuditCheck = {
  ledgerFiles: 'ledger-files',
  chunkStructure: 'chunk-structure',
  entryFormat: 'entry-format',
  seqnoSequence: 'seqno-sequence',
  chunkEnd: 'chunk-end',
  tableValue: 'table-value',
  merkleRoot: 'merkle-root',
  signatureFields: 'signature-fields',
  nodeCertificate: 'node-certificate',
  nodeSignature: 'node-signature',
  nodeEndorsement: 'node-endorsement',
  signerStatus: 'signer-status',
  coseSignature: 'cose-signature',
  serviceIdentity: 'service-identity',
  memberSignature: 'member-signature',
  /** The ledger holds no signature transaction at all: nothing in it is vouched for. */
  noSignature: 'no-signature',
} as const;
export type AuditCheck = (typeof AuditCheck)[keyof typeof AuditCheck];

export interface AuditFailure {
  /** Chunk file name (not the full path). */
  file: string;
  /** Byte offset within the file of the entry (or structure) at fault. */
  offset: number;
  /** Seqno of the entry at fault, when it could be read. */
  seqno: number | undefined;
  check: AuditCheck;
  message: string;
}

export interface AuditCounts {
  files: number;
  entries: number;
  signatures: number;
  signaturesVerified: number;
  coseSignatures: number;
  coseSignaturesVerified: number;
  views: number;
  nodes: number;
  members: number;
  users: number;
  proposals: number;
  ballots: number;
  serviceIdentities: number;
  serviceCertificateRenewals: number;
  identityEndorsementsVerified: number;
  governanceRequests: number;
  memberSignaturesVerified: number;
  /** Entries after the last signature: present, but vouched for by no signature yet. */
  unsignedTail: number;
}

export interface ServiceIdentityRecord {
  /** Hex SHA-256 of the service key's SubjectPublicKeyInfo (the COSE kid). */
  keyId: string;
  introducedAt: string;
  /** How this identity is tied to the trust anchor. */
  trust: 'given' | 'previous_service_identity' | 'endorsement' | 'unlinked';
}

export interface ProposalRecord {
  id: string;
  proposer: string | undefined;
  createdAt: string | undefined;
  actions: string[];
  ballots: Array<{ member: string; at: string }>;
  states: Array<{ state: string; at: string }>;
  finalState: string | undefined;
  /** Member ID → vote, as the service recorded them when the proposal left Open (final_votes). */
  votes?: Record<string, boolean>;
  /** Why resolve() or apply() failed, as recorded (failure.reason). */
  failure?: string;
}

export interface AuditReport {
  ok: boolean;
  ledgerDir: string;
  firstSeqno: number | undefined;
  lastSeqno: number | undefined;
  lastSignedTxid: string | undefined;
  counts: AuditCounts;
  serviceIdentities: ServiceIdentityRecord[];
  proposals: ProposalRecord[];
  ignoredFiles: string[];
  failure: AuditFailure | undefined;
}

export interface AuditProgress {
  file: string;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  seqno: number | undefined;
}

/** Thrown inside the auditor when a check fails; turned into the report's AuditFailure. */
export class CheckFailed extends Error {
  constructor(
    readonly check: AuditCheck,
    message: string,
  ) {
    super(message);
  }
}
