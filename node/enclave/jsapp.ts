// JavaScript apps in the node: the deployed bundle lives in CCF's governance maps, is loaded into the
// sandboxed runtime (node/js), and its endpoints are mounted under /app in the frontend. A change to those
// maps (set_js_app, remove_js_app, set_js_runtime_options) reloads the app; until the new one is ready the
// old one keeps serving.

import { loadJsApp, runtimeLimitsFromCcf, validateBundle, type Bundle, type JsApp, type JsEndpoint, type JsRequest, type JsRuntimeLimits } from '../js/index.ts';
import type { Store, Tx } from '../kv/index.ts';
import { RpcError } from '../errors.ts';
import type { HostPort } from '../boundary.ts';
import type { Enclave } from './enclave.ts';
import { historicalRangeHooks } from './historical.ts';
import type { AuthnPolicy, Endpoint, EndpointContext, EndpointResponse, Frontend } from './frontend.ts';
import { Tables, UNIT_KEY, fromUtf8, jsonBytes, parseJsonBytes, utf8 } from './tables.ts';

export const JsTables = {
  modules: 'public:ccf.gov.modules',
  endpoints: 'public:ccf.gov.endpoints',
  runtimeOptions: 'public:ccf.gov.js_runtime_options',
} as const;

/** The effect of set_js_app on the KV (shared by governance and the sandbox's genesis). */
export function writeJsApp(tx: Tx, input: unknown): void {
  const bundle = validateBundle(input);
  clearMap(tx, JsTables.modules);
  clearMap(tx, JsTables.endpoints);
  for (const module of bundle.modules) tx.map(JsTables.modules).set(utf8(module.name), utf8(module.module));
  for (const [path, methods] of Object.entries(bundle.metadata.endpoints)) {
    for (const [method, properties] of Object.entries(methods)) {
      const key = JSON.stringify({ uri_path: path, verb: method.toUpperCase() });
      tx.map(JsTables.endpoints).set(utf8(key), jsonBytes(properties));
    }
  }
}

/** The effect of set_js_runtime_options: CCF's argument names, checked before they are stored. */
export function writeJsRuntimeOptions(tx: Tx, options: Record<string, unknown>): void {
  runtimeLimitsFromCcf(options);
  tx.map(JsTables.runtimeOptions).set(UNIT_KEY, jsonBytes(options));
}

/** The effect of remove_js_app. */
export function removeJsApp(tx: Tx): void {
  clearMap(tx, JsTables.modules);
  clearMap(tx, JsTables.endpoints);
}

function clearMap(tx: Tx, name: string): void {
  tx.map(name).clear();
}

/** The deployed bundle, rebuilt from the governance maps; undefined when none is deployed. */
export function readJsApp(store: Store): Bundle | undefined {
  const modules: Bundle['modules'] = [];
  store.forEachCommitted(JsTables.modules, (key, value) => modules.push({ name: fromUtf8(key), module: fromUtf8(value) }));
  if (modules.length === 0) return undefined;
  const endpoints: Record<string, Record<string, unknown>> = {};
  store.forEachCommitted(JsTables.endpoints, (key, value) => {
    const { uri_path: path, verb } = JSON.parse(fromUtf8(key)) as { uri_path: string; verb: string };
    (endpoints[path] ??= {})[verb.toLowerCase()] = parseJsonBytes(value);
  });
  modules.sort((a, b) => (a.name < b.name ? -1 : 1));
  return validateBundle({ metadata: { endpoints }, modules });
}

/** set_js_runtime_options stores CCF's field names (max_heap_bytes, max_stack_bytes, max_execution_time_ms). */
function readRuntimeLimits(store: Store): JsRuntimeLimits | undefined {
  const raw = store.get(JsTables.runtimeOptions, UNIT_KEY);
  return raw ? runtimeLimitsFromCcf(parseJsonBytes<Record<string, unknown>>(raw)) : undefined;
}

/**
 * CCF's caller object for JS handlers (src/js/extensions/ccf/request.cpp, create_caller_ident_obj):
 * - certificate policies: `{policy, id, data, cert}`;
 * - jwt: `{policy: "jwt", jwt: {keyIssuer, header, payload}}`;
 * - user_cose_sign1 / member_cose_sign1: `{policy, id, data, cert, cose: {content, protectedHeader}}`;
 * - all_of: `{policy: [names], <name>: <that policy's caller object>, …}`.
 * The object crosses into the sandbox as JSON, so `cose.content` (an ArrayBuffer in CCF) travels as
 * base64 text; `protectedHeader` (alg, kid and CCF's msg headers) is a Synod addition.
 */
function callerObject(store: Store, caller: EndpointContext['caller']): unknown {
  if (caller.allOf) {
    const object: Record<string, unknown> = { policy: caller.allOf.map((sub) => sub.policy) };
    for (const sub of caller.allOf) object[sub.policy] = callerObject(store, { ...sub, allOf: undefined });
    return object;
  }
  if (caller.jwt) return { policy: caller.policy, jwt: { keyIssuer: caller.jwt.keyIssuer, header: caller.jwt.header, payload: caller.jwt.payload } };
  if (caller.policy === 'no_auth' || !caller.id) return { policy: caller.policy };
  const isUser = caller.policy === 'user_cert' || caller.policy === 'user_cose_sign1' ||
    (caller.policy === 'any_cert' && store.get(Tables.userCerts, utf8(caller.id)) !== undefined);
  const certs = isUser ? Tables.userCerts : Tables.memberCerts;
  const info = isUser ? Tables.userInfo : Tables.memberInfo;
  const cert = store.get(certs, utf8(caller.id));
  const data = store.get(info, utf8(caller.id));
  const parsed = data ? parseJsonBytes<{ user_data?: unknown; member_data?: unknown }>(data) : {};
  return {
    policy: caller.policy,
    id: caller.id,
    data: (isUser ? parsed.user_data : parsed.member_data) ?? null,
    cert: cert ? fromUtf8(cert) : null,
    ...(caller.cose ? {
      cose: { content: Buffer.from(caller.cose.content).toString('base64'), protectedHeader: caller.cose.protectedHeader },
    } : {}),
  };
}

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/**
 * The request as the JS runtime reads it, over the frontend's context: one object per request, and the
 * caller object built only if the handler reads request.caller (it costs KV reads and a certificate
 * decode that most handlers never need); node/js reads `caller` at most once.
 */
