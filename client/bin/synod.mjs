#!/usr/bin/env node
// The `synod` command: registers tsx so that the CLI runs from its TypeScript sources, then hands
// over to src/cli/main.ts (exit codes: 0 ok, 1 verification failed, 2 usage error, 3 I/O error).
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/cli/main.ts');
await run(process.argv.slice(2));
