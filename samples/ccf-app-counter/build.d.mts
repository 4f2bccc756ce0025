// Types for build.mjs, so that TypeScript tests can import it.
export interface BuiltBundle {
  metadata: { endpoints: Record<string, Record<string, unknown>> };
  modules: Array<{ name: string; module: string }>;
}

/** Builds into `outDir` (default: dist/ beside build.mjs): dist/app.json, dist/src/**, dist/bundle.json. */
export function build(outDir?: string): Promise<{ dir: string; bundle: BuiltBundle }>;
