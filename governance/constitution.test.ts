// The constitution in the sandbox: validate, ballots, strict-majority resolve, apply with host actions.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store, type Tx } from '../node/kv/index.ts';
import { createIdentity, idFromCertificate } from '../node/crypto/certs.ts';
import { Tables, UNIT_KEY, jsonBytes, parseJsonBytes, utf8 } from '../node/enclave/tables.ts';
import { JsTables } from '../node/enclave/jsapp.ts';
import { GovTables } from './tables.ts';
import { createProposal, readProposalInfo, submitBallot, withdrawProposal } from './proposals.ts';
import { GovTriggers, readConstitution, registerHostAction, resolveProposal, validateProposal, writeConstitution } from './constitution.ts';
import { generateTestKey, jwkOf } from '../node/enclave/auth/testing.ts';
import { defaultConstitution } from './default-constitution.ts';
import { handlerBundle } from '../node/js/testing.ts';
import { JwtTables } from '../node/enclave/auth/jwt.ts';

const YES = 'export function vote(proposal, proposerId) { return true; }';
const NO = 'export function vote(proposal, proposerId) { return false; }';
const members = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(64));
let userCert: string;

beforeAll(async () => {
  userCert = (await createIdentity('user0', 'P-256')).certPem;
});

let tx: Tx;
afterEach(() => undefined);

function setup(memberCount = 5, constitution = defaultConstitution()): Tx {
  const store = new Store();
  tx = store.begin();
  writeConstitution(tx, constitution);
  for (const id of members.slice(0, memberCount)) tx.map(Tables.memberInfo).set(utf8(id), jsonBytes({ status: 'Active' }));
  tx.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({ cert: 'x', status: 'Opening' }));
  return tx;
}

function propose(t: Tx, id: string, proposal: unknown): void {
  expect(createProposal(t, id, members[0]!, jsonBytes(proposal)).ok).toBe(true);
}

