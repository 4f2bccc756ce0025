// The join policy reads what the default constitution's trust actions write: a node whose measurement
// is not trusted cannot join; after members vote it in (add_virtual_measurement, add_snp_measurement,
// add_snp_host_data, set_snp_minimum_tcb_version) it can; after remove_*, it cannot again. At the KV
// level, with the real constitution and the real proposal machinery, no network.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeConstitution, resolveProposal } from '../../governance/constitution.ts';
import { defaultConstitution } from '../../governance/default-constitution.ts';
import { createProposal, submitBallot } from '../../governance/proposals.ts';
import { SNP_CONFORMANCE } from '../../test/helpers/conformance.ts';
import { Store, type Tx } from '../kv/index.ts';
import { Tables, UNIT_KEY, jsonBytes, utf8 } from '../enclave/tables.ts';
import { checkJoinEvidence } from './join-policy.ts';
import { produceVirtualNodeEvidence, virtualHostDataDefault } from './node-evidence.ts';
import { reportDataForPublicKey, type Evidence } from './platform.ts';
import { parseSnpReport } from './snp/report.ts';
import { createTestChain, editReport, signReport, type TestChain } from './snp/test-chain.ts';
import { errorCodeOf } from './test-helpers.ts';
import { trustOwnEvidence } from './trust-tables.ts';
import { encodeVirtualReport } from './virtual.ts';

const YES = 'export function vote(proposal, proposerId) { return true; }';
const members = ['a', 'b', 'c'].map((c) => c.repeat(64));
const codeOf = (action: () => unknown) => errorCodeOf(action, 'accepted');
const keyDer = () => new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }));

/** A service at genesis: the default constitution, three active members, the genesis node's evidence trusted. */
function genesis(): Store {
  const store = new Store();
  const tx = store.begin();
  writeConstitution(tx, defaultConstitution());
  for (const id of members) tx.map(Tables.memberInfo).set(utf8(id), jsonBytes({ status: 'Active' }));
  tx.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({ cert: 'x', status: 'Open' }));
  trustOwnEvidence(tx, produceVirtualNodeEvidence(keyDer()).evidence);
  store.commit(tx);
  return store;
}

let proposalCount = 0;
/** Proposes `actions`, all members vote yes, and the proposal must be Accepted. */
async function vote(store: Store, actions: Array<{ name: string; args: unknown }>): Promise<void> {
  const tx = store.begin();
  const id = `p${++proposalCount}`.padEnd(64, '0');
  expect(createProposal(tx, id, members[0]!, jsonBytes({ actions })).ok).toBe(true);
  for (const m of members) submitBallot(tx, id, m, YES);
  const { info } = await resolveProposal(tx, id);
  expect(info.state, JSON.stringify(info)).toBe('Accepted');
  store.commit(tx);
}

const join = (store: Store, evidence: Evidence, key: Uint8Array, options = {}): string => codeOf(() => checkJoinEvidence(store.begin() as Tx, evidence, key, options));

describe('joining after governance trusts the code', () => {
  it('virtual: an untrusted measurement cannot join; after a vote it can; after removal it cannot', async () => {
    const store = genesis();
    const key = keyDer();
    const newCode = 'ee'.repeat(32);
    const evidence: Evidence = { format: 'Insecure_Virtual', report: encodeVirtualReport({ measurement: newCode, hostData: virtualHostDataDefault, reportData: reportDataForPublicKey(key) }), endorsements: '' };
    // A node of the genesis node's code joins at once (genesis trusted it).
    expect(join(store, produceVirtualNodeEvidence(key).evidence, key)).toBe('accepted');
    expect(join(store, evidence, key)).toBe('VIRTUAL_MEASUREMENT_UNTRUSTED');
    await vote(store, [{ name: 'add_virtual_measurement', args: { measurement: newCode.toUpperCase() } }]);
    expect(join(store, evidence, key)).toBe('accepted');
    await vote(store, [{ name: 'remove_virtual_measurement', args: { measurement: newCode } }]);
    expect(join(store, evidence, key)).toBe('VIRTUAL_MEASUREMENT_UNTRUSTED');
  });

  it('virtual host data: untrusted until add_virtual_host_data', async () => {
    const store = genesis();
    const key = keyDer();
    const hostData = '12'.repeat(32);
    const evidence = produceVirtualNodeEvidence(key, hostData).evidence;
    expect(join(store, evidence, key)).toBe('VIRTUAL_HOST_DATA_UNTRUSTED');
    await vote(store, [{ name: 'add_virtual_host_data', args: { host_data: hostData } }]);
    expect(join(store, evidence, key)).toBe('accepted');
  });

  describe('SEV-SNP', () => {
    const milanReport = new Uint8Array(readFileSync(`${SNP_CONFORMANCE}/milan-report.bin`));
    const milan = parseSnpReport(milanReport);
    const milanTcb = { bootloader: 4, tee: 0, snp: 24, microcode: 219 };
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const now = new Date('2026-06-01T00:00:00Z');
    let chain: TestChain;
    beforeAll(() => {
      chain = createTestChain({ product: 'Milan', chipId: milan.chipId, tcb: milanTcb });
    });

    it('refused until members trust its measurement, host data and a minimum TCB for its CPUID; refused again when the minimum rises', async () => {
      const store = genesis();
      const key = keyDer();
      const evidence: Evidence = {
        format: 'AMD_SEV_SNP_v1',
        report: signReport(editReport(milanReport, { reportData: reportDataForPublicKey(key), reportedTcb: { tcb: milanTcb, product: 'Milan' } }), chain.vcekPrivateKey),
        endorsements: chain.endorsements,
      };
      const options = { now, trustedArks: [chain.trustedArk] };
      expect(join(store, evidence, key, options)).toBe('SNP_MEASUREMENT_UNTRUSTED');
      await vote(store, [{ name: 'add_snp_measurement', args: { measurement: hex(milan.measurement) } }]);
      expect(join(store, evidence, key, options)).toBe('SNP_HOST_DATA_UNTRUSTED');
      await vote(store, [{ name: 'add_snp_host_data', args: { host_data: hex(milan.hostData), security_policy: '' } }]);
      expect(join(store, evidence, key, options)).toBe('SNP_TCB_NO_MINIMUM');
      await vote(store, [{ name: 'set_snp_minimum_tcb_version', args: { cpuid: '00a00f11', tcb_version: { boot_loader: 4, tee: 0, snp: 24, microcode: 219 } } }]);
      expect(join(store, evidence, key, options)).toBe('accepted');
      await vote(store, [{ name: 'set_snp_minimum_tcb_version', args: { cpuid: '00a00f11', tcb_version: { boot_loader: 4, tee: 0, snp: 25, microcode: 219 } } }]);
      expect(join(store, evidence, key, options)).toBe('SNP_TCB_TOO_LOW');
      // And the report must still bind the joining node's own key.
      await vote(store, [{ name: 'set_snp_minimum_tcb_version', args: { cpuid: '00a00f11', tcb_version: { boot_loader: 0, tee: 0, snp: 0, microcode: 0 } } }]);
      expect(join(store, evidence, key, options)).toBe('accepted');
      expect(join(store, evidence, keyDer(), options)).toBe('SNP_REPORT_DATA_MISMATCH');
    });
  });
});