class AppRequest implements JsRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly route: string;
  readonly headers: Record<string, string>;
  readonly params: Record<string, string>;
  readonly body: Uint8Array;
  readonly #store: Store;
  readonly #caller: EndpointContext['caller'];

  constructor(ctx: EndpointContext, route: string, store: Store) {
    this.method = ctx.method;
    this.path = ctx.path;
    this.query = ctx.rawQuery;
    this.route = route;
    this.headers = ctx.headers;
    this.params = ctx.params;
    this.body = ctx.body;
    this.#store = store;
    this.#caller = ctx.caller;
  }

  get caller(): unknown {
    return callerObject(this.#store, this.#caller);
  }
}

function mountEndpoint(app: JsApp, endpoint: JsEndpoint, enclave: Enclave, log: Log, host: HostPort | undefined): Endpoint {
  const properties = endpoint.properties;
  const route = `/app${endpoint.path}`;
  const authn: AuthnPolicy[] = properties.authn_policies;
  const hooks = {
    consensus: {
      lastCommittedTxId: () => {
        const seqno = enclave.consensus.commitSeqno;
        return { view: enclave.consensus.viewOf(seqno) ?? 0, seqno };
      },
      statusForTxId: (view: number, seqno: number) => enclave.txStatus(view, seqno),
      viewForSeqno: (seqno: number) => enclave.consensus.viewOf(seqno),
    },
    // console.* of the app goes to the node's log, marked as the app's (one bounded line at a time).
    log: (level: string, line: string) => log(level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info', `app: ${line}`),
    historicalRange: historicalRangeHooks(enclave, host),
  };
  return {
    method: endpoint.method,
    path: route,
    authn,
    mode: properties.mode,
    forwarding: properties.forwarding_required,
    summary: `${properties.js_module}:${properties.js_function}`,
    ...(properties.openapi ? { openapi: properties.openapi } : {}),
    handler: (ctx: EndpointContext): EndpointResponse => {
      // Historical: ccf.historicalState reads a Tx of its own on the state's store (never committed).
      const historical = ctx.historical;
      if ((properties.mode === 'historical') !== (historical !== undefined)) {
        throw new RpcError('InternalError', `${properties.mode} endpoint ${route} ${historical ? 'given' : 'without'} a historical state`);
      }
      const invokeHooks = historical === undefined ? hooks : {
        ...hooks,
        historical: { transactionId: historical.transactionId, receipt: historical.receipt, tx: historical.store.begin() },
      };
      const result = app.invoke(endpoint, new AppRequest(ctx, route, enclave.store), ctx.tx, invokeHooks);
      if (!result.ok) {
        // An engine being replaced after a failure is a transient 503; everything else the app did is a 500.
        const code = result.error.httpStatus === 503 ? 'ServiceUnavailable' : 'InternalError';
        throw new RpcError(code, `The app failed: ${result.error.message}`, { code: result.error.code });
      }
      if (result.claimsDigest) ctx.setClaimsDigest(result.claimsDigest);
      if (result.applyWrites !== undefined) ctx.setApplyWrites(result.applyWrites);
      return result.response;
    },
  };
}

/** Keeps the frontend's /app endpoints in step with the deployed bundle. */
export class JsAppManager {
  private app: JsApp | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;

  constructor(
    private readonly enclave: Enclave,
    private readonly frontend: Frontend,
    private readonly log: Log,
  ) {
    enclave.onMapsWritten((maps) => {
      if (maps.some(({ name }) => name === JsTables.modules || name === JsTables.endpoints || name === JsTables.runtimeOptions)) {
        void this.reload();
      }
    });
  }

  /** The host that reads ledger entries back for ccf.historical: the one the frontend was given. */
  private get host(): HostPort | undefined {
    return this.frontend.host;
  }

  get current(): JsApp | undefined {
    return this.app;
  }

  /** Loads the bundle the KV holds now; concurrent calls coalesce into one more load. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.load().finally(() => {
      this.reloading = undefined;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  private async load(): Promise<void> {
    const bundle = readJsApp(this.enclave.store);
    const previous = this.app;
    if (!bundle) {
      this.app = undefined;
      this.frontend.setAppEndpoints([]);
      previous?.dispose();
      return;
    }
    try {
      const limits = readRuntimeLimits(this.enclave.store);
      const app = await loadJsApp(bundle, limits ? { limits } : {});
      this.app = app;
      this.frontend.setAppEndpoints(app.endpoints.map((endpoint) => mountEndpoint(app, endpoint, this.enclave, this.log, this.host)));
      previous?.dispose();
      this.log('info', `JS app loaded: ${bundle.modules.length} module(s), ${app.endpoints.length} endpoint(s)`);
    } catch (error) {
      this.log('error', `JS app could not be loaded, keeping the previous one: ${(error as Error).message}`);
    }
  }
}
