// ccf.historical and ccf.historicalState (ccf-app's historical module). Synod serves endpoints in
// "historical" mode (ccf.historicalState); ccf.historical.getStateRange is not available there yet.

import { ccfGlobal } from './global.ts';
import type { HistoricalState } from './types.ts';

export type { HistoricalState, Receipt, Proof, ProofElement } from './types.ts';

/**
 * `ccf.historicalState` read at import, as ccf-app does. Synod keeps modules loaded across requests
 * and, for that reason, gives one object at load time whose fields read the current historical
 * request; the polyfill does the same. `getHistoricalState()` reads the global per request instead
 * (undefined outside historical endpoints).
 */
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
