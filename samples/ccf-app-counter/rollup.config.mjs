// Builds the app's endpoint modules, with @microsoft/ccf-app bundled in, into dist/src as ES modules:
// one output module per source module (preserveModules), so app.json's js_module names stay readable.
import { nodeResolve } from "@rollup/plugin-node-resolve";
import typescript from "@rollup/plugin-typescript";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export const ENDPOINT_MODULES = ["counters", "notes", "signing", "service"];

export default {
  input: ENDPOINT_MODULES.map((name) => here(`src/endpoints/${name}.ts`)),
  output: {
    dir: here("dist/src"),
    format: "es",
    preserveModules: true,
    preserveModulesRoot: here("src"),
  },
  plugins: [nodeResolve(), typescript({ tsconfig: here("tsconfig.json"), outputToFilesystem: false })],
};
