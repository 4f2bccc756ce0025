// CCF's ledger file names: `ledger_<first>` for the open chunk, `ledger_<first>-<last>` once it is
// complete, and `ledger_<first>-<last>.committed` once it is also committed. Other files in the folder
// (CCF's `.ignored`, `.recovery`, editors' leftovers) are not ours and are left alone.

export type ChunkState = 'open' | 'closed' | 'committed';

export interface ChunkName {
  first: number;
  /** Absent for an open chunk. */
  last?: number;
  state: ChunkState;
}

const PATTERN = /^ledger_(\d{1,16})(?:-(\d{1,16})(\.committed)?)?$/;

export function parseChunkName(name: string): ChunkName | null {
  const match = PATTERN.exec(name);
  if (!match) return null;
  const first = Number(match[1]);
  if (!Number.isSafeInteger(first) || first < 1) return null;
  if (match[2] === undefined) return { first, state: 'open' };
  const last = Number(match[2]);
  if (!Number.isSafeInteger(last) || last < first) return null;
  return { first, last, state: match[3] ? 'committed' : 'closed' };
}

export function chunkName(first: number, last: number | undefined, state: ChunkState): string {
  if (state === 'open') return `ledger_${first}`;
  return `ledger_${first}-${last}${state === 'committed' ? '.committed' : ''}`;
}
