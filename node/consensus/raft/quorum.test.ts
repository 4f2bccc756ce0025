// Properties of the pure helpers against naive models: the term of each index, the fast back-off
// point, the agreed (committable) index over joint configurations, and election outcomes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Configuration, Configurations, agreedIndex, majority, quorumActive, voteOutcome } from './configurations.ts';
import { ViewHistory } from './view-history.ts';

const termsArbitrary = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 40 }).map((steps) => {
  let term = 1;
  return steps.map((s) => (term += s === 1 ? 1 : 0));
});

function historyOf(terms: number[]): ViewHistory {
  const h = new ViewHistory();
  terms.forEach((t, k) => h.append(k + 1, t));
  return h;
}

describe('ViewHistory', () => {
  it('knows the term of every index, before and after truncation', () => {
    fc.assert(
      fc.property(termsArbitrary, fc.nat(), (terms, cut) => {
        const h = historyOf(terms);
        expect(h.termAt(0)).toBe(0);
        terms.forEach((t, k) => expect(h.termAt(k + 1)).toBe(t));
        expect(h.termAt(terms.length + 1)).toBeUndefined();
        const keep = terms.length === 0 ? 0 : cut % (terms.length + 1);
        h.truncateAfter(keep);
        expect(h.lastIndex).toBe(keep);
        for (let i = 1; i <= keep; i++) expect(h.termAt(i)).toBe(terms[i - 1]);
        expect(h.termAt(keep + 1)).toBeUndefined();
      }),
    );
  });

  it('finds the largest index at or below a position whose term is at most a given term', () => {
    fc.assert(
      fc.property(termsArbitrary, fc.nat({ max: 50 }), fc.nat({ max: 8 }), (terms, index, term) => {
        let naive = 0;
        for (let j = Math.min(index, terms.length); j >= 1; j--) {
          if (terms[j - 1]! <= term) {
            naive = j;
            break;
          }
        }
        expect(historyOf(terms).findConflictByTerm(index, term)).toBe(naive);
      }),
    );
  });

  it('refuses a term going backwards or a gap (programmer errors)', () => {
    const h = historyOf([1, 2]);
    expect(() => h.append(3, 1)).toThrow(/term 1/);
    expect(() => h.append(5, 2)).toThrow(/append at 5/);
  });
});

const configArbitrary = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { minLength: 1, maxLength: 7 })
  .map((voters) => voters);

describe('quorums over active configurations', () => {
  it('agreedIndex is the largest index a majority of every configuration holds', () => {
    fc.assert(
      fc.property(
        fc.array(configArbitrary, { minLength: 1, maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), fc.nat({ max: 20 })),
        (voterLists, matches) => {
          const configs: Configuration[] = voterLists.map((voters, k) => ({ index: k + 1, voters }));
          const matchOf = (id: string) => matches[id] ?? 0;
          let naive = 0;
          for (let k = 0; k <= 20; k++) {
            if (configs.every((c) => c.voters.filter((v) => matchOf(v) >= k).length >= majority(c.voters.length))) naive = k;
          }
          expect(agreedIndex(configs, matchOf)).toBe(naive);
        },
      ),
    );
    expect(agreedIndex([], () => 5)).toBe(0);
  });

  it('an election is won only with a majority of every configuration, lost once one is out of reach', () => {
    fc.assert(
      fc.property(
        fc.array(configArbitrary, { minLength: 1, maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), fc.boolean()),
        (voterLists, ballots) => {
          const configs: Configuration[] = voterLists.map((voters, k) => ({ index: k + 1, voters }));
          const votes = new Map(Object.entries(ballots));
          const granted = (c: Configuration) => c.voters.filter((v) => votes.get(v) === true).length;
          const open = (c: Configuration) => c.voters.filter((v) => votes.get(v) !== false).length;
          const outcome = voteOutcome(configs, votes);
          const won = configs.every((c) => granted(c) >= majority(c.voters.length));
          const lost = configs.some((c) => open(c) < majority(c.voters.length));
          expect(outcome).toBe(lost ? 'lost' : won ? 'won' : 'pending');
          expect(quorumActive(configs, (id) => votes.get(id) === true)).toBe(won);
        },
      ),
    );
  });

  it('keeps the latest committed configuration and every later one', () => {
    const c = new Configurations([
      { index: 1, voters: ['1', '2', '3'] },
      { index: 5, voters: ['1', '2', '3', '4'] },
      { index: 9, voters: ['2', '3', '4'] },
    ]);
    c.committed(6);
    expect(c.active().map((x) => x.index)).toEqual([5, 9]);
    expect(c.includes('1')).toBe(true);
    c.truncatedAfter(8);
    expect(c.active().map((x) => x.index)).toEqual([5]);
    expect(c.isStable()).toBe(true);
    expect(() => c.appended(3, ['1'])).toThrow(/configuration at 3/);
  });
});
