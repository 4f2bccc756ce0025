#!/usr/bin/env node
// Runs the whole test suite with vitest and closes with the line CI reads: "N passed, N failed".
// vitest's own summary is not a format CI recognises, so the counts come from its JSON report.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const reportPath = join(mkdtempSync(join(tmpdir(), 'synod-test-')), 'report.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit' });

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + countFilesFailedOutsideTests(report);
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
} else {
  failed = 1;
  console.error('test runner produced no report');
}
if (run.status !== 0 && failed === 0) failed = 1; // a crash outside any test still fails the run
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);

// A test file that failed without any failing test (it did not load, or a hook threw) counts once; a file
// that failed because of its tests is already counted through them. (vitest's numFailedTestSuites also
// counts describe blocks, so it cannot be used for this.)
function countFilesFailedOutsideTests(report) {
  return (report.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'),
  ).length;
}
