// Test and benchmark support for node/js (not used by the node itself): reading a bundle laid out as
// CCF's build_bundle expects (app.json + src/**), and building requests.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { JsRequest } from './invocation.ts';

/** `{metadata, modules}` from `<dir>/app.json` and every file under `<dir>/src`, named relative to src. */
export function readBundleDirectory(dir: string): { metadata: unknown; modules: Array<{ name: string; module: string }> } {
  const metadata = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as unknown;
  const srcDir = join(dir, 'src');
  const modules: Array<{ name: string; module: string }> = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path).sort()) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else modules.push({ name: relative(srcDir, full).split(sep).join('/'), module: readFileSync(full, 'utf8') });
    }
  };
  walk(srcDir);
  return { metadata, modules };
}

/** A request as the frontend would build it; `path` is the app.json path, mounted under /app. */
export function makeRequest(
  method: string,
  path: string,
  options: { query?: string; body?: unknown; headers?: Record<string, string>; params?: Record<string, string>; caller?: unknown } = {},
): JsRequest {
  const body = options.body === undefined
    ? new Uint8Array(0)
    : options.body instanceof Uint8Array
      ? options.body
      : new TextEncoder().encode(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
  return {
    method,
    path: `/app${path}`,
    query: options.query ?? '',
    route: `/app${path}`,
    headers: { host: 'localhost', 'content-type': 'application/json', ...(options.headers ?? {}) },
    params: options.params ?? {},
    body,
    caller: options.caller ?? { policy: 'user_cert', id: 'a'.repeat(64) },
  };
}

/** A bundle of one module `app.js` whose exported `handler` serves `POST /t` (or `GET /t` for readonly). */
export function handlerBundle(
  source: string,
  options: { mode?: 'readwrite' | 'readonly' | 'historical'; extraModules?: Array<{ name: string; module: string }> } = {},
): { metadata: unknown; modules: Array<{ name: string; module: string }> } {
  const mode = options.mode ?? 'readwrite';
  const method = mode === 'readwrite' ? 'post' : 'get';
  return {
    metadata: {
      endpoints: { '/t': { [method]: { js_module: 'app.js', js_function: 'handler', authn_policies: ['no_auth'], forwarding_required: 'never', mode } } },
    },
    modules: [{ name: 'app.js', module: source }, ...(options.extraModules ?? [])],
  };
}
