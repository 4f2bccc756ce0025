// The two runtimes the conformance suite drives with the same requests: Synod's sandbox (node/js's
// loadJsApp over a node/kv Store, committing as the node's frontend does) and this package's polyfill
// in plain Node. Both turn a call into the same Outcome.

import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { loadJsApp, type HistoricalHooks, type JsRequest } from '../../../node/js/index.ts';
import { Store } from '../../../node/kv/index.ts';
import { InvalidResponseError, polyfill } from '../../src/polyfill.ts';
import type { AuthnIdentity, Request } from '../../src/types.ts';
import type { PolyfillConsensus } from '../../src/polyfill.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SDK_ROOT = join(HERE, '..', '..');

export type Mode = 'readwrite' | 'readonly' | 'historical';

export interface EndpointSpec {
  method: string;
  /** app.json path, e.g. "/kv/status/{status}". */
  path: string;
  module: 'raw' | 'sdk';
  fn: string;
  mode: Mode;
}

export interface CallSpec {
  /** Fills the path template, e.g. {status: "400"}. */
  params?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: unknown;
  caller?: AuthnIdentity;
  /** For historical endpoints: the past transaction the handler reads (string keys and values, UTF-8). */
  historical?: { transactionId: string; receipt: unknown; maps: Record<string, Record<string, string>> };
}

function entriesOf(map: Record<string, string>): Array<[ArrayBuffer, ArrayBuffer]> {
  const buffer = (text: string): ArrayBuffer => new Uint8Array(Buffer.from(text, 'utf8')).buffer;
  return Object.entries(map).map(([key, value]) => [buffer(key), buffer(value)]);
}

/** ccf.historicalState for the sandbox: a store holding the past state, read through a Tx. */
function historicalHooks(spec: CallSpec['historical']): HistoricalHooks | undefined {
  if (spec === undefined) return undefined;
  const store = new Store();
  const tx = store.begin();
  for (const [name, map] of Object.entries(spec.maps)) {
    for (const [key, value] of entriesOf(map)) tx.map(name).set(new Uint8Array(key), new Uint8Array(value));
  }
  store.commit(tx);
  return { transactionId: spec.transactionId, receipt: spec.receipt, tx: store.begin() };
}

export type Outcome =
  | {
      kind: 'response';
      status: number;
      headers: Record<string, string>;
      body: Uint8Array;
      applied: boolean;
      applyWrites: boolean | undefined;
      /** Hex. */
      claimsDigest: string | undefined;
    }
  | { kind: 'exception'; name: string; message: string }
  | { kind: 'invalid-response'; message: string };

export interface Backend {
  call(endpoint: EndpointSpec, spec?: CallSpec): Promise<Outcome>;
  close(): void;
}

/** The files of each conformance app, as named inside a bundle (relative to app-sdk/). */
const MODULE_FILES = { raw: 'test/conformance/raw-app.js', sdk: 'test/conformance/sdk-app.js' } as const;
/** The SDK modules sdk-app.js reaches (type-only modules come out empty). */
const SDK_MODULES = ['index', 'kv', 'converters', 'consensus', 'historical', 'endpoints', 'crypto', 'global', 'textcodec', 'types'];

function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_match, name: string) => encodeURIComponent(params[name] ?? ''));
}

function bodyBytes(body: unknown): { bytes: Uint8Array; json: boolean } {
  if (body === undefined) return { bytes: new Uint8Array(0), json: false };
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), json: false };
  return { bytes: Buffer.from(JSON.stringify(body), 'utf8'), json: true };
}

const hex = (bytes: ArrayBuffer | Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');

// ---- the sandbox ----------------------------------------------------------------------------------

/** The SDK's TypeScript as bundle modules: JavaScript under the same names, so the imports resolve. */
function sdkModules(): Array<{ name: string; module: string }> {
  return SDK_MODULES.map((name) => {
    const path = join(SDK_ROOT, 'src', `${name}.ts`);
    const output = ts.transpileModule(readFileSync(path, 'utf8'), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false },
      fileName: path,
    });
    return { name: relative(SDK_ROOT, path), module: output.outputText };
  });
}

