// Historical queries: the store as of one committed transaction, as CCF serves it to endpoints whose
// app.json says `"mode": "historical"` (CCF src/node/historical_queries_adapter.cpp for the TxID header
// and its errors, src/js/extensions/ccf/historical.cpp for what `ccf.historicalState` holds).
//
// CCF fetches the ledger entry in the background and answers 202 with Retry-After until it has it; Synod
// asks its host for the entry and answers in the same request. The entry comes back from the host, so it
// is hostile input: its SHA-256 must equal the write-set digest this enclave recorded for that seqno (the
// digest its Merkle leaf, and so every receipt, commits to) before anything decodes it. As in CCF, the
// state is that transaction's write set as a read-only store: its maps hold exactly the keys the
// transaction wrote, each at version seqno; keys it removed are absent.

import type { HostPort } from '../boundary.ts';
import { sha256 } from '../crypto/hash.ts';
import { RpcError } from '../errors.ts';
import { Store } from '../kv/index.ts';
import { limits } from '../limits.ts';
import type { Enclave } from './enclave.ts';
import type { JsonReceipt } from './history.ts';

/** The header carrying the TxID of a historical query (CCF's http::headers::CCF_TX_ID). */
export const TRANSACTION_ID_HEADER = 'x-ms-ccf-transaction-id';

export const historicalLimits = {
  /** Historical states kept for repeated queries, least recently used evicted first. */
  statesCachedMax: 64,
  /** Their ledger entries' total size (the stores hold about that much). */
  cachedEntryBytesMax: 16 * 1024 * 1024,
  /** Distinct entries being read back from the host at once; more queries get 503. */
  readsInFlightMax: 32,
} as const;

/** CCF's receipt object for JS (`ccf.historicalState.receipt`): the JSON receipt, and whether it is a signature's. */
export type HistoricalReceipt = JsonReceipt & { is_signature_transaction: boolean; root_hex?: string };

export interface HistoricalState {
  view: number;
  seqno: number;
  /** `view.seqno`. */
  transactionId: string;
  receipt: HistoricalReceipt;
  /** What the transaction wrote, at version seqno. Read it through `store.begin()`; never commit to it. */
  store: Store;
  /** Size of the ledger entry it was rebuilt from. */
  entryBytes: number;
}

export interface HistoricalStats {
  cached: number;
  cachedEntryBytes: number;
  /** Queries answered from the cache. */
  hits: number;
  /** Entries read back from the host. */
  reads: number;
  /** Entries the host answered with bytes that do not match the recorded digest. */
  refused: number;
}

class HistoricalCache {
  readonly states = new Map<number, HistoricalState>();
  readonly reading = new Map<number, Promise<HistoricalState>>();
  readonly stats: HistoricalStats = { cached: 0, cachedEntryBytes: 0, hits: 0, reads: 0, refused: 0 };

  get(seqno: number): HistoricalState | undefined {
    const state = this.states.get(seqno);
    if (state === undefined) return undefined;
    this.states.delete(seqno);
    this.states.set(seqno, state);
    this.stats.hits++;
    return state;
  }

  put(state: HistoricalState): void {
    if (state.entryBytes > historicalLimits.cachedEntryBytesMax || this.states.has(state.seqno)) return;
    this.states.set(state.seqno, state);
    this.stats.cachedEntryBytes += state.entryBytes;
    for (const [seqno, old] of this.states) {
      if (this.states.size <= historicalLimits.statesCachedMax && this.stats.cachedEntryBytes <= historicalLimits.cachedEntryBytesMax) break;
      this.states.delete(seqno);
      this.stats.cachedEntryBytes -= old.entryBytes;
    }
    this.stats.cached = this.states.size;
  }
}

const caches = new WeakMap<Enclave, HistoricalCache>();

function cacheOf(enclave: Enclave): HistoricalCache {
  let cache = caches.get(enclave);
  if (cache === undefined) {
    cache = new HistoricalCache();
    caches.set(enclave, cache);
  }
  return cache;
}

