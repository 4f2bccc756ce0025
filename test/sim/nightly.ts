// The long run of the deterministic simulation, outside CI:
//   npx tsx test/sim/nightly.ts [--seeds 20000] [--base <first seed>] [--stop-after <failures>]
// Without --base it starts from a seed derived from today's date, so each night explores new seeds;
// the base is printed, and every failure prints its own replay command. Exit status 1 on any failure.

import { describeFailure, runSimulation } from './simulator.ts';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a non-negative integer`);
  return value;
}

const seeds = argument('seeds', 20_000);
const base = argument('base', (Math.floor(Date.now() / 86_400_000) % 40_000) * 100_000);
const stopAfter = argument('stop-after', 10);

console.log(`simulation: seeds ${base}..${base + seeds - 1}`);
const started = performance.now();
const failures: number[] = [];
const totals = { ticks: 0, messages: 0, elections: 0, crashes: 0, tornWrites: 0, partitions: 0, committed: 0, reconfigurations: 0 };
let livenessTicksMax = 0;
for (let k = 0; k < seeds; k++) {
  const seed = base + k;
  const result = runSimulation(seed);
  if (!result.ok) {
    failures.push(seed);
    console.log(describeFailure(result));
    if (failures.length >= stopAfter) break;
    continue;
  }
  for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += result.stats[key];
  livenessTicksMax = Math.max(livenessTicksMax, result.stats.livenessTicks);
  if ((k + 1) % 1000 === 0) console.log(`  ${k + 1} seeds, ${failures.length} failed, ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${failures.length} failed`);
console.log(`totals ${JSON.stringify(totals)}; slowest recovery after healing: ${livenessTicksMax} ticks`);
if (failures.length > 0) {
  console.log(`failed seeds: ${failures.join(' ')}`);
  process.exitCode = 1;
}
