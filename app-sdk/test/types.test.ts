// API compatibility with @microsoft/ccf-app: its types and signatures (test/types/compat.ts, compiled
// here), its exported names module by module, and a real app written against it (the ccf-app-counter
// sample) type-checking unchanged with its imports pointed at this package.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { polyfill } from '../src/polyfill.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SDK_ROOT = join(HERE, '..');
const SAMPLE_ROOT = join(SDK_ROOT, '..', 'samples', 'ccf-app-counter');
const COMPILE_MS_MAX = 60_000;

function compilerOptions(tsconfig: string, extra: ts.CompilerOptions = {}): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (parsed === undefined) throw new Error(`cannot read ${tsconfig}`);
  return { ...parsed.options, ...extra, noEmit: true };
}

/** Diagnostics of a program over `files`, plus in-memory files. */
function compile(files: string[], options: ts.CompilerOptions, virtual: Record<string, string> = {}): { errors: string[]; program: ts.Program } {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    virtual[name] !== undefined ? ts.createSourceFile(name, virtual[name]!, language) : getSourceFile(name, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual[name] !== undefined || fileExists(name);
  const program = ts.createProgram([...files, ...Object.keys(virtual)], options, host);
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.replace(`${SDK_ROOT}/`, '')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  return { errors, program };
}

describe('types', () => {
  it('every ccf-app type and signature has an equivalent here (and a mismatch would fail)', () => {
    const options = compilerOptions(join(SDK_ROOT, 'tsconfig.json'));
    const negative = join(HERE, 'types', 'negative-control.ts');
    const { errors } = compile([join(HERE, 'types', 'compat.ts')], options, {
      [negative]: [
        "import type * as Ccf from '@microsoft/ccf-app';",
        "import type * as Sdk from '../../src/index.ts';",
        "import type * as CcfGlobal from '@microsoft/ccf-app/global.js';",
        'type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;',
        'export const wrong: Mutual<Sdk.KvSet, CcfGlobal.KvMap> = true;',
      ].join('\n'),
    });
    // The only error is the deliberate one.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/negative-control\.ts:5 Type 'true' is not assignable to type 'false'/);
  }, COMPILE_MS_MAX);

  it('the ccf-app sample type-checks unchanged against this package', () => {
    const options = compilerOptions(join(SAMPLE_ROOT, 'tsconfig.json'), {
      paths: {
        '@microsoft/ccf-app': [join(SDK_ROOT, 'src', 'index.ts')],
        '@microsoft/ccf-app/*': [join(SDK_ROOT, 'src', '*')],
      },
      allowImportingTsExtensions: true,
    });
    const files = ['counters', 'notes', 'signing', 'service'].map((name) => join(SAMPLE_ROOT, 'src', 'endpoints', `${name}.ts`));
    const { errors, program } = compile(files, options);
    expect(errors).toEqual([]);
    const used = program.getSourceFiles().map((f) => f.fileName);
    expect(used.some((f) => f.includes('node_modules/@microsoft/ccf-app'))).toBe(false);
    expect(used).toContain(join(SDK_ROOT, 'src', 'crypto.ts'));
  }, COMPILE_MS_MAX);
});

describe('exported names', () => {
  // ccf-app reads the global when its modules load.
  polyfill.install();

  it.each([
    ['index', '@microsoft/ccf-app', '../src/index.ts'],
    ['kv', '@microsoft/ccf-app/kv.js', '../src/kv.ts'],
    ['converters', '@microsoft/ccf-app/converters.js', '../src/converters.ts'],
    ['consensus', '@microsoft/ccf-app/consensus.js', '../src/consensus.ts'],
    ['historical', '@microsoft/ccf-app/historical.js', '../src/historical.ts'],
    ['endpoints', '@microsoft/ccf-app/endpoints.js', '../src/endpoints.ts'],
    ['crypto', '@microsoft/ccf-app/crypto.js', '../src/crypto.ts'],
    ['global', '@microsoft/ccf-app/global.js', '../src/global.ts'],
    ['textcodec', '@microsoft/ccf-app/textcodec.js', '../src/textcodec.ts'],
  ])('%s: every value ccf-app exports is exported here, under the same subpath', async (_name, theirs, ours) => {
    const theirNames = Object.keys(await import(theirs)).sort();
    const ourNames = Object.keys(await import(ours));
    expect(theirNames.filter((name) => !ourNames.includes(name))).toEqual([]);
  });

  it("the package's exports map offers ccf-app's subpaths", () => {
    const pkg = JSON.parse(readFileSync(join(SDK_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string> };
    for (const subpath of ['.', './kv.js', './converters.js', './consensus.js', './historical.js', './endpoints.js', './crypto.js', './global.js', './textcodec.js', './polyfill.js']) {
      expect(pkg.exports[subpath], subpath).toBeDefined();
      expect(() => readFileSync(join(SDK_ROOT, pkg.exports[subpath]!))).not.toThrow();
    }
  });
});