describe('default constitution', () => {
  it('a proposal reaches Accepted with a strict majority and applies (set_user through a host action)', async () => {
    const t = setup();
    const proposal = { actions: [{ name: 'set_user', args: { cert: userCert } }, { name: 'transition_service_to_open', args: {} }] };
    expect(await validateProposal(t, JSON.stringify(proposal))).toEqual({ valid: true, description: 'OK' });
    propose(t, 'p1', proposal);
    for (const m of members.slice(0, 3)) submitBallot(t, 'p1', m, YES);
    submitBallot(t, 'p1', members[3]!, NO);
    const { info, discardWrites } = await resolveProposal(t, 'p1');
    expect(discardWrites).toBe(false);
    expect(info.state).toBe('Accepted');
    expect(info.final_votes).toEqual({ [members[0]!]: true, [members[1]!]: true, [members[2]!]: true, [members[3]!]: false });
    const userId = idFromCertificate(userCert);
    expect(new TextDecoder().decode(t.map(Tables.userCerts).get(utf8(userId))!)).toBe(userCert);
    expect(parseJsonBytes(t.map(Tables.serviceInfo).get(UNIT_KEY)!)).toEqual({ cert: 'x', status: 'Open' });
  });

  it('one short of a strict majority stays Open and applies nothing; a majority against rejects', async () => {
    const t = setup(4); // strict majority of 4 is 3
    propose(t, 'p1', { actions: [{ name: 'set_user', args: { cert: userCert } }] });
    submitBallot(t, 'p1', members[0]!, YES);
    submitBallot(t, 'p1', members[1]!, YES);
    expect((await resolveProposal(t, 'p1')).info.state).toBe('Open');
    expect(t.map(Tables.userCerts).size).toBe(0);
    submitBallot(t, 'p1', members[2]!, NO);
    submitBallot(t, 'p1', members[3]!, NO);
    expect((await resolveProposal(t, 'p1')).info.state).toBe('Rejected');
  });

  it('a withdrawn proposal cannot be voted on or resolved', async () => {
    const t = setup();
    propose(t, 'p1', { actions: [{ name: 'remove_js_app', args: {} }] });
    withdrawProposal(t, 'p1', members[0]!);
    expect(submitBallot(t, 'p1', members[1]!, YES)).toMatchObject({ ok: false, code: 'ProposalNotOpen' });
    await expect(resolveProposal(t, 'p1')).rejects.toThrow(/Withdrawn, not Open/);
  });

  it('validate refuses an invalid action with its description', async () => {
    const t = setup();
    expect(await validateProposal(t, JSON.stringify({ actions: [{ name: 'set_user', args: { cert: 42 } }] }))).toEqual({
      valid: false, description: 'set_user at position 0 failed validation: cert must be of type string but is of type number',
    });
    expect(await validateProposal(t, JSON.stringify({ actions: [{ name: 'launch_missiles', args: {} }] }))).toMatchObject({ valid: false, description: 'launch_missiles: no such action' });
    expect(await validateProposal(t, 'not json')).toMatchObject({ valid: false });
  });

  it('a failing host action fails the proposal and leaves none of the apply\'s writes', async () => {
    const t = setup(1);
    propose(t, 'p1', { actions: [
      { name: 'set_user', args: { cert: userCert } },
      { name: 'set_js_app', args: { bundle: { metadata: {}, modules: [] } } },
    ] });
    submitBallot(t, 'p1', members[0]!, YES);
    const { info, discardWrites } = await resolveProposal(t, 'p1');
    expect(info.state).toBe('Failed');
    expect(info.failure?.reason).toMatch(/^Failed to apply\(\): set_js_app: /);
    expect(discardWrites).toBe(false);
    expect(t.map(JsTables.modules).size).toBe(0);
    expect(t.map(Tables.userCerts).size).toBe(0); // the first action's write went with the failed apply
    expect(readProposalInfo(t, 'p1')!.state).toBe('Failed');
  });

  it('a throwing apply fails the proposal; its map writes are dropped', async () => {
    const t = setup(1, `
      export function validate() { return { valid: true }; }
      export function resolve() { return 'Accepted'; }
      export function apply() { ccf.kv['public:ccf.gov.custom'].set(new ArrayBuffer(1), new ArrayBuffer(1)); throw new Error('boom'); }`);
    propose(t, 'p1', { actions: [] });
    const { info } = await resolveProposal(t, 'p1');
    expect(info).toMatchObject({ state: 'Failed', failure: { reason: 'Failed to apply(): Error: boom' } });
    expect(t.map('public:ccf.gov.custom').size).toBe(0);
  });

  it('set_constitution replaces the constitution and drops the other Open proposals', async () => {
    const t = setup(1);
    propose(t, 'other', { actions: [{ name: 'remove_js_app', args: {} }] });
    const replacement = defaultConstitution() + '\n// v2';
    propose(t, 'p1', { actions: [{ name: 'set_constitution', args: { constitution: replacement } }] });
    submitBallot(t, 'p1', members[0]!, YES);
    const { info, dropped } = await resolveProposal(t, 'p1');
    expect(info.state).toBe('Accepted');
    expect(dropped).toEqual(['other']);
    expect(readProposalInfo(t, 'other')!.state).toBe('Dropped');
    expect(readConstitution(t)).toBe(replacement);
  });

  it('a throwing ballot is a vote failure, not a vote', async () => {
    const t = setup(3);
    propose(t, 'p1', { actions: [{ name: 'remove_js_app', args: {} }] });
    submitBallot(t, 'p1', members[0]!, 'export function vote() { throw new Error("nope"); }');
    submitBallot(t, 'p1', members[1]!, YES);
    expect((await resolveProposal(t, 'p1')).info).not.toHaveProperty('vote_failures'); // while Open nothing is final
    submitBallot(t, 'p1', members[2]!, YES);
    const { info } = await resolveProposal(t, 'p1');
    expect(info.state).toBe('Accepted');
    expect(info.final_votes).toEqual({ [members[1]!]: true, [members[2]!]: true });
    expect(info.vote_failures?.[members[0]!]?.reason).toMatch(/nope/);
  });
});

