// Runs the constitution stored in public:ccf.gov.constitution (CCF's interface) in node/js's QuickJS
// sandbox, with the governance capability table (node/js/kv-access.ts): validate, resolve and ballots
// see public:ccf.gov.* read-only ('governance-readonly'), apply read-write ('governance'); no other map.
//   validate(input: string)                                  → {valid, description?}
//   resolve(proposal: string, proposerId, votes, proposalId) → "Open" | "Accepted" | "Rejected"
//       votes: [{member_id, vote: boolean}] from the ballots that evaluated
//   apply(proposal: string, proposalId)
//   ballot module: export function vote(proposal: string, proposerId) → boolean
// As in CCF, the proposal reaches JS as the raw JSON text it was signed as.
//
// Actions' effects (choice, see samples/constitutions/default/README.md): apply may write the maps itself,
// as CCF's constitution does, and may also call `synod.hostAction(name, args)`: the named host-side
// KV-effect function (HOST_ACTIONS below: the node's own writeJsApp, writeJwtIssuer, …) runs on the same
// Tx after apply returns, in call order. A host action that throws fails the proposal like a throwing
// apply. Host actions exist because those effects carry validation the node must not duplicate in JS
// (bundle validation, runtime limits, JWT issuer metadata) or need node crypto (member ID from a PEM).

import type { Tx } from '../node/kv/index.ts';
import { loadJsApp, type InvokeResult, type JsApp } from '../node/js/index.ts';
import type { JsRequest } from '../node/js/invocation.ts';
import { idFromCertificate } from '../node/crypto/certs.ts';
import { UNIT_KEY, jsonBytes, parseJsonBytes, utf8, Tables, fromUtf8 } from '../node/enclave/tables.ts';
import { removeJsApp, writeJsApp, writeJsRuntimeOptions } from '../node/enclave/jsapp.ts';
import { JwtTables, removeJwtIssuer, writeJwtIssuer, writeJwtPublicSigningKeys } from '../node/enclave/auth/jwt.ts';
import { GovTables } from './tables.ts';
import { dropOpenProposals, removeFinishedProposals, readProposal, readProposalInfo, recordOutcome, type Failure, type ProposalInfo } from './proposals.ts';
import { childTx, discard, mergeInto } from './overlay.ts';

export class ConstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConstitutionError';
  }
}

export type HostAction = (tx: Tx, args: Record<string, unknown>) => void;

function text(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string' || value.length === 0) throw new ConstitutionError(`argument ${name} must be a non-empty string`);
  return value;
}

