// CCF's JS app bundle format (include/ccf/js/bundle.h, include/ccf/endpoint.h):
//
//   { "metadata": { "endpoints": { "/path/{param}": { "<method>": EndpointProperties } } },
//     "modules": [ { "name": "endpoints/all.js", "module": "<source>" } ] }
//
// EndpointProperties: forwarding_required and authn_policies are required (as in CCF); mode (readwrite,
// the default | readonly | historical), js_module, js_function, openapi, openapi_hidden,
// redirection_strategy and interpreter_reuse are optional. Paths are relative to the app's mount point:
// "/log/private" is served at "/app/log/private".
//
// `validateBundle` is strict: a governance vote deploys exactly what it read, so unknown fields, unknown
// enum values, module names that could be read two ways, endpoints naming missing modules, and sizes
// past jsLimits are refused with an error naming the field. It returns a normalized copy.

import { JsError, invalidBundle } from './errors.ts';
import { jsLimits } from './limits.ts';

export type EndpointMode = 'readwrite' | 'readonly' | 'historical';
export type ForwardingRequired = 'always' | 'sometimes' | 'never';
export type RedirectionStrategy = 'none' | 'to_primary' | 'to_backup';
/** A policy name, or CCF's conjunction `{ "all_of": [names] }`. */
export type AuthnPolicy = string | { all_of: string[] };

export interface EndpointProperties {
  js_module: string;
  js_function: string;
  authn_policies: AuthnPolicy[];
  forwarding_required: ForwardingRequired;
  redirection_strategy?: RedirectionStrategy;
  mode: EndpointMode;
  openapi?: Record<string, unknown>;
  openapi_hidden?: boolean;
  /** CCF's interpreter reuse hint. Synod always keeps one interpreter per app (runtime.ts). */
  interpreter_reuse?: { key: string };
}

export interface AppMetadata {
  endpoints: Record<string, Record<string, EndpointProperties>>;
}

export interface BundleModule {
  name: string;
  module: string;
}

export interface Bundle {
  metadata: AppMetadata;
  modules: BundleModule[];
}

/** One endpoint of a validated bundle, as the frontend registers it. */
export interface JsEndpoint {
  /** Upper-case HTTP method. */
  method: string;
  /** Path as in app.json, relative to the mount point, e.g. `/log/private` or `/records/{id}`. */
  path: string;
  properties: EndpointProperties;
}

/** The endpoint table of an app, in app.json order. */
export type JsEndpointTable = readonly JsEndpoint[];

export const AUTHN_POLICIES = ['user_cert', 'member_cert', 'any_cert', 'jwt', 'user_cose_sign1', 'member_cose_sign1', 'no_auth'] as const;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const MODES: readonly EndpointMode[] = ['readwrite', 'readonly', 'historical'];
const FORWARDING: readonly ForwardingRequired[] = ['always', 'sometimes', 'never'];
const REDIRECTION: readonly RedirectionStrategy[] = ['none', 'to_primary', 'to_backup'];
const PROPERTY_KEYS = new Set([
  'js_module', 'js_function', 'authn_policies', 'forwarding_required', 'redirection_strategy',
  'mode', 'openapi', 'openapi_hidden', 'interpreter_reuse',
]);
const SEGMENT = /^[A-Za-z0-9_@$+=~!,;:%.-]+$/;
const PATH_PARAM = /^\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function onlyKeys(value: Json, allowed: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) throw invalidBundle(`${where}: unknown field '${key}'`);
  }
}

/**
 * A module name as modules import each other: relative to the bundle root, '/'-separated, no '.' or
 * '..' segments (QuickJS resolves './x' and '../x' against the importer before asking), one optional
 * leading '/' dropped (CCF stores names with it).
 */
export function normalizeModuleName(raw: unknown, where: string): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalidBundle(`${where}: module name must be a non-empty string`);
  const name = raw.startsWith('/') ? raw.slice(1) : raw;
  if (name.length === 0 || name.length > jsLimits.moduleNameLengthMax) {
    throw invalidBundle(`${where}: module name must have 1 to ${jsLimits.moduleNameLengthMax} characters`);
  }
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || !SEGMENT.test(segment)) {
      throw invalidBundle(`${where}: module name '${raw}' must be a relative path of plain segments (no '.', '..', empty or unusual characters)`);
    }
  }
  return name;
}

