import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SNP_CONFORMANCE } from '../../test/helpers/conformance.ts';
import { RpcError } from '../errors.ts';
import { Store, type Tx } from '../kv/index.ts';
import { AttestationError } from './errors.ts';
import { checkJoinEvidence, toJoinRpcError, type JoinPolicyOptions } from './join-policy.ts';
import { evidenceFromQuoteInfo, produceVirtualNodeEvidence, quoteInfoOf, virtualMeasurementOfThisCode } from './node-evidence.ts';
import { reportDataForPublicKey, type Evidence } from './platform.ts';
import { parseSnpReport } from './snp/report.ts';
import { createTestChain, editReport, signReport, type TestChain } from './snp/test-chain.ts';
import { errorCodeOf } from './test-helpers.ts';
import { TrustTables, decodeCpuidHex, encodeCpuidHex, trustOwnEvidence } from './trust-tables.ts';
import { encodeVirtualReport } from './virtual.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const json = (value: unknown) => utf8(JSON.stringify(value));
const allowed = json('AllowedToJoin');

function nodeKeyDer(): Uint8Array {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

/** Runs `body` in a transaction of a store where `setup` committed first. */
function withTables(setup: (tx: Tx) => void): Tx {
  const store = new Store();
  const tx = store.begin();
  setup(tx);
  store.commit(tx);
  return store.begin();
}

const codeOf = (action: () => unknown) => errorCodeOf(action, 'accepted');

describe('join policy: virtual evidence', () => {
  const key = nodeKeyDer();
  const own = produceVirtualNodeEvidence(key);
  const trustingOwn = () => withTables((tx) => trustOwnEvidence(tx, own.evidence));

  it('accepts a node of this code whose report binds its key, once its measurement and host data are trusted', () => {
    const result = checkJoinEvidence(trustingOwn(), own.evidence, key);
    expect(result).toMatchObject({ platform: 'virtual', secure: false, measurement: virtualMeasurementOfThisCode() });
  });

  it('accepts the same evidence after a trip through quote_info JSON', () => {
    const evidence = evidenceFromQuoteInfo(JSON.parse(JSON.stringify(quoteInfoOf(own.evidence))));
    expect(checkJoinEvidence(trustingOwn(), evidence, key).measurement).toBe(own.measurement);
  });

  it('refuses a report that binds another key (report data is SHA-256 of the node key DER)', () => {
    expect(codeOf(() => checkJoinEvidence(trustingOwn(), own.evidence, nodeKeyDer()))).toBe('VIRTUAL_REPORT_DATA_MISMATCH');
  });

  it('refuses a report whose report data is not bound to any key (all zero)', () => {
    const unbound: Evidence = {
      format: 'Insecure_Virtual',
      report: encodeVirtualReport({ measurement: own.measurement, hostData: JSON.parse(new TextDecoder().decode(own.evidence.report)).host_data, reportData: new Uint8Array(64) }),
      endorsements: '',
    };
    expect(codeOf(() => checkJoinEvidence(trustingOwn(), unbound, key))).toBe('VIRTUAL_REPORT_DATA_MISMATCH');
  });

  it('refuses an untrusted measurement, and accepts it after governance trusts it', () => {
    const other = 'ab'.repeat(32);
    const hostData = createHash('sha256').update('').digest('hex');
    const evidence: Evidence = { format: 'Insecure_Virtual', report: encodeVirtualReport({ measurement: other, hostData, reportData: reportDataForPublicKey(key) }), endorsements: '' };
    const store = new Store();
    const setup = store.begin();
    trustOwnEvidence(setup, own.evidence);
    store.commit(setup);
    expect(codeOf(() => checkJoinEvidence(store.begin(), evidence, key))).toBe('VIRTUAL_MEASUREMENT_UNTRUSTED');
    // What add_virtual_measurement-style governance writes.
    const vote = store.begin();
    vote.map(TrustTables.virtualMeasurements).set(utf8(other), allowed);
    store.commit(vote);
    expect(checkJoinEvidence(store.begin(), evidence, key).measurement).toBe(other);
  });

  it('refuses a measurement whose status is not AllowedToJoin', () => {
    const tx = withTables((t) => {
      trustOwnEvidence(t, own.evidence);
      t.map(TrustTables.virtualMeasurements).set(utf8(own.measurement), json('Retired'));
    });
    expect(codeOf(() => checkJoinEvidence(tx, own.evidence, key))).toBe('VIRTUAL_MEASUREMENT_UNTRUSTED');
  });

  it('refuses untrusted host data', () => {
    const tx = withTables((t) => {
      trustOwnEvidence(t, own.evidence);
      t.map(TrustTables.virtualHostData).clear();
    });
    expect(codeOf(() => checkJoinEvidence(tx, own.evidence, key))).toBe('VIRTUAL_HOST_DATA_UNTRUSTED');
  });

  it('refuses everything on an empty table, and virtual evidence outright when virtual is not allowed', () => {
    expect(codeOf(() => checkJoinEvidence(withTables(() => undefined), own.evidence, key))).toBe('VIRTUAL_MEASUREMENT_UNTRUSTED');
    const options: JoinPolicyOptions = { allowVirtual: false };
    expect(codeOf(() => checkJoinEvidence(trustingOwn(), own.evidence, key, options))).toBe('ATTESTATION_VIRTUAL_NOT_ALLOWED');
  });

  it('ignores malformed trusted entries instead of failing every join', () => {
    const tx = withTables((t) => {
      trustOwnEvidence(t, own.evidence);
      t.map(TrustTables.virtualMeasurements).set(utf8('not hex'), allowed);
    });
    expect(checkJoinEvidence(tx, own.evidence, key).platform).toBe('virtual');
  });

  it('turns refusals into 401s naming the reason, as CCF answers a join', () => {
    let caught: unknown;
    try {
      checkJoinEvidence(trustingOwn(), own.evidence, nodeKeyDer());
    } catch (error) {
      caught = error;
    }
    const rpc = toJoinRpcError(caught);
    expect(rpc).toBeInstanceOf(RpcError);
    expect(rpc).toMatchObject({ status: 401, details: { reason: 'VIRTUAL_REPORT_DATA_MISMATCH' } });
    expect((rpc as RpcError).message).toContain("Quote report data does not contain node's public key hash");
    const bug = new Error('bug');
    expect(toJoinRpcError(bug)).toBe(bug);
  });
});

describe('join policy: SEV-SNP evidence', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const milanReport = new Uint8Array(readFileSync(`${SNP_CONFORMANCE}/milan-report.bin`));
  const milanChain = readFileSync(`${SNP_CONFORMANCE}/milan-endorsements.pem`, 'utf8');
  const genoaReport = new Uint8Array(readFileSync(`${SNP_CONFORMANCE}/genoa-report.bin`));
  const genoaChain = readFileSync(`${SNP_CONFORMANCE}/genoa-endorsements.pem`, 'utf8');
  const milan = parseSnpReport(milanReport);
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  const milanTcb = { bootloader: 4, tee: 0, snp: 24, microcode: 219 };
  const milanCpuid = '00a00f11';

  function trustMilan(tx: Tx, tcb: Record<string, number> = { boot_loader: 4, tee: 0, snp: 24, microcode: 219 }): void {
    tx.map(TrustTables.snpMeasurements).set(utf8(hex(milan.measurement)), allowed);
    tx.map(TrustTables.snpHostData).set(utf8(hex(milan.hostData)), json(''));
    tx.map(TrustTables.snpTcbVersions).set(utf8(milanCpuid), json(tcb));
  }

  it('reads CCF CPUID hex as CCF does', () => {
    expect(decodeCpuidHex('00a00f11')).toEqual({ family: 0x19, model: 0x01, stepping: 1 });
    expect(decodeCpuidHex('00a10f11')).toEqual({ family: 0x19, model: 0x11, stepping: 1 });
    expect(decodeCpuidHex('00b00f11')).toEqual({ family: 0x1a, model: 0x01, stepping: 1 });
    expect(encodeCpuidHex({ family: 0x19, model: 0x11, stepping: 1 })).toBe('00a10f11');
    expect(milan.cpuid).toEqual(decodeCpuidHex(milanCpuid));
  });

  it('refuses the genuine Milan report for any real node key: its report data (zeros) does not bind the key', () => {
    const tx = withTables((t) => trustMilan(t));
    expect(codeOf(() => checkJoinEvidence(tx, { format: 'AMD_SEV_SNP_v1', report: milanReport, endorsements: milanChain }, nodeKeyDer(), { now }))).toBe('SNP_REPORT_DATA_MISMATCH');
  });

  it('refuses the genuine Genoa report whose measurement governance does not trust', () => {
    const tx = withTables((t) => trustMilan(t));
    expect(codeOf(() => checkJoinEvidence(tx, { format: 'AMD_SEV_SNP_v1', report: genoaReport, endorsements: genoaChain }, nodeKeyDer(), { now }))).toMatch(
      /SNP_(MEASUREMENT|HOST_DATA)_UNTRUSTED|SNP_REPORT_DATA_MISMATCH/,
    );
  });

  it('refuses a tampered genuine report (report data rewritten to the key, signature no longer valid)', () => {
    const key = nodeKeyDer();
    const tampered = editReport(milanReport, { reportData: reportDataForPublicKey(key) });
    const tx = withTables((t) => trustMilan(t));
    expect(codeOf(() => checkJoinEvidence(tx, { format: 'AMD_SEV_SNP_v1', report: tampered, endorsements: milanChain }, key, { now }))).toBe('SNP_SIGNATURE_INVALID');
  });

  describe('with a throwaway chain signing reports that bind a node key', () => {
    let chain: TestChain;
    const key = nodeKeyDer();
    beforeAll(() => {
      chain = createTestChain({ product: 'Milan', chipId: milan.chipId, tcb: milanTcb });
    });
    const evidenceFor = (edits: Parameters<typeof editReport>[1] = {}): Evidence => ({
      format: 'AMD_SEV_SNP_v1',
      report: signReport(editReport(milanReport, { reportData: reportDataForPublicKey(key), reportedTcb: { tcb: milanTcb, product: 'Milan' }, ...edits }), chain.vcekPrivateKey),
      endorsements: chain.endorsements,
    });
    const options = (): JoinPolicyOptions => ({ now, trustedArks: [chain.trustedArk] });

    it('accepts a report that binds the key, with trusted measurement, host data and TCB', () => {
      const result = checkJoinEvidence(withTables((t) => trustMilan(t)), evidenceFor(), key, options());
      expect(result).toMatchObject({ platform: 'snp', product: 'Milan', secure: true, measurement: hex(milan.measurement), tcb: milanTcb });
    });

    it('refuses when the report binds another key', () => {
      expect(codeOf(() => checkJoinEvidence(withTables((t) => trustMilan(t)), evidenceFor(), nodeKeyDer(), options()))).toBe('SNP_REPORT_DATA_MISMATCH');
    });

    it('refuses an untrusted measurement with a named reason', () => {
      const evidence = evidenceFor({ measurement: new Uint8Array(48).fill(9) });
      expect(codeOf(() => checkJoinEvidence(withTables((t) => trustMilan(t)), evidence, key, options()))).toBe('SNP_MEASUREMENT_UNTRUSTED');
    });

    it('refuses untrusted host data', () => {
      const evidence = evidenceFor({ hostData: new Uint8Array(32).fill(9) });
      expect(codeOf(() => checkJoinEvidence(withTables((t) => trustMilan(t)), evidence, key, options()))).toBe('SNP_HOST_DATA_UNTRUSTED');
    });

    it('refuses a TCB below the minimum for its CPUID, component by component', () => {
      for (const [component, value] of [['microcode', 220], ['snp', 25], ['boot_loader', 5], ['tee', 1]] as const) {
        const tx = withTables((t) => trustMilan(t, { boot_loader: 4, tee: 0, snp: 24, microcode: 219, [component]: value }));
        let caught: unknown;
        try {
          checkJoinEvidence(tx, evidenceFor(), key, options());
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(AttestationError);
        expect((caught as AttestationError).code).toBe('SNP_TCB_TOO_LOW');
        expect((caught as AttestationError).message).toContain(`(${component})`);
      }
      // At the minimum exactly: accepted.
      expect(checkJoinEvidence(withTables((t) => trustMilan(t)), evidenceFor(), key, options()).tcb).toEqual(milanTcb);
    });

    it('refuses a processor for which governance set no minimum TCB', () => {
      const tx = withTables((t) => {
        trustMilan(t);
        t.map(TrustTables.snpTcbVersions).delete(utf8(milanCpuid));
        t.map(TrustTables.snpTcbVersions).set(utf8('00a10f11'), json({ boot_loader: 0, tee: 0, snp: 0, microcode: 0 }));
      });
      expect(codeOf(() => checkJoinEvidence(tx, evidenceFor(), key, options()))).toBe('SNP_TCB_NO_MINIMUM');
    });

    it('refuses a minimum TCB with a component the report lacks (CCF: both or neither)', () => {
      const tx = withTables((t) => trustMilan(t, { boot_loader: 0, tee: 0, snp: 0, microcode: 0, fmc: 0 }));
      expect(codeOf(() => checkJoinEvidence(tx, evidenceFor(), key, options()))).toBe('SNP_TCB_TOO_LOW');
    });

    it('trusts its own SNP evidence at genesis: measurement, host data and its TCB as the minimum', () => {
      const evidence = evidenceFor();
      const tx = withTables((t) => trustOwnEvidence(t, evidence));
      expect(checkJoinEvidence(tx, evidence, key, options()).secure).toBe(true);
    });

    it('refuses SNP evidence when governance trusts only virtual measurements', () => {
      const tx = withTables((t) => trustOwnEvidence(t, produceVirtualNodeEvidence(key).evidence));
      expect(codeOf(() => checkJoinEvidence(tx, evidenceFor(), key, options()))).toBe('SNP_MEASUREMENT_UNTRUSTED');
    });
  });
});
