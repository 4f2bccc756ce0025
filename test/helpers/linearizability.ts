// A small linearizability checker in the style of Wing & Gong (with Lowe's memoisation), for histories of
// reads and writes on independent registers (one per key; linearizability is compositional, so each key
// is checked on its own). An operation is [invoke, complete]; a write whose outcome the client never
// learnt (timeout, connection lost) is "indefinite": it may take effect at any point after its
// invocation, or never.

export interface Operation {
  client: number;
  kind: 'read' | 'write';
  key: string;
  /** write: the value written; read: the value read (undefined: the key was absent). */
  value: string | undefined;
  invokedAt: number;
  /** undefined for an indefinite write. */
  completedAt: number | undefined;
}

export interface CheckResult {
  ok: boolean;
  /** The key whose history has no linearization, and a description. */
  failure?: { key: string; reason: string };
}

/** Searches for a linearization of every key's history; bounded by `stepsMax` per key. */
export function checkLinearizable(history: readonly Operation[], stepsMax = 2_000_000): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    if (op.kind === 'read' && op.completedAt === undefined) continue; // a read with no answer says nothing
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  for (const [key, ops] of byKey) {
    const result = checkRegister(ops, stepsMax);
    if (result !== true) return { ok: false, failure: { key, reason: result } };
  }
  return { ok: true };
}

/** True, or why not. Initial value: absent. */
function checkRegister(ops: Operation[], stepsMax: number): true | string {
  const n = ops.length;
  const end = (op: Operation): number => op.completedAt ?? Number.POSITIVE_INFINITY;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let steps = 0;
  // Definite operations must all be linearized; indefinite writes may be dropped at the end.
  const definite = ops.filter((op) => op.completedAt !== undefined).length;
  const search = (value: string | undefined, linearized: number): boolean => {
    if (linearized === definite) return true; // indefinite writes left over simply never took effect
    if (++steps > stepsMax) throw new Error('linearizability search exceeded its step bound');
    const memo = `${value ?? '\u0000'}|${Array.from(done).join('')}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    // Candidates: pending operations invoked before every pending operation's completion.
    let horizon = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (!done[i]) horizon = Math.min(horizon, end(ops[i]!));
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      if (done[i] || op.invokedAt > horizon) continue;
      if (op.kind === 'read' && op.value !== value) continue;
      done[i] = 1;
      const next = op.kind === 'write' ? op.value : value;
      if (search(next, linearized + (op.completedAt !== undefined ? 1 : 0))) return true;
      done[i] = 0;
    }
    return false;
  };
  if (search(undefined, 0)) return true;
  const reads = ops.filter((op) => op.kind === 'read').map((op) => `read ${op.value ?? '(absent)'} at [${op.invokedAt}, ${op.completedAt}]`);
  return `no order of ${n} operations explains every read (${reads.slice(0, 5).join('; ')}${reads.length > 5 ? '; …' : ''})`;
}
