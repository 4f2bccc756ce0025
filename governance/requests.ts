// Governance requests: COSE_Sign1 documents signed by a member (CCF's member_cose_sign1 policy plus the
// checks of src/node/gov/handlers). Verification reuses node/enclave/auth's COSE_Sign1 authentication
// (kid → public:ccf.gov.members.certs, alg fitting the certificate's curve, the ccf.gov.msg.* headers)
// and adds what governance needs on top:
//   - the message type must be the one the endpoint expects, and ballots and withdrawals must name
//     the proposal of the path in ccf.gov.msg.proposal_id;
//   - the member must be Active (public:ccf.gov.members.info), except for ack and state_digest, which
//     an Accepted member sends to become Active;
//   - proposals are replay-protected as CCF does (src/node/gov/handlers/proposals.h,
//     validate_proposal_submission_time; public:ccf.gov.cose_recent_proposals): the key
//     "<created_at, zero-padded to 10 digits>:<hex SHA-256 of the COSE signature>" must be new, and its
//     created_at must not be older than that of the median key kept; after the insert the map keeps
//     the newest `window` keys (recent_cose_proposals_window_size in public:ccf.gov.service.config,
//     default 100);
//   - every accepted request is recorded in public:ccf.gov.cose_history under the member's ID (value:
//     the COSE_Sign1 bytes as a JSON base64 string), so the ledger shows who asked for what.
// Proposal IDs are CCF's: hex SHA-256(Merkle root at the transaction's read version ‖ SHA-256 of the
// COSE signature), so the same signed proposal submitted at two positions gets two IDs.

import { createHash } from 'node:crypto';
import { decode } from 'cborg';
import type { Tx } from '../node/kv/index.ts';
import { authenticateCoseSign1 } from '../node/enclave/auth/cose-sign1.ts';
import { UNIT_KEY, fromUtf8, jsonBytes, parseJsonBytes, utf8 } from '../node/enclave/tables.ts';
import { DEFAULT_RECENT_PROPOSALS_WINDOW, GovTables } from './tables.ts';

export type GovMessageType = 'proposal' | 'ballot' | 'withdrawal' | 'ack' | 'state_digest' | 'recovery_share' | 'encrypted_recovery_share';

export type GovErrorCode =
  | 'InvalidAuthenticationInfo' // the COSE_Sign1 did not authenticate (CCF answers 401)
  | 'InvalidCoseHeader' // wrong ccf.gov.msg.type or proposal ID for this endpoint
  | 'MemberNotActive'
  | 'ProposalReplay'
  | 'ProposalCreatedTooLongAgo';

export interface GovError {
  ok: false;
  code: GovErrorCode;
  status: 400 | 401 | 403;
  message: string;
}

export interface GovRequest {
  ok: true;
  memberId: string;
  msgType: GovMessageType;
  createdAt: number;
  proposalId?: string;
  /** The signed payload. */
  content: Uint8Array;
  /** The whole COSE_Sign1 body. */
  body: Uint8Array;
  /** The COSE_Sign1 signature: its SHA-256 is CCF's request digest. */
  signature: Uint8Array;
}

export interface Expected {
  msgType: GovMessageType;
  /** For ballots and withdrawals: the proposal ID of the path. */
  proposalId?: string;
  /** For member-scoped paths (ballots/{memberId}, state-digests/{memberId}): the path's member ID. */
  memberId?: string;
}

function fail(code: GovErrorCode, status: GovError['status'], message: string): GovError {
  return { ok: false, code, status, message };
}

const ACTIVATION_TYPES = new Set<GovMessageType>(['ack', 'state_digest']);

/** Verifies a governance request for an endpoint expecting `expected`. Reads only; records nothing. */
export function verifyGovernanceRequest(tx: Tx, contentType: string | undefined, body: Uint8Array, expected: Expected): GovRequest | GovError {
  const reader = { get: (map: string, key: Uint8Array) => tx.map(map).get(key) };
  const outcome = authenticateCoseSign1(reader, 'member', contentType, body);
  if (!outcome.ok) return fail('InvalidAuthenticationInfo', 401, outcome.message);
  const header = outcome.cose.protectedHeader;
  const msgType = header['ccf.gov.msg.type'];
  if (msgType !== expected.msgType) {
    return fail('InvalidCoseHeader', 400, `ccf.gov.msg.type is ${JSON.stringify(msgType ?? null)}, this endpoint expects ${JSON.stringify(expected.msgType)}`);
  }
  const proposalId = header['ccf.gov.msg.proposal_id'];
  if (expected.proposalId !== undefined && proposalId !== expected.proposalId) {
    return fail('InvalidCoseHeader', 400, `ccf.gov.msg.proposal_id is ${JSON.stringify(proposalId ?? null)}, the path names proposal ${expected.proposalId}`);
  }
  if (expected.memberId !== undefined && outcome.id !== expected.memberId) {
    return fail('InvalidAuthenticationInfo', 401, `the request is signed by member ${outcome.id}, the path names member ${expected.memberId}`);
  }
  const status = memberStatus(tx, outcome.id);
  const allowed = status === 'Active' || (status === 'Accepted' && ACTIVATION_TYPES.has(msgType));
  if (!allowed) return fail('MemberNotActive', 403, `member ${outcome.id} is ${status ?? 'not registered'}; ${msgType} requests need an Active member`);
  return {
    ok: true,
    memberId: outcome.id,
    msgType,
    createdAt: header['ccf.gov.msg.created_at']!,
    ...(proposalId !== undefined ? { proposalId } : {}),
    content: outcome.cose.content,
    body,
    signature: signatureOf(body),
  };
}