describe('ballots are isolated', () => {
  it('a ballot that tampers with globals at load cannot sway resolve or another ballot', async () => {
    const t = setup(5);
    propose(t, 'p1', { actions: [{ name: 'remove_js_app', args: {} }] });
    const tampering = `
      Array.prototype.filter = function () { return [1, 2, 3, 4, 5]; };
      Math.floor = () => -1;
      Object.defineProperty(Object.prototype, 'vote', { get() { return true; }, configurable: true });
      globalThis.verdict = true;
      export function vote() { return true; }`;
    submitBallot(t, 'p1', members[0]!, tampering);
    submitBallot(t, 'p1', members[1]!, 'export function vote() { return globalThis.verdict === true; }');
    const { info } = await resolveProposal(t, 'p1');
    expect(info.state).toBe('Open'); // 1 of 5 in favour
    const again = await resolveProposal(t, 'p1');
    expect(again.info.state).toBe('Open');
    submitBallot(t, 'p1', members[2]!, NO);
    submitBallot(t, 'p1', members[3]!, NO);
    submitBallot(t, 'p1', members[4]!, NO);
    const final = await resolveProposal(t, 'p1');
    expect(final.info).toMatchObject({ state: 'Rejected', final_votes: { [members[0]!]: true, [members[1]!]: false } });
  });
});

describe('default constitution: every action applies', () => {
  it('set_member, set_js_app, set_js_runtime_options, set_jwt_issuer, then their removals', async () => {
    const t = setup(1);
    const memberCert = (await createIdentity('member9', 'P-384')).certPem;
    const memberId = idFromCertificate(memberCert);
    const userId = idFromCertificate(userCert);
    const run = async (id: string, actions: unknown[]) => {
      const proposal = JSON.stringify({ actions });
      expect(await validateProposal(t, proposal)).toMatchObject({ valid: true });
      propose(t, id, JSON.parse(proposal));
      submitBallot(t, id, members[0]!, YES);
      const { info } = await resolveProposal(t, id);
      expect(info.failure).toBeUndefined();
      expect(info.state).toBe('Accepted');
    };
    await run('p1', [
      { name: 'set_member', args: { cert: memberCert, member_data: { role: 'auditor' } } },
      { name: 'set_user', args: { cert: userCert } },
      { name: 'set_js_app', args: { bundle: handlerBundle('export function handler() { return { body: "hi" }; }') } },
      { name: 'set_js_runtime_options', args: { max_heap_bytes: 100 * 1024 * 1024, max_stack_bytes: 1024 * 1024, max_execution_time_ms: 1000 } },
      { name: 'set_jwt_issuer', args: { issuer: 'https://login.example.com' } },
    ]);
    expect(parseJsonBytes(t.map(Tables.memberInfo).get(utf8(memberId))!)).toEqual({ status: 'Accepted', member_data: { role: 'auditor' } });
    expect(t.map(JsTables.modules).size).toBe(1);
    expect(t.map(JsTables.runtimeOptions).size).toBe(1);
    expect(t.map(JwtTables.issuers).size).toBe(1);
    await run('p2', [
      { name: 'remove_member', args: { member_id: memberId } },
      { name: 'remove_user', args: { user_id: userId } },
      { name: 'remove_js_app', args: {} },
      { name: 'remove_jwt_issuer', args: { issuer: 'https://login.example.com' } },
    ]);
    expect(t.map(Tables.memberCerts).has(utf8(memberId))).toBe(false);
    expect(t.map(Tables.userCerts).has(utf8(userId))).toBe(false);
    expect(t.map(JsTables.modules).size).toBe(0);
    expect(t.map(JwtTables.issuers).size).toBe(0);
  });
});