/** The host-side effects a constitution's apply may call through synod.hostAction. */
export const HOST_ACTIONS: Readonly<Record<string, HostAction>> = {
  set_member(tx, args) {
    const cert = text(args, 'cert');
    const id = utf8(idFromCertificate(cert));
    tx.map(Tables.memberCerts).set(id, utf8(cert));
    const previous = tx.map(Tables.memberInfo).get(id);
    const status = previous === undefined ? 'Accepted' : (parseJsonBytes<{ status?: string }>(previous).status ?? 'Accepted');
    tx.map(Tables.memberInfo).set(id, jsonBytes({
      status,
      member_data: args.member_data ?? null,
      ...(args.recovery_role !== undefined ? { recovery_role: text(args, 'recovery_role') } : {}),
    }));
    if (args.encryption_pub_key !== undefined) tx.map(Tables.memberEncryptionKeys).set(id, utf8(text(args, 'encryption_pub_key')));
    else tx.map(Tables.memberEncryptionKeys).delete(id);
    // As CCF: the new member's ack record holds the root of the latest signature, to be refreshed by
    // state-digests/{memberId}:update and acked.
    const signature = tx.map(Tables.signatures).get(UNIT_KEY);
    const root = signature === undefined ? '' : String(parseJsonBytes<{ root?: unknown }>(signature).root ?? '');
    tx.map(Tables.memberAcks).set(id, jsonBytes({ state_digest: root }));
  },
  remove_member(tx, args) {
    const id = utf8(args.member_id !== undefined ? text(args, 'member_id') : idFromCertificate(text(args, 'cert')));
    // As CCF: an Open service keeps at least recovery_threshold Active recovery members.
    const info = tx.map(Tables.memberInfo).get(id);
    const service = tx.map(Tables.serviceInfo).get(UNIT_KEY);
    if (info !== undefined && parseJsonBytes<{ status?: string }>(info).status === 'Active' && tx.map(Tables.memberEncryptionKeys).has(id) &&
      service !== undefined && parseJsonBytes<{ status?: string }>(service).status === 'Open') {
      const config = tx.map(Tables.serviceConfig).get(UNIT_KEY);
      const threshold = config === undefined ? 1 : Number(parseJsonBytes<{ recovery_threshold?: number }>(config).recovery_threshold ?? 1);
      let active = 0;
      tx.map(Tables.memberEncryptionKeys).forEach((_value, key) => {
        const raw = tx.map(Tables.memberInfo).get(key);
        if (raw !== undefined && parseJsonBytes<{ status?: string }>(raw).status === 'Active') active += 1;
      });
      if (active - 1 < threshold) {
        throw new ConstitutionError(`Number of active recovery members (${active - 1}) would be less than recovery threshold (${threshold})`);
      }
    }
    for (const table of [Tables.memberCerts, Tables.memberInfo, Tables.memberEncryptionKeys, Tables.memberAcks]) tx.map(table).delete(id);
  },
  set_user(tx, args) {
    const cert = text(args, 'cert');
    const id = utf8(idFromCertificate(cert));
    tx.map(Tables.userCerts).set(id, utf8(cert));
    tx.map(Tables.userInfo).set(id, jsonBytes({ user_data: args.user_data ?? null }));
  },
  remove_user(tx, args) {
    const id = utf8(text(args, 'user_id'));
    tx.map(Tables.userCerts).delete(id);
    tx.map(Tables.userInfo).delete(id);
  },
  set_js_app(tx, args) {
    writeJsApp(tx, args.bundle);
  },
  remove_js_app(tx) {
    removeJsApp(tx);
  },
  set_js_runtime_options(tx, args) {
    writeJsRuntimeOptions(tx, args);
  },
  set_jwt_issuer(tx, args) {
    const { jwks, ...metadata } = args;
    const issuer = text(args, 'issuer');
    writeJwtIssuer(tx, issuer, metadata);
    if (jwks !== undefined) writeJwtPublicSigningKeys(tx, issuer, jwks);
  },
  remove_jwt_issuer(tx, args) {
    removeJwtIssuer(tx, text(args, 'issuer'));
  },
  set_jwt_public_signing_keys(tx, args) {
    const issuer = text(args, 'issuer');
    if (!tx.map(JwtTables.issuers).has(utf8(issuer))) throw new ConstitutionError(`issuer ${issuer} is not registered`);
    writeJwtPublicSigningKeys(tx, issuer, args.jwks);
  },
  // Node-internal effects: the constitution cannot write public:ccf.internal.*, so these record the
  // request where the node watches for it (GovTriggers); the node performs it.
  trigger_ledger_rekey(tx, args) {
    requestTrigger(tx, 'ledger_rekey', args);
  },
  trigger_recovery_shares_refresh(tx, args) {
    requestTrigger(tx, 'recovery_shares_refresh', args);
  },
  trigger_snapshot(tx, args) {
    requestTrigger(tx, 'snapshot', args);
  },
};

/**
 * Host actions registered by other parts of the node (e.g. governance/recovery for the recovery
 * transitions, or a node that performs a trigger at once); they take precedence over HOST_ACTIONS.
 */
const registeredHostActions = new Map<string, HostAction>();

export function registerHostAction(name: string, action: HostAction): void {
  if (typeof name !== 'string' || name.length === 0 || typeof action !== 'function') throw new TypeError('registerHostAction(name, action)');
  registeredHostActions.set(name, action);
}

export function hostAction(name: string): HostAction | undefined {
  return registeredHostActions.get(name) ?? (Object.hasOwn(HOST_ACTIONS, name) ? HOST_ACTIONS[name] : undefined);
}

/**
 * public:ccf.internal.gov_triggers: trigger name → JSON {proposal_id, seqno_read} of the latest accepted
 * request. Each write is a new request: the node reacts to writes of this map (Enclave.onMapsWritten
 * and on replay), not to its contents.
 */
export const GovTriggers = {
  table: Tables.govTriggers,
  names: ['ledger_rekey', 'recovery_shares_refresh', 'snapshot'] as const,
};

function requestTrigger(tx: Tx, name: (typeof GovTriggers.names)[number], args: Record<string, unknown>): void {
  tx.map(GovTriggers.table).set(utf8(name), jsonBytes({ proposal_id: args.proposal_id ?? null, seqno_read: tx.readVersion }));
}

