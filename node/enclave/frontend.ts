// The enclave's request frontend: routes a request to a built-in or app endpoint, runs the endpoint's
// authentication policies, executes the handler in a KV transaction, and turns every expected failure into
// CCF's error body `{"error": {"code", "message"}}`. The host below only moves bytes.

import type { HostPort, RequestMessage, ResponseMessage } from '../boundary.ts';
import { sha256, toHex } from '../crypto/hash.ts';
import type { Tx } from '../kv/index.ts';
import { RpcError } from '../errors.ts';
import { WriteOnBackup, type Enclave } from './enclave.ts';
import { Tables, utf8, fromUtf8, parseJsonBytes, UNIT_KEY, type ServiceInfo } from './tables.ts';
import { builtinEndpoints } from './builtins.ts';
import { historicalState, transactionIdFromHeaders, type HistoricalState } from './historical.ts';
import { MonotonicClock } from './auth/clock.ts';
import { authenticateCoseSign1, type CoseIdentity } from './auth/cose-sign1.ts';
import { type Refusal, refuse } from './auth/errors.ts';
import { authenticateJwt, type JwtIdentity } from './auth/jwt.ts';

/** CCF's policy names, or a conjunction `{all_of: [...]}` that needs every named policy to pass. */
export type AuthnPolicy = string | { all_of: string[] };

/** Policies decided by the TLS client certificate; jwt, *_cose_sign1 and no_auth are checked in checkPolicy. */
const CERTIFICATE_POLICIES = new Set(['user_cert', 'member_cert', 'any_cert']);

/** Who the request is from, as the policy that accepted it established (CCF's AuthnIdentity). */
export interface Caller {
  policy: string;
  /** User or member ID (hex SHA-256 of the certificate DER): certificate and COSE_Sign1 policies. */
  id?: string;
  /** jwt: the verified token and the issuer whose key verified it. */
  jwt?: JwtIdentity;
  /** user_cose_sign1 / member_cose_sign1: the signed payload and protected header. */
  cose?: CoseIdentity;
  /** An `all_of` conjunction: every policy's caller, in order; the fields above are the first one's. */
  allOf?: Caller[];
}

export interface EndpointRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  headers: Record<string, string>;
  body: Uint8Array;
  caller: Caller;
  /** DER of the TLS client certificate, when the caller presented one. */
  clientCertDer?: Uint8Array;
  /** Parses the body as JSON; a malformed body is a 400 InvalidInput. */
  json(): unknown;
}

export interface EndpointContext extends EndpointRequest {
  tx: Tx;
  setClaimsDigest(digest: Uint8Array): void;
  /** Overrides "writes apply on a 2xx response" (CCF's ccf.rpc.setApplyWrites). */
  setApplyWrites(apply: boolean): void;
  /** Historical endpoints: the state as of the transaction named in the x-ms-ccf-transaction-id header. */
  historical?: HistoricalState;
  /** What the endpoint's `prepare` resolved to. */
  prepared?: unknown;
}

export interface EndpointResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Endpoint {
  method: string;
  /** Path below the service root, with `{name}` parameters, e.g. `/app/log/private`. */
  path: string;
  authn: AuthnPolicy[];
  /**
   * readwrite: runs in a transaction whose writes apply on 2xx; readonly: writes are refused; historical:
   * readonly, with `historical` set to the state as of the TxID in the x-ms-ccf-transaction-id header.
   */
  mode: 'readwrite' | 'readonly' | 'historical';
  /** Built-in endpoints answer from node state and need no open service or transaction. */
  builtin?: (req: EndpointRequest, enclave: Enclave) => EndpointResponse;
  /** Serves while the service is not Open too (governance, node endpoints); app endpoints leave it unset. */
  beforeOpen?: boolean;
  /**
   * On a backup (CCF's forwarding_required): `always` sends the request to the primary; `sometimes`
   * (the default for readwrite handlers) runs it here and forwards it only if it writes; `never` runs it
   * here and refuses writes. Built-ins run where they arrive unless they say `always`.
   */
  forwarding?: 'always' | 'sometimes' | 'never';
  handler?: (ctx: EndpointContext) => EndpointResponse;
  /**
   * Asynchronous work before the transaction (e.g. loading a sandbox); its result reaches the handler
   * as `ctx.prepared`. The handler must check that what it was prepared from still holds in `ctx.tx`.
   */
  prepare?: (req: EndpointRequest) => Promise<unknown>;
  summary?: string;
  openapi?: Record<string, unknown>;
}

export interface NativeApp {
  name: string;
  endpoints: Endpoint[];
}

