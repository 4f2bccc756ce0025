// A fake CCF governance service (the 2024-07-01 /gov API) as an in-memory transport: checks every
// signed request the way CCF does (COSE_Sign1 verifies with the member's certificate, kid is the
// member ID, ccf.gov.msg.type matches the endpoint, ballots and withdrawals name their proposal,
// api-version is given) and keeps members, proposals and ballots with CCF's answers and error codes.
// Resolution is strict majority of Active members (as the default constitution), without running JS
// ballots: a ballot "returns true" if its script contains `return true`.
import { sha256 } from '@noble/hashes/sha2.js';
import {
  GovHeader,
  SynodClient,
  certificateId,
  decodeCoseSign1,
  verifyCoseSign1,
  type Transport,
  type TransportOptions,
  type TransportRequest,
  type TransportResponse,
} from '../../src/index.ts';
import { HEADER_KID } from '../../src/verify/cose.ts';
import { bytesToHex } from '../../src/verify/encoding.ts';
import { parseCertificate } from '../../src/verify/x509.ts';

export interface FakeMember {
  certPem: string;
  status: 'Accepted' | 'Active';
}

interface FakeProposal {
  id: string;
  proposer: string;
  body: string;
  state: string;
  ballots: Map<string, string>;
  finalVotes?: Record<string, boolean>;
}

export class FakeGovService {
  readonly members = new Map<string, FakeMember>();
  readonly proposals = new Map<string, FakeProposal>();
  readonly requests: TransportRequest[] = [];
  readonly acks = new Map<string, string>();
  serviceStatus = 'Opening';
  /** Actions validate() accepts. */
  knownActions = new Set(['set_member', 'set_user', 'set_js_app', 'transition_service_to_open', 'remove_user']);
  private seqno = 10;

  constructor(members: Array<{ certPem: string; status?: 'Accepted' | 'Active' }>, readonly serviceCert: string) {
    for (const m of members) this.members.set(certificateId(m.certPem), { certPem: m.certPem, status: m.status ?? 'Accepted' });
  }

  /** A SynodClient factory's transport. */
  transport = (options: TransportOptions): Transport => ({
    presentsClientCertificate: options.clientCert !== undefined,
    request: async (req) => this.handle(req),
    close: () => {},
  });

  /** A SynodClient on this fake. */
  client(identity?: { certPem: string; keyPem: string }): SynodClient {
    return new SynodClient({
      url: 'https://127.0.0.1:8000',
      serviceCert: this.serviceCert,
      transport: this.transport,
      ...(identity ? { identity: { ...identity, role: 'member' as const }, auth: 'cose' as const } : {}),
    });
  }

  handle(req: TransportRequest): TransportResponse {
    this.requests.push(req);
    const url = new URL(req.path, 'https://x');
    if (url.pathname === '/app/tx') return json(200, { status: 'Committed', transaction_id: url.searchParams.get('transaction_id') });
    if (url.searchParams.get('api-version') !== '2024-07-01') return error(400, 'UnsupportedApiVersion', 'api-version=2024-07-01 is required');
    const path = url.pathname;
    try {
      if (req.method === 'GET') return this.get(path);
      if (req.method === 'POST') return this.post(path, req);
    } catch (e) {
      if (e instanceof Answer) return e.res;
      throw e;
    }
    return error(404, 'UnknownURLPath', path);
  }