function memberStatus(tx: Tx, memberId: string): string | undefined {
  const raw = tx.map(GovTables.memberInfo).get(utf8(memberId));
  if (raw === undefined) return undefined;
  try {
    const info = parseJsonBytes<{ status?: unknown }>(raw);
    return typeof info?.status === 'string' ? info.status : undefined;
  } catch {
    return undefined;
  }
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** The signature of an already authenticated COSE_Sign1 body (tag 18 [protected, unprotected, payload, signature]). */
function signatureOf(body: Uint8Array): Uint8Array {
  const item = decode(body.subarray(1), { useMaps: true }) as unknown[];
  return (item[3] as Uint8Array).slice();
}

/** CCF's request digest: SHA-256 of the COSE_Sign1 signature. */
export function requestDigest(request: Pick<GovRequest, 'signature'>): Uint8Array {
  return sha256(request.signature);
}

/** CCF's proposal ID: hex SHA-256(Merkle root at the read version ‖ request digest). */
export function proposalIdFor(request: Pick<GovRequest, 'signature'>, rootAtRead: Uint8Array): string {
  if (rootAtRead.length !== 32) throw new RangeError('the Merkle root at the read version is 32 bytes');
  return hex(sha256(rootAtRead, requestDigest(request)));
}

/** The replay key CCF files a proposal under in public:ccf.gov.cose_recent_proposals. */
export function replayKey(request: Pick<GovRequest, 'signature' | 'createdAt'>): string {
  return `${String(request.createdAt).padStart(10, '0')}:${hex(requestDigest(request))}`;
}

export function recentProposalsWindow(tx: Tx): number {
  const raw = tx.map(GovTables.serviceConfig).get(UNIT_KEY);
  if (raw === undefined) return DEFAULT_RECENT_PROPOSALS_WINDOW;
  try {
    const size = parseJsonBytes<{ recent_cose_proposals_window_size?: unknown }>(raw)?.recent_cose_proposals_window_size;
    return typeof size === 'number' && Number.isSafeInteger(size) && size >= 1 ? size : DEFAULT_RECENT_PROPOSALS_WINDOW;
  } catch {
    return DEFAULT_RECENT_PROPOSALS_WINDOW;
  }
}

/**
 * Replay protection for a proposal (CCF: proposals:create). Refuses a repeat of the same signature and
 * a created_at older than the median of the kept proposals' (CCF's rule); on success files the key
 * with the proposal ID and trims the map to the newest window-1 older keys plus this one.
 */
export function checkAndRecordProposalReplay(tx: Tx, request: GovRequest, proposalId: string): { ok: true } | GovError {
  const map = tx.map(GovTables.coseRecentProposals);
  const key = replayKey(request);
  const existing = map.get(utf8(key));
  if (existing !== undefined) {
    return fail('ProposalReplay', 400, `proposal submission replay: already have proposal ${parseJsonBytes<string>(existing)}`);
  }
  const keys: string[] = [];
  map.forEach((_value, k) => keys.push(fromUtf8(k)));
  keys.sort();
  if (keys.length > 0) {
    const median = keys[Math.floor(keys.length / 2)]!.split(':')[0]!;
    if (key.split(':')[0]! < median) {
      return fail('ProposalCreatedTooLongAgo', 400, `proposal created too long ago: created_at ${request.createdAt} is older than ${Number(median)}, the median of the recent proposals`);
    }
  }
  const window = recentProposalsWindow(tx);
  map.set(utf8(key), jsonBytes(proposalId));
  // Keep at most `window` keys: the new one and the newest window-1 of the others.
  const drop = keys.length - (window - 1);
  for (let i = 0; i < drop; i++) map.delete(utf8(keys[i]!));
  return { ok: true };
}

/** Records a verified request as the member's latest in public:ccf.gov.cose_history. */
export function recordGovernanceRequest(tx: Tx, request: GovRequest): void {
  tx.map(GovTables.coseHistory).set(utf8(request.memberId), jsonBytes(Buffer.from(request.body).toString('base64')));
}
