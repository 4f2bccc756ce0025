// The governance endpoints: CCF's /gov REST API (api-version 2024-07-01, also the 2023-06-01-preview
// shapes), served by every node as a native app, before the service is Open too.
//
// Signed writes (COSE_Sign1, member_cose_sign1 policy, then governance/requests.ts for the message
// type, the path's proposal and member, and an Active member — Accepted members may send state_digest
// and ack):
//   POST /gov/members/proposals:create
//   POST /gov/members/proposals/{proposalId}:withdraw
//   POST /gov/members/proposals/{proposalId}/ballots/{memberId}:submit
//   POST /gov/members/state-digests/{memberId}:update      → {memberId, stateDigest}
//   POST /gov/members/state-digests/{memberId}:ack         → 204; Accepted → Active
// Reads (no authentication, as CCF): proposals (list, get, actions, ballots), state digests, and
// /gov/service/{info, constitution, javascript-app, members[/{id}], users[/{id}], nodes[/{id}],
// join-policy, jwk}.
//
// Every accepted signed request is recorded in public:ccf.gov.cose_history (requests.ts). A refused
// request answers 4xx with CCF's error code and writes nothing (the frontend applies writes on 2xx only).
// The constitution runs in a QuickJS sandbox that `prepare` loads before the transaction (loading is
// asynchronous, the transaction is not); the handler checks the sandbox still matches the Tx.
//
// Differences from CCF, on purpose:
//   - A proposal whose resolve() or apply() fails is filed as Failed (with `failure`) and answered 200
//     with that state; CCF answers 500 and keeps nothing, so the failure would leave no trace.
//   - Submitting a ballot twice is refused (400 VoteAlreadyExists) even when it is the same ballot (CCF
//     answers 200 for an identical one): a replayed ballot is a clear 4xx.
//   - state_digest and ack requests are recorded in cose_history too (CCF keeps the ack in
//     members.acks only), so the ledger shows every signed request.

import type { Enclave } from '../node/enclave/enclave.ts';
import type { Endpoint, EndpointContext, EndpointRequest, EndpointResponse, NativeApp } from '../node/enclave/frontend.ts';
import { RpcError } from '../node/errors.ts';
import type { Tx } from '../node/kv/index.ts';
import { Tables, UNIT_KEY, fromUtf8, jsonBytes, parseJsonBytes, utf8 } from '../node/enclave/tables.ts';
import { JsTables } from '../node/enclave/jsapp.ts';
import { JwtTables } from '../node/enclave/auth/jwt.ts';
import { GovTables } from './tables.ts';
import { checkAndRecordProposalReplay, proposalIdFor, recordGovernanceRequest, verifyGovernanceRequest, type Expected, type GovRequest } from './requests.ts';
import { createProposal, readProposal, readProposalInfo, removeFinishedProposals, submitBallot, withdrawProposal, type ProposalInfo } from './proposals.ts';
import { ConstitutionError, GovTriggers, StaleSandboxError, disposeSandbox, loadBallotApps, loadConstitutionApp, readConstitution, resolveWith, validateWith, type GovSandbox } from './constitution.ts';
import type { JsApp } from '../node/js/index.ts';

export const GOV_API_VERSIONS = ['2023-06-01-preview', '2024-07-01'] as const;

const TRUST_TABLES = {
  virtualMeasurements: 'public:ccf.gov.nodes.virtual.measurements',
  virtualHostData: 'public:ccf.gov.nodes.virtual.host_data',
  snpMeasurements: 'public:ccf.gov.nodes.snp.measurements',
  snpHostData: 'public:ccf.gov.nodes.snp.host_data',
  snpTcbVersions: 'public:ccf.gov.nodes.snp.tcb_versions',
  snpUvmEndorsements: 'public:ccf.gov.nodes.snp.uvm_endorsements',
} as const;

/** A CCF governance error response: `{error: {code, message}}`. */
function govError(status: number, code: string, message: string): EndpointResponse {
  return { status, body: { error: { code, message } } };
}

