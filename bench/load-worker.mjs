// Worker-thread entry for bench/load-worker.ts: registers tsx in this thread, then loads the TypeScript.
import { register } from 'tsx/esm/api';
register();
await import('./load-worker.ts');