function validateModules(raw: unknown): BundleModule[] {
  if (!Array.isArray(raw)) throw invalidBundle('bundle.modules must be an array');
  if (raw.length === 0 || raw.length > jsLimits.bundleModulesMax) {
    throw invalidBundle(`bundle.modules must hold 1 to ${jsLimits.bundleModulesMax} modules`);
  }
  const seen = new Set<string>();
  let totalBytes = 0;
  return raw.map((entry, index) => {
    const where = `bundle.modules[${index}]`;
    if (!isObject(entry)) throw invalidBundle(`${where} must be an object {name, module}`);
    onlyKeys(entry, new Set(['name', 'module']), where);
    const name = normalizeModuleName(entry.name, `${where}.name`);
    if (seen.has(name)) throw invalidBundle(`${where}.name: module '${name}' appears twice`);
    seen.add(name);
    const source = entry.module;
    if (typeof source !== 'string') throw invalidBundle(`${where}.module (${name}) must be a string of JavaScript`);
    const bytes = Buffer.byteLength(source, 'utf8');
    totalBytes += bytes;
    if (bytes > jsLimits.bundleModuleBytesMax) throw invalidBundle(`${where}.module (${name}) is larger than ${jsLimits.bundleModuleBytesMax} bytes`);
    if (totalBytes > jsLimits.bundleTotalBytesMax) throw invalidBundle(`bundle.modules are larger than ${jsLimits.bundleTotalBytesMax} bytes in total`);
    if (source.includes('\0')) throw invalidBundle(`${where}.module (${name}) contains a NUL character`);
    return { name, module: source };
  });
}

function validatePath(path: string): void {
  if (!path.startsWith('/') || path.length > jsLimits.endpointPathLengthMax) {
    throw invalidBundle(`metadata.endpoints['${path.slice(0, 64)}']: paths start with '/' and have at most ${jsLimits.endpointPathLengthMax} characters`);
  }
  const params = new Set<string>();
  const segments = path.split('/').slice(1);
  segments.forEach((segment, index) => {
    if (segment === '' && index === segments.length - 1 && segments.length === 1) return; // the root path "/"
    if (PATH_PARAM.test(segment)) {
      const name = segment.slice(1, -1);
      if (params.has(name)) throw invalidBundle(`metadata.endpoints['${path}']: path parameter {${name}} appears twice`);
      params.add(name);
    } else if (!SEGMENT.test(segment) || segment.includes('{') || segment.includes('}')) {
      throw invalidBundle(`metadata.endpoints['${path}']: segment '${segment}' is neither a plain segment nor a {parameter}`);
    }
  });
}

