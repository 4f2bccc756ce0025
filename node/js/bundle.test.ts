// Bundle validation: CCF's format accepted and normalized; anything else refused with an error naming
// the field or module. Deploy-time failures (syntax errors, missing exports) surface from loadJsApp.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointTable, loadJsApp, normalizeModuleName, validateBundle } from './index.ts';

const endpoint = (overrides: Record<string, unknown> = {}) => ({
  js_module: 'app.js',
  js_function: 'handler',
  authn_policies: ['user_cert'],
  forwarding_required: 'always',
  ...overrides,
});

function bundle(changes: { endpoints?: Record<string, unknown>; modules?: unknown; metadata?: unknown; extra?: Record<string, unknown> } = {}) {
  return {
    metadata: changes.metadata ?? { endpoints: changes.endpoints ?? { '/t': { post: endpoint() } } },
    modules: changes.modules ?? [{ name: 'app.js', module: 'export function handler() { return {}; }' }],
    ...(changes.extra ?? {}),
  };
}

function refusal(input: unknown): string {
  try {
    validateBundle(input);
  } catch (error) {
    expect((error as { code: string }).code).toBe('JS_BUNDLE_INVALID');
    return (error as Error).message;
  }
  throw new Error('the bundle was accepted');
}

describe('validateBundle', () => {
  it('accepts CCF bundles and normalizes them (defaults, leading slashes)', () => {
    const validated = validateBundle(
      bundle({
        endpoints: {
          '/records/{id}': {
            get: endpoint({ js_module: '/app.js', mode: 'readonly', forwarding_required: 'sometimes' }),
            put: endpoint({ authn_policies: [{ all_of: ['user_cert', 'jwt'] }], redirection_strategy: 'to_primary', openapi: {}, openapi_hidden: true }),
          },
          '/': { post: endpoint({ authn_policies: [], interpreter_reuse: { key: 'singleton' } }) },
        },
        modules: [{ name: '/app.js', module: 'export function handler() {}' }, { name: 'lib/x.js', module: '' }],
      }),
    );
    expect(validated.modules.map((m) => m.name)).toEqual(['app.js', 'lib/x.js']);
    expect(validated.metadata.endpoints['/records/{id}']!.get).toMatchObject({ js_module: 'app.js', mode: 'readonly' });
    expect(validated.metadata.endpoints['/records/{id}']!.put!.mode).toBe('readwrite');
    expect(endpointTable(validated).map((e) => `${e.method} ${e.path}`)).toEqual(['GET /records/{id}', 'PUT /records/{id}', 'POST /']);
  });

  it.each([
    [bundle({ extra: { disable_bytecode_cache: true } }), "bundle: unknown field 'disable_bytecode_cache'"],
    [bundle({ metadata: { endpoints: {}, version: 2 } }), "bundle.metadata: unknown field 'version'"],
    [bundle({ modules: [] }), 'bundle.modules must hold 1 to'],
    [bundle({ modules: {} }), 'bundle.modules must be an array'],
    [bundle({ modules: [{ name: 'app.js' }] }), 'bundle.modules[0].module (app.js) must be a string'],
    [bundle({ modules: [{ name: 'app.js', module: '', path: 'x' }] }), "bundle.modules[0]: unknown field 'path'"],
    [bundle({ modules: [{ name: '../app.js', module: '' }] }), "module name '../app.js' must be a relative path"],
    [bundle({ modules: [{ name: 'a/./b.js', module: '' }] }), "module name 'a/./b.js'"],
    [bundle({ modules: [{ name: 'a//b.js', module: '' }] }), "module name 'a//b.js'"],
    [bundle({ modules: [{ name: 'a\\b.js', module: '' }] }), 'must be a relative path'],
    [bundle({ modules: [{ name: 'app.js', module: '' }, { name: '/app.js', module: '' }] }), "module 'app.js' appears twice"],
    [bundle({ modules: [{ name: 'app.js', module: 'x\0y' }] }), 'contains a NUL character'],
    [bundle({ endpoints: { '/t': { post: endpoint({ js_module: 'missing.js' }) } } }), "no module named 'missing.js' in the bundle"],
    [bundle({ endpoints: { '/t': { post: endpoint({ js_function: 'a.b' }) } } }), 'js_function must be the name of a function'],
    [bundle({ endpoints: { '/t': { post: endpoint({ mode: 'readWrite' }) } } }), ".post.mode must be one of readwrite, readonly, historical"],
    [bundle({ endpoints: { '/t': { post: endpoint({ forwarding_required: undefined }) } } }), 'forwarding_required must be one of'],
    [bundle({ endpoints: { '/t': { post: endpoint({ authn_policies: ['user-cert'] }) } } }), 'unknown authentication policy "user-cert"'],
    [bundle({ endpoints: { '/t': { post: endpoint({ authn_policies: 'user_cert' }) } } }), 'authn_policies must be an array'],
    [bundle({ endpoints: { '/t': { post: endpoint({ authn_policies: [{ all_of: [] }] }) } } }), 'a policy is a name or {"all_of": [names]}'],
    [bundle({ endpoints: { '/t': { post: endpoint({ js_modul: 'app.js' }) } } }), "unknown field 'js_modul'"],
    [bundle({ endpoints: { '/t': { POST: endpoint() } } }), 'unknown HTTP method (use lower case'],
    [bundle({ endpoints: { '/t': {} } }), 'must map at least one HTTP method'],
    [bundle({ endpoints: { 't': { post: endpoint() } } }), "paths start with '/'"],
    [bundle({ endpoints: { '/a/{id}/{id}': { post: endpoint() } } }), 'path parameter {id} appears twice'],
    [bundle({ endpoints: { '/a/x{id}': { post: endpoint() } } }), "segment 'x{id}' is neither"],
    [bundle({ endpoints: { '/a?b': { post: endpoint() } } }), "segment 'a?b' is neither"],
    ['not a bundle', 'a bundle is an object'],
  ])('refuses %#: %s', (input, message) => {
    expect(refusal(input)).toContain(message);
  });

  it('module names: accepted ones normalize to a fixed point, others are refused (property)', () => {
    const segment = fc.oneof(fc.constantFrom('.', '..', '', 'a', 'lib', 'x.js', 'a b', 'é', '{x}', '%2e'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean(), (segments, slash) => {
        const raw = (slash ? '/' : '') + segments.join('/');
        let name: string;
        try {
          name = normalizeModuleName(raw, 'test');
        } catch {
          return;
        }
        expect(normalizeModuleName(name, 'test')).toBe(name);
        expect(name.startsWith('/')).toBe(false);
        expect(name.split('/')).not.toContain('..');
        expect(name.split('/')).not.toContain('.');
        expect(name.split('/')).not.toContain('');
      }),
    );
  });
});

