// `synod-build-bundle <dir> [--out bundle.json]`: packs app.json and src/ into a CCF bundle, as the
// `set_js_app` proposal carries it. Prints the bundle to stdout unless --out is given.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BundleError, readBundleDir } from '../bundle.ts';

export function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, help: { type: 'boolean' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nusage: synod-build-bundle <dir> [--out bundle.json]\n`);
    return 2;
  }
  if (parsed.values.help || parsed.positionals.length !== 1) {
    process.stderr.write('usage: synod-build-bundle <dir> [--out bundle.json]\n  <dir> holds app.json and src/\n');
    return parsed.values.help ? 0 : 2;
  }
  try {
    const bundle = readBundleDir(parsed.positionals[0]!);
    const text = JSON.stringify(bundle, null, 2);
    if (parsed.values.out) {
      writeFileSync(parsed.values.out, text);
      process.stderr.write(`wrote ${parsed.values.out}: ${bundle.modules.length} modules, ${Object.keys(bundle.metadata.endpoints).length} paths\n`);
    } else {
      process.stdout.write(`${text}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`${error instanceof BundleError ? '' : 'error: '}${(error as Error).message}\n`);
    return error instanceof BundleError ? 1 : 3;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
