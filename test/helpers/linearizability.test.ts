import { describe, expect, it } from 'vitest';
import { checkLinearizable, type Operation } from './linearizability.ts';

const w = (client: number, value: string, invokedAt: number, completedAt: number | undefined, key = 'k'): Operation =>
  ({ client, kind: 'write', key, value, invokedAt, completedAt });
const r = (client: number, value: string | undefined, invokedAt: number, completedAt: number, key = 'k'): Operation =>
  ({ client, kind: 'read', key, value, invokedAt, completedAt });

describe('linearizability checker', () => {
  it('accepts a sequential history and reads of the latest write', () => {
    expect(checkLinearizable([r(1, undefined, 0, 1), w(1, 'a', 2, 3), r(2, 'a', 4, 5), w(2, 'b', 6, 7), r(1, 'b', 8, 9)]).ok).toBe(true);
  });

  it('refuses a stale read after a completed write', () => {
    const result = checkLinearizable([w(1, 'a', 0, 1), w(1, 'b', 2, 3), r(2, 'a', 4, 5)]);
    expect(result.ok).toBe(false);
    expect(result.failure?.key).toBe('k');
  });

  it('accepts either order for overlapping operations', () => {
    expect(checkLinearizable([w(1, 'a', 0, 10), r(2, 'a', 1, 2)]).ok).toBe(true);
    expect(checkLinearizable([w(1, 'a', 0, 10), r(2, undefined, 1, 2)]).ok).toBe(true);
  });

  it('refuses a read of a value nobody wrote, and a value that flips back', () => {
    expect(checkLinearizable([w(1, 'a', 0, 1), r(2, 'z', 2, 3)]).ok).toBe(false);
    expect(checkLinearizable([w(1, 'a', 0, 1), w(1, 'b', 2, 3), r(2, 'b', 4, 5), r(3, 'a', 6, 7)]).ok).toBe(false);
  });

  it('lets an indefinite write take effect late or never', () => {
    expect(checkLinearizable([w(1, 'a', 0, undefined), r(2, undefined, 5, 6), r(2, 'a', 7, 8)]).ok).toBe(true);
    expect(checkLinearizable([w(1, 'a', 0, undefined), r(2, undefined, 5, 6)]).ok).toBe(true);
    // …but once seen it cannot be unseen.
    expect(checkLinearizable([w(1, 'a', 0, undefined), r(2, 'a', 5, 6), r(2, undefined, 7, 8)]).ok).toBe(false);
  });

  it('checks keys independently', () => {
    expect(checkLinearizable([w(1, 'a', 0, 1, 'x'), r(2, undefined, 2, 3, 'y'), r(2, 'a', 4, 5, 'x')]).ok).toBe(true);
    expect(checkLinearizable([w(1, 'a', 0, 1, 'x'), r(2, 'a', 2, 3, 'y')]).ok).toBe(false);
  });
});
