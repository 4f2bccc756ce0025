// bootstrapService against the fake governance service (client/test/helpers/fake-gov.ts): acks, the
// opening proposal with the bundle, votes in member order until accepted, and a second run on an open
// service does nothing. The real node is exercised in test/e2e/gov-client.test.ts.
import { describe, expect, it } from 'vitest';
import { GovernanceClient, certificateId } from '../../client/src/index.ts';
import { FakeGovService } from '../../client/test/helpers/fake-gov.ts';
import { makeIdentity } from '../../client/test/helpers/identities.ts';
import { bootstrapService } from './bootstrap.ts';

const service = makeIdentity('service');
const members = [makeIdentity('member0'), makeIdentity('member1'), makeIdentity('member2')];
const bundle = { metadata: { endpoints: {} }, modules: [{ name: 'app.js', module: 'export function f() {}' }] };

describe('bootstrapService', () => {
  it('acks every member, proposes set_js_app + transition_service_to_open, votes until Accepted', async () => {
    const fake = new FakeGovService(members.map((m) => ({ certPem: m.certPem })), service.certPem);
    const connect = (m: { certPem: string; keyPem: string }) => new GovernanceClient(fake.client(m));
    const lines: string[] = [];
    const result = await bootstrapService({ nodeAddress: '127.0.0.1:8000', serviceCertPem: service.certPem, members, bundle, connect, log: (l) => lines.push(l) });
    expect(result.opened).toBe(true);
    expect(result.activated).toEqual(members.map((m) => certificateId(m.certPem)));
    expect(result.proposal).toMatchObject({ proposalState: 'Accepted', ballotCount: 2 });
    expect(fake.serviceStatus).toBe('Open');
    const [p] = fake.proposals.values();
    expect(JSON.parse(p!.body)).toEqual({
      actions: [
        { name: 'set_js_app', args: { bundle, disable_bytecode_cache: false } },
        { name: 'transition_service_to_open', args: { next_service_identity: service.certPem } },
      ],
    });
    expect([...p!.ballots.keys()]).toEqual(members.slice(0, 2).map((m) => certificateId(m.certPem)));
    expect(lines.at(-1)).toMatch(/voted for it: Accepted/);
    // Again on the open service: nothing proposed.
    const again = await bootstrapService({ nodeAddress: 'https://127.0.0.1:8000', serviceCertPem: service.certPem, members, bundle, connect });
    expect(again).toEqual({ opened: false, activated: [], proposal: undefined });
    expect(fake.proposals.size).toBe(1);
  });

  it('fails clearly when the opening is refused or a member is unknown', async () => {
    const fake = new FakeGovService(members.map((m) => ({ certPem: m.certPem })), service.certPem);
    fake.knownActions.delete('transition_service_to_open');
    const connect = (m: { certPem: string; keyPem: string }) => new GovernanceClient(fake.client(m));
    await expect(bootstrapService({ nodeAddress: '127.0.0.1:8000', serviceCertPem: service.certPem, members, connect })).rejects.toThrow(/opening proposal failed.*ProposalFailedToValidate/);
    const stranger = makeIdentity('stranger');
    await expect(bootstrapService({ nodeAddress: '127.0.0.1:8000', serviceCertPem: service.certPem, members: [stranger], connect })).rejects.toThrow(/not a member/);
  });
});