/** Counters of this enclave's historical queries. */
export function historicalStats(enclave: Enclave): Readonly<HistoricalStats> {
  return { ...cacheOf(enclave).stats };
}

/** The TxID of a historical query from its header: missing or malformed is a 400 (CCF's codes). */
export function transactionIdFromHeaders(headers: Record<string, string | undefined>): { view: number; seqno: number } {
  const raw = headers[TRANSACTION_ID_HEADER];
  if (raw === undefined) {
    throw new RpcError('MissingRequiredHeader', `Historical query is missing '${TRANSACTION_ID_HEADER}' header.`);
  }
  const invalid = (): RpcError => new RpcError('InvalidHeaderValue',
    `The value '${String(raw).slice(0, limits.transactionIdLengthMax)}' in header '${TRANSACTION_ID_HEADER}' could not be converted to a valid Tx ID.`);
  if (typeof raw !== 'string' || raw.length > limits.transactionIdLengthMax || !/^\d+\.\d+$/.test(raw)) throw invalid();
  const [view, seqno] = raw.split('.').map(Number) as [number, number];
  // CCF's TxID::from_str: view 0 and seqno 0 are "unknown", never a transaction.
  if (!Number.isSafeInteger(view) || !Number.isSafeInteger(seqno) || view < 1 || seqno < 1) throw invalid();
  return { view, seqno };
}

/**
 * The state as of committed transaction `view.seqno`: from the cache, or rebuilt from its ledger entry,
 * which the host reads back from disk. Fails with CCF's errors for a TxID that is not committed.
 */
export async function historicalState(enclave: Enclave, host: HostPort, view: number, seqno: number): Promise<HistoricalState> {
  const status = enclave.txStatus(view, seqno);
  if (status !== 'Committed') {
    const message = `Only committed transactions can be queried. Transaction ${view}.${seqno} is ${status}.`;
    throw new RpcError(status === 'Invalid' ? 'TransactionInvalid' : 'TransactionPendingOrUnknown', message);
  }
  const cache = cacheOf(enclave);
  const cached = cache.get(seqno);
  if (cached !== undefined) return cached;
  let reading = cache.reading.get(seqno);
  if (reading === undefined) {
    if (cache.reading.size >= historicalLimits.readsInFlightMax) {
      throw new RpcError('ServiceUnavailable', `${cache.reading.size} historical entries are being read already; retry shortly.`);
    }
    reading = rebuild(enclave, host, cache, view, seqno).finally(() => cache.reading.delete(seqno));
    cache.reading.set(seqno, reading);
  }
  return reading;
}

async function rebuild(enclave: Enclave, host: HostPort, cache: HistoricalCache, view: number, seqno: number): Promise<HistoricalState> {
  const bytes = await readEntry(host, seqno);
  cache.stats.reads++;
  if (!equalBytes(sha256(bytes), enclave.history.writeSetDigest(seqno))) {
    cache.stats.refused++;
    host.log('error', `historical query: the host returned ${bytes.length} bytes for ledger entry ${seqno} that do not match ` +
      'its recorded write-set digest; refused (is the ledger folder damaged or tampered with?)');
    throw new RpcError('ServiceUnavailable', `Ledger entry ${seqno} as read back from this node's disk is not the one it wrote; ` +
      'the query was refused. Ask another node, and have the operator check the ledger files.');
  }
  // From here the bytes are the ones this enclave wrote: any surprise below is a bug, not an attack.
  const entry = enclave.decodeLedgerEntry(bytes);
  if (entry.seqno !== seqno || entry.view !== view || entry.isSnapshot || entry.privateMaps === null) {
    throw new Error(`historical: entry ${seqno} decodes as ${entry.view}.${entry.seqno}${entry.isSnapshot ? ' (snapshot)' : ''}`);
  }
  const store = new Store();
  store.restore({ version: seqno - 1, maps: [] });
  store.applyWrites(seqno, entry.maps.map(({ name, writes, removes }) => ({ name, writes, removes })));
  const state: HistoricalState = {
    view,
    seqno,
    transactionId: `${view}.${seqno}`,
    receipt: historicalReceipt(enclave.receipt(view, seqno)),
    store,
    entryBytes: bytes.length,
  };
  cache.put(state);
  return state;
}

