import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';

describe('Rng (xoshiro128**)', () => {
  it('matches the reference implementation from the state {1, 2, 3, 4}', () => {
    // Outputs of Blackman and Vigna's xoshiro128starstar.c, compiled with gcc and seeded s = {1, 2, 3, 4}.
    const rng = Rng.fromState([1, 2, 3, 4]);
    const outputs = Array.from({ length: 8 }, () => rng.nextUint32());
    expect(outputs).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  });

  it('is a function of its seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const seq = (r: Rng) => Array.from({ length: 16 }, () => r.nextUint32());
    const sa = seq(a);
    expect(seq(b)).toEqual(sa);
    expect(seq(c)).not.toEqual(sa);
  });

  it('draws bounded integers uniformly enough and within range', () => {
    const rng = new Rng(7);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[rng.below(10)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const x = rng.between(5, 9);
      expect(x >= 5 && x <= 9 && Number.isInteger(x)).toBe(true);
    }
    expect(() => rng.below(0)).toThrow(/bound/);
    expect(() => rng.between(3, 2)).toThrow(/empty/);
  });

  it('forks independent generators deterministically', () => {
    const a = new Rng(1).fork();
    const b = new Rng(1).fork();
    expect(a.nextUint32()).toBe(b.nextUint32());
    const parent = new Rng(1);
    const child = parent.fork();
    expect(child.nextUint32()).not.toBe(parent.nextUint32());
  });

  it('refuses the all-zero state', () => {
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/all-zero/);
  });
});