export function readConstitution(tx: Tx): string | undefined {
  const raw = tx.map(GovTables.constitution).get(UNIT_KEY);
  return raw === undefined ? undefined : parseJsonBytes<string>(raw);
}

/** The effect of set_constitution (CCF stores the source as a JSON string under the unit key). */
export function writeConstitution(tx: Tx, source: string): void {
  if (typeof source !== 'string' || source.length === 0) throw new ConstitutionError('the constitution must be non-empty JS source');
  tx.map(GovTables.constitution).set(UNIT_KEY, jsonBytes(source));
}

// The constitution and each ballot run in sandboxes of their own, as CCF evaluates each ballot in its
// own context: a ballot's code cannot change the globals the constitution (or another ballot) sees.
const CONSTITUTION_WRAPPER = `import * as constitution from './constitution.js';
let actions = [];
globalThis.synod = Object.freeze({ hostAction(name, args) {
  if (typeof name !== 'string') throw new TypeError('synod.hostAction: name must be a string');
  actions.push([name, args === undefined ? {} : JSON.parse(JSON.stringify(args))]);
} });
export function validate(request) { return { body: { result: constitution.validate(request.body.text()) } }; }
export function resolve(request) {
  const a = request.body.json();
  return { body: { result: constitution.resolve(a.proposal, a.proposerId, a.votes, a.proposalId) } };
}
export function apply(request) {
  const a = request.body.json();
  actions = [];
  constitution.apply(a.proposal, a.proposalId);
  return { body: { actions } };
}
`;

const BALLOT_WRAPPER = `import { vote as ballot } from './ballot.js';
export function vote(request) {
  const a = request.body.json();
  return { body: { result: ballot(a.proposal, a.proposerId) } };
}
`;

type Fn = 'validate' | 'resolve' | 'vote' | 'apply';

function endpointsFor(fns: readonly Fn[], module: string): Record<string, unknown> {
  const endpoints: Record<string, unknown> = {};
  for (const fn of fns) {
    endpoints[`/${fn}`] = { post: { js_module: module, js_function: fn, authn_policies: ['no_auth'], forwarding_required: 'never', mode: 'readwrite' } };
  }
  return endpoints;
}

/**
 * The constitution's sandbox and one sandbox per distinct ballot script, loaded ahead of a transaction
 * (loading is asynchronous; running them is not). Their functions run synchronously against any Tx.
 */
export interface GovSandbox {
  readonly constitution: string;
  readonly app: JsApp;
  /** Ballot script → its sandbox. */
  readonly ballots: ReadonlyMap<string, JsApp>;
}

/** Loads the constitution into a sandbox of its own. */
export async function loadConstitutionApp(constitution: string): Promise<JsApp> {
  try {
    return await loadJsApp({
      metadata: { endpoints: endpointsFor(['validate', 'resolve', 'apply'], 'gov.js') },
      modules: [{ name: 'gov.js', module: CONSTITUTION_WRAPPER }, { name: 'constitution.js', module: constitution }],
    });
  } catch (error) {
    throw new ConstitutionError(`the constitution does not load: ${(error as Error).message}`);
  }
}

/** Loads each distinct ballot script into a sandbox of its own. */
export async function loadBallotApps(ballots: readonly string[]): Promise<Map<string, JsApp>> {
  const apps = new Map<string, JsApp>();
  for (const script of new Set(ballots)) {
    try {
      apps.set(script, await loadJsApp({
        metadata: { endpoints: endpointsFor(['vote'], 'gov.js') },
        modules: [{ name: 'gov.js', module: BALLOT_WRAPPER }, { name: 'ballot.js', module: script }],
      }));
    } catch (error) {
      throw new BallotLoadError(`a ballot does not load: ${(error as Error).message}`);
    }
  }
  return apps;
}

/** Loads the constitution and the given ballots. */
export async function loadSandbox(constitution: string, ballots: readonly string[] = []): Promise<GovSandbox> {
  const [app, ballotApps] = await Promise.all([loadConstitutionApp(constitution), loadBallotApps(ballots)]);
  return { constitution, app, ballots: ballotApps };
}

export function disposeSandbox(sandbox: GovSandbox, keepConstitution = false): void {
  if (!keepConstitution) sandbox.app.dispose();
  for (const app of sandbox.ballots.values()) app.dispose();
}

