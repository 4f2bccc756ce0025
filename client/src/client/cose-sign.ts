// COSE_Sign1-signed requests (RFC 9052 §4.2) as CCF authenticates them (member_cose_sign1 and
// user_cose_sign1 policies; CCF's python ccf.cose.create_cose_sign1 is the reference client):
//   body          = tag 18 [protected, {}, payload (the request body, attached), signature]
//   content-type  = application/cose
//   protected     = { 1 (alg): -7 ES256 on P-256 | -35 ES384 on P-384,
//                     4 (kid): the caller ID (hex SHA-256 of the certificate DER) as a byte string,
//                     members: "ccf.gov.msg.type", "ccf.gov.msg.created_at" (seconds),
//                              "ccf.gov.msg.proposal_id" (ballots and withdrawals)
//                     users:   "ccf.msg.type" (when given), "ccf.msg.created_at" (seconds) }
// CCF reads the governance names for member requests and, by default, the `ccf.msg.*` names for
// user requests. created_at feeds the service's replay protection, so it is the signing time.
// The header map is CBOR in RFC 8949 §4.2.1 deterministic key order (cborg's default), as CCF's
// current client writes it: test/client/cose-sign-ccf.test.ts re-signs the requests recorded in real
// CCF ledgers and gets their protected header bytes exactly.
import { UsageError, UsageErrorCode } from '../errors.ts';
import { COSE_SIGN1_TAG, HEADER_ALG, HEADER_KID, algorithmForCurve, encodeCbor, sigStructure } from '../verify/cose.ts';
import { concatBytes, utf8ToBytes } from '../verify/encoding.ts';
import { type Identity, verifiesWithIdentity } from './identity.ts';

export const COSE_CONTENT_TYPE = 'application/cose';

/** Governance message types CCF accepts in `ccf.gov.msg.type`. */
export const GOV_MESSAGE_TYPES = ['proposal', 'ballot', 'withdrawal', 'ack', 'state_digest', 'recovery_share', 'encrypted_recovery_share'] as const;
const TYPES_WITH_PROPOSAL_ID = new Set(['ballot', 'withdrawal']);

export const GovHeader = {
  msgType: 'ccf.gov.msg.type',
  createdAt: 'ccf.gov.msg.created_at',
  proposalId: 'ccf.gov.msg.proposal_id',
} as const;
export const UserHeader = { msgType: 'ccf.msg.type', createdAt: 'ccf.msg.created_at' } as const;

export interface CoseRequestHeaders {
  /** Message type; required for members (a GOV_MESSAGE_TYPES value), optional for users. */
  msgType?: string;
  /** Seconds since the Unix epoch; default: now. */
  createdAt?: number;
  /** Proposal ID, for ballots and withdrawals only. */
  proposalId?: string;
}

/** Identities whose signer has produced a signature that verified with their certificate. */
const checkedSigners = new WeakSet<Identity>();
const MSG_TYPE_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const PROPOSAL_ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

function invalid(message: string): UsageError {
  return new UsageError(UsageErrorCode.invalidArgument, `COSE request: ${message}`);
}

/** The protected header map for this identity and these headers, validated. */
export function protectedHeaderFor(identity: Identity, headers: CoseRequestHeaders, nowSeconds: number): Map<unknown, unknown> {
  const createdAt = headers.createdAt ?? nowSeconds;
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) throw invalid('createdAt must be a non-negative integer number of seconds');
  const map = new Map<unknown, unknown>([
    [HEADER_ALG, algorithmForCurve(identity.curve)],
    [HEADER_KID, utf8ToBytes(identity.id)],
  ]);
  const { msgType, proposalId } = headers;
  if (msgType !== undefined && (typeof msgType !== 'string' || !MSG_TYPE_RE.test(msgType))) throw invalid('msgType must be a short identifier');
  if (proposalId !== undefined && (typeof proposalId !== 'string' || !PROPOSAL_ID_RE.test(proposalId))) throw invalid('proposalId must be a short identifier');
  if (identity.role === 'member') {
    if (msgType === undefined || !(GOV_MESSAGE_TYPES as readonly string[]).includes(msgType)) {
      throw invalid(`a member request needs msgType, one of ${GOV_MESSAGE_TYPES.join(', ')}`);
    }
    if (TYPES_WITH_PROPOSAL_ID.has(msgType) !== (proposalId !== undefined)) {
      throw invalid(`proposalId is required for ballot and withdrawal, and only for them (msgType ${msgType})`);
    }
    map.set(GovHeader.msgType, msgType);
    map.set(GovHeader.createdAt, createdAt);
    if (proposalId !== undefined) map.set(GovHeader.proposalId, proposalId);
  } else {
    if (proposalId !== undefined) throw invalid('proposalId is a governance header: sign with a member identity');
    if (msgType !== undefined) map.set(UserHeader.msgType, msgType);
    map.set(UserHeader.createdAt, createdAt);
  }
  return map;
}

/**
 * Signs `payload` as a COSE_Sign1 request body. The first signature of each identity is verified
 * with its certificate before it is used, so a signer that does not match the certificate fails
 * here rather than as a 401 from the service.
 */
export async function signCoseRequest(
  identity: Identity,
  payload: Uint8Array,
  headers: CoseRequestHeaders = {},
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<Uint8Array> {
  if (!identity?.signer) throw invalid('the identity has no private key or signer');
  if (!(payload instanceof Uint8Array)) throw invalid('payload must be bytes');
  const protectedBytes = encodeCbor(protectedHeaderFor(identity, headers, nowSeconds));
  const toBeSigned = sigStructure(protectedBytes, payload);
  const signature = await identity.signer.sign(toBeSigned);
  if (!checkedSigners.has(identity)) {
    if (!verifiesWithIdentity(identity, toBeSigned, signature)) throw invalid("the signer's signature does not verify with the identity's certificate");
    checkedSigners.add(identity);
  }
  // CBOR tag 18 fits in the initial byte (major type 6, value 18): 0xd2.
  return concatBytes(Uint8Array.of(0xc0 | COSE_SIGN1_TAG), encodeCbor([protectedBytes, new Map(), payload, signature]));
}

const HEX = '[A-Za-z0-9_.-]+';
const GOV_PATHS: Array<[RegExp, string]> = [
  [new RegExp(`^/gov/members/proposals:create$`), 'proposal'],
  [new RegExp(`^/gov/members/proposals/(${HEX})/ballots/${HEX}:submit$`), 'ballot'],
  [new RegExp(`^/gov/members/proposals/(${HEX}):withdraw$`), 'withdrawal'],
  [new RegExp(`^/gov/members/state-digests/${HEX}:update$`), 'state_digest'],
  [new RegExp(`^/gov/members/state-digests/${HEX}:ack$`), 'ack'],
  [new RegExp(`^/gov/recovery/members/${HEX}:recover$`), 'recovery_share'],
];

/**
 * The governance message type (and proposal ID) that CCF expects for a request to `path`, as CCF's
 * own client derives them; undefined for other paths. The query string is ignored.
 */
export function governanceHeadersForPath(path: string): Pick<CoseRequestHeaders, 'msgType' | 'proposalId'> | undefined {
  const bare = path.split('?')[0]!;
  for (const [re, msgType] of GOV_PATHS) {
    const m = re.exec(bare);
    if (!m) continue;
    return TYPES_WITH_PROPOSAL_ID.has(msgType) ? { msgType, proposalId: m[1]! } : { msgType };
  }
  return undefined;
}