describe('governance capability table', () => {
  const reading = (map: string) => `
    export function validate(input) { ccf.kv[${JSON.stringify(map)}].get(new ArrayBuffer(1)); return { valid: true }; }
    export function resolve() { return 'Accepted'; }
    export function apply() { ccf.kv[${JSON.stringify(map)}].set(new ArrayBuffer(1), new ArrayBuffer(1)); }`;

  it('a constitution that reads a private map, an app map or an internal map is denied', async () => {
    for (const map of ['private_records', 'public:records', 'ccf.gov.private_thing', 'public:ccf.internal.tree']) {
      const t = setup(1, reading(map));
      const result = await validateProposal(t, '{"actions":[]}');
      expect(result.valid).toBe(false);
      expect(result.description).toMatch(new RegExp(`Cannot call get on map '${map.replace(/[.]/g, '\\.')}': it is not accessible`));
    }
  });

  it('validate and ballots read public:ccf.gov.* but cannot write; apply can', async () => {
    const t = setup(1, reading('public:ccf.gov.custom'));
    expect(await validateProposal(t, '{"actions":[]}')).toEqual({ valid: true });
    propose(t, 'p1', { actions: [] });
    submitBallot(t, 'p1', members[0]!, 'export function vote() { ccf.kv["public:ccf.gov.custom"].set(new ArrayBuffer(1), new ArrayBuffer(1)); return true; }');
    const { info } = await resolveProposal(t, 'p1');
    expect(info.vote_failures?.[members[0]!]?.reason).toMatch(/read-only/);
    expect(info.state).toBe('Accepted');
    expect(t.map('public:ccf.gov.custom').size).toBe(1);
    expect(t.map(GovTables.proposalsInfo).size).toBe(1);
  });
});

