// How much stack QuickJS may be granted on this thread (see hostStackBudgetBytes).

import { isMainThread, resourceLimits } from 'node:worker_threads';

/**
 * How much of QuickJS's stack limit the host thread can back. QuickJS counts the C stack it uses in
 * linear memory, but each of its frames also takes V8's native stack, and more of it. Measured ratios
 * of native to linear-memory stack per nesting level: plain recursion 2.4, callbacks through
 * Array.prototype.map 2.8, JSON.parse 6.4, JSON.stringify 11.4, the parser on deeply nested source 15+.
 * If V8's stack runs out first, the overflow unwinds through QuickJS and the engine is lost (it is then
 * replaced, runtime.ts). An eighth of V8's stack, after a margin for the host frames below the call,
 * keeps recursion and JSON.parse a clean, catchable "stack overflow" inside the sandbox; only
 * JSON.stringify of very deep structures and eval of very deep source can still cost an engine.
 */
export function hostStackBudgetBytes(): number {
  return Math.floor((v8StackBytes() - HOST_FRAMES_MARGIN_BYTES) / 8);
}

const HOST_FRAMES_MARGIN_BYTES = 128 * 1024;

function v8StackBytes(): number {
  const fromFlag = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
    .map((arg) => /^--stack[-_]size=(\d+)$/.exec(arg))
    .find((match) => match !== null);
  if (fromFlag) return Number(fromFlag[1]) * 1024;
  if (!isMainThread && resourceLimits.stackSizeMb !== undefined) return resourceLimits.stackSizeMb * 1024 * 1024 - 64 * 1024;
  return 984 * 1024; // V8's default on 64-bit platforms
}
