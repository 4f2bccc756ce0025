// Worker-thread entry for bench/compare-worker.ts: registers tsx in this thread, then loads the TypeScript.
import { register } from 'tsx/esm/api';
register();
await import('./compare-worker.ts');
