// Shapes of CCF's governance REST API, version 2024-07-01 (CCF doc/schemas/gov/2024-07-01), as the
// service sends them. Field names are CCF's (camelCase on the wire); every type keeps unknown extra
// fields, since a newer service may add some.

/** The API version every governance request names in `?api-version=`. */
export const GOV_API_VERSION = '2024-07-01';

/** One action of a proposal: the constitution's action name and its arguments. */
export interface ProposalAction {
  name: string;
  args?: unknown;
}

/** A proposal body: `{actions: [{name, args}]}`. */
export interface Proposal {
  actions: ProposalAction[];
}

export type ProposalState = 'Open' | 'Accepted' | 'Withdrawn' | 'Rejected' | 'Failed' | 'Dropped';
export const PROPOSAL_STATES: readonly ProposalState[] = ['Open', 'Accepted', 'Withdrawn', 'Rejected', 'Failed', 'Dropped'];

/** What create, get, list, withdraw and ballot submission answer for a proposal. */
export interface ProposalInfo {
  proposalId: string;
  proposerId: string;
  proposalState: ProposalState;
  ballotCount: number;
  /** Member ID → vote, once the ballots have been evaluated (when the proposal left Open). */
  finalVotes?: Record<string, boolean>;
  /** Member ID → why the member's ballot failed to run. */
  voteFailures?: Record<string, unknown>;
  /** Why resolve() or apply() failed (state Failed). */
  failure?: unknown;
  /** Not part of the body: the TxID (x-ms-ccf-transaction-id) of the request that answered, when it wrote. */
  txid?: string;
  [extra: string]: unknown;
}

export interface StateDigest {
  memberId: string;
  stateDigest: string;
  [extra: string]: unknown;
}

export type ServiceStatus = 'Opening' | 'Open' | 'WaitingForRecoveryShares' | 'Recovering' | string;

export interface ServiceInfo {
  status: ServiceStatus;
  /** PEM of the current service certificate. */
  certificate: string;
  recoveryCount?: number;
  creationTransactionId?: string;
  previousServiceCreationTransactionId?: string;
  serviceData?: unknown;
  configuration?: Record<string, unknown>;
  [extra: string]: unknown;
}

export type MemberStatus = 'Accepted' | 'Active' | string;

export interface MemberInfo {
  memberId: string;
  status: MemberStatus;
  certificate: string;
  memberData?: unknown;
  publicEncryptionKey?: string;
  recoveryRole?: string;
  [extra: string]: unknown;
}

export interface UserInfo {
  userId: string;
  certificate: string;
  userData?: unknown;
  [extra: string]: unknown;
}

export interface NodeInfo {
  nodeId: string;
  status: 'Pending' | 'Trusted' | 'Retired' | string;
  certificate?: string;
  retiredCommitted?: boolean;
  nodeData?: unknown;
  quoteInfo?: Record<string, unknown>;
  rpcInterfaces?: Record<string, { publishedAddress?: string; protocol?: string; [extra: string]: unknown }>;
  [extra: string]: unknown;
}

/** GET /gov/service/javascript-app: the endpoints of the deployed app (CCF's camelCase properties). */
export interface JavaScriptApp {
  endpoints: Record<string, Record<string, Record<string, unknown>>>;
  [extra: string]: unknown;
}
