// What the auditor knows after reading the ledger up to some entry: the rebuilt Merkle tree, the
// nodes and their certificates, the service identities in order of appearance and the records that
// tie each to the one before, members, users, and counters. Updated entry by entry, in ledger order.
import { IncrementalMerkleTree } from '../ledger/merkle-tree.ts';
import { MemoizingChecker } from '../verify/trust.ts';
import type { ParsedCertificate, PublicKey } from '../verify/x509.ts';
import type { AuditCounts, ProposalRecord } from './report.ts';

/** Where an entry is: enough to report it and to name it as "view.seqno". */
export interface EntryLocation {
  file: string;
  offset: number;
  seqno: number;
  view: number;
}

export function txidOf(loc: EntryLocation): string {
  return `${loc.view}.${loc.seqno}`;
}

export interface NodeRecord {
  status: string | undefined;
  /** Self-signed or service-issued certificate in nodes.info (CCF 1.x). */
  infoCertPem: string | undefined;
  /** Service-endorsed certificate (CCF 2.x and later). */
  endorsedCertPem: string | undefined;
}

export interface ServiceIdentity {
  key: PublicKey;
  keyId: string;
  cert: ParsedCertificate;
  introducedAt: EntryLocation;
}

/** A statement, recorded during identity `byIdentity`, that `keyId` was the previous identity. */
export interface PreviousIdentityLink {
  byIdentity: number;
  keyId: string;
  how: 'previous_service_identity' | 'endorsement';
  at: EntryLocation;
}

/** Signature verifications remembered across the audit (node certs are endorsed once, not per signature). */
const AUDIT_CACHE_ENTRIES_MAX = 4096;

export class AuditState {
  readonly tree = new IncrementalMerkleTree();
  readonly checker = new MemoizingChecker(AUDIT_CACHE_ENTRIES_MAX);
  readonly nodes = new Map<string, NodeRecord>();
  readonly members = new Set<string>();
  readonly memberCerts = new Map<string, ParsedCertificate>();
  readonly users = new Set<string>();
  readonly views = new Set<number>();
  readonly identities: ServiceIdentity[] = [];
  readonly links: PreviousIdentityLink[] = [];
  readonly proposals = new Map<string, ProposalRecord>();
  nextSeqno: number | undefined;
  lastView = 0;
  lastSignature: EntryLocation | undefined;
  readonly counts: AuditCounts = {
    files: 0,
    entries: 0,
    signatures: 0,
    signaturesVerified: 0,
    coseSignatures: 0,
    coseSignaturesVerified: 0,
    views: 0,
    nodes: 0,
    members: 0,
    users: 0,
    proposals: 0,
    ballots: 0,
    serviceIdentities: 0,
    serviceCertificateRenewals: 0,
    identityEndorsementsVerified: 0,
    governanceRequests: 0,
    memberSignaturesVerified: 0,
    unsignedTail: 0,
  };

  constructor() {
    // CCF's tree starts with a leaf of 32 zero bytes at index 0, so that leaf i is seqno i.
    this.tree.append(new Uint8Array(32));
  }

  currentIdentity(): ServiceIdentity | undefined {
    return this.identities[this.identities.length - 1];
  }

  node(id: string): NodeRecord {
    let record = this.nodes.get(id);
    if (!record) {
      record = { status: undefined, infoCertPem: undefined, endorsedCertPem: undefined };
      this.nodes.set(id, record);
    }
    return record;
  }
}