interface Route {
  endpoint: Endpoint;
  segments: string[];
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export class Frontend {
  /** path → method → endpoint, for paths without parameters. */
  private exact = new Map<string, Map<string, Endpoint>>();
  private templated: Route[] = [];
  private knownPaths = new Set<string>();
  private readonly fixedEndpoints: Endpoint[];
  private appEndpoints: Endpoint[] = [];
  private serviceStatusCache: { raw: Uint8Array | undefined; status: ServiceInfo['status'] | undefined } = { raw: undefined, status: undefined };
  /** Time for JWT exp/nbf: untrusted host time that never runs backwards (auth/clock.ts). */
  private readonly authClock = new MonotonicClock();

  /** `host` reads ledger entries back for historical endpoints; without it they answer 501. */
  constructor(
    private readonly enclave: Enclave,
    apps: readonly NativeApp[],
    readonly host?: HostPort,
  ) {
    this.fixedEndpoints = [...builtinEndpoints(() => this.describe()), ...apps.flatMap((app) => app.endpoints)];
    this.rebuildRoutes();
  }

  /** Replaces the endpoints of the deployed JS app (built-in and native endpoints stay). */
  setAppEndpoints(endpoints: Endpoint[]): void {
    this.appEndpoints = endpoints;
    this.rebuildRoutes();
  }

  private rebuildRoutes(): void {
    this.exact = new Map();
    this.templated = [];
    this.knownPaths = new Set();
    // Built-in and native endpoints win over an app endpoint at the same method and path.
    for (const endpoint of [...this.appEndpoints, ...this.fixedEndpoints]) this.register(endpoint);
  }

  /** Answers at once, except historical endpoints, which wait for a ledger entry from the host. */
  handle(request: RequestMessage): ResponseMessage | Promise<ResponseMessage> {
    const started = performance.now();
    let response: ResponseMessage | Promise<ResponseMessage>;
    try {
      response = this.dispatch(request);
    } catch (error) {
      response = errorResponse(error);
    }
    if (response instanceof Promise) return response.catch(errorResponse).then((answer) => this.answered(answer, started));
    return this.answered(response, started);
  }

  private answered(response: ResponseMessage, started: number): ResponseMessage {
    this.enclave.metrics.countRequest(response.status);
    this.enclave.metrics.observeLatency(performance.now() - started);
    return response;
  }

  /** Every registered endpoint, for /app/api. */
  describe(): Endpoint[] {
    return [...[...this.exact.values()].flatMap((byMethod) => [...byMethod.values()]), ...this.templated.map((route) => route.endpoint)];
  }

  private register(endpoint: Endpoint): void {
    this.knownPaths.add(endpoint.path);
    if (endpoint.path.includes('{')) {
      this.templated.push({ endpoint, segments: endpoint.path.split('/') });
    } else {
      let byMethod = this.exact.get(endpoint.path);
      if (byMethod === undefined) this.exact.set(endpoint.path, (byMethod = new Map()));
      // The last registered wins: built-in and native endpoints come after the app's.
      byMethod.set(endpoint.method, endpoint);
    }
  }

  private dispatch(request: RequestMessage): ResponseMessage | Promise<ResponseMessage> {
    const { endpoint, params } = this.route(request.method, request.path);
    const forwarding = endpoint.forwarding ?? (endpoint.builtin || endpoint.mode !== 'readwrite' ? 'never' : 'sometimes');
    // A request a backup already forwarded is never forwarded again (the primary moved meanwhile).
    const forwarded = request.headers['x-synod-forwarded-by'] !== undefined;
    if (forwarding === 'always' && !forwarded && !this.enclave.isPrimary()) return this.enclave.forward(request);
    const caller = this.authenticate(endpoint, request);
    const req = new RequestContext(request, params, caller);
    if (endpoint.builtin) return toResponse(endpoint.builtin(req, this.enclave));
    if (!endpoint.handler) throw new RpcError('InternalError', 'endpoint has no handler');
    if (!endpoint.beforeOpen && this.serviceStatus() !== 'Open') throw new RpcError('ServiceNotOpen');
    if (endpoint.mode === 'historical') return this.dispatchHistorical(endpoint.handler, req);
    const run = (prepared: unknown): ResponseMessage | Promise<ResponseMessage> => {
      try {
        return this.runInTx(endpoint, req, prepared);
      } catch (error) {
        if (!(error instanceof WriteOnBackup)) throw error;
        if (forwarding === 'never') throw new RpcError('NotPrimary');
        if (forwarded) throw new RpcError('PrimaryUnknown', 'This node received the request forwarded but is no longer primary.');
        return this.enclave.forward(request);
      }
    };
    if (endpoint.prepare) return endpoint.prepare(req).then(run);
    return run(undefined);
  }

  private runInTx(endpoint: Endpoint, ctx: RequestContext, prepared: unknown): ResponseMessage {
    const handler = endpoint.handler!;
    if (prepared !== undefined) ctx.prepared = prepared;
    const outcome = this.enclave.execute(
      (tx) => {
        // A retry after a conflict starts over in a new transaction.
        ctx.tx = tx;
        ctx.claimsDigest = undefined;
        ctx.applyWrites = undefined;
        return handler(ctx);
      },
      (result) => endpoint.mode === 'readwrite' && (ctx.applyWrites ?? isSuccess(result.status ?? 200)),
      () => ctx.claimsDigest,
    );
    const response = toResponse(outcome.value);
    if (outcome.txid) response.headers['x-ms-ccf-transaction-id'] = outcome.txid;
    return response;
  }

  /**
   * A historical endpoint: the TxID from its header must be committed; its state is fetched (the host
   * reads the entry back), then the handler runs read-only against the current store, with the state.
   */
  private async dispatchHistorical(handler: NonNullable<Endpoint['handler']>, ctx: RequestContext): Promise<ResponseMessage> {
    const { view, seqno } = transactionIdFromHeaders(ctx.headers);
    if (this.host === undefined) throw new RpcError('NotImplemented', 'This node serves no historical queries.');
    ctx.historical = await historicalState(this.enclave, this.host, view, seqno);
    // Read-only: nothing the handler asks of the transaction's outcome applies.
    ctx.ignoreOutcome = true;
    const outcome = this.enclave.execute(
      (tx) => {
        ctx.tx = tx;
        return handler(ctx);
      },
      () => false,
    );
    return toResponse(outcome.value);
  }

  private route(method: string, path: string): { endpoint: Endpoint; params: Record<string, string> } {
    const exact = this.exact.get(path)?.get(method);
    if (exact) return { endpoint: exact, params: {} };
    const segments = path.split('/');
    for (const route of this.templated) {
      if (route.endpoint.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let matched = true;
      for (let i = 0; i < segments.length && matched; i++) {
        const pattern = route.segments[i]!;
        // `{name}` or CCF's `{name}:verb` (a parameter followed by a fixed suffix in the same segment).
        const param = /^\{([^}]+)\}(.*)$/.exec(pattern);
        const segment = segments[i]!;
        if (!param) matched = pattern === segment;
        else if (segment.endsWith(param[2]!) && (param[2] === '' || segment.length > param[2]!.length)) {
          params[param[1]!] = decodeURIComponent(segment.slice(0, segment.length - param[2]!.length));
        } else matched = false;
      }
      if (matched) return { endpoint: route.endpoint, params };
    }
    if (this.knownPaths.has(path)) throw new RpcError('UnsupportedHttpMethod', `${method} is not allowed on ${path}`);
    throw new RpcError('UnknownURLPath', `Unknown path: ${path}`);
  }

  /**
   * The caller of the first policy that accepts the request (an `all_of` entry needs all its policies).
   * A refusal names every policy tried and the check that failed for it; `details` carries their codes.
   */
  private authenticate(endpoint: Endpoint, request: RequestMessage): Caller {
    const failures: Array<Refusal & { policy: string }> = [];
    for (const policy of endpoint.authn) {
      const names = typeof policy === 'string' ? [policy] : policy.all_of;
      const callers: Caller[] = [];
      for (const name of names) {
        const result = this.checkPolicy(name, request);
        if ('ok' in result) {
          failures.push({ ...result, policy: name });
          break;
        }
        callers.push(result);
      }
      if (callers.length === names.length && callers.length > 0) {
        return typeof policy === 'string' ? callers[0]! : { ...callers[0]!, allOf: callers };
      }
    }
    if (failures.length === 0) throw new RpcError('Unauthorized', 'no authentication policy accepted the request');
    throw new RpcError(
      'Unauthorized',
      failures.map((f) => `${f.policy}: ${f.message}`).join('; '),
      failures.map((f) => ({ code: f.code, message: `${f.policy}: ${f.message}` })),
    );
  }

  /** The caller if `policy` accepts the request, else why not. */
  private checkPolicy(policy: string, request: RequestMessage): Caller | Refusal {
    const store = this.enclave.store;
    switch (policy) {
      case 'no_auth':
        return { policy };
      case 'jwt': {
        const outcome = authenticateJwt(store, request.headers.authorization, this.authClock.nowSeconds());
        return outcome.ok ? { policy, jwt: outcome.jwt } : outcome;
      }
      case 'user_cose_sign1':
      case 'member_cose_sign1': {
        const role = policy === 'user_cose_sign1' ? 'user' : 'member';
        const outcome = authenticateCoseSign1(store, role, request.headers['content-type'], request.body);
        return outcome.ok ? { policy, id: outcome.id, cose: outcome.cose } : outcome;
      }
    }
    if (!CERTIFICATE_POLICIES.has(policy)) return refuse('PolicyNotSupported', 'not supported by this node');
    const certDer = request.clientCertDer;
    if (!certDer) return refuse('NoClientCertificate', 'no client certificate presented');
    const { id, key } = certificateIdOf(certDer);
    const isUser = policy !== 'member_cert' && store.get(Tables.userCerts, key) !== undefined;
    const isMember = policy !== 'user_cert' && store.get(Tables.memberCerts, key) !== undefined;
    if (isUser || isMember) return { policy, id };
    return refuse('CertificateNotRegistered', `certificate ${id} is not registered for this policy`);
  }

  /**
   * The service status, read on every app call: parsed again only when the stored value changes (the
   * store hands out its own buffer, so a new write is a new object, rollbacks included).
   */
  serviceStatus(): ServiceInfo['status'] | undefined {
    const raw = this.enclave.store.get(Tables.serviceInfo, UNIT_KEY);
    if (raw !== this.serviceStatusCache.raw) {
      this.serviceStatusCache = { raw, status: raw ? parseJsonBytes<ServiceInfo>(raw).status : undefined };
    }
    return this.serviceStatusCache.status;
  }
}

/**
 * Caller IDs by certificate bytes. The host hands the same bytes object for every request on a TLS
 * connection, so the ID (a SHA-256 of the DER) is computed once per connection, not once per request.
 */
const certificateIds = new WeakMap<Uint8Array, { id: string; key: Uint8Array }>();

function certificateIdOf(certDer: Uint8Array): { id: string; key: Uint8Array } {
  let known = certificateIds.get(certDer);
  if (!known) {
    const id = toHex(sha256(certDer));
    known = { id, key: utf8(id) };
    certificateIds.set(certDer, known);
  }
  return known;
}

/**
 * One request as endpoints see it, and the context handlers run in. A class rather than object literals
 * and closures per request: the parsed query is built only if read, and nothing is copied per attempt.
 */
class RequestContext implements EndpointContext {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly rawQuery: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  readonly caller: Caller;
  readonly clientCertDer?: Uint8Array;
  tx!: Tx;
  historical?: HistoricalState;
  prepared?: unknown;
  claimsDigest: Uint8Array | undefined;
  applyWrites: boolean | undefined;
  /** Historical requests: setClaimsDigest and setApplyWrites are accepted and ignored. */
  ignoreOutcome = false;
  #query: URLSearchParams | undefined;

