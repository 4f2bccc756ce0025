// GovernanceClient: CCF's governance REST API (2024-07-01) for a consortium member, over SynodClient.
// Every write is a COSE_Sign1 document signed with the member's key (SynodClient with auth 'cose' and
// a member identity: protected headers alg, kid = member ID, ccf.gov.msg.type, ccf.gov.msg.created_at
// and, for ballots and withdrawals, ccf.gov.msg.proposal_id — derived from the path by cose-sign.ts),
// sent as `content-type: application/cose` to `/gov/...?api-version=2024-07-01`. Reads are plain GETs
// that need no identity. Non-2xx answers are the client's typed errors (SynodHttpError and subclasses,
// with CCF's codes: ProposalFailedToValidate, ProposalNotOpen, VoteAlreadyExists, …).
// Browser-safe: give it any SynodClient (node.ts builds one over node:https).
import { SynodProtocolError, UsageError, UsageErrorCode } from '../errors.ts';
import type { SynodClient } from '../client/client.ts';
import type { SynodResponse } from '../client/response.ts';
import { ballot as ballotScript, parseProposal } from './proposals.ts';
import {
  GOV_API_VERSION,
  PROPOSAL_STATES,
  type JavaScriptApp,
  type MemberInfo,
  type NodeInfo,
  type Proposal,
  type ProposalInfo,
  type ServiceInfo,
  type StateDigest,
  type UserInfo,
} from './types.ts';

export interface GovernanceClientOptions {
  /** Default 2024-07-01. */
  apiVersion?: string;
}

/** Lists follow `nextLink` at most this many pages. */
const LIST_PAGES_MAX = 1000;
const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

function invalid(message: string): UsageError {
  return new UsageError(UsageErrorCode.invalidArgument, message);
}

function checkId(id: string, what: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) throw invalid(`${what} must be an identifier (hex digits), got ${String(id)}`);
  return id;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A ProposalInfo from a response body, checked enough that callers can rely on its core fields. */
function proposalInfo(res: SynodResponse, what: string): ProposalInfo {
  const body = res.json<ProposalInfo>();
  if (typeof body !== 'object' || body === null || typeof body.proposalId !== 'string' || !PROPOSAL_STATES.includes(body.proposalState)) {
    throw new SynodProtocolError(`${what}: the service did not answer with a proposal (proposalId, proposalState)`);
  }
  return res.txid === undefined ? body : { ...body, txid: res.txid };
}

export class GovernanceClient {
  readonly apiVersion: string;

