#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (a dev dependency of the workspace).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/build-bundle.ts');
process.exitCode = main(process.argv.slice(2));
