// Governance request verification, replay protection, history record and proposal IDs.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../node/kv/index.ts';
import { UNIT_KEY, jsonBytes, parseJsonBytes, utf8 } from '../node/enclave/tables.ts';
import { GovTables } from './tables.ts';
import { sha256, checkAndRecordProposalReplay, proposalIdFor, recordGovernanceRequest, verifyGovernanceRequest, type GovRequest } from './requests.ts';
import { createMember, registerMember, storeWith, type TestMember } from './testing.ts';

const COSE = 'application/cose';
const proposal = { actions: [{ name: 'set_user', args: { cert: 'x' } }] };

let alice: TestMember;
let bob: TestMember;
let carol: TestMember;
let store: Store;

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([createMember('alice'), createMember('bob', 'P-256'), createMember('carol')]);
  store = storeWith((tx) => {
    registerMember(tx, alice);
    registerMember(tx, bob, 'Accepted');
  });
});

function verified(outcome: ReturnType<typeof verifyGovernanceRequest>): GovRequest {
  expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  return outcome as GovRequest;
}

describe('verifyGovernanceRequest', () => {
  it('accepts an Active member\'s proposal and exposes its headers and payload', async () => {
    const body = await alice.sign(proposal, { msgType: 'proposal', createdAt: 1_700_000_001 });
    const request = verified(verifyGovernanceRequest(store.begin(), COSE, body, { msgType: 'proposal' }));
    expect(request.memberId).toBe(alice.id);
    expect(request.createdAt).toBe(1_700_000_001);
    expect(parseJsonBytes(request.content)).toEqual(proposal);
  });

  it('refuses the wrong message type, a proposal ID other than the path\'s, and another member\'s path', async () => {
    const ballot = await alice.sign({ ballot: 'x' }, { msgType: 'ballot', proposalId: 'p1' });
    expect(verifyGovernanceRequest(store.begin(), COSE, ballot, { msgType: 'proposal' })).toMatchObject({ ok: false, code: 'InvalidCoseHeader', status: 400 });
    expect(verifyGovernanceRequest(store.begin(), COSE, ballot, { msgType: 'ballot', proposalId: 'p2' })).toMatchObject({ ok: false, code: 'InvalidCoseHeader' });
    expect(verifyGovernanceRequest(store.begin(), COSE, ballot, { msgType: 'ballot', proposalId: 'p1', memberId: bob.id })).toMatchObject({ ok: false, code: 'InvalidAuthenticationInfo', status: 401 });
    verified(verifyGovernanceRequest(store.begin(), COSE, ballot, { msgType: 'ballot', proposalId: 'p1', memberId: alice.id }));
  });

  it('refuses an unregistered member and a tampered signature (401), an Accepted member\'s proposal (403) but not its ack', async () => {
    const stranger = await carol.sign(proposal, { msgType: 'proposal' });
    expect(verifyGovernanceRequest(store.begin(), COSE, stranger, { msgType: 'proposal' })).toMatchObject({ ok: false, code: 'InvalidAuthenticationInfo', status: 401 });
    const tampered = (await alice.sign(proposal, { msgType: 'proposal' })).slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(verifyGovernanceRequest(store.begin(), COSE, tampered, { msgType: 'proposal' })).toMatchObject({ ok: false, code: 'InvalidAuthenticationInfo' });
    const fromBob = await bob.sign(proposal, { msgType: 'proposal' });
    expect(verifyGovernanceRequest(store.begin(), COSE, fromBob, { msgType: 'proposal' })).toMatchObject({ ok: false, code: 'MemberNotActive', status: 403 });
    const ack = await bob.sign({ state_digest: 'ab' }, { msgType: 'ack' });
    verified(verifyGovernanceRequest(store.begin(), COSE, ack, { msgType: 'ack', memberId: bob.id }));
  });
});

describe('replay protection and history', () => {
  it('refuses a repeat of the same signed proposal, and records it in cose_history', async () => {
    const s = storeWith((tx) => registerMember(tx, alice));
    const body = await alice.sign(proposal, { msgType: 'proposal', createdAt: 1_700_000_100 });
    const tx = s.begin();
    const request = verified(verifyGovernanceRequest(tx, COSE, body, { msgType: 'proposal' }));
    const id = proposalIdFor(request, new Uint8Array(32));
    expect(checkAndRecordProposalReplay(tx, request, id)).toEqual({ ok: true });
    recordGovernanceRequest(tx, request);
    expect(s.commit(tx).ok).toBe(true);
    const key = `1700000100:${Buffer.from(sha256(request.signature)).toString('hex')}`;
    expect(parseJsonBytes(s.begin().map(GovTables.coseRecentProposals).get(utf8(key))!)).toBe(id);
    expect(Buffer.from(parseJsonBytes<string>(s.begin().map(GovTables.coseHistory).get(utf8(alice.id))!), 'base64')).toEqual(Buffer.from(body));

    const again = s.begin();
    const repeat = verified(verifyGovernanceRequest(again, COSE, body, { msgType: 'proposal' }));
    const refusal = checkAndRecordProposalReplay(again, repeat, proposalIdFor(repeat, new Uint8Array(32).fill(1)));
    expect(refusal).toMatchObject({ ok: false, code: 'ProposalReplay', status: 400 });
    expect((refusal as { message: string }).message).toContain(id);
  });

  it('refuses a created_at older than the median kept (CCF\'s rule), and keeps only the window', async () => {
    const s = storeWith((tx) => {
      registerMember(tx, alice);
      tx.map(GovTables.serviceConfig).set(UNIT_KEY, jsonBytes({ recent_cose_proposals_window_size: 3 }));
    });
    let n = 0;
    const submit = async (createdAt: number) => {
      const body = await alice.sign({ actions: [], n: n++ }, { msgType: 'proposal', createdAt });
      const tx = s.begin();
      const request = verified(verifyGovernanceRequest(tx, COSE, body, { msgType: 'proposal' }));
      const outcome = checkAndRecordProposalReplay(tx, request, proposalIdFor(request, new Uint8Array(32)));
      if (outcome.ok) expect(s.commit(tx).ok).toBe(true);
      return outcome;
    };
    for (const t of [100, 200, 300]) expect(await submit(t)).toEqual({ ok: true });
    expect(await submit(150)).toMatchObject({ ok: false, code: 'ProposalCreatedTooLongAgo' }); // median of 100, 200, 300 is 200
    expect(await submit(200)).toEqual({ ok: true }); // not older than the median
    expect(s.begin().map(GovTables.coseRecentProposals).size).toBe(3); // 100 trimmed: 200, 200, 300
    expect(await submit(100)).toMatchObject({ ok: false, code: 'ProposalCreatedTooLongAgo' });
  });

  it('derives different proposal IDs for the same body at different positions', async () => {
    const body = await alice.sign(proposal, { msgType: 'proposal' });
    const request = verified(verifyGovernanceRequest(store.begin(), COSE, body, { msgType: 'proposal' }));
    const root = new Uint8Array(32).fill(3);
    const a = proposalIdFor(request, root);
    expect(a).toBe(Buffer.from(sha256(root, sha256(request.signature))).toString('hex'));
    expect(proposalIdFor(request, new Uint8Array(32).fill(7))).not.toBe(a);
    expect(() => proposalIdFor(request, new Uint8Array(31))).toThrow(RangeError);
  });
});