export class BallotLoadError extends ConstitutionError {
  constructor(message: string) {
    super(message);
    this.name = 'BallotLoadError';
  }
}

/** The sandbox was loaded from another constitution or without a ballot the Tx holds: load again. */
export class StaleSandboxError extends ConstitutionError {
  constructor(message: string) {
    super(message);
    this.name = 'StaleSandboxError';
  }
}

function call(app: JsApp, fn: Fn, tx: Tx, input: unknown): { ok: true; value: unknown } | { ok: false; failure: Failure } {
  const endpoint = app.endpoints.find((e) => e.path === `/${fn}`)!;
  const body = typeof input === 'string' ? utf8(input) : jsonBytes(input);
  const request: JsRequest = {
    method: 'POST', path: `/gov/${fn}`, query: '', route: `/gov/${fn}`,
    headers: { 'content-type': 'application/json' }, params: {}, body, caller: null,
  } as JsRequest;
  const result: InvokeResult = app.invoke(endpoint, request, tx, { executionMode: fn === 'apply' ? 'governance' : 'governance-readonly' });
  if (!result.ok) {
    const details = result.error.details;
    const reason = details ? `${details.name}: ${details.message}` : result.error.message;
    return { ok: false, failure: { reason, ...(details?.stack ? { trace: details.stack } : {}) } };
  }
  return { ok: true, value: (parseJsonBytes<Record<string, unknown>>(result.response.body) as { result?: unknown; actions?: unknown }) };
}

export interface Validation {
  valid: boolean;
  description?: string;
}

function requireConstitution(tx: Tx): string {
  const source = readConstitution(tx);
  if (source === undefined) throw new ConstitutionError('no constitution in public:ccf.gov.constitution');
  return source;
}

function checkSandbox(sandbox: GovSandbox, tx: Tx): void {
  if (requireConstitution(tx) !== sandbox.constitution) throw new StaleSandboxError('the constitution changed since the sandbox was loaded');
}

/** Runs validate on the proposal text (synchronously, in a loaded sandbox). A throwing validate is invalid. */
export function validateWith(sandbox: GovSandbox, tx: Tx, proposal: string): Validation {
  checkSandbox(sandbox, tx);
  const out = call(sandbox.app, 'validate', tx, proposal);
  if (!out.ok) return { valid: false, description: out.failure.reason };
  const result = (out.value as { result?: unknown }).result as { valid?: unknown; description?: unknown } | undefined;
  if (typeof result?.valid !== 'boolean') return { valid: false, description: 'validate did not return {valid: boolean}' };
  return { valid: result.valid, ...(typeof result.description === 'string' ? { description: result.description } : {}) };
}

/** Runs the stored constitution's validate on the proposal text. A throwing validate is invalid. */
export async function validateProposal(tx: Tx, proposal: string): Promise<Validation> {
  const sandbox = await loadSandbox(requireConstitution(tx));
  try {
    return validateWith(sandbox, tx, proposal);
  } finally {
    disposeSandbox(sandbox);
  }
}

export interface Resolution {
  info: ProposalInfo;
  /**
   * Always false: a failed apply runs in a child transaction that is dropped, so nothing it wrote is
   * left in the Tx (kept for callers of the earlier interface).
   */
  discardWrites: boolean;
  /** Proposals dropped because this one applied (set_constitution drops all other Open proposals). */
  dropped: string[];
}

/**
 * Evaluates an Open proposal's ballots, runs resolve and, when Accepted, apply with its host actions;
 * files the outcome in proposals_info (as CCF's resolve_proposal: final votes and vote failures once it
 * leaves Open, the other finished proposals removed then). apply and its host actions run in a child
 * transaction merged only when all of them succeed, so a Failed proposal changed nothing but its own
 * record. Applying `set_constitution` drops every other Open proposal.
 * Synchronous in a sandbox loaded with the constitution and the proposal's ballots.
 */