function apiVersionError(req: EndpointRequest): EndpointResponse | undefined {
  const version = req.query.get('api-version');
  if (version === null) {
    return govError(400, 'MissingApiVersionParameter', `The api-version query parameter (?api-version=) is required for all requests. Supported values: ${GOV_API_VERSIONS.join(', ')}`);
  }
  if (!(GOV_API_VERSIONS as readonly string[]).includes(version)) {
    return govError(400, 'UnsupportedApiVersionValue', `Unsupported api-version '${version}'. Supported values: ${GOV_API_VERSIONS.join(', ')}`);
  }
  return undefined;
}

/** CCF's proposal shape on the wire. */
export function proposalToApi(proposalId: string, info: ProposalInfo): Record<string, unknown> {
  const body: Record<string, unknown> = {
    proposalId,
    proposerId: info.proposer_id,
    proposalState: info.state,
    ballotCount: Object.keys(info.ballots ?? {}).length,
  };
  if (info.final_votes !== undefined) body.finalVotes = info.final_votes;
  if (info.vote_failures !== undefined) body.voteFailures = info.vote_failures;
  if (info.failure !== undefined) body.failure = info.failure;
  return body;
}

function json<T>(raw: Uint8Array | undefined): T | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseJsonBytes<T>(raw);
  } catch {
    return undefined;
  }
}

function text(raw: Uint8Array | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return fromUtf8(raw);
  } catch {
    return undefined;
  }
}

function entries(tx: Tx, map: string): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  tx.map(map).forEach((value, key) => {
    const k = text(key);
    if (k !== undefined) out.push([k, value]);
  });
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- sandboxes -------------------------------------------------------------------------------------

interface Prepared {
  sandbox?: GovSandbox;
  /** Why the sandbox could not be loaded (a ballot that does not compile, a broken constitution). */
  loadError?: string;
}

/**
 * The current constitution's sandbox, kept between requests (its module state persists between calls,
 * as one interpreter per app does for apps). Ballots get fresh sandboxes each time.
 */
let cachedConstitution: { source: string; app: JsApp } | undefined;

async function constitutionApp(source: string): Promise<JsApp> {
  if (cachedConstitution?.source === source) return cachedConstitution.app;
  const app = await loadConstitutionApp(source);
  // The previous one is not disposed: a request prepared with it may not have run yet (GC frees it).
  cachedConstitution = { source, app };
  return app;
}

function committedConstitution(enclave: Enclave): string | undefined {
  const raw = enclave.store.get(GovTables.constitution, UNIT_KEY);
  return raw === undefined ? undefined : json<string>(raw);
}

/** Loads a sandbox with the committed constitution and `ballots` (before the transaction). */
async function prepareSandbox(enclave: Enclave, ballots: string[]): Promise<Prepared> {
  const constitution = committedConstitution(enclave);
  if (constitution === undefined) return { loadError: 'No constitution is set - proposals cannot be evaluated' };
  try {
    const [app, ballotApps] = await Promise.all([constitutionApp(constitution), loadBallotApps(ballots)]);
    const sandbox: GovSandbox = { constitution, app, ballots: ballotApps };
    // Ballot sandboxes are dropped once the request's transaction has run (in this promise's continuation).
    if (ballotApps.size > 0) setTimeout(() => disposeSandbox(sandbox, true), 0);
    return { sandbox };
  } catch (error) {
    return { loadError: (error as Error).message };
  }
}

function sandboxOf(ctx: EndpointContext): GovSandbox | EndpointResponse {
  const prepared = ctx.prepared as Prepared | undefined;
  if (prepared?.sandbox) return prepared.sandbox;
  return govError(500, 'InternalError', prepared?.loadError ?? 'the governance sandbox was not loaded');
}

/** Runs governance code; a sandbox that no longer matches the Tx is a conflict the caller retries. */
function guarded<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof StaleSandboxError) throw new RpcError('TransactionConflict', `${error.message}; retry`);
    if (error instanceof ConstitutionError) throw new RpcError('InternalError', error.message);
    throw error;
  }
}

// ---- endpoint helpers ------------------------------------------------------------------------------

type Handler = (ctx: EndpointContext) => EndpointResponse;

function read(path: string, handler: Handler): Endpoint {
  return {
    method: 'GET', path, authn: ['no_auth'], mode: 'readonly', beforeOpen: true,
    handler: (ctx) => apiVersionError(ctx) ?? handler(ctx),
  };
}