  constructor(request: RequestMessage, params: Record<string, string>, caller: Caller) {
    this.method = request.method;
    this.path = request.path;
    this.params = params;
    this.rawQuery = request.query;
    this.headers = request.headers;
    this.body = request.body;
    this.caller = caller;
    if (request.clientCertDer) this.clientCertDer = request.clientCertDer;
  }

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.rawQuery));
  }

  json(): unknown {
    try {
      return JSON.parse(fromUtf8(this.body));
    } catch {
      throw new RpcError('InvalidInput', 'The request body is not valid JSON.');
    }
  }

  setClaimsDigest(digest: Uint8Array): void {
    if (!this.ignoreOutcome) this.claimsDigest = checkDigest(digest);
  }

  setApplyWrites(apply: boolean): void {
    if (!this.ignoreOutcome) this.applyWrites = apply;
  }
}

function toResponse(result: EndpointResponse): ResponseMessage {
  const status = result.status ?? 200;
  const headers: Record<string, string> = { ...(result.headers ?? {}) };
  let body: Uint8Array | string;
  if (result.body === undefined) body = '';
  else if (typeof result.body === 'string') {
    body = result.body;
    headers['content-type'] ??= 'text/plain';
  } else if (result.body instanceof Uint8Array) {
    body = result.body;
    headers['content-type'] ??= 'application/octet-stream';
  } else {
    body = JSON.stringify(result.body);
    headers['content-type'] ??= JSON_HEADERS['content-type'];
  }
  return { status, headers, body };
}

function errorResponse(error: unknown): ResponseMessage {
  if (error instanceof RpcError) return { status: error.status, headers: { ...JSON_HEADERS }, body: error.toBody() };
  const internal = new RpcError('InternalError', `The node failed to handle the request: ${(error as Error)?.message ?? String(error)}`);
  return { status: 500, headers: { ...JSON_HEADERS }, body: internal.toBody() };
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function checkDigest(digest: Uint8Array): Uint8Array {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new RpcError('InternalError', 'claims digest must be 32 bytes');
  return digest.slice();
}
