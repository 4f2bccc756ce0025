// The recovery endpoints of CCF's /gov API (api-version 2024-07-01), and the recovery transition of
// transition_service_to_open:
//
//   GET  /gov/recovery/encrypted-shares/{memberId}   → {memberId, encryptedShare} (base64 RSA-OAEP-256)
//   POST /gov/recovery/members/{memberId}:recover    COSE_Sign1, ccf.gov.msg.type = recovery_share,
//        payload {"share": base64 of the decrypted share} → {message}
//
// Service states after a disaster: Recovering (public ledger replayed, new identity) → members vote
// transition_service_to_open → WaitingForRecoveryShares → recovery members submit shares → once
// `threshold` are in, the previous ledger secrets are unwrapped, the private state restored, and the
// service is Open again with the same history and a new identity. A submitted share is kept encrypted
// under a key derived from the recovering service's own ledger secret, never in plaintext; for the same
// reason share submissions are not recorded in cose_history (their payload is the share).

import type { Enclave } from '../../node/enclave/enclave.ts';
import type { Endpoint, EndpointResponse } from '../../node/enclave/frontend.ts';
import type { Tx } from '../../node/kv/index.ts';
import { Tables, UNIT_KEY, jsonBytes, parseJsonBytes, fromUtf8 } from '../../node/enclave/tables.ts';
import { LedgerSecretChain, PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_TABLE, PREVIOUS_SERVICE_IDENTITY_TABLE, recoverySessionOf, restorePrivateState } from '../../node/enclave/recovery.ts';
import { govError, govReadEndpoint, govSignedEndpoint, isGovResponse, registerGovEndpoints, verifyGovEndpointRequest } from '../app.ts';
import { registerHostAction } from '../constitution.ts';
import { decodeShare, type Share } from './sharing.ts';
import {
  RecoveryError, WRAPPING_KEY_BYTES, clearSubmittedShares, issueRecoveryShares, readRecoveryShares, recoverLedgerSecrets,
  storeSubmittedShare, submittedShares, submittedSharesKey,
} from './shares.ts';

interface ServiceInfoRecord {
  cert: string;
  status: string;
  previous_service_identity?: string;
  [field: string]: unknown;
}

function serviceInfo(tx: Tx): ServiceInfoRecord | undefined {
  const raw = tx.map(Tables.serviceInfo).get(UNIT_KEY);
  return raw === undefined ? undefined : parseJsonBytes<ServiceInfoRecord>(raw);
}

const errorResponse = (error: unknown): EndpointResponse => {
  if (error instanceof RecoveryError) return govError(error.status, error.code, error.message);
  throw error;
};

