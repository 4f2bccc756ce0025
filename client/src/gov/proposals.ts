// Builders of proposal bodies and ballots. A proposal is plain JSON `{actions: [{name, args}]}`; the
// names and argument shapes are those of CCF's default constitution (samples/constitutions/default in
// CCF), which Synod's default constitution follows. Builders only check what they must to produce a
// well-formed body: the constitution's validate() is the judge of the arguments.
//
//   const p = proposal(setUser(certPem), setJsApp(bundle));          // several actions, one vote
//   await gov.propose(p);
import { UsageError, UsageErrorCode } from '../errors.ts';
import type { Proposal, ProposalAction } from './types.ts';

function invalid(message: string): UsageError {
  return new UsageError(UsageErrorCode.invalidArgument, message);
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${what} must be a non-empty string`);
  return value;
}

function requirePem(value: unknown, what: string, label = 'CERTIFICATE'): string {
  const pem = requireString(value, what);
  if (!pem.includes(`-----BEGIN ${label}-----`)) throw invalid(`${what} must be a PEM ${label.toLowerCase()}`);
  return pem;
}

function requireId(value: unknown, what: string): string {
  const id = requireString(value, what);
  if (!/^[0-9a-f]{64}$/.test(id)) throw invalid(`${what} must be 64 lower-case hex digits`);
  return id;
}

/** One action; `args` is left out when undefined (CCF actions without arguments). */
export function action(name: string, args?: unknown): ProposalAction {
  requireString(name, 'action name');
  return args === undefined ? { name } : { name, args };
}

/** A proposal of one or more actions, applied together if accepted. */
export function proposal(...actions: ProposalAction[]): Proposal {
  if (actions.length === 0) throw invalid('a proposal needs at least one action');
  for (const a of actions) if (!a || typeof a.name !== 'string') throw invalid('each action is {name, args}');
  return { actions };
}

/** Checks a value read from a file or the command line is a proposal body, and returns it. */
export function parseProposal(value: unknown): Proposal {
  const p = value as Proposal;
  if (typeof p !== 'object' || p === null || !Array.isArray(p.actions) || p.actions.length === 0) {
    throw invalid('a proposal is a JSON object {"actions": [{"name": …, "args": …}, …]} with at least one action');
  }
  p.actions.forEach((a, i) => {
    if (typeof a !== 'object' || a === null || typeof a.name !== 'string' || a.name.length === 0) throw invalid(`actions[${i}] needs a "name"`);
  });
  return p;
}

// ---- members and users

export interface SetMemberOptions {
  /** PEM of the member's RSA encryption public key: makes the member a recovery participant. */
  encryptionPublicKey?: string;
  memberData?: unknown;
  /** 'Participant' or 'Owner' (CCF recovery roles); only with an encryption key. */
  recoveryRole?: string;
}

export function setMember(certPem: string, options: SetMemberOptions | string = {}): ProposalAction {
  const o = typeof options === 'string' ? { encryptionPublicKey: options } : options;
  const args: Record<string, unknown> = { cert: requirePem(certPem, 'member certificate') };
  if (o.encryptionPublicKey !== undefined) args.encryption_pub_key = requirePem(o.encryptionPublicKey, 'encryption public key', 'PUBLIC KEY');
  if (o.memberData !== undefined) args.member_data = o.memberData;
  if (o.recoveryRole !== undefined) args.recovery_role = o.recoveryRole;
  return action('set_member', args);
}

/** remove_member by certificate (CCF's argument); Synod's constitution also takes `{member_id}`. */
export function removeMember(certPem: string): ProposalAction {
  return action('remove_member', { cert: requirePem(certPem, 'member certificate') });
}

export function setMemberData(memberId: string, memberData: unknown): ProposalAction {
  return action('set_member_data', { member_id: requireId(memberId, 'member ID'), member_data: memberData });
}

export function setUser(certPem: string, userData?: unknown): ProposalAction {
  return action('set_user', { cert: requirePem(certPem, 'user certificate'), ...(userData !== undefined ? { user_data: userData } : {}) });
}

export function removeUser(userId: string): ProposalAction {
  return action('remove_user', { user_id: requireId(userId, 'user ID') });
}

export function setUserData(userId: string, userData: unknown): ProposalAction {
  return action('set_user_data', { user_id: requireId(userId, 'user ID'), user_data: userData });
}

// ---- the application and the constitution

/** A JS app bundle as CCF carries it: `{metadata: app.json, modules: [{name, module}]}`. */
export interface JsBundle {
  metadata: unknown;
  modules: Array<{ name: string; module: string }>;
}

export function setJsApp(bundle: JsBundle, options: { disableBytecodeCache?: boolean } = {}): ProposalAction {
  if (typeof bundle !== 'object' || bundle === null || !Array.isArray(bundle.modules) || typeof bundle.metadata !== 'object' || bundle.metadata === null) {
    throw invalid('a JS app bundle is {metadata, modules: [{name, module}]}');
  }
  return action('set_js_app', { bundle, disable_bytecode_cache: options.disableBytecodeCache ?? false });
}

export function removeJsApp(): ProposalAction {
  return action('remove_js_app');
}

export function setJsRuntimeOptions(options: {
  max_heap_bytes?: number;
  max_stack_bytes?: number;
  max_execution_time_ms?: number;
  max_cached_interpreters?: number;
  log_exception_details?: boolean;
  return_exception_details?: boolean;
}): ProposalAction {
  return action('set_js_runtime_options', { ...options });
}

export function setConstitution(constitution: string): ProposalAction {
  return action('set_constitution', { constitution: requireString(constitution, 'constitution') });
}

// ---- the service and its nodes

/**
 * Opens the service. CCF (since 4.x) requires the service certificate the members expect
 * (`next_service_identity`) and, after a recovery, the previous one.
 */
export function transitionServiceToOpen(nextServiceIdentity: string, previousServiceIdentity?: string): ProposalAction {
  return action('transition_service_to_open', {
    next_service_identity: requirePem(nextServiceIdentity, 'next service identity'),
    ...(previousServiceIdentity !== undefined ? { previous_service_identity: requirePem(previousServiceIdentity, 'previous service identity') } : {}),
  });
}

/** Trusts a Pending node. `validFrom` is when its certificate becomes valid (default: now). */
export function transitionNodeToTrusted(nodeId: string, options: { validFrom?: Date | string; validityPeriodDays?: number } = {}): ProposalAction {
  const validFrom = options.validFrom === undefined ? new Date() : options.validFrom;
  return action('transition_node_to_trusted', {
    node_id: requireId(nodeId, 'node ID'),
    valid_from: typeof validFrom === 'string' ? validFrom : validFrom.toISOString(),
    ...(options.validityPeriodDays !== undefined ? { validity_period_days: options.validityPeriodDays } : {}),
  });
}

export function removeNode(nodeId: string): ProposalAction {
  return action('remove_node', { node_id: requireId(nodeId, 'node ID') });
}

export function setNodeData(nodeId: string, nodeData: unknown): ProposalAction {
  return action('set_node_data', { node_id: requireId(nodeId, 'node ID'), node_data: nodeData });
}

export function setRecoveryThreshold(threshold: number): ProposalAction {
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw invalid('the recovery threshold must be a positive integer');
  return action('set_recovery_threshold', { recovery_threshold: threshold });
}

export function triggerLedgerRekey(): ProposalAction {
  return action('trigger_ledger_rekey');
}

export function setServiceRecentCoseProposalsWindowSize(size: number): ProposalAction {
  return action('set_service_recent_cose_proposals_window_size', { proposal_window_size: size });
}

export function setJwtIssuer(issuer: string, options: { autoRefresh?: boolean; caCertBundleName?: string; jwks?: unknown } = {}): ProposalAction {
  return action('set_jwt_issuer', {
    issuer: requireString(issuer, 'issuer'),
    auto_refresh: options.autoRefresh ?? false,
    ...(options.caCertBundleName !== undefined ? { ca_cert_bundle_name: options.caCertBundleName } : {}),
    ...(options.jwks !== undefined ? { jwks: options.jwks } : {}),
  });
}

export function removeJwtIssuer(issuer: string): ProposalAction {
  return action('remove_jwt_issuer', { issuer: requireString(issuer, 'issuer') });
}

// ---- ballots

/** The ballot that accepts any proposal (CCF's default `vote_for.js`). */
export const ACCEPT_BALLOT = 'export function vote (proposal, proposerId) { return true }';
/** The ballot that rejects any proposal. */
export const REJECT_BALLOT = 'export function vote (proposal, proposerId) { return false }';

/** A ballot script: `true`/`false` for the unconditional ones, or the JS text as given. */
export function ballot(vote: boolean | string): string {
  if (typeof vote === 'boolean') return vote ? ACCEPT_BALLOT : REJECT_BALLOT;
  const script = requireString(vote, 'ballot');
  if (!/export\s+function\s+vote\b/.test(script)) throw invalid('a ballot is JS that exports `function vote(proposal, proposerId)`');
  return script;
}