describe('loading', () => {
  it('names the module with a syntax error', async () => {
    await expect(loadJsApp(bundle({ modules: [{ name: 'app.js', module: 'export function handler( {' }] }))).rejects.toMatchObject({
      code: 'JS_MODULE_LOAD_FAILED',
      message: expect.stringMatching(/module 'app\.js' failed to load: SyntaxError/),
    });
  });

  it('names the missing export', async () => {
    await expect(loadJsApp(bundle({ modules: [{ name: 'app.js', module: 'export function other() {}' }] }))).rejects.toMatchObject({
      code: 'JS_MODULE_LOAD_FAILED',
      message: "module 'app.js' does not export a function 'handler'",
    });
  });

  it('reports an exception thrown by module top-level code', async () => {
    await expect(
      loadJsApp(bundle({ modules: [{ name: 'app.js', module: "throw new TypeError('broken at load');\nexport function handler() {}" }] })),
    ).rejects.toMatchObject({ code: 'JS_MODULE_LOAD_FAILED', message: expect.stringContaining('TypeError: broken at load') });
  });

  it('names an import of a module missing from the bundle', async () => {
    const source = "import { x } from './lib/missing.js';\nexport function handler() { return {}; }";
    await expect(loadJsApp(bundle({ modules: [{ name: 'app.js', module: source }] }))).rejects.toMatchObject({
      message: expect.stringContaining("module 'lib/missing.js' is not part of this app's bundle"),
    });
  });

  it('loads a module once even when several endpoints name it', async () => {
    const app = await loadJsApp(
      bundle({
        endpoints: { '/a': { post: endpoint({ js_function: 'a' }) }, '/b': { post: endpoint({ js_function: 'b' }) } },
        modules: [{ name: 'app.js', module: 'globalThis.loads = (globalThis.loads ?? 0) + 1;\nexport const a = () => ({ body: loads });\nexport const b = a;' }],
      }),
    );
    const { Store } = await import('../kv/index.ts');
    const { makeRequest } = await import('./testing.ts');
    const result = app.invoke({ method: 'POST', path: '/b' }, makeRequest('POST', '/b'), new Store().begin());
    expect(result.ok && new TextDecoder().decode(result.response.body)).toBe('1');
    app.dispose();
  });
});