  constructor(
    readonly client: SynodClient,
    options: GovernanceClientOptions = {},
  ) {
    this.apiVersion = options.apiVersion ?? GOV_API_VERSION;
    if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$/.test(this.apiVersion)) throw invalid(`apiVersion must look like 2024-07-01, got ${this.apiVersion}`);
    const identity = client.identity;
    if (identity !== undefined && (identity.role !== 'member' || client.auth !== 'cose')) {
      throw invalid("a governance client signs as a member: give the SynodClient a member identity (role 'member') and auth 'cose'");
    }
  }

  /** The member ID (hex SHA-256 of the member certificate), when the client has a member identity. */
  get memberId(): string | undefined {
    return this.client.identity?.id;
  }

  /** Closes the underlying client. */
  close(): void {
    this.client.close();
  }

  // ---- proposals

  /** Submits a proposal (`{actions: [...]}` or its JSON text, signed as it is). Answers its ID and state. */
  async propose(proposal: Proposal | string): Promise<ProposalInfo> {
    const text = typeof proposal === 'string' ? proposal : JSON.stringify(parseProposal(proposal));
    if (typeof proposal === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw invalid(`the proposal is not JSON: ${(e as Error).message}`);
      }
      parseProposal(parsed);
    }
    return proposalInfo(await this.write('/gov/members/proposals:create', utf8(text)), 'proposals:create');
  }

  /**
   * Submits this member's ballot on a proposal: `true` (default) accepts, `false` rejects, a string is
   * a ballot script `export function vote(proposal, proposerId) {…}`. Answers the proposal's new state.
   */
  async vote(proposalId: string, ballot: boolean | string = true): Promise<ProposalInfo> {
    const member = this.requireMember();
    const path = `/gov/members/proposals/${checkId(proposalId, 'proposal ID')}/ballots/${member}:submit`;
    return proposalInfo(await this.write(path, utf8(JSON.stringify({ ballot: ballotScript(ballot) }))), 'ballots:submit');
  }

  /** Withdraws this member's proposal. Undefined when the service no longer knows it (CCF answers 204: idempotent). */
  async withdraw(proposalId: string): Promise<ProposalInfo | undefined> {
    this.requireMember();
    const res = await this.write(`/gov/members/proposals/${checkId(proposalId, 'proposal ID')}:withdraw`, new Uint8Array(0));
    return res.status === 204 || res.body.length === 0 ? undefined : proposalInfo(res, 'proposals:withdraw');
  }

  /** Every proposal the service still holds (finished ones are cleaned up by CCF once others finish). */
  async listProposals(): Promise<ProposalInfo[]> {
    return this.list<ProposalInfo>('/gov/members/proposals');
  }

  async getProposal(proposalId: string): Promise<ProposalInfo> {
    return proposalInfo(await this.read(`/gov/members/proposals/${checkId(proposalId, 'proposal ID')}`), 'proposals/get');
  }

  /** The proposal body: `{actions: [...]}`. */
  async getActions(proposalId: string): Promise<Proposal> {
    return (await this.read(`/gov/members/proposals/${checkId(proposalId, 'proposal ID')}/actions`)).json<Proposal>();
  }

  /** A member's ballot script on a proposal (default: this member's). */
  async getBallot(proposalId: string, memberId = this.requireMember()): Promise<string> {
    const body = (await this.read(`/gov/members/proposals/${checkId(proposalId, 'proposal ID')}/ballots/${checkId(memberId, 'member ID')}`)).json<{ script?: unknown }>();
    if (typeof body?.script !== 'string') throw new SynodProtocolError('ballots/get: the service answered no script');
    return body.script;
  }

  // ---- state digests and acks (a new member becomes Active by acking the service state)

  /** POST state-digests/{me}:update: asks the service for a fresh digest (the Merkle root of its last signature) to ack. */
  async stateDigest(): Promise<StateDigest> {
    const member = this.requireMember();
    const body = (await this.write(`/gov/members/state-digests/${member}:update`, new Uint8Array(0))).json<StateDigest>();
    if (typeof body?.stateDigest !== 'string') throw new SynodProtocolError('state-digests:update: the service answered no stateDigest');
    return body;
  }

  /** GET state-digests/{member}: the digest last issued to a member (default: this member). */
  async getStateDigest(memberId = this.requireMember()): Promise<StateDigest> {
    return (await this.read(`/gov/members/state-digests/${checkId(memberId, 'member ID')}`)).json<StateDigest>();
  }

  /**
   * Acks a state digest (the one `stateDigest()` issued; fetched now when not given), which makes an
   * Accepted member Active. Signed body: the digest as the service issued it, as CCF's client sends it.
   */
  async ack(digest?: StateDigest): Promise<void> {
    const member = this.requireMember();
    const issued = digest ?? (await this.stateDigest());
    const body = { memberId: issued.memberId ?? member, stateDigest: issued.stateDigest };
    await this.write(`/gov/members/state-digests/${member}:ack`, utf8(JSON.stringify(body)));
  }

  // ---- service state

  async serviceInfo(): Promise<ServiceInfo> {
    return (await this.read('/gov/service/info')).json<ServiceInfo>();
  }

  async members(): Promise<MemberInfo[]> {
    return this.list<MemberInfo>('/gov/service/members');
  }

  async member(memberId: string): Promise<MemberInfo> {
    return (await this.read(`/gov/service/members/${checkId(memberId, 'member ID')}`)).json<MemberInfo>();
  }

  async users(): Promise<UserInfo[]> {
    return this.list<UserInfo>('/gov/service/users');
  }

  async user(userId: string): Promise<UserInfo> {
    return (await this.read(`/gov/service/users/${checkId(userId, 'user ID')}`)).json<UserInfo>();
  }

  async nodes(): Promise<NodeInfo[]> {
    return this.list<NodeInfo>('/gov/service/nodes');
  }

  async node(nodeId: string): Promise<NodeInfo> {
    return (await this.read(`/gov/service/nodes/${checkId(nodeId, 'node ID')}`)).json<NodeInfo>();
  }

  /** The constitution's JS text (CCF serves it as text/javascript; a JSON `{constitution}` is read too). */
  async constitution(): Promise<string> {
    const res = await this.read('/gov/service/constitution');
    if ((res.headers['content-type'] ?? '').includes('json')) {
      const body = res.json<{ constitution?: unknown } | string>();
      if (typeof body === 'string') return body;
      if (typeof body?.constitution === 'string') return body.constitution;
      throw new SynodProtocolError('service/constitution: the JSON answer holds no constitution');
    }
    return res.text();
  }

  async javascriptApp(): Promise<JavaScriptApp> {
    return (await this.read('/gov/service/javascript-app')).json<JavaScriptApp>();
  }

  async joinPolicy(): Promise<Record<string, unknown>> {
    return (await this.read('/gov/service/join-policy')).json<Record<string, unknown>>();
  }

  async jwk(): Promise<Record<string, unknown>> {
    return (await this.read('/gov/service/jwk')).json<Record<string, unknown>>();
  }

  // ---- plumbing

  /** `path?api-version=…` (keeping a query the path already has). */
  url(path: string): string {
    return `${path}${path.includes('?') ? '&' : '?'}api-version=${this.apiVersion}`;
  }

  private requireMember(): string {
    const id = this.memberId;
    if (id === undefined) throw invalid('this request is signed by a member: give the governance client a member identity (certificate and key)');
    return id;
  }

  private read(path: string): Promise<SynodResponse> {
    return this.client.get(this.url(path));
  }

  /** A signed POST: the body is the COSE_Sign1 payload (its bytes are what the member signs). */
  private write(path: string, payload: Uint8Array): Promise<SynodResponse> {
    this.requireMember();
    return this.client.post(this.url(path), payload);
  }

  /** A `{value: [...], nextLink?}` collection, following nextLink (same service, path and query only). */
  private async list<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = this.url(path);
    for (let page = 0; next !== undefined; page++) {
      if (page >= LIST_PAGES_MAX) throw new SynodProtocolError(`${path}: more than ${LIST_PAGES_MAX} pages`);
      const body: { value?: unknown; nextLink?: unknown } = (await this.client.get(next)).json();
      if (!Array.isArray(body?.value)) throw new SynodProtocolError(`${path}: the service did not answer {value: [...]}`);
      items.push(...(body.value as T[]));
      next = typeof body.nextLink === 'string' && body.nextLink.length > 0 ? nextPath(body.nextLink) : undefined;
    }
    return items;
  }
}

/** The path and query of a nextLink (absolute or relative): requests stay on the pinned service. */
function nextPath(link: string): string {
  const url = new URL(link, 'https://service.invalid');
  return `${url.pathname}${url.search}`;
}
