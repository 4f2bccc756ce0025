// The bundle builder (readBundleDir and the synod-build-bundle command): what it packs, and the
// mistakes it reports before a proposal is ever made.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLE_BYTES_MAX, BundleError, readBundleDir } from '../src/bundle.ts';
import { main } from '../src/cli/build-bundle.ts';

const dirs: string[] = [];

function bundleDir(appJson: unknown, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'synod-bundle-'));
  dirs.push(dir);
  if (appJson !== undefined) writeFileSync(join(dir, 'app.json'), typeof appJson === 'string' ? appJson : JSON.stringify(appJson));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, 'src', name, '..'), { recursive: true });
    writeFileSync(join(dir, 'src', name), text);
  }
  return dir;
}

const endpoint = (module: string) => ({
  endpoints: { '/x': { get: { js_module: module, js_function: 'x', authn_policies: ['no_auth'], forwarding_required: 'never', mode: 'readonly' } } },
});

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('readBundleDir', () => {
  it('packs app.json and the modules under src/, named relative to src/, sorted', () => {
    const dir = bundleDir(endpoint('endpoints/x.js'), {
      'endpoints/x.js': 'export function x() { return {}; }',
      'lib/util.mjs': 'export const u = 1;',
      'README.md': 'not a module',
      'endpoints/x.js.map': '{}',
    });
    const bundle = readBundleDir(dir);
    expect(bundle.metadata).toEqual(endpoint('endpoints/x.js'));
    expect(bundle.modules.map((m) => m.name)).toEqual(['endpoints/x.js', 'lib/util.mjs']);
    expect(bundle.modules[0]!.module).toBe('export function x() { return {}; }');
  });

  it.each([
    ['no app.json', undefined, { 'x.js': '' }, /no app\.json/],
    ['no src/', endpoint('x.js'), {}, /no src\//],
    ['app.json is not JSON', '{', { 'x.js': '' }, /not valid JSON/],
    ['app.json has no endpoints', { x: 1 }, { 'x.js': '' }, /expected \{"endpoints"/],
    ['a js_module that is not in src/', endpoint('missing.js'), { 'x.js': '' }, /js_module "missing\.js"/],
    ['no modules', endpoint('x.js'), { 'README.md': '' }, /no \.js modules/],
  ])('refuses %s', (_what, appJson, files, message) => {
    const dir = bundleDir(appJson, files);
    expect(() => readBundleDir(dir)).toThrow(BundleError);
    expect(() => readBundleDir(dir)).toThrow(message);
  });

  it('refuses a bundle too large for one proposal', () => {
    const dir = bundleDir(endpoint('x.js'), { 'x.js': `// ${'x'.repeat(BUNDLE_BYTES_MAX)}` });
    expect(() => readBundleDir(dir)).toThrow(/fit in one proposal/);
  });
});

describe('synod-build-bundle', () => {
  it('writes the bundle with --out and exits 0; exits 1 for a bad bundle and 2 for bad usage', () => {
    const dir = bundleDir(endpoint('x.js'), { 'x.js': 'export function x() { return {}; }' });
    const out = join(dir, 'bundle.json');
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(main([dir, '--out', out])).toBe(0);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(readBundleDir(dir));
      expect(main([join(dir, 'nope')])).toBe(1);
      expect(main([])).toBe(2);
      expect(main([dir, '--bogus'])).toBe(2);
    } finally {
      process.stderr.write = stderr;
    }
  });
});
