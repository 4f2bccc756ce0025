// The snp_attestation global: verifySnpAttestation checks a real SEV-SNP report (CCF's conformance
// vector, Milan, pinned AMD root) and answers CCF's SnpAttestationResult with ArrayBuffer fields; an
// altered report, a wrong chain and the unsupported optional arguments throw in the sandbox.

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SNP_CONFORMANCE } from '../../test/helpers/conformance.ts';
import { parseSnpReport } from '../attestation/snp/report.ts';
import { Store } from '../kv/index.ts';
import { loadJsApp, type InvokeResult, type JsApp } from './index.ts';
import { handlerBundle, makeRequest } from './testing.ts';

const milanReport = new Uint8Array(readFileSync(`${SNP_CONFORMANCE}/milan-report.bin`));
const milanChain = readFileSync(`${SNP_CONFORMANCE}/milan-endorsements.pem`, 'utf8');
const genoaChain = readFileSync(`${SNP_CONFORMANCE}/genoa-endorsements.pem`, 'utf8');

const apps: JsApp[] = [];
afterAll(() => apps.forEach((a) => a.dispose()));

const source = `
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
export function handler(request) {
  const { report, chain, uvm, tcb } = request.body.json();
  const bytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16))).buffer;
  try {
    const r = snp_attestation.verifySnpAttestation(bytes(report), ccf.strToBuf(chain), uvm ? bytes('00') : undefined, tcb);
    const a = r.attestation;
    return { body: { ...a, measurement: hex(a.measurement), report_data: hex(a.report_data), chip_id: hex(a.chip_id),
      host_data: hex(a.host_data), family_id: hex(a.family_id), signature: { r: hex(a.signature.r), s: a.signature.s.byteLength },
      isBuffer: a.measurement instanceof ArrayBuffer } };
  } catch (e) {
    return { statusCode: 400, body: e.message };
  }
}`;

async function call(body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  if (apps.length === 0) apps.push(await loadJsApp(handlerBundle(source)));
  const app = apps[0]!;
  const endpoint = app.endpoints[0]!;
  const result: InvokeResult = app.invoke(endpoint, makeRequest(endpoint.method, '/t', { body }), new Store().begin(), {});
  if (!result.ok) throw result.error;
  const text = new TextDecoder().decode(result.response.body);
  return { status: result.response.status, body: result.response.status === 200 ? JSON.parse(text) : text };
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('snp_attestation.verifySnpAttestation', () => {
  it('verifies a Milan report and answers CCF\'s result, byte fields as ArrayBuffers', async () => {
    const parsed = parseSnpReport(milanReport);
    const { status, body } = await call({ report: hexOf(milanReport), chain: milanChain });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({
      version: parsed.version,
      guest_svn: parsed.guestSvn,
      vmpl: parsed.vmpl,
      signature_algo: parsed.signatureAlgorithm,
      measurement: hexOf(parsed.measurement),
      report_data: hexOf(parsed.reportData),
      host_data: hexOf(parsed.hostData),
      chip_id: hexOf(parsed.chipId),
      family_id: hexOf(parsed.familyId),
      policy: { smt: parsed.policy.smtAllowed ? 1 : 0, debug: parsed.policy.debugAllowed ? 1 : 0, migrate_ma: parsed.policy.migrationAgentAllowed ? 1 : 0 },
      flags: { signing_key: parsed.signingKey },
      current_major: parsed.currentFirmware.major,
      committed_build: parsed.committedFirmware.build,
      signature: { r: hexOf(parsed.signatureR), s: 72 },
      isBuffer: true,
    });
    expect(Object.keys(body.reported_tcb)).toEqual(['boot_loader', 'tee', 'snp', 'microcode']);
  });

  it('throws for an altered report, a chain from another product, and the unsupported optional arguments', async () => {
    const altered = milanReport.slice();
    altered[0x90] ^= 1;
    expect(await call({ report: hexOf(altered), chain: milanChain })).toMatchObject({ status: 400, body: expect.stringMatching(/^Failed to verify SNP attestation: SNP_/) });
    expect(await call({ report: hexOf(milanReport), chain: genoaChain })).toMatchObject({ status: 400, body: expect.stringMatching(/SNP_ROOT_OF_TRUST_MISMATCH/) });
    expect(await call({ report: hexOf(milanReport), chain: milanChain, uvm: true })).toMatchObject({ status: 400, body: expect.stringMatching(/uvm_endorsements are not supported/) });
    expect(await call({ report: hexOf(milanReport), chain: milanChain, tcb: 'x' })).toMatchObject({ status: 400, body: expect.stringMatching(/endorsed_tcb is not supported/) });
  });
});
