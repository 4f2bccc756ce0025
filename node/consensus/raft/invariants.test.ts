// The safety checker must catch what it claims to: each case feeds it a short history that breaks one
// rule (as a buggy core would report it through the observer hooks) and expects a violation.

import { describe, expect, it } from 'vitest';
import { SafetyChecker } from './invariants.ts';
import type { Entry } from './types.ts';

const e = (term: number, index: number, label = `${term}.${index}`, isSignature = false): Entry => ({
  term, index, isSignature, data: new TextEncoder().encode(label),
});
const genesis: Entry = { ...e(1, 1, 'genesis', true), configuration: ['1', '2', '3'] };

function fresh(): SafetyChecker {
  const c = new SafetyChecker();
  for (const id of ['1', '2', '3']) c.started(id, { term: 1, votedFor: undefined }, [genesis], 1);
  return c;
}

describe('SafetyChecker', () => {
  it('accepts a correct history', () => {
    const c = fresh();
    const o = c.observer;
    o.roleChanged!('1', 'leader', 2);
    o.appended!('1', [e(2, 2, 'sig', true), e(2, 3)]);
    o.appended!('2', [e(2, 2, 'sig', true)]);
    o.committed!('1', 2);
    o.committed!('2', 2);
    c.applied('2', [genesis, e(2, 2, 'sig', true)]);
    expect(c.violations).toEqual([]);
  });

  it('catches two leaders in one term', () => {
    const c = fresh();
    c.observer.roleChanged!('1', 'leader', 2);
    c.observer.roleChanged!('2', 'leader', 2);
    expect(c.violations.join()).toMatch(/election safety/);
  });

  it('catches two different entries at one position', () => {
    const c = fresh();
    c.observer.appended!('1', [e(2, 2, 'x')]);
    c.observer.appended!('2', [e(2, 2, 'y')]);
    expect(c.violations.join()).toMatch(/log matching/);
  });

  it('catches a commit at a non-signature and a leader committing an older term', () => {
    const c = fresh();
    c.observer.appended!('1', [e(1, 2, 'old', true), e(2, 3)]);
    c.observer.roleChanged!('1', 'leader', 2);
    c.observer.committed!('1', 3);
    expect(c.violations.join()).toMatch(/not a signature/);
    const d = fresh();
    d.observer.appended!('1', [e(1, 2, 'old', true)]);
    d.observer.roleChanged!('1', 'leader', 2);
    d.observer.committed!('1', 2);
    expect(d.violations.join()).toMatch(/signature of term 1/);
  });

  it('catches a committed entry that changes or disappears, and a leader without it', () => {
    const c = fresh();
    c.observer.appended!('1', [e(2, 2, 'a', true)]);
    c.observer.committed!('1', 2);
    c.observer.appended!('2', [e(3, 2, 'b', true)]);
    c.observer.committed!('2', 2);
    expect(c.violations.join()).toMatch(/committed entry changed/);
    const d = fresh();
    d.observer.appended!('1', [e(2, 2, 'a', true)]);
    d.observer.appended!('2', [e(2, 2, 'a', true)]);
    d.observer.committed!('1', 2);
    d.observer.truncated!('2', 1);
    expect(d.violations.join()).toMatch(/disappeared/);
    d.observer.roleChanged!('2', 'leader', 3);
    expect(d.violations.join()).toMatch(/leader completeness/);
  });

  it('catches a node applying something else than what was committed, or out of order', () => {
    const c = fresh();
    c.observer.appended!('1', [e(2, 2, 'a', true)]);
    c.observer.committed!('1', 2);
    c.applied('1', [genesis, e(2, 2, 'b', true)]);
    expect(c.violations.join()).toMatch(/state machine safety/);
    const d = fresh();
    d.applied('1', [e(1, 2, 'x')]);
    expect(d.violations.join()).toMatch(/applied index 2 after 0/);
  });

  it('catches commit going backwards within a life', () => {
    const c = fresh();
    c.observer.appended!('1', [e(2, 2, 'a', true)]);
    c.observer.committed!('1', 2);
    c.observer.committed!('1', 1);
    expect(c.violations.join()).toMatch(/back to 1/);
  });
});