  private get(path: string): TransportResponse {
    let m: RegExpExecArray | null;
    if (path === '/gov/service/info') return json(200, { status: this.serviceStatus, certificate: this.serviceCert, recoveryCount: 0, creationTransactionId: '2.1' });
    if (path === '/gov/service/members') {
      return json(200, { value: [...this.members].map(([memberId, mm]) => ({ memberId, status: mm.status, certificate: mm.certPem })) });
    }
    if (path === '/gov/service/nodes') return json(200, { value: [{ nodeId: 'ab'.repeat(32), status: 'Trusted', rpcInterfaces: { primary_rpc_interface: { publishedAddress: '127.0.0.1:8000' } } }], nextLink: '/gov/service/nodes2?api-version=2024-07-01' });
    if (path === '/gov/service/nodes2') return json(200, { value: [{ nodeId: 'cd'.repeat(32), status: 'Pending' }] });
    if (path === '/gov/service/constitution') return { status: 200, headers: { 'content-type': 'text/javascript' }, body: new TextEncoder().encode('export function validate() {}') };
    if (path === '/gov/service/javascript-app') return json(200, { endpoints: { '/log/private': { post: { jsModule: 'logging.js', jsFunction: 'post', mode: 'ReadWrite' } } } });
    if (path === '/gov/members/proposals') return json(200, { value: [...this.proposals.values()].map((p) => this.info(p)) });
    if ((m = /^\/gov\/members\/proposals\/([0-9a-f]+)$/.exec(path))) return json(200, this.info(this.proposal(m[1]!)));
    if ((m = /^\/gov\/members\/proposals\/([0-9a-f]+)\/actions$/.exec(path))) {
      return { status: 200, headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode(this.proposal(m[1]!).body) };
    }
    if ((m = /^\/gov\/members\/proposals\/([0-9a-f]+)\/ballots\/([0-9a-f]+)$/.exec(path))) {
      const script = this.proposal(m[1]!).ballots.get(m[2]!);
      if (script === undefined) return error(404, 'VoteNotFound', 'no ballot');
      return json(200, { script });
    }
    return error(404, 'UnknownURLPath', path);
  }

  private post(path: string, req: TransportRequest): TransportResponse {
    let m: RegExpExecArray | null;
    if (path === '/gov/members/proposals:create') {
      const { member, payload } = this.verify(req, 'proposal', true);
      let body: { actions?: Array<{ name?: string }> };
      try {
        body = JSON.parse(payload);
      } catch {
        return error(400, 'InvalidInput', 'not JSON');
      }
      const unknown = (body.actions ?? []).filter((a) => !this.knownActions.has(String(a.name)));
      if (!Array.isArray(body.actions) || unknown.length > 0) {
        return error(400, 'ProposalFailedToValidate', `Proposal failed to validate: ${unknown.map((a) => `${a.name}: no such action`).join(', ')}`);
      }
      const id = bytesToHex(sha256(req.body!));
      const p: FakeProposal = { id, proposer: member, body: payload, state: 'Open', ballots: new Map() };
      this.proposals.set(id, p);
      return this.write(this.info(p));
    }
    if ((m = /^\/gov\/members\/proposals\/([0-9a-f]+)\/ballots\/([0-9a-f]+):submit$/.exec(path))) {
      const { member, payload, proposalId } = this.verify(req, 'ballot', true);
      if (member !== m[2]) return error(400, 'InvalidAuthenticationInfo', 'member ID from path does not match the signature');
      if (proposalId !== m[1]) return error(400, 'InvalidAuthenticationInfo', 'proposal ID from path does not match the signed header');
      const p = this.proposal(m[1]!);
      if (p.state !== 'Open') return error(400, 'ProposalNotOpen', `Proposal ${p.id} is currently in state ${p.state} - only Open proposals can receive votes`);
      if (p.ballots.has(member)) return error(400, 'VoteAlreadyExists', 'Vote already submitted.');
      const ballot = JSON.parse(payload).ballot;
      if (typeof ballot !== 'string') return error(400, 'InvalidInput', 'Signed request body is not a JSON object containing required string field "ballot"');
      p.ballots.set(member, ballot);
      this.resolve(p);
      return this.write(this.info(p));
    }
    if ((m = /^\/gov\/members\/proposals\/([0-9a-f]+):withdraw$/.exec(path))) {
      const { member, proposalId } = this.verify(req, 'withdrawal', true);
      if (proposalId !== m[1]) return error(400, 'InvalidAuthenticationInfo', 'proposal ID mismatch');
      const p = this.proposals.get(m[1]!);
      if (!p) return { status: 204, headers: {}, body: new Uint8Array(0) };
      if (p.proposer !== member) return error(403, 'AuthorizationFailed', 'only the proposer may withdraw');
      if (p.state !== 'Open') return error(400, 'ProposalNotOpen', `Proposal ${p.id} is currently in state ${p.state} - only Open proposals can be withdrawn`);
      p.state = 'Withdrawn';
      return this.write(this.info(p));
    }
    if ((m = /^\/gov\/members\/state-digests\/([0-9a-f]+):update$/.exec(path))) {
      const { member } = this.verify(req, 'state_digest', false);
      if (member !== m[1]) return error(400, 'InvalidAuthenticationInfo', 'member mismatch');
      const digest = bytesToHex(sha256(new TextEncoder().encode(`root ${this.seqno}`)));
      this.acks.set(member, digest);
      return this.write({ memberId: member, stateDigest: digest });
    }
    if ((m = /^\/gov\/members\/state-digests\/([0-9a-f]+):ack$/.exec(path))) {
      const { member, payload } = this.verify(req, 'ack', false);
      if (member !== m[1]) return error(400, 'InvalidAuthenticationInfo', 'member mismatch');
      const expected = this.acks.get(member);
      if (expected === undefined) return error(403, 'AuthorizationFailed', `No ACK record exists for member ${member}.`);
      if (JSON.parse(payload).stateDigest !== expected) return error(400, 'StateDigestMismatch', 'Submitted state digest is not valid.');
      this.members.get(member)!.status = 'Active';
      this.seqno++;
      return { status: 204, headers: { 'x-ms-ccf-transaction-id': `2.${this.seqno}` }, body: new Uint8Array(0) };
    }
    return error(404, 'UnknownURLPath', path);
  }

