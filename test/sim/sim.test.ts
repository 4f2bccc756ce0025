// The CI slice of the deterministic simulation. Each seed is one whole run (3 or 5 nodes, a fault mix
// chosen by the seed); a failure prints its seed and the command that replays exactly that run:
//   SIM_SEED=<seed> npx vitest run test/sim          one seed
//   SIM_SEEDS=<count> [SIM_SEED_BASE=<first>]         how many seeds, from where (default 1..2000)
// test/sim/nightly.ts runs many more seeds outside CI.

import { describe, expect, it } from 'vitest';
import { describeFailure, runSimulation } from './simulator.ts';

const single = process.env.SIM_SEED;
const count = Number(process.env.SIM_SEEDS ?? 2000);
const base = Number(process.env.SIM_SEED_BASE ?? 1);
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, k) => base + k);
const chunkSeeds = 100;

describe('deterministic simulation', () => {
  it('replays a seed exactly', () => {
    const a = runSimulation(7);
    const b = runSimulation(7);
    expect(a.digest).toBe(b.digest);
    expect(a.stats).toEqual(b.stats);
    expect(runSimulation(8).digest).not.toBe(a.digest);
  });

  for (let start = 0; start < seeds.length; start += chunkSeeds) {
    const chunk = seeds.slice(start, start + chunkSeeds);
    it(`seeds ${chunk[0]}..${chunk[chunk.length - 1]}`, () => {
      const failures: string[] = [];
      for (const seed of chunk) {
        const result = runSimulation(seed);
        if (!result.ok) failures.push(describeFailure(result));
      }
      for (const f of failures) console.error(f);
      expect(failures.map((f) => f.split('\n').slice(0, 2).join(' | '))).toEqual([]);
    }, 120_000);
  }
});
