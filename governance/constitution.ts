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
import { removeJwtIssuer, writeJwtIssuer, writeJwtPublicSigningKeys } from '../node/enclave/auth/jwt.ts';
import { GovTables } from './tables.ts';
import { dropOpenProposals, removeFinishedProposals, readProposal, readProposalInfo, recordOutcome, type Failure, type ProposalInfo } from './proposals.ts';

export class ConstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConstitutionError';
  }
}

type HostAction = (tx: Tx, args: Record<string, unknown>) => void;

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
    tx.map(Tables.memberInfo).set(id, jsonBytes({ status: 'Accepted', member_data: args.member_data ?? null }));
    if (args.encryption_pub_key !== undefined) tx.map(Tables.memberEncryptionKeys).set(id, utf8(text(args, 'encryption_pub_key')));
  },
  remove_member(tx, args) {
    const id = utf8(args.member_id !== undefined ? text(args, 'member_id') : idFromCertificate(text(args, 'cert')));
    for (const table of [Tables.memberCerts, Tables.memberInfo, Tables.memberEncryptionKeys]) tx.map(table).delete(id);
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
};

export function readConstitution(tx: Tx): string | undefined {
  const raw = tx.map(GovTables.constitution).get(UNIT_KEY);
  return raw === undefined ? undefined : parseJsonBytes<string>(raw);
}

/** The effect of set_constitution (CCF stores the source as a JSON string under the unit key). */
export function writeConstitution(tx: Tx, source: string): void {
  if (typeof source !== 'string' || source.length === 0) throw new ConstitutionError('the constitution must be non-empty JS source');
  tx.map(GovTables.constitution).set(UNIT_KEY, jsonBytes(source));
}

const WRAPPER = `import * as constitution from './constitution.js';
BALLOT_IMPORTS
const ballots = [BALLOT_NAMES];
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
export function vote(request) {
  const a = request.body.json();
  return { body: { result: ballots[a.index](a.proposal, a.proposerId) } };
}
export function apply(request) {
  const a = request.body.json();
  actions = [];
  constitution.apply(a.proposal, a.proposalId);
  return { body: { actions } };
}
`;

const FUNCTIONS = ['validate', 'resolve', 'vote', 'apply'] as const;
type Fn = (typeof FUNCTIONS)[number];

