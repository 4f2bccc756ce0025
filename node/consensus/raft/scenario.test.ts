// Runs every scenario in scenarios/ against its golden output. SCENARIO_REWRITE=1 rewrites the files
// with the actual output instead (then review the diff before committing).

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rewriteScenario, runScenario } from './scenario.ts';

const directory = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const files = readdirSync(directory).filter((f) => f.endsWith('.txt')).sort();

describe('consensus scenarios', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(directory, file);
      const text = readFileSync(path, 'utf8');
      const run = runScenario(text);
      if (process.env.SCENARIO_REWRITE === '1') {
        writeFileSync(path, rewriteScenario(text, run));
      } else {
        for (const { block, actual } of run.results) {
          expect(actual, `${file}:${block.line + 1}: ${block.command}`).toBe(block.expected);
        }
      }
      expect(run.violations).toEqual([]);
    });
  }
});