async function readEntry(host: HostPort, seqno: number): Promise<Uint8Array> {
  if (host.ledgerRead === undefined) {
    throw new RpcError('NotImplemented', 'This node does not read its ledger back, so it serves no historical queries.');
  }
  let bytes: unknown;
  try {
    bytes = await host.ledgerRead(seqno);
  } catch (error) {
    host.log('warn', `historical query: reading ledger entry ${seqno} failed: ${(error as Error)?.message ?? String(error)}`);
    throw new RpcError('ServiceUnavailable', `Ledger entry ${seqno} could not be read back from this node's disk; retry, or ask another node.`);
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new RpcError('ServiceUnavailable', `This node's host has no ledger entry ${seqno}; retry, or ask another node.`);
  }
  // Our own copy: what is checked is what gets decoded, even if the host's buffer is shared memory.
  return bytes.slice();
}

/** The receipt as CCF hands it to JS: `is_signature_transaction`, and `root_hex` for a signature. */
function historicalReceipt(receipt: JsonReceipt): HistoricalReceipt {
  const isSignature = receipt.leaf !== undefined;
  return { ...receipt, is_signature_transaction: isSignature, ...(isSignature ? { root_hex: receipt.leaf } : {}) };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- ccf.historical.getStateRange / dropCachedStates (CCF src/js/extensions/ccf/historical.cpp) ----
// The sandbox's call is synchronous and reading entries back is not, so, as CCF's state cache does, the
// first call for a handle starts the reads and answers null; a later call with the same range answers the
// states once all have arrived. A handle's states are kept until dropCachedStates, a request for another
// range on that handle, or its expiry.

export const historicalRangeLimits = {
  /** Seqnos in one range (end - start + 1). */
  rangeSeqnosMax: 256,
  /** Handles holding or fetching states at once; a new one beyond that evicts the one expiring first. */
  handlesMax: 16,
  /** secondsUntilExpiry is clamped to this. */
  expirySecondsMax: 3600,
} as const;

interface RangeRequest {
  startSeqno: number;
  endSeqno: number;
  expiresAtMs: number;
  states: HistoricalState[] | undefined;
  error: RpcError | undefined;
}

const rangeTables = new WeakMap<Enclave, Map<number, RangeRequest>>();

export interface HistoricalRangeHooks {
  /** The states of start..end, or null while they are fetched (the fetch is started or continues). */
  getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): HistoricalState[] | null;
  /** Forgets a handle's states; false if it held none. */
  dropCachedStates(handle: number): boolean;
}