export function recoveryEndpoints(enclave: Enclave): Endpoint[] {
  const encryptedShare = govReadEndpoint('/gov/recovery/encrypted-shares/{memberId}', (ctx) => {
    const memberId = ctx.params.memberId!;
    const info = readRecoveryShares(ctx.tx);
    const share = info?.encrypted_shares[memberId];
    if (share === undefined) return govError(404, 'ResourceNotFound', `Recovery share not found for member ${memberId}.`);
    return { body: { memberId, encryptedShare: share } };
  });

  const recover = govSignedEndpoint('/gov/recovery/members/{memberId}:recover', (ctx) => {
    const memberId = ctx.params.memberId!;
    const request = verifyGovEndpointRequest(ctx, { msgType: 'recovery_share', memberId });
    if (isGovResponse(request)) return request;
    const service = serviceInfo(ctx.tx);
    if (service?.status !== 'WaitingForRecoveryShares') {
      return govError(403, 'ServiceNotWaitingForRecoveryShares', `Service is ${service?.status ?? 'unknown'}: it is not waiting for recovery shares.`);
    }
    const session = recoverySessionOf(enclave);
    if (!session) return govError(500, 'InternalError', 'This node is not recovering a service.');
    const info = readRecoveryShares(ctx.tx);
    if (!info || info.encrypted_shares[memberId] === undefined) {
      return govError(403, 'AuthorizationFailed', `Member ${memberId} holds no recovery share of the previous service.`);
    }
    let share: Share;
    try {
      const body = JSON.parse(fromUtf8(request.content)) as { share?: unknown };
      if (typeof body.share !== 'string') throw new Error('no share');
      share = decodeShare(new Uint8Array(Buffer.from(body.share, 'base64')), WRAPPING_KEY_BYTES);
    } catch {
      return govError(400, 'InvalidInput', 'Signed request body is not a JSON object containing required string field "share" (base64 of a recovery share).');
    }
    try {
      const key = submittedSharesKey(session.chain.secretFor(session.previousLastSeqno + 1).exportKey());
      storeSubmittedShare(ctx.tx, key, memberId, new Uint8Array([share.x, ...share.y]));
      const shares = submittedShares(ctx.tx, key);
      const progress = `${shares.length}/${info.threshold} recovery shares successfully submitted.`;
      if (shares.length < info.threshold) return { body: { message: progress } };
      const previous = recoverLedgerSecrets(info, shares);
      const latest = session.chain.secretFor(session.previousLastSeqno + 1);
      if (previous.some((p) => p.startSeqno > session.previousLastSeqno)) {
        throw new RecoveryError('RecoveryFailed', 'the recovered ledger secrets do not match the previous ledger', 500);
      }
      const chain = new LedgerSecretChain(latest.exportKey(), session.previousLastSeqno + 1, previous);
      let state;
      try {
        state = restorePrivateState(session.previousEntries, chain);
      } catch (error) {
        throw new RecoveryError('RecoveryFailed', (error as Error).message, 500);
      }
      ctx.tx.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({ ...service, status: 'Open' }));
      clearSubmittedShares(ctx.tx);
      // The reopened service's own shares cover every ledger secret of its history.
      if (issueRecoveryShares(ctx.tx, chain.ranges(), { includeAccepted: true }) === 0) {
        throw new RecoveryError('RecoveryFailed', 'no recovery member is left to hold the new shares', 500);
      }
      session.pending = { previous, state };
      return { body: { message: `${progress} End of recovery procedure initiated.` } };
    } catch (error) {
      // As CCF: shares that do not recover the secrets are all dropped, so members can submit again.
      if (error instanceof RecoveryError && error.code === 'RecoveryFailed') {
        clearSubmittedShares(ctx.tx);
        ctx.setApplyWrites(true);
      }
      return errorResponse(error);
    }
  });

  // CCF's GET /node/service/previous_identity, plus (Synod) the new identity's endorsement of it.
  const previousIdentity: Endpoint = {
    method: 'GET', path: '/node/service/previous_identity', authn: ['no_auth'], mode: 'readonly', beforeOpen: true,
    summary: 'The identity of the service this one recovered',
    handler: (ctx) => {
      const raw = ctx.tx.map(PREVIOUS_SERVICE_IDENTITY_TABLE).get(UNIT_KEY);
      if (raw === undefined) return { status: 404, body: { error: { code: 'ResourceNotFound', message: 'This service is not a recovery of a previous service.' } } };
      const endorsement = ctx.tx.map(PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_TABLE).get(UNIT_KEY);
      return {
        body: {
          previous_service_identity: parseJsonBytes<string>(raw),
          ...(endorsement !== undefined ? { previous_service_identity_endorsement: parseJsonBytes<string>(endorsement) } : {}),
        },
      };
    },
  };

  return [encryptedShare, recover, previousIdentity];
}

/** transition_service_to_open on a Recovering service: wait for the members' recovery shares (CCF). */
function transitionRecoveringService(tx: Tx, args: Record<string, unknown>): void {
  const info = serviceInfo(tx);
  if (!info) throw new Error('the service has no service info');
  if (info.status !== 'Recovering') throw new Error(`the service is ${info.status}, not Recovering`);
  const previous = args.previous_service_identity;
  if (typeof previous === 'string' && info.previous_service_identity !== undefined &&
    previous.trim() !== info.previous_service_identity.trim()) {
    throw new Error('previous_service_identity is not the identity of the service this one recovers');
  }
  tx.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({ ...info, status: 'WaitingForRecoveryShares' }));
}

let registered = false;

/** Registers the endpoints with the governance app and the recovery transition (idempotent). */
export function registerRecovery(): void {
  if (registered) return;
  registered = true;
  registerGovEndpoints(recoveryEndpoints);
  registerHostAction('transition_service_to_open', transitionRecoveringService);
}


