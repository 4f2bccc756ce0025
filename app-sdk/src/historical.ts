// ccf.historical and ccf.historicalState (ccf-app's historical module). Synod does not serve historical
// queries yet: getStateRange throws there, and historicalState is undefined.

import { ccfGlobal } from './global.ts';
import type { HistoricalState } from './types.ts';

export type { HistoricalState, Receipt, Proof, ProofElement } from './types.ts';

/**
 * The state as of the transaction a "historical" endpoint was called for, read at import as ccf-app
 * does. Prefer `getHistoricalState()`, which reads it per request (Synod keeps modules loaded across
 * requests, so a value captured at import goes stale).
 */
// (Not `a\n?.b`: QuickJS evaluates optional chaining across a line break to `a`.)
const atImport = (globalThis as { ccf?: { historicalState?: HistoricalState } }).ccf;
export const historicalState: HistoricalState | undefined = atImport === undefined ? undefined : atImport.historicalState;

export function getHistoricalState(): HistoricalState | undefined {
  return ccfGlobal().historicalState;
}

export function getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): HistoricalState[] | null {
  return ccfGlobal().historical.getStateRange(handle, startSeqno, endSeqno, secondsUntilExpiry);
}

export function dropCachedStates(handle: number): boolean {
  return ccfGlobal().historical.dropCachedStates(handle);
}
