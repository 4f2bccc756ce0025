// Polling with exponential backoff and jitter: the delay before poll n+1 is drawn uniformly from
// [d/2, d] with d = min(max, initial · 2^n) ("equal jitter"), so that many clients waiting for the
// same commit do not poll in lockstep, yet none polls faster than half the nominal rate. Time and
// randomness are injected (Clock, random) so that tests replay the schedule exactly.
import { NetworkErrorCode, SynodNetworkError } from '../errors.ts';

export interface Clock {
  /** Milliseconds, monotonic enough for deadlines. */
  now(): number;
  /** Resolves after `ms`; rejects with SynodNetworkError CLIENT_ABORTED when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new SynodNetworkError(NetworkErrorCode.aborted, 'aborted while waiting'));
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new SynodNetworkError(NetworkErrorCode.aborted, 'aborted while waiting'));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Delay before the poll after `attempt` (0-based), given `random` in [0, 1). */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: number): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new TypeError('attempt must be a non-negative integer');
  if (!(random >= 0 && random < 1)) throw new TypeError('random must be in [0, 1)');
  // 2^attempt overflows to Infinity for large attempts; min() takes the ceiling then.
  const nominal = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** attempt);
  return nominal / 2 + (random * nominal) / 2;
}

/** `retry-after` (delta-seconds or an HTTP date) in milliseconds from `nowEpochMs`; undefined if absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, nowEpochMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowEpochMs);
}