/** One sandbox holding the constitution and the given ballot modules. */
async function loadGovernance(constitution: string, ballots: string[] = []): Promise<JsApp> {
  const imports = ballots.map((_, i) => `import { vote as ballot${i} } from './ballot${i}.js';`).join('\n');
  const names = ballots.map((_, i) => `ballot${i}`).join(', ');
  const endpoints: Record<string, unknown> = {};
  for (const fn of FUNCTIONS) {
    endpoints[`/${fn}`] = { post: { js_module: 'gov.js', js_function: fn, authn_policies: ['no_auth'], forwarding_required: 'never', mode: 'readwrite' } };
  }
  try {
    return await loadJsApp({
      metadata: { endpoints },
      modules: [
        { name: 'gov.js', module: WRAPPER.replace('BALLOT_IMPORTS', imports).replace('BALLOT_NAMES', names) },
        { name: 'constitution.js', module: constitution },
        ...ballots.map((module, i) => ({ name: `ballot${i}.js`, module })),
      ],
    });
  } catch (error) {
    throw new ConstitutionError(`the constitution or a ballot does not load: ${(error as Error).message}`);
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

/** Runs the stored constitution's validate on the proposal text. A throwing validate is invalid. */
export async function validateProposal(tx: Tx, proposal: string): Promise<Validation> {
  const app = await loadGovernance(requireConstitution(tx));
  try {
    const out = call(app, 'validate', tx, proposal);
    if (!out.ok) return { valid: false, description: out.failure.reason };
    const result = (out.value as { result?: unknown }).result as { valid?: unknown; description?: unknown } | undefined;
    if (typeof result?.valid !== 'boolean') return { valid: false, description: 'validate did not return {valid: boolean}' };
    return { valid: result.valid, ...(typeof result.description === 'string' ? { description: result.description } : {}) };
  } finally {
    app.dispose();
  }
}

function requireConstitution(tx: Tx): string {
  const source = readConstitution(tx);
  if (source === undefined) throw new ConstitutionError('no constitution in public:ccf.gov.constitution');
  return source;
}

export interface Resolution {
  info: ProposalInfo;
  /**
   * True when apply (or a host action) failed after it may have written: the caller must discard this
   * Tx and file `info` with recordOutcome on a fresh one, as CCF rolls back a failed apply.
   */
  discardWrites: boolean;
  /** Proposals dropped because this one applied (set_constitution drops all other Open proposals). */
  dropped: string[];
}

/**
 * Evaluates an Open proposal's ballots, runs resolve and, when Accepted, apply with its host actions;
 * files the outcome in proposals_info. Applying `set_constitution` drops every other Open proposal,
 * as CCF's default constitution does. Writes of a failed apply stay in the Tx: see `discardWrites`.
 */
export async function resolveProposal(tx: Tx, proposalId: string): Promise<Resolution> {
  const info = readProposalInfo(tx, proposalId);
  const body = readProposal(tx, proposalId);
  if (!info || !body) throw new ConstitutionError(`could not find proposal ${proposalId}`);
  if (info.state !== 'Open') throw new ConstitutionError(`proposal ${proposalId} is ${info.state}, not Open`);
  const proposal = fromUtf8(body);
  const members = Object.keys(info.ballots);
  const app = await loadGovernance(requireConstitution(tx), members.map((m) => info.ballots[m]!));
  try {
    const votes: Array<{ member_id: string; vote: boolean }> = [];
    const voteFailures: Record<string, Failure> = {};
    members.forEach((member, index) => {
      const out = call(app, 'vote', tx, { index, proposal, proposerId: info.proposer_id });
      if (!out.ok) voteFailures[member] = out.failure;
      else if (typeof (out.value as { result?: unknown }).result !== 'boolean') voteFailures[member] = { reason: 'vote did not return a boolean' };
      else votes.push({ member_id: member, vote: (out.value as { result: boolean }).result });
    });
    const finalVotes = Object.fromEntries(votes.map((v) => [v.member_id, v.vote]));
    const file = (state: 'Open' | 'Accepted' | 'Rejected' | 'Failed', failure?: Failure): ProposalInfo => {
      const filed = recordOutcome(tx, proposalId, { state, final_votes: finalVotes, vote_failures: voteFailures, ...(failure ? { failure } : {}) });
      if (!filed.ok) throw new ConstitutionError(filed.message);
      // As CCF, once a proposal leaves Open the maps keep only it among finished proposals.
      if (state !== 'Open') removeFinishedProposals(tx, proposalId);
      return filed.info;
    };
    const resolved = call(app, 'resolve', tx, { proposal, proposerId: info.proposer_id, votes, proposalId });
    if (!resolved.ok) return { info: file('Failed', { ...resolved.failure, reason: `Failed to resolve(): ${resolved.failure.reason}` }), dropped: [], discardWrites: false };
    const state = (resolved.value as { result?: unknown }).result;
    if (state === 'Open' || state === 'Rejected') return { info: file(state), dropped: [], discardWrites: false };
    if (state !== 'Accepted') return { info: file('Failed', { reason: `resolve() returned invalid status value: ${JSON.stringify(String(state))}` }), dropped: [], discardWrites: false };
    const applied = call(app, 'apply', tx, { proposal, proposalId });
    if (!applied.ok) return { info: file('Failed', { ...applied.failure, reason: `Failed to apply(): ${applied.failure.reason}` }), dropped: [], discardWrites: true };
    const actions = (applied.value as { actions?: Array<[string, Record<string, unknown>]> }).actions ?? [];
    let dropsOthers = false;
    for (const [name, args] of actions) {
      if (name === 'set_constitution') {
        try {
          writeConstitution(tx, text(args, 'constitution'));
        } catch (error) {
          return { info: file('Failed', { reason: `Failed to apply(): set_constitution: ${(error as Error).message}` }), dropped: [], discardWrites: true };
        }
        dropsOthers = true;
        continue;
      }
      const action = HOST_ACTIONS[name];
      try {
        if (!action) throw new ConstitutionError(`no host action ${name}`);
        action(tx, args ?? {});
      } catch (error) {
        return { info: file('Failed', { reason: `Failed to apply(): ${name}: ${(error as Error).message}` }), dropped: [], discardWrites: true };
      }
    }
    const filed = file('Accepted');
    return { info: filed, dropped: dropsOthers ? dropOpenProposals(tx, proposalId) : [], discardWrites: false };
  } finally {
    app.dispose();
  }
}