function validateAuthn(raw: unknown, where: string): AuthnPolicy[] {
  if (!Array.isArray(raw)) throw invalidBundle(`${where}.authn_policies must be an array`);
  const known = (name: unknown, at: string): string => {
    if (typeof name !== 'string' || !(AUTHN_POLICIES as readonly string[]).includes(name)) {
      throw invalidBundle(`${at}: unknown authentication policy ${JSON.stringify(name)} (known: ${AUTHN_POLICIES.join(', ')})`);
    }
    return name;
  };
  return raw.map((policy, i) => {
    const at = `${where}.authn_policies[${i}]`;
    if (typeof policy === 'string') return known(policy, at);
    if (isObject(policy) && Array.isArray(policy.all_of) && Object.keys(policy).length === 1 && policy.all_of.length > 0) {
      return { all_of: policy.all_of.map((name, j) => known(name, `${at}.all_of[${j}]`)) };
    }
    throw invalidBundle(`${at}: a policy is a name or {"all_of": [names]}`);
  });
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string, fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidBundle(`${where} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return value as T;
}

function validateProperties(raw: unknown, where: string, modules: ReadonlySet<string>): EndpointProperties {
  if (!isObject(raw)) throw invalidBundle(`${where} must be an object of endpoint properties`);
  onlyKeys(raw, PROPERTY_KEYS, where);
  const jsModule = normalizeModuleName(raw.js_module, `${where}.js_module`);
  if (!modules.has(jsModule)) throw invalidBundle(`${where}.js_module: no module named '${jsModule}' in the bundle`);
  const jsFunction = raw.js_function;
  if (typeof jsFunction !== 'string' || jsFunction.length > jsLimits.functionNameLengthMax || !IDENTIFIER.test(jsFunction)) {
    throw invalidBundle(`${where}.js_function must be the name of a function exported by '${jsModule}'`);
  }
  const properties: EndpointProperties = {
    js_module: jsModule,
    js_function: jsFunction,
    authn_policies: validateAuthn(raw.authn_policies, where),
    forwarding_required: oneOf(raw.forwarding_required, FORWARDING, `${where}.forwarding_required`),
    mode: oneOf(raw.mode, MODES, `${where}.mode`, 'readwrite'),
  };
  if (raw.redirection_strategy !== undefined) {
    properties.redirection_strategy = oneOf(raw.redirection_strategy, REDIRECTION, `${where}.redirection_strategy`);
  }
  if (raw.openapi !== undefined) {
    if (!isObject(raw.openapi)) throw invalidBundle(`${where}.openapi must be an object`);
    properties.openapi = raw.openapi;
  }
  if (raw.openapi_hidden !== undefined) {
    if (typeof raw.openapi_hidden !== 'boolean') throw invalidBundle(`${where}.openapi_hidden must be a boolean`);
    properties.openapi_hidden = raw.openapi_hidden;
  }
  if (raw.interpreter_reuse !== undefined) {
    const reuse = raw.interpreter_reuse;
    if (!isObject(reuse) || typeof reuse.key !== 'string' || Object.keys(reuse).length !== 1) {
      throw invalidBundle(`${where}.interpreter_reuse must be {"key": <string>}`);
    }
    properties.interpreter_reuse = { key: reuse.key };
  }
  return properties;
}

function validateMetadata(raw: unknown, modules: ReadonlySet<string>): AppMetadata {
  if (!isObject(raw)) throw invalidBundle('bundle.metadata must be an object (the app.json)');
  onlyKeys(raw, new Set(['endpoints']), 'bundle.metadata');
  if (!isObject(raw.endpoints)) throw invalidBundle('bundle.metadata.endpoints must be an object of paths');
  const endpoints: AppMetadata['endpoints'] = {};
  let count = 0;
  for (const [path, methods] of Object.entries(raw.endpoints)) {
    validatePath(path);
    if (!isObject(methods) || Object.keys(methods).length === 0) {
      throw invalidBundle(`metadata.endpoints['${path}'] must map at least one HTTP method to endpoint properties`);
    }
    endpoints[path] = {};
    for (const [method, properties] of Object.entries(methods)) {
      const where = `metadata.endpoints['${path}'].${method}`;
      if (!METHODS.includes(method)) throw invalidBundle(`${where}: unknown HTTP method (use lower case: ${METHODS.join(', ')})`);
      if (++count > jsLimits.bundleEndpointsMax) throw invalidBundle(`more than ${jsLimits.bundleEndpointsMax} endpoints`);
      endpoints[path]![method] = validateProperties(properties, where, modules);
    }
  }
  return { endpoints };
}

/** Checks a bundle (parsed JSON) and returns its normalized copy; throws JsError JS_BUNDLE_INVALID. */
export function validateBundle(input: unknown): Bundle {
  if (!isObject(input)) throw invalidBundle('a bundle is an object {metadata, modules}');
  onlyKeys(input, new Set(['metadata', 'modules']), 'bundle');
  const modules = validateModules(input.modules);
  const metadata = validateMetadata(input.metadata, new Set(modules.map((m) => m.name)));
  return { metadata, modules };
}

export function endpointTable(bundle: Bundle): JsEndpointTable {
  const table: JsEndpoint[] = [];
  for (const [path, methods] of Object.entries(bundle.metadata.endpoints)) {
    for (const [method, properties] of Object.entries(methods)) table.push({ method: method.toUpperCase(), path, properties });
  }
  return table;
}

export function findEndpoint(table: JsEndpointTable, method: string, path: string): JsEndpoint {
  const endpoint = table.find((e) => e.method === method.toUpperCase() && e.path === path);
  if (endpoint === undefined) throw new JsError('JS_INVALID_ARGUMENT', `the app has no endpoint ${method} ${path}`);
  return endpoint;
}
