// Builds the deployable bundle: rollup (rollup.config.mjs) compiles src/ into dist/src, app.json is
// copied beside it, and dist/bundle.json is the {metadata, modules} document a set_js_app proposal
// carries (what @microsoft/ccf-app's ccf-build-bundle writes). dist/ is then a bundle folder.
//
//   node samples/ccf-app-counter/build.mjs        (or import { build } from "./build.mjs")

import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { rollup } from "rollup";
import config from "./rollup.config.mjs";

const SAMPLE_DIR = fileURLToPath(new URL(".", import.meta.url));

function listFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name)) : [join(dir, name)]));
}

/** Builds into `outDir` (default: dist/ beside this file); returns the folder and the bundle. */
export async function build(outDir = join(SAMPLE_DIR, "dist")) {
  rmSync(outDir, { recursive: true, force: true });
  const srcOut = join(outDir, "src");
  const warnings = [];
  const bundle = await rollup({ ...config, onwarn: (warning) => warnings.push(warning) });
  try {
    await bundle.write({ ...config.output, dir: srcOut });
  } finally {
    await bundle.close();
  }
  if (warnings.length > 0) {
    throw new Error(`rollup warned:\n${warnings.map((w) => `  ${w.code}: ${w.message}`).join("\n")}`);
  }
  copyFileSync(join(SAMPLE_DIR, "app.json"), join(outDir, "app.json"));
  const modules = listFiles(srcOut).map((path) => ({
    name: relative(srcOut, path).split(sep).join("/"),
    module: readFileSync(path, "utf8"),
  }));
  const metadata = JSON.parse(readFileSync(join(SAMPLE_DIR, "app.json"), "utf8"));
  const appBundle = { metadata, modules };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "bundle.json"), JSON.stringify(appBundle));
  return { dir: outDir, bundle: appBundle };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const { dir, bundle } = await build();
  console.log(`built ${relative(process.cwd(), dir) || "."}: ${bundle.modules.length} modules in ${Math.round(performance.now() - started)} ms`);
}