/** The hooks node/js calls for ccf.historical; `nowMs` is untrusted host time, only used for expiry. */
export function historicalRange(enclave: Enclave, host: HostPort | undefined, nowMs: () => number = Date.now): HistoricalRangeHooks {
  let table = rangeTables.get(enclave);
  if (table === undefined) rangeTables.set(enclave, (table = new Map()));
  const handles = table;
  const expire = (now: number): void => {
    for (const [handle, request] of handles) if (request.expiresAtMs <= now) handles.delete(handle);
  };
  return {
    getStateRange(handle, startSeqno, endSeqno, secondsUntilExpiry) {
      checkRange(handle, startSeqno, endSeqno, secondsUntilExpiry);
      const now = nowMs();
      expire(now);
      const expiresAtMs = now + Math.min(secondsUntilExpiry, historicalRangeLimits.expirySecondsMax) * 1000;
      const existing = handles.get(handle);
      if (existing !== undefined && existing.startSeqno === startSeqno && existing.endSeqno === endSeqno) {
        existing.expiresAtMs = expiresAtMs;
        if (existing.error !== undefined) {
          handles.delete(handle);
          throw existing.error;
        }
        return existing.states ?? null;
      }
      // Not committed yet: nothing to fetch; the caller retries, as with CCF's cache waiting for commit.
      if (endSeqno > enclave.consensus.commitSeqno) return null;
      if (host === undefined) throw new RpcError('NotImplemented', 'This node does not read its ledger back, so it serves no historical queries.');
      handles.delete(handle);
      if (handles.size >= historicalRangeLimits.handlesMax) {
        const [oldest] = [...handles].sort((a, b) => a[1].expiresAtMs - b[1].expiresAtMs);
        if (oldest !== undefined) handles.delete(oldest[0]);
      }
      const request: RangeRequest = { startSeqno, endSeqno, expiresAtMs, states: undefined, error: undefined };
      handles.set(handle, request);
      void fetchRange(enclave, host, startSeqno, endSeqno).then(
        (states) => { request.states = states; },
        (error: unknown) => {
          request.error = error instanceof RpcError ? error : new RpcError('InternalError', `historical range: ${(error as Error)?.message ?? String(error)}`);
        },
      );
      return null;
    },
    dropCachedStates(handle) {
      if (!Number.isSafeInteger(handle) || handle < 0) throw new RpcError('InvalidInput', 'handle must be a non-negative integer');
      return handles.delete(handle);
    },
  };
}

/** historicalRange as node/js's HistoricalRangeHooks: each state read through a Tx of its own. */
export function historicalRangeHooks(enclave: Enclave, host: HostPort | undefined): {
  getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): Array<{ transactionId: string; receipt: unknown; tx: ReturnType<Store['begin']> }> | null;
  dropCachedStates(handle: number): boolean;
} {
  const range = historicalRange(enclave, host);
  return {
    getStateRange(handle, startSeqno, endSeqno, secondsUntilExpiry) {
      const states = range.getStateRange(handle, startSeqno, endSeqno, secondsUntilExpiry);
      return states === null ? null : states.map((state) => ({ transactionId: state.transactionId, receipt: state.receipt, tx: state.store.begin() }));
    },
    dropCachedStates: (handle) => range.dropCachedStates(handle),
  };
}

function checkRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): void {
  const bad = (message: string): RpcError => new RpcError('InvalidInput', message);
  if (!Number.isSafeInteger(handle) || handle < 0) throw bad('handle must be a non-negative integer');
  if (!Number.isSafeInteger(startSeqno) || startSeqno < 1) throw bad('startSeqno must be a positive integer');
  if (!Number.isSafeInteger(endSeqno) || endSeqno < startSeqno) throw bad('endSeqno must be an integer no smaller than startSeqno');
  if (endSeqno - startSeqno + 1 > historicalRangeLimits.rangeSeqnosMax) {
    throw bad(`a range may hold at most ${historicalRangeLimits.rangeSeqnosMax} seqnos; ask for ${startSeqno}..${endSeqno} in parts`);
  }
  if (typeof secondsUntilExpiry !== 'number' || !(secondsUntilExpiry >= 0)) throw bad('secondsUntilExpiry must be a non-negative number');
}

/** Reads the range one entry at a time (each read goes through the cache and its in-flight bound). */
async function fetchRange(enclave: Enclave, host: HostPort, startSeqno: number, endSeqno: number): Promise<HistoricalState[]> {
  const states: HistoricalState[] = [];
  for (let seqno = startSeqno; seqno <= endSeqno; seqno++) {
    const view = enclave.consensus.viewOf(seqno);
    if (view === undefined) throw new RpcError('TransactionPendingOrUnknown', `No transaction has seqno ${seqno}.`);
    states.push(await historicalState(enclave, host, view, seqno));
  }
  return states;
}