export async function sandboxBackend(endpoints: readonly EndpointSpec[], consensus: PolyfillConsensus): Promise<Backend> {
  const metadata: { endpoints: Record<string, Record<string, unknown>> } = { endpoints: {} };
  for (const e of endpoints) {
    (metadata.endpoints[e.path] ??= {})[e.method.toLowerCase()] = {
      js_module: MODULE_FILES[e.module],
      js_function: e.fn,
      authn_policies: ['no_auth'],
      forwarding_required: 'never',
      mode: e.mode,
    };
  }
  const modules = [
    ...Object.values(MODULE_FILES).map((name) => ({ name, module: readFileSync(join(SDK_ROOT, name), 'utf8') })),
    ...sdkModules(),
  ];
  const app = await loadJsApp({ metadata, modules });
  const store = new Store();
  const hooks = { consensus };
  return {
    async call(endpoint, spec = {}) {
      const { bytes, json } = bodyBytes(spec.body);
      const path = `/app${fillPath(endpoint.path, spec.params ?? {})}`;
      const request: JsRequest = {
        method: endpoint.method,
        path,
        query: spec.query ?? '',
        route: `/app${endpoint.path}`,
        headers: { host: 'localhost', ...(json ? { 'content-type': 'application/json' } : {}), ...(spec.headers ?? {}) },
        params: spec.params ?? {},
        body: bytes,
        caller: spec.caller ?? { policy: 'no_auth' },
      };
      const tx = store.begin();
      const historical = historicalHooks(spec.historical);
      const result = app.invoke({ method: endpoint.method, path: endpoint.path }, request, tx, historical ? { ...hooks, historical } : hooks);
      if (!result.ok) {
        if (result.error.code === 'JS_INVALID_RESPONSE') return { kind: 'invalid-response', message: result.error.message };
        const details = result.error.details;
        return { kind: 'exception', name: details?.name ?? result.error.code, message: details?.message ?? result.error.message };
      }
      const { status, headers, body } = result.response;
      // As the node's frontend: writes apply in readwrite endpoints, on 2xx unless the app said otherwise.
      const applied = endpoint.mode === 'readwrite' && (result.applyWrites ?? (status >= 200 && status < 300));
      if (applied) {
        const committed = store.commit(tx);
        if (!committed.ok) throw new Error(`unexpected conflict: ${committed.conflict}`);
      }
      return { kind: 'response', status, headers, body, applied, applyWrites: result.applyWrites, claimsDigest: hex(result.claimsDigest) };
    },
    close: () => app.dispose(),
  };
}

// ---- the polyfill ---------------------------------------------------------------------------------

export async function polyfillBackend(consensus: PolyfillConsensus): Promise<Backend> {
  polyfill.install();
  polyfill.reset();
  polyfill.setConsensus(consensus);
  // Paths in variables: the apps are untyped JavaScript.
  const load = (path: string): Promise<Record<string, (request: Request) => unknown>> => import(path);
  const modules = { raw: await load('./raw-app.js'), sdk: await load('./sdk-app.js') };
  return {
    async call(endpoint, spec = {}) {
      const handler = modules[endpoint.module]![endpoint.fn];
      if (typeof handler !== 'function') throw new Error(`${endpoint.module}-app.js has no function ${endpoint.fn}`);
      try {
        const response = await polyfill.invoke(handler, {
          method: endpoint.method,
          path: `/app${fillPath(endpoint.path, spec.params ?? {})}`,
          route: `/app${endpoint.path}`,
          params: spec.params ?? {},
          ...(spec.query !== undefined ? { query: spec.query } : {}),
          ...(spec.headers !== undefined ? { headers: spec.headers } : {}),
          ...(spec.body !== undefined ? { body: spec.body } : {}),
          ...(spec.caller !== undefined ? { caller: spec.caller } : {}),
        }, {
          mode: endpoint.mode,
          ...(spec.historical === undefined ? {} : {
            historical: {
              transactionId: spec.historical.transactionId,
              receipt: spec.historical.receipt,
              maps: Object.fromEntries(Object.entries(spec.historical.maps).map(([name, map]) => [name, entriesOf(map)])),
            },
          }),
        });
        return {
          kind: 'response',
          status: response.status,
          headers: response.headers,
          body: response.body,
          applied: response.applied,
          applyWrites: response.applyWrites,
          claimsDigest: hex(response.claimsDigest),
        };
      } catch (error) {
        if (error instanceof InvalidResponseError) return { kind: 'invalid-response', message: error.message };
        const e = error as Error;
        return { kind: 'exception', name: e?.name ?? 'Error', message: e?.message ?? String(error) };
      }
    },
    close: () => polyfill.reset(),
  };
}