function signed(path: string, handler: Handler, prepare?: (req: EndpointRequest) => Promise<unknown>): Endpoint {
  return {
    // Governance writes always run on the primary (a backup forwards them before loading a sandbox).
    method: 'POST', path, authn: ['member_cose_sign1'], mode: 'readwrite', beforeOpen: true, forwarding: 'always',
    handler: (ctx) => apiVersionError(ctx) ?? handler(ctx),
    ...(prepare ? { prepare } : {}),
  };
}

/** Verifies the governance request of a signed endpoint; an error response when it is refused. */
function verify(ctx: EndpointContext, expected: Expected): GovRequest | EndpointResponse {
  const request = verifyGovernanceRequest(ctx.tx, ctx.headers['content-type'], ctx.body, expected);
  if (!request.ok) return govError(request.status, request.code, request.message);
  return request;
}

const isResponse = (value: unknown): value is EndpointResponse => typeof value === 'object' && value !== null && !('ok' in value) && ('status' in value || 'body' in value);

function signedJson(request: GovRequest): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(fromUtf8(request.content)) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function memberInfo(tx: Tx, id: string): Record<string, unknown> | undefined {
  return json<Record<string, unknown>>(tx.map(Tables.memberInfo).get(utf8(id)));
}

// ---- the app ---------------------------------------------------------------------------------------

/** More /gov endpoints from other modules (governance/recovery's), served by governanceApp. */
const extraEndpoints: Array<(enclave: Enclave) => Endpoint[]> = [];

/** Adds endpoints to every governance app created afterwards (call at import time). */
export function registerGovEndpoints(factory: (enclave: Enclave) => Endpoint[]): void {
  extraEndpoints.push(factory);
}

