// ccf.consensus as functions (ccf-app's consensus module): what the service has committed.

import { ccfGlobal } from './global.ts';
import type { TransactionId, TransactionStatus } from './types.ts';

export type { TransactionId, TransactionStatus } from './types.ts';

export function getLastCommittedTxId(): TransactionId {
  return ccfGlobal().consensus.getLastCommittedTxId();
}

export function getStatusForTxId(view: number, seqno: number): TransactionStatus {
  return ccfGlobal().consensus.getStatusForTxId(view, seqno);
}

/** null when the seqno is not known to this node (yet). */
export function getViewForSeqno(seqno: number): number | null {
  return ccfGlobal().consensus.getViewForSeqno(seqno);
}
