// Governance maps, as CCF names and encodes them (keys are raw UTF-8 text, values JSON unless noted).
import { Tables } from '../node/enclave/tables.ts';

export const GovTables = {
  /** proposal ID → the proposal body bytes exactly as signed ({actions: [{name, args}]}). */
  proposals: 'public:ccf.gov.proposals',
  /** proposal ID → {proposer_id, state, ballots: {member ID: script}, final_votes?, vote_failures?, failure?}. */
  proposalsInfo: 'public:ccf.gov.proposals_info',
  /** member ID → the member's latest COSE_Sign1 governance request, as a JSON base64 string. */
  coseHistory: 'public:ccf.gov.cose_history',
  /** "created_at (10 digits):request digest hex" → proposal ID (JSON string); CCF's replay window. */
  coseRecentProposals: 'public:ccf.gov.cose_recent_proposals',
  /** unit key → the constitution's JS source, as a JSON string. */
  constitution: 'public:ccf.gov.constitution',
  memberCerts: Tables.memberCerts,
  memberInfo: Tables.memberInfo,
  serviceConfig: Tables.serviceConfig,
} as const;

/** CCF's default `recent_cose_proposals_window_size`. */
export const DEFAULT_RECENT_PROPOSALS_WINDOW = 100;
