// samples/constitutions/default/ as one module: its four files concatenated in order, as CCF builds its
// default constitution.
import { readFileSync } from 'node:fs';

const PARTS = ['actions.js', 'validate.js', 'resolve.js', 'apply.js'];

export function defaultConstitution(): string {
  return PARTS.map((part) => readFileSync(new URL(`../samples/constitutions/default/${part}`, import.meta.url), 'utf8')).join('\n');
}