describe('default constitution: node, trust, configuration and trigger actions', () => {
  const pass = async (t: Tx, id: string, actions: unknown[]) => {
    const proposal = JSON.stringify({ actions });
    expect(await validateProposal(t, proposal)).toMatchObject({ valid: true });
    propose(t, id, JSON.parse(proposal));
    submitBallot(t, id, members[0]!, YES);
    const { info } = await resolveProposal(t, id);
    return info;
  };
  const text = (raw: Uint8Array | undefined) => (raw === undefined ? undefined : new TextDecoder().decode(raw));

  it('write CCF\'s tables', async () => {
    const t = setup(1);
    const nodeId = 'ab'.repeat(32);
    const pending = 'cd'.repeat(32);
    t.map(Tables.nodesInfo).set(utf8(nodeId), jsonBytes({ cert: 'x', status: 'Pending', rpc_interfaces: {} }));
    t.map(Tables.nodesInfo).set(utf8(pending), jsonBytes({ cert: 'y', status: 'Pending', rpc_interfaces: {} }));
    t.map(Tables.serviceConfig).set(UNIT_KEY, jsonBytes({ recovery_threshold: 1 }));
    const userId = idFromCertificate(userCert);
    const key = generateTestKey('ES256', 'k1');
    const info = await pass(t, 'p1', [
      { name: 'set_user', args: { cert: userCert } },
      { name: 'set_user_data', args: { user_id: userId, user_data: { team: 'x' } } },
      { name: 'set_member_data', args: { member_id: members[0]!, member_data: { role: 'chair' } } },
      { name: 'transition_node_to_trusted', args: { node_id: nodeId, valid_from: '20240101000000Z' } },
      { name: 'set_node_data', args: { node_id: nodeId, node_data: { rack: 7 } } },
      { name: 'remove_node', args: { node_id: pending } },
      { name: 'add_virtual_measurement', args: { measurement: 'AA'.repeat(32) } },
      { name: 'add_virtual_host_data', args: { host_data: 'bb'.repeat(32) } },
      { name: 'add_snp_measurement', args: { measurement: 'cc'.repeat(48) } },
      { name: 'add_snp_host_data', args: { host_data: 'dd'.repeat(32) } },
      { name: 'set_snp_minimum_tcb_version', args: { cpuid: '00a00f11', tcb_version: { boot_loader: 3, tee: 0, snp: 8, microcode: 115 } } },
      { name: 'set_recovery_threshold', args: { recovery_threshold: 3 } },
      { name: 'set_service_configuration', args: { recent_cose_proposals_window_size: 42 } },
      { name: 'set_jwt_issuer', args: { issuer: 'https://idp.example.com' } },
      { name: 'set_jwt_public_signing_keys', args: { issuer: 'https://idp.example.com', jwks: { keys: [jwkOf(key)] } } },
      { name: 'set_ca_cert_bundle', args: { name: 'idp_ca', cert_bundle: userCert } },
      { name: 'trigger_ledger_rekey', args: {} },
      { name: 'trigger_recovery_shares_refresh', args: {} },
      { name: 'trigger_snapshot', args: {} },
    ]);
    expect(info.failure).toBeUndefined();
    expect(info.state).toBe('Accepted');
    expect(parseJsonBytes(t.map(Tables.userInfo).get(utf8(userId))!)).toEqual({ user_data: { team: 'x' } });
    expect(parseJsonBytes(t.map(Tables.memberInfo).get(utf8(members[0]!))!)).toMatchObject({ status: 'Active', member_data: { role: 'chair' } });
    expect(parseJsonBytes(t.map(Tables.nodesInfo).get(utf8(nodeId))!)).toMatchObject({ status: 'Trusted', node_data: { rack: 7 } });
    expect(t.map(Tables.nodesInfo).has(utf8(pending))).toBe(false); // a Pending node is removed outright
    expect(text(t.map('public:ccf.gov.nodes.virtual.measurements').get(utf8('aa'.repeat(32))))).toBe('"AllowedToJoin"');
    expect(t.map('public:ccf.gov.nodes.virtual.host_data').get(utf8('bb'.repeat(32)))).toEqual(new Uint8Array(8));
    expect(text(t.map('public:ccf.gov.nodes.snp.measurements').get(utf8('cc'.repeat(48))))).toBe('"AllowedToJoin"');
    expect(text(t.map('public:ccf.gov.nodes.snp.host_data').get(utf8('dd'.repeat(32))))).toBe('""');
    expect(parseJsonBytes(t.map('public:ccf.gov.nodes.snp.tcb_versions').get(utf8('00a00f11'))!)).toEqual({ boot_loader: 3, tee: 0, snp: 8, microcode: 115 });
    expect(parseJsonBytes(t.map(Tables.serviceConfig).get(UNIT_KEY)!)).toEqual({ recovery_threshold: 3, recent_cose_proposals_window_size: 42 });
    expect(t.map(JwtTables.publicSigningKeys).has(utf8('k1'))).toBe(true);
    expect(parseJsonBytes(t.map(Tables.caCertBundles).get(utf8('idp_ca'))!)).toBe(userCert);
    for (const trigger of GovTriggers.names) {
      expect(parseJsonBytes(t.map(GovTriggers.table).get(utf8(trigger))!)).toMatchObject({ proposal_id: 'p1' });
    }

    const removal = await pass(t, 'p2', [
      { name: 'remove_node', args: { node_id: nodeId } },
      { name: 'remove_virtual_measurement', args: { measurement: 'aa'.repeat(32) } },
      { name: 'remove_virtual_host_data', args: { host_data: 'bb'.repeat(32) } },
      { name: 'remove_snp_measurement', args: { measurement: 'cc'.repeat(48) } },
      { name: 'remove_snp_host_data', args: { host_data: 'dd'.repeat(32) } },
      { name: 'remove_snp_minimum_tcb_version', args: { cpuid: '00a00f11' } },
      { name: 'remove_ca_cert_bundle', args: { name: 'idp_ca' } },
      { name: 'set_service_recent_cose_proposals_window_size', args: { proposal_window_size: 43 } },
    ]);
    expect(removal.state).toBe('Accepted');
    expect(parseJsonBytes(t.map(Tables.nodesInfo).get(utf8(nodeId))!)).toMatchObject({ status: 'Retired' });
    for (const map of ['virtual.measurements', 'virtual.host_data', 'snp.measurements', 'snp.host_data', 'snp.tcb_versions']) {
      expect(t.map(`public:ccf.gov.nodes.${map}`).size, map).toBe(0);
    }
    expect(t.map(Tables.caCertBundles).size).toBe(0);
    expect(parseJsonBytes(t.map(Tables.serviceConfig).get(UNIT_KEY)!)).toMatchObject({ recent_cose_proposals_window_size: 43 });
  });

  it('adding a trusted measurement drops the other Open proposals', async () => {
    const t = setup(3);
    propose(t, 'other', { actions: [{ name: 'remove_js_app', args: {} }] });
    propose(t, 'p1', { actions: [{ name: 'add_snp_measurement', args: { measurement: 'ee'.repeat(48) } }] });
    for (const m of members.slice(0, 2)) submitBallot(t, 'p1', m, YES);
    expect((await resolveProposal(t, 'p1')).info.state).toBe('Accepted');
    expect(readProposalInfo(t, 'other')!.state).toBe('Dropped');
  });

  it('refuses bad arguments and impossible configurations', async () => {
    const t = setup(1);
    const invalid = async (action: unknown, description: RegExp) => {
      const v = await validateProposal(t, JSON.stringify({ actions: [action] }));
      expect(v.valid).toBe(false);
      expect(v.description).toMatch(description);
    };
    await invalid({ name: 'add_snp_measurement', args: { measurement: 'ab' } }, /48 bytes/);
    await invalid({ name: 'add_snp_host_data', args: { host_data: 'ab'.repeat(32), security_policy: 'policy' } }, /SHA-256 of security_policy/);
    await invalid({ name: 'set_recovery_threshold', args: { recovery_threshold: 255 } }, /at most 254/);
    await invalid({ name: 'set_service_configuration', args: { consensus: 'BFT' } }, /Cannot change consensus/);
    await invalid({ name: 'transition_node_to_trusted', args: { node_id: 'nope' } }, /node_id/);
    await invalid({ name: 'set_ca_cert_bundle', args: { name: 'x', cert_bundle: 'not a pem' } }, /X509/);
    // Open service, recovery threshold above the Active recovery members: apply fails.
    t.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({ cert: 'x', status: 'Open' }));
    t.map(Tables.serviceConfig).set(UNIT_KEY, jsonBytes({ recovery_threshold: 1 }));
    propose(t, 'p1', { actions: [{ name: 'set_recovery_threshold', args: { recovery_threshold: 2 } }] });
    submitBallot(t, 'p1', members[0]!, YES);
    const { info } = await resolveProposal(t, 'p1');
    expect(info).toMatchObject({ state: 'Failed', failure: { reason: expect.stringMatching(/greater than the number of recovery members 0/) } });
  });

  it('remove_member keeps enough Active recovery members for the threshold; registered host actions take over', async () => {
    const t = setup(1);
    t.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({ cert: 'x', status: 'Open' }));
    t.map(Tables.serviceConfig).set(UNIT_KEY, jsonBytes({ recovery_threshold: 1 }));
    t.map(Tables.memberEncryptionKeys).set(utf8(members[0]!), utf8('key'));
    propose(t, 'p1', { actions: [{ name: 'remove_member', args: { member_id: members[0]! } }] });
    submitBallot(t, 'p1', members[0]!, YES);
    const { info } = await resolveProposal(t, 'p1');
    expect(info.failure?.reason).toMatch(/would be less than recovery threshold/);
    expect(t.map(Tables.memberInfo).has(utf8(members[0]!))).toBe(true);

    const calls: unknown[] = [];
    registerHostAction('trigger_snapshot', (_tx, args) => calls.push(args));
    propose(t, 'p2', { actions: [{ name: 'trigger_snapshot', args: {} }] });
    submitBallot(t, 'p2', members[0]!, YES);
    expect((await resolveProposal(t, 'p2')).info.state).toBe('Accepted');
    expect(calls).toEqual([{ proposal_id: 'p2' }]);
  });
});