  private verify(req: TransportRequest, msgType: string, active: boolean): { member: string; payload: string; proposalId: unknown } {
    if (req.headers['content-type'] !== 'application/cose') throw new Answer(error(415, 'UnsupportedContentType', 'application/cose expected'));
    const message = decodeCoseSign1(req.body!);
    const kid = message.protectedHeader.get(HEADER_KID);
    const member = kid instanceof Uint8Array ? new TextDecoder().decode(kid) : '';
    const record = this.members.get(member);
    if (!record) throw new Answer(error(401, 'InvalidAuthenticationInfo', 'unknown member'));
    if (!verifyCoseSign1(message, parseCertificate(record.certPem).publicKey)) throw new Answer(error(401, 'InvalidAuthenticationInfo', 'bad signature'));
    if (message.protectedHeader.get(GovHeader.msgType) !== msgType) throw new Answer(error(401, 'InvalidAuthenticationInfo', `expected ${msgType}`));
    if (typeof message.protectedHeader.get(GovHeader.createdAt) !== 'number') throw new Answer(error(401, 'InvalidAuthenticationInfo', 'no created_at'));
    if (active && record.status !== 'Active') throw new Answer(error(401, 'InvalidAuthenticationInfo', 'member is not Active'));
    return { member, payload: new TextDecoder().decode(message.payload ?? new Uint8Array(0)), proposalId: message.protectedHeader.get(GovHeader.proposalId) };
  }

  private proposal(id: string): FakeProposal {
    const p = this.proposals.get(id);
    if (!p) throw new Answer(error(404, 'ProposalNotFound', `Could not find proposal ${id}.`));
    return p;
  }

  private resolve(p: FakeProposal): void {
    const active = [...this.members.values()].filter((mm) => mm.status === 'Active').length;
    const votes = [...p.ballots].map(([member, script]) => [member, /return true/.test(script)] as const);
    const yes = votes.filter(([, v]) => v).length;
    const no = votes.length - yes;
    if (yes > Math.floor(active / 2)) p.state = 'Accepted';
    else if (active - no <= Math.floor(active / 2)) p.state = 'Rejected';
    if (p.state !== 'Open') {
      p.finalVotes = Object.fromEntries(votes);
      if (p.state === 'Accepted' && JSON.parse(p.body).actions.some((a: { name: string }) => a.name === 'transition_service_to_open')) this.serviceStatus = 'Open';
    }
  }

  private info(p: FakeProposal): Record<string, unknown> {
    return { proposalId: p.id, proposerId: p.proposer, proposalState: p.state, ballotCount: p.ballots.size, ...(p.finalVotes ? { finalVotes: p.finalVotes } : {}) };
  }

  private write(body: unknown): TransportResponse {
    this.seqno++;
    return json(200, body, { 'x-ms-ccf-transaction-id': `2.${this.seqno}` });
  }
}

class Answer extends Error {
  constructor(readonly res: TransportResponse) {
    super('answer');
  }
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): TransportResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: new TextEncoder().encode(JSON.stringify(value)) };
}

function error(status: number, code: string, message: string): TransportResponse {
  return json(status, { error: { code, message } });
}