export function governanceApp(enclave: Enclave): NativeApp {
  const rootAtRead = (tx: Tx): Uint8Array => {
    const size = Math.min(tx.readVersion, enclave.tree.size);
    return enclave.tree.root(size);
  };

  // ---- proposals

  const create = signed('/gov/members/proposals:create', (ctx) => {
    const request = verify(ctx, { msgType: 'proposal' });
    if (isResponse(request)) return request;
    if (request.createdAt > 9_999_999_999) return govError(400, 'InvalidCreatedAt', 'Header parameter created_at value is too large');
    const sandbox = sandboxOf(ctx);
    if (isResponse(sandbox)) return sandbox;
    let proposal: string;
    try {
      proposal = fromUtf8(request.content);
    } catch {
      return govError(400, 'InvalidInput', 'The proposal is not UTF-8 text.');
    }
    return guarded(() => {
      const validation = validateWith(sandbox, ctx.tx, proposal);
      if (!validation.valid) return govError(400, 'ProposalFailedToValidate', `Proposal failed to validate: ${validation.description ?? ''}`);
      const proposalId = proposalIdFor(request, rootAtRead(ctx.tx));
      const created = createProposal(ctx.tx, proposalId, request.memberId, request.content);
      if (!created.ok) return govError(created.status, created.code, created.message);
      const replay = checkAndRecordProposalReplay(ctx.tx, request, proposalId);
      if (!replay.ok) return govError(replay.status, replay.code, replay.message);
      recordGovernanceRequest(ctx.tx, request);
      const { info } = resolveWith(sandbox, ctx.tx, proposalId);
      return { body: proposalToApi(proposalId, info) };
    });
  }, () => prepareSandbox(enclave, []));

  const withdraw = signed('/gov/members/proposals/{proposalId}:withdraw', (ctx) => {
    const proposalId = ctx.params.proposalId!;
    const request = verify(ctx, { msgType: 'withdrawal', proposalId });
    if (isResponse(request)) return request;
    const before = readProposalInfo(ctx.tx, proposalId);
    if (before === undefined) return { status: 204 };
    const withdrawn = withdrawProposal(ctx.tx, proposalId, request.memberId);
    if (!withdrawn.ok) return govError(withdrawn.status, withdrawn.code, withdrawn.message);
    // Withdrawing again answers the proposal as it is and writes nothing (as CCF).
    if (before.state === 'Open') {
      removeFinishedProposals(ctx.tx, proposalId);
      recordGovernanceRequest(ctx.tx, request);
    }
    return { body: proposalToApi(proposalId, withdrawn.info) };
  });

  const ballot = signed('/gov/members/proposals/{proposalId}/ballots/{memberId}:submit', (ctx) => {
    const proposalId = ctx.params.proposalId!;
    const request = verify(ctx, { msgType: 'ballot', proposalId, memberId: ctx.params.memberId! });
    if (isResponse(request)) return request;
    const params = signedJson(request);
    if (typeof params?.ballot !== 'string') {
      return govError(400, 'InvalidInput', 'Signed request body is not a JSON object containing required string field "ballot"');
    }
    if (readProposalInfo(ctx.tx, proposalId) === undefined || readProposal(ctx.tx, proposalId) === undefined) {
      return govError(404, 'ProposalNotFound', `Could not find proposal ${proposalId}.`);
    }
    const submitted = submitBallot(ctx.tx, proposalId, request.memberId, params.ballot);
    if (!submitted.ok) return govError(submitted.status, submitted.code, submitted.message);
    const sandbox = sandboxOf(ctx);
    if (isResponse(sandbox)) {
      const prepared = ctx.prepared as Prepared | undefined;
      return prepared?.loadError ? govError(400, 'InvalidInput', `The ballot or the constitution does not load: ${prepared.loadError}`) : sandbox;
    }
    recordGovernanceRequest(ctx.tx, request);
    return guarded(() => {
      const { info } = resolveWith(sandbox, ctx.tx, proposalId);
      return { body: proposalToApi(proposalId, info) };
    });
  }, (req) => {
    // The proposal's committed ballots and the one being submitted.
    const ballots: string[] = [];
    const info = json<ProposalInfo>(enclave.store.get(GovTables.proposalsInfo, utf8(req.params.proposalId ?? '')));
    if (info?.ballots) ballots.push(...Object.values(info.ballots));
    try {
      const submitted = (JSON.parse(fromUtf8(req.caller.cose?.content ?? new Uint8Array())) as { ballot?: unknown }).ballot;
      if (typeof submitted === 'string') ballots.push(submitted);
    } catch {
      // The handler refuses the body.
    }
    return prepareSandbox(enclave, ballots);
  });

  const listProposals = read('/gov/members/proposals', (ctx) => ({
    body: { value: entries(ctx.tx, GovTables.proposalsInfo).map(([id, raw]) => proposalToApi(id, parseJsonBytes<ProposalInfo>(raw))) },
  }));

  const getProposal = read('/gov/members/proposals/{proposalId}', (ctx) => {
    const id = ctx.params.proposalId!;
    const info = readProposalInfo(ctx.tx, id);
    if (!info) return govError(404, 'ProposalNotFound', `Could not find proposal ${id}.`);
    return { body: proposalToApi(id, info) };
  });

  const getActions = read('/gov/members/proposals/{proposalId}/actions', (ctx) => {
    const id = ctx.params.proposalId!;
    const body = readProposal(ctx.tx, id);
    if (!body) return govError(404, 'ProposalNotFound', `Could not find proposal ${id}.`);
    return { body, headers: { 'content-type': 'application/json' } };
  });

  const getBallot = read('/gov/members/proposals/{proposalId}/ballots/{memberId}', (ctx) => {
    const { proposalId, memberId } = ctx.params as { proposalId: string; memberId: string };
    const info = readProposalInfo(ctx.tx, proposalId);
    if (!info) return govError(404, 'ProposalNotFound', `Proposal ${proposalId} does not exist.`);
    const script = info.ballots[memberId];
    if (script === undefined) return govError(404, 'VoteNotFound', `Member ${memberId} has not voted for proposal ${proposalId}.`);
    return { body: { script } };
  });

  // ---- state digests and acks

  const getStateDigest = read('/gov/members/state-digests/{memberId}', (ctx) => {
    const memberId = ctx.params.memberId!;
    const ack = json<{ state_digest?: string }>(ctx.tx.map(Tables.memberAcks).get(utf8(memberId)));
    if (!ack) return govError(404, 'ResourceNotFound', `No ACK record exists for member ${memberId}.`);
    return { body: { memberId, stateDigest: ack.state_digest ?? '' } };
  });

  const updateStateDigest = signed('/gov/members/state-digests/{memberId}:update', (ctx) => {
    const memberId = ctx.params.memberId!;
    const request = verify(ctx, { msgType: 'state_digest', memberId });
    if (isResponse(request)) return request;
    const signature = json<{ root?: string }>(ctx.tx.map(Tables.signatures).get(UNIT_KEY));
    if (!signature?.root) return govError(500, 'InternalError', 'Service has no signatures to ack yet - try again soon.');
    const acks = ctx.tx.map(Tables.memberAcks);
    const ack = json<Record<string, unknown>>(acks.get(utf8(memberId))) ?? {};
    ack.state_digest = signature.root;
    acks.set(utf8(memberId), jsonBytes(ack));
    recordGovernanceRequest(ctx.tx, request);
    return { body: { memberId, stateDigest: signature.root } };
  });

  const ackStateDigest = signed('/gov/members/state-digests/{memberId}:ack', (ctx) => {
    const memberId = ctx.params.memberId!;
    const request = verify(ctx, { msgType: 'ack', memberId });
    if (isResponse(request)) return request;
    const acks = ctx.tx.map(Tables.memberAcks);
    const ack = json<Record<string, unknown>>(acks.get(utf8(memberId)));
    if (!ack) return govError(403, 'AuthorizationFailed', `No ACK record exists for member ${memberId}.`);
    const signedDigest = signedJson(request)?.stateDigest;
    if (typeof signedDigest !== 'string') return govError(400, 'InvalidInput', 'Signed request body is not a JSON object containing required string field "stateDigest"');
    if (signedDigest !== ack.state_digest) {
      return govError(400, 'StateDigestMismatch', `Submitted state digest is not valid. Expected ${String(ack.state_digest)}, received ${signedDigest}.`);
    }
    acks.set(utf8(memberId), jsonBytes({ ...ack, cose_sign1_req: Buffer.from(request.body).toString('base64') }));
    const info = memberInfo(ctx.tx, memberId);
    if (!info) return govError(500, 'InternalError', `Error activating member: member ${memberId} has no information`);
    if (info.status !== 'Active') {
      ctx.tx.map(Tables.memberInfo).set(utf8(memberId), jsonBytes({ ...info, status: 'Active' }));
      // A newly Active recovery member of an Open service gets a share: ask the node to reissue them.
      const service = json<{ status?: string }>(ctx.tx.map(Tables.serviceInfo).get(UNIT_KEY));
      if (service?.status === 'Open' && ctx.tx.map(Tables.memberEncryptionKeys).has(utf8(memberId))) {
        ctx.tx.map(GovTriggers.table).set(utf8('recovery_shares_refresh'), jsonBytes({ proposal_id: null, member_id: memberId, seqno_read: ctx.tx.readVersion }));
      }
    }
    recordGovernanceRequest(ctx.tx, request);
    return { status: 204 };
  });

  // ---- service state

  const serviceInfo = read('/gov/service/info', (ctx) => {
    const info = json<Record<string, unknown>>(ctx.tx.map(Tables.serviceInfo).get(UNIT_KEY));
    if (!info) return govError(404, 'ResourceNotFound', 'Service info could not be found.');
    const config = json<Record<string, unknown>>(ctx.tx.map(Tables.serviceConfig).get(UNIT_KEY)) ?? {};
    const body: Record<string, unknown> = {
      status: info.status,
      certificate: info.cert,
      recoveryThreshold: config.recovery_threshold,
      configuration: {
        recoveryThreshold: config.recovery_threshold,
        recentCoseProposalsWindowSize: config.recent_cose_proposals_window_size ?? 100,
        ...(config.maximum_node_certificate_validity_days !== undefined ? { maximumNodeCertificateValidityDays: config.maximum_node_certificate_validity_days } : {}),
        ...(config.reconfiguration_type !== undefined ? { reconfigurationType: config.reconfiguration_type } : {}),
        ...(config.consensus !== undefined ? { consensus: config.consensus } : {}),
      },
    };
    if (info.recovery_count !== undefined) body.recoveryCount = info.recovery_count;
    if (info.current_service_create_txid !== undefined) body.creationTransactionId = info.current_service_create_txid;
    if (info.previous_service_identity_version !== undefined) body.previousServiceCreationTransactionId = info.previous_service_identity_version;
    if (info.service_data !== undefined) body.serviceData = info.service_data;
    return { body };
  });

  const constitution = read('/gov/service/constitution', (ctx) => {
    const source = readConstitution(ctx.tx);
    if (source === undefined) return govError(404, 'ResourceNotFound', 'No constitution is set.');
    return { body: source, headers: { 'content-type': 'text/javascript' } };
  });

  const javascriptApp = read('/gov/service/javascript-app', (ctx) => {
    const endpoints: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [key, raw] of entries(ctx.tx, JsTables.endpoints)) {
      const id = json<{ uri_path?: string; verb?: string }>(utf8(key));
      const props = json<Record<string, unknown>>(raw);
      if (!id?.uri_path || !id.verb || !props) continue;
      (endpoints[id.uri_path] ??= {})[id.verb.toLowerCase()] = ctx.query.get('case') === 'original' ? props : endpointToApi(props);
    }
    return { body: { endpoints } };
  });

  const memberToApi = (tx: Tx, id: string, certRaw: Uint8Array): Record<string, unknown> => {
    const info = memberInfo(tx, id) ?? {};
    const body: Record<string, unknown> = { memberId: id, status: info.status, certificate: text(certRaw) };
    if (info.member_data !== undefined && info.member_data !== null) body.memberData = info.member_data;
    const encryptionKey = text(tx.map(Tables.memberEncryptionKeys).get(utf8(id)));
    if (encryptionKey !== undefined) body.publicEncryptionKey = encryptionKey;
    if (info.recovery_role !== undefined) body.recoveryRole = info.recovery_role;
    return body;
  };
  const members = read('/gov/service/members', (ctx) => ({
    body: { value: entries(ctx.tx, Tables.memberCerts).map(([id, cert]) => memberToApi(ctx.tx, id, cert)) },
  }));
  const member = read('/gov/service/members/{memberId}', (ctx) => {
    const id = ctx.params.memberId!;
    const cert = ctx.tx.map(Tables.memberCerts).get(utf8(id));
    if (!cert) return govError(404, 'ResourceNotFound', `Member ${id} does not exist.`);
    return { body: memberToApi(ctx.tx, id, cert) };
  });

  const userToApi = (tx: Tx, id: string, certRaw: Uint8Array): Record<string, unknown> => {
    const info = json<{ user_data?: unknown }>(tx.map(Tables.userInfo).get(utf8(id)));
    const body: Record<string, unknown> = { userId: id, certificate: text(certRaw) };
    if (info?.user_data !== undefined && info.user_data !== null) body.userData = info.user_data;
    return body;
  };
  const users = read('/gov/service/users', (ctx) => ({
    body: { value: entries(ctx.tx, Tables.userCerts).map(([id, cert]) => userToApi(ctx.tx, id, cert)) },
  }));
  const user = read('/gov/service/users/{userId}', (ctx) => {
    const id = ctx.params.userId!;
    const cert = ctx.tx.map(Tables.userCerts).get(utf8(id));
    if (!cert) return govError(404, 'ResourceNotFound', `User ${id} does not exist.`);
    return { body: userToApi(ctx.tx, id, cert) };
  });

  const nodeToApi = (tx: Tx, id: string, raw: Uint8Array): Record<string, unknown> => {
    const info = json<Record<string, unknown>>(raw) ?? {};
    const endorsed = text(tx.map(Tables.nodeEndorsedCerts).get(utf8(id)));
    const interfaces: Record<string, unknown> = {};
    for (const [name, iface] of Object.entries((info.rpc_interfaces ?? {}) as Record<string, { published_address?: string }>)) {
      interfaces[name] = { publishedAddress: iface?.published_address, protocol: 'HTTP1' };
    }
    const body: Record<string, unknown> = {
      nodeId: id,
      status: info.status,
      certificate: endorsed ?? info.cert,
      retiredCommitted: info.retired_committed === true,
      rpcInterfaces: interfaces,
    };
    if (info.node_data !== undefined && info.node_data !== null) body.nodeData = info.node_data;
    if (info.quote_info !== undefined) body.quoteInfo = info.quote_info;
    return body;
  };
  const nodes = read('/gov/service/nodes', (ctx) => ({
    body: { value: entries(ctx.tx, Tables.nodesInfo).map(([id, raw]) => nodeToApi(ctx.tx, id, raw)) },
  }));
  const node = read('/gov/service/nodes/{nodeId}', (ctx) => {
    const id = ctx.params.nodeId!;
    const raw = ctx.tx.map(Tables.nodesInfo).get(utf8(id));
    if (!raw) return govError(404, 'ResourceNotFound', `Node ${id} does not exist.`);
    return { body: nodeToApi(ctx.tx, id, raw) };
  });

  const joinPolicy = read('/gov/service/join-policy', (ctx) => {
    const allowed = (map: string) => entries(ctx.tx, map).filter(([, v]) => json(v) === 'AllowedToJoin').map(([k]) => k);
    const keys = (map: string) => entries(ctx.tx, map).map(([k]) => k);
    return {
      body: {
        virtual: { measurements: allowed(TRUST_TABLES.virtualMeasurements), hostData: keys(TRUST_TABLES.virtualHostData) },
        snp: {
          measurements: allowed(TRUST_TABLES.snpMeasurements),
          hostData: Object.fromEntries(entries(ctx.tx, TRUST_TABLES.snpHostData).map(([k, v]) => [k, json(v) ?? ''])),
          uvmEndorsements: Object.fromEntries(entries(ctx.tx, TRUST_TABLES.snpUvmEndorsements).map(([k, v]) => [k, json(v)])),
          tcbVersions: Object.fromEntries(entries(ctx.tx, TRUST_TABLES.snpTcbVersions).map(([k, v]) => [k, json(v)])),
        },
      },
    };
  });

  const jwk = read('/gov/service/jwk', (ctx) => {
    const issuers: Record<string, unknown> = {};
    for (const [issuer, raw] of entries(ctx.tx, JwtTables.issuers)) {
      const metadata = json<Record<string, unknown>>(raw) ?? {};
      issuers[issuer] = {
        autoRefresh: metadata.auto_refresh === true,
        ...(metadata.ca_cert_bundle_name !== undefined ? { caCertBundleName: metadata.ca_cert_bundle_name } : {}),
      };
    }
    const caCertBundles = Object.fromEntries(entries(ctx.tx, Tables.caCertBundles).map(([name, raw]) => [name, json(raw)]));
    const keys: Record<string, unknown> = {};
    for (const [kid, raw] of entries(ctx.tx, JwtTables.publicSigningKeys)) {
      keys[kid] = (json<Array<Record<string, unknown>>>(raw) ?? []).map((k) => ({
        issuer: k.issuer,
        ...(k.constraint !== undefined ? { constraint: k.constraint } : {}),
        ...(k.public_key !== undefined ? { publicKey: k.public_key } : {}),
      }));
    }
    return { body: { issuers, caCertBundles, keys } };
  });

  return {
    name: 'governance',
    endpoints: [
      create, withdraw, ballot, listProposals, getProposal, getActions, getBallot,
      getStateDigest, updateStateDigest, ackStateDigest,
      serviceInfo, constitution, javascriptApp, members, member, users, user, nodes, node, joinPolicy, jwk,
      ...extraEndpoints.flatMap((factory) => factory(enclave)),
    ],
  };
}

/**
 * For other /gov endpoints (governance/recovery): CCF's error body, and endpoints that check
 * api-version, serve before the service is Open, and (signed) require member_cose_sign1.
 */
export { govError, read as govReadEndpoint, signed as govSignedEndpoint, verify as verifyGovEndpointRequest, isResponse as isGovResponse };

const ENUMS: Record<string, Record<string, string>> = {
  mode: { readwrite: 'ReadWrite', readonly: 'ReadOnly', historical: 'Historical' },
  forwarding_required: { always: 'Always', sometimes: 'Sometimes', never: 'Never' },
  redirection_strategy: { none: 'None', to_primary: 'ToPrimary', to_backup: 'ToBackup' },
};
const RENAMED: Record<string, string> = { openapi: 'openApi', openapi_hidden: 'openApiHidden' };

/** CCF's camelCase endpoint properties (js_module → jsModule, mode readwrite → ReadWrite, …). */
function endpointToApi(props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) {
    const name = RENAMED[key] ?? key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    out[name] = typeof value === 'string' && ENUMS[key]?.[value] !== undefined ? ENUMS[key]![value] : value;
  }
  return out;
}
