import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ViewHistory } from './view-history.ts';

describe('ViewHistory', () => {
  it('startsUpTo lists where termAt changes, up to the index asked', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }), fc.nat(70), (steps, upTo) => {
      const history = new ViewHistory();
      let term = 1;
      steps.forEach((step, i) => {
        term += step;
        history.append(i + 1, term);
      });
      const expected: Array<{ term: number; index: number }> = [];
      for (let i = 1; i <= Math.min(upTo, history.lastIndex); i++) {
        const t = history.termAt(i)!;
        if (expected.length === 0 || expected[expected.length - 1]!.term !== t) expected.push({ term: t, index: i });
      }
      expect(history.startsUpTo(upTo)).toEqual(expected);
    }));
  });
});
