// Building a CCF app bundle from a folder: `app.json` (endpoint metadata) beside `src/` (ES modules).
// The bundle is `{ metadata, modules: [{ name, module }] }` with module names relative to `src/`, which is
// what CCF's `set_js_app` proposal carries and what Synod deploys.

import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { BundleError } from './errors.ts';

export interface BundleModule {
  name: string;
  module: string;
}

export interface Bundle {
  metadata: { endpoints: Record<string, Record<string, unknown>> } & Record<string, unknown>;
  modules: BundleModule[];
}

/** Module files are JavaScript; everything else under src/ (maps, READMEs) stays out of the bundle. */
const MODULE_EXTENSIONS = ['.js', '.mjs'];
/** A bundle is carried in one governance proposal: keep it well under the request body limit. */
export const BUNDLE_BYTES_MAX = 900 * 1024;

export { BundleError };

function listModules(dir: string, root: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...listModules(path, root));
    else if (MODULE_EXTENSIONS.some((ext) => name.endsWith(ext))) found.push(relative(root, path).split(sep).join('/'));
  }
  return found;
}

export function readBundleDir(dir: string): Bundle {
  const appJson = join(dir, 'app.json');
  const srcDir = join(dir, 'src');
  if (!existsSync(appJson)) throw new BundleError(`${dir}: no app.json (a bundle folder holds app.json and src/)`);
  if (!existsSync(srcDir)) throw new BundleError(`${dir}: no src/ folder with the app's modules`);
  let metadata: Bundle['metadata'];
  try {
    metadata = JSON.parse(readFileSync(appJson, 'utf8'));
  } catch (error) {
    throw new BundleError(`${appJson}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof metadata !== 'object' || metadata === null || typeof metadata.endpoints !== 'object' || metadata.endpoints === null) {
    throw new BundleError(`${appJson}: expected {"endpoints": {...}}`);
  }
  const modules = listModules(srcDir, srcDir).map((name) => ({ name, module: readFileSync(join(srcDir, name), 'utf8') }));
  if (modules.length === 0) throw new BundleError(`${srcDir}: no .js modules`);
  for (const [path, methods] of Object.entries(metadata.endpoints)) {
    for (const [method, properties] of Object.entries(methods)) {
      const module = (properties as { js_module?: unknown }).js_module;
      if (typeof module !== 'string' || !modules.some((m) => m.name === module)) {
        throw new BundleError(`${appJson}: ${method.toUpperCase()} ${path} names js_module "${String(module)}", which is not in src/`);
      }
    }
  }
  const bundle = { metadata, modules };
  const size = Buffer.byteLength(JSON.stringify(bundle));
  if (size > BUNDLE_BYTES_MAX) throw new BundleError(`bundle is ${size} bytes; at most ${BUNDLE_BYTES_MAX} fit in one proposal`);
  return bundle;
}