export function resolveWith(sandbox: GovSandbox, tx: Tx, proposalId: string): Resolution {
  checkSandbox(sandbox, tx);
  const info = readProposalInfo(tx, proposalId);
  const body = readProposal(tx, proposalId);
  if (!info || !body) throw new ConstitutionError(`could not find proposal ${proposalId}`);
  if (info.state !== 'Open') throw new ConstitutionError(`proposal ${proposalId} is ${info.state}, not Open`);
  const proposal = fromUtf8(body);
  const members = Object.keys(info.ballots);
  const ballotApps = members.map((m) => sandbox.ballots.get(info.ballots[m]!));
  if (ballotApps.includes(undefined)) throw new StaleSandboxError(`the sandbox lacks a ballot of proposal ${proposalId}`);
  const { app } = sandbox;
  const votes: Array<{ member_id: string; vote: boolean }> = [];
  const voteFailures: Record<string, Failure> = {};
  members.forEach((member, i) => {
    const out = call(ballotApps[i]!, 'vote', tx, { proposal, proposerId: info.proposer_id });
    if (!out.ok) voteFailures[member] = out.failure;
    else if (typeof (out.value as { result?: unknown }).result !== 'boolean') voteFailures[member] = { reason: 'vote did not return a boolean' };
    else votes.push({ member_id: member, vote: (out.value as { result: boolean }).result });
  });
  const finalVotes = Object.fromEntries(votes.map((v) => [v.member_id, v.vote]));
  const file = (state: 'Open' | 'Accepted' | 'Rejected' | 'Failed', failure?: Failure): ProposalInfo => {
    const filed = recordOutcome(tx, proposalId, { state, final_votes: finalVotes, vote_failures: voteFailures, ...(failure ? { failure } : {}) });
    if (!filed.ok) throw new ConstitutionError(filed.message);
    return filed.info;
  };
  const resolved = call(app, 'resolve', tx, { proposal, proposerId: info.proposer_id, votes, proposalId });
  let state: 'Open' | 'Accepted' | 'Rejected' | 'Failed';
  let failure: Failure | undefined;
  if (!resolved.ok) {
    state = 'Failed';
    failure = { ...resolved.failure, reason: `Failed to resolve(): ${resolved.failure.reason}` };
  } else {
    const result = (resolved.value as { result?: unknown }).result;
    if (result === 'Open' || result === 'Accepted' || result === 'Rejected') state = result;
    else {
      state = 'Failed';
      failure = { reason: `resolve() returned invalid status value: ${JSON.stringify(String(result))}` };
    }
  }
  if (state === 'Open') return { info: file('Open'), dropped: [], discardWrites: false };
  // As CCF: once a proposal leaves Open, the other finished proposals leave the maps (before apply, so
  // proposals that apply drops stay visible).
  removeFinishedProposals(tx, proposalId);
  let dropped: string[] = [];
  if (state === 'Accepted') {
    const applied = applyInChild(app, tx, proposal, proposalId);
    if (!applied.ok) {
      state = 'Failed';
      failure = applied.failure;
    } else if (applied.replacedConstitution) {
      dropped = dropOpenProposals(tx, proposalId);
    }
  }
  return { info: file(state, failure), dropped, discardWrites: false };
}

function applyInChild(app: JsApp, tx: Tx, proposal: string, proposalId: string): { ok: true; replacedConstitution: boolean } | { ok: false; failure: Failure } {
  const child = childTx(tx);
  const failed = (failure: Failure) => {
    discard(child);
    return { ok: false as const, failure };
  };
  const applied = call(app, 'apply', child, { proposal, proposalId });
  if (!applied.ok) return failed({ ...applied.failure, reason: `Failed to apply(): ${applied.failure.reason}` });
  const actions = (applied.value as { actions?: Array<[string, Record<string, unknown>]> }).actions ?? [];
  let replacedConstitution = false;
  for (const [name, args] of actions) {
    try {
      if (name === 'set_constitution') {
        writeConstitution(child, text(args, 'constitution'));
        replacedConstitution = true;
        continue;
      }
      const action = hostAction(name);
      if (!action) throw new ConstitutionError(`no host action ${name}`);
      action(child, { ...(args ?? {}), ...(name.startsWith('trigger_') ? { proposal_id: proposalId } : {}) });
    } catch (error) {
      return failed({ reason: `Failed to apply(): ${name}: ${(error as Error).message}` });
    }
  }
  mergeInto(tx, child);
  return { ok: true, replacedConstitution };
}

/** resolveWith in a sandbox loaded for this proposal. */
export async function resolveProposal(tx: Tx, proposalId: string): Promise<Resolution> {
  const info = readProposalInfo(tx, proposalId);
  if (!info) throw new ConstitutionError(`could not find proposal ${proposalId}`);
  const sandbox = await loadSandbox(requireConstitution(tx), Object.values(info.ballots));
  try {
    return resolveWith(sandbox, tx, proposalId);
  } finally {
    disposeSandbox(sandbox);
  }
}
