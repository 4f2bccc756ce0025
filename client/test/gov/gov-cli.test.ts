// `synod gov …` against the fake governance service: options and workspace defaults, --action/--args
// proposals, human tables and --json output. The real service is exercised in test/e2e/gov-client.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GovernanceClient, SynodHttpError, UsageError, certificateId } from '../../src/index.ts';
import { actionsFromArgs, govCommand } from '../../src/cli/gov-commands.ts';
import { FakeGovService } from '../helpers/fake-gov.ts';
import { serviceDir } from '../helpers/conformance.ts';
import { makeIdentity } from '../helpers/identities.ts';

const work = mkdtempSync(join(tmpdir(), 'synod-gov-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const service = makeIdentity('service');
const m0 = makeIdentity('member0');
const m1 = makeIdentity('member1', 'P-256');
const user = makeIdentity('user1');
const common = join(work, 'ws', 'sandbox_common');
mkdirSync(common, { recursive: true });
writeFileSync(join(common, 'service_cert.pem'), service.certPem);
writeFileSync(join(common, 'member0_cert.pem'), m0.certPem);
writeFileSync(join(common, 'member0_privk.pem'), m0.pkcs8Pem);
writeFileSync(join(common, 'member1_cert.pem'), m1.certPem);
writeFileSync(join(common, 'member1_privk.pem'), m1.keyPem);
writeFileSync(join(work, 'user1_cert.pem'), user.certPem);

function harness() {
  const fake = new FakeGovService([{ certPem: m0.certPem, status: 'Active' }, { certPem: m1.certPem, status: 'Active' }, { certPem: makeIdentity('m2').certPem, status: 'Active' }], service.certPem);
  const seen: string[] = [];
  const deps = {
    connect: (o: { url: string; serviceCert: string; member?: { certPem: string; keyPem?: string } }) => {
      seen.push(o.url);
      expect(o.serviceCert).toBe(service.certPem);
      return new GovernanceClient(fake.client(o.member ? { certPem: o.member.certPem, keyPem: o.member.keyPem! } : undefined));
    },
    env: {},
  };
  const run = async (argv: string[]) => {
    let stdout = '';
    const code = await govCommand([...argv, '--workspace', join(work, 'ws')], { stdout: (t) => (stdout += `${t}\n`) }, deps);
    return { code, stdout };
  };
  return { fake, run, seen };
}

describe('synod gov', () => {
  it('propose --action/--args --vote, vote --accept from another member, list and show (--json and tables)', async () => {
    const { fake, run, seen } = harness();
    const args = JSON.stringify({ cert: user.certPem });
    const proposed = await run(['propose', '--action', 'set_user', '--args', args, '--vote', '--json']);
    expect(proposed.code).toBe(0);
    const out = JSON.parse(proposed.stdout);
    expect(out).toMatchObject({ ok: true, proposal: { proposalState: 'Open', proposerId: certificateId(m0.certPem) }, vote: { proposalState: 'Open', ballotCount: 1 } });
    expect(seen[0]).toBe('https://127.0.0.1:8000');
    const id = out.proposal.proposalId as string;
    const voted = await run(['vote', id, '--accept', '--member-name', 'member1']);
    expect(voted.stdout).toMatch(/ballot submitted[\s\S]*state\s+Accepted[\s\S]*ballots\s+2/);
    const list = JSON.parse((await run(['list', '--json'])).stdout);
    expect(list.proposals).toEqual([expect.objectContaining({ proposalId: id, proposalState: 'Accepted', ballotCount: 2 })]);
    const table = (await run(['list'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^PROPOSAL\s+STATE\s+BALLOTS\s+PROPOSER$/);
    expect(table).toContain(`${id}  Accepted  2`);
    const show = JSON.parse((await run(['show', id, '--json'])).stdout);
    expect(show.actions).toEqual([{ name: 'set_user', args: { cert: user.certPem } }]);
    expect(show.proposal.finalVotes).toEqual({ [certificateId(m0.certPem)]: true, [certificateId(m1.certPem)]: true });
    const human = (await run(['show', id])).stdout;
    expect(human).toMatch(/actions:\n {2}set_user \{"cert":"-----BEGIN CERTIFICATE/);
    expect(fake.proposals.size).toBe(1);
  });

  it('propose from a file; --reject; withdraw; info tables; --server wins over the default', async () => {
    const { run, seen } = harness();
    const file = join(work, 'p.json');
    writeFileSync(file, JSON.stringify({ actions: [{ name: 'set_user', args: { cert: user.certPem } }] }));
    const { proposal } = JSON.parse((await run(['propose', file, '--json', '--server', 'https://10.0.0.1:9000'])).stdout);
    expect(seen[0]).toBe('https://10.0.0.1:9000');
    const rejected = JSON.parse((await run(['vote', proposal.proposalId, '--reject', '--json', '--member-name', 'member1'])).stdout);
    expect(rejected.proposal).toMatchObject({ proposalState: 'Open', ballotCount: 1 });
    const withdrawn = JSON.parse((await run(['withdraw', proposal.proposalId, '--json'])).stdout);
    expect(withdrawn.proposal.proposalState).toBe('Withdrawn');
    await expect(run(['vote', proposal.proposalId])).rejects.toMatchObject({ code: 'ProposalNotOpen' });
    const info = (await run(['info'])).stdout;
    expect(info).toMatch(/^service {3}Opening/);
    expect(info).toMatch(/MEMBER\s+STATUS\s+RECOVERY\n[0-9a-f]{64}\s+Active/);
    expect(info).toMatch(/NODE\s+STATUS\s+ADDRESS\n(ab){32}\s+Trusted\s+127\.0\.0\.1:8000\n(cd){32}\s+Pending\s+-/);
    const ack = JSON.parse((await run(['ack', '--json'])).stdout);
    expect(ack).toMatchObject({ ok: true, memberId: certificateId(m0.certPem), stateDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('usage errors: refused proposal is the service error; missing files and bad flags are usage errors', async () => {
    const { run } = harness();
    const refused = await run(['propose', '--action', 'frobnicate']).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SynodHttpError);
    expect((refused as SynodHttpError).message).toMatch(/ProposalFailedToValidate.*frobnicate: no such action/);
    await expect(run(['vote', 'ab', '--accept', '--reject'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['propose'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['propose', '--action', 'x', '--args', '{bad'])).rejects.toThrow(/not JSON/);
    await expect(run(['list', '--member-name', 'member9'])).resolves.toMatchObject({ code: 0 }); // reads need no member
    await expect(run(['ack', '--member-name', 'member9'])).rejects.toMatchObject({ code: 'CLIENT_IO' });
    await expect(run(['recovery-share', '--member-name', 'member9'])).rejects.toThrow(/cannot read member/); // no such member in the workspace
    await expect(run(['nonsense'])).rejects.toBeInstanceOf(UsageError);
    expect((await run(['--help'])).stdout).toMatch(/usage: synod gov/);
  });

  it('--action/--args pairs keep their order; an --args without its action is refused', () => {
    expect(actionsFromArgs(['--action', 'a', '--args', '{"x":1}', '--action=b', '--json', '--action', 'c', '--args={"y":2}'])).toEqual([
      { name: 'a', args: { x: 1 } },
      { name: 'b' },
      { name: 'c', args: { y: 2 } },
    ]);
    const bundle = { metadata: { endpoints: {} }, modules: [{ name: 'a.js', module: 'export const x = 1;' }] };
    writeFileSync(join(work, 'bundle.json'), JSON.stringify(bundle));
    writeFileSync(join(work, 'args.json'), JSON.stringify({ user_id: 'ab'.repeat(32) }));
    expect(actionsFromArgs(['--js-app', join(work, 'bundle.json'), '--action', 'remove_user', '--args', `@${join(work, 'args.json')}`])).toEqual([
      { name: 'set_js_app', args: { bundle, disable_bytecode_cache: false } },
      { name: 'remove_user', args: { user_id: 'ab'.repeat(32) } },
    ]);
    expect(() => actionsFromArgs(['--js-app', join(work, 'nowhere.json')])).toThrow(/cannot read bundle/);
    expect(() => actionsFromArgs(['--args', '{}', '--action', 'a'])).toThrow(/follows the --action/);
    expect(() => actionsFromArgs(['--action', 'a', '--args', '{}', '--args', '{}'])).toThrow(/follows the --action/);
  });

  it('history: a real CCF ledger offline — each proposal with its ballots, votes and outcome; --json', async () => {
    const dir = serviceDir('acme_containing_service');
    const args = ['history', join(dir, 'ledger'), '--service-cert', join(dir, 'common', 'service_cert.pem')];
    let human = '';
    expect(await govCommand(args, { stdout: (t) => (human += t) })).toBe(0);
    expect(human).toMatch(/audit passed, 22 entries, 3 \/ 3 member signatures verified/);
    expect(human).toMatch(/set_user, transition_service_to_open → Accepted at 2\.19/);
    expect(human).toMatch(/ballot by [0-9a-f]{16} at 2\.18: for\n {6}ballot by [0-9a-f]{16} at 2\.19: for/);
    let json = '';
    expect(await govCommand([...args, '--json'], { stdout: (t) => (json += t) })).toBe(0);
    const history = JSON.parse(json);
    expect(history).toMatchObject({ ok: true, failure: null });
    expect(history.proposals).toHaveLength(1);
    const [p] = history.proposals;
    expect(p).toMatchObject({ finalState: 'Accepted', actions: ['set_user', 'transition_service_to_open'] });
    expect(Object.values(p.votes)).toEqual([true, true]);
    expect(p.ballots.map((b: { member: string }) => b.member).sort()).toEqual(Object.keys(p.votes).sort());
  });
});
