// The client's offline service verifier (client/src/attestation/service.ts) on SEV-SNP evidence: the
// genuine conformance reports and reports signed by a throwaway chain that bind a node's TLS key. Here,
// beside the throwaway chain it needs; the client itself imports nothing from node/ (checked below).

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyServiceAttestation, type ServedNode, type ServedQuote } from '../../client/src/attestation/service.ts';
import { SNP_CONFORMANCE } from '../../test/helpers/conformance.ts';
import { createEndorsedCertificate, createSelfSignedCertificate } from '../crypto/certs.ts';
import { generateKeyPair, type KeyPair } from '../crypto/keys.ts';
import { reportDataForPublicKey } from './platform.ts';
import { parseSnpReport } from './snp/report.ts';
import { createTestChain, editReport, signReport, type TestChain } from './snp/test-chain.ts';

// The conformance VCEKs are valid 2025–2032: a fixed clock, and certificates made valid from 2025.
const now = new Date('2026-06-01T00:00:00Z');
const notBefore = new Date('2025-01-01T00:00:00Z');
const milanReport = new Uint8Array(readFileSync(`${SNP_CONFORMANCE}/milan-report.bin`));
const milanChain = readFileSync(`${SNP_CONFORMANCE}/milan-endorsements.pem`, 'utf8');
const milan = parseSnpReport(milanReport);
const milanTcb = { bootloader: 4, tee: 0, snp: 24, microcode: 219 };
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('verify-service on SEV-SNP nodes', () => {
  let serviceKey: KeyPair;
  let serviceCert: string;
  let nodeKey: KeyPair;
  let nodeCert: string;
  let nodeId: string;
  let chain: TestChain;
  beforeAll(async () => {
    serviceKey = generateKeyPair('P-384');
    serviceCert = await createSelfSignedCertificate(serviceKey, { commonName: 'Service', notBefore, validityDays: 3650 });
    nodeKey = generateKeyPair('P-384');
    nodeCert = await createEndorsedCertificate(nodeKey.publicKeyPem, { keyPair: serviceKey, certPem: serviceCert }, { commonName: 'Node', notBefore, validityDays: 3650 });
    nodeId = createHash('sha256').update(nodeKey.publicKeyDer).digest('hex');
    chain = createTestChain({ product: 'Milan', chipId: milan.chipId, tcb: milanTcb });
  });

  const quoteOf = (report: Uint8Array, endorsements: string, measurement?: string): ServedQuote => ({
    node_id: nodeId,
    raw: Buffer.from(report).toString('base64'),
    endorsements: Buffer.from(endorsements).toString('base64'),
    format: 'AMD_SEV_SNP_v1',
    ...(measurement ? { measurement } : {}),
  });
  const nodes = (): ServedNode[] => [{ node_id: nodeId, status: 'Trusted' }];
  const boundReport = () => signReport(editReport(milanReport, { reportData: reportDataForPublicKey(nodeKey.publicKeyDer), reportedTcb: { tcb: milanTcb, product: 'Milan' } }), chain.vcekPrivateKey);

  it('accepts a node whose SNP report binds its endorsed certificate key (throwaway AMD root)', () => {
    const verdict = verifyServiceAttestation(
      { serviceCertPem: serviceCert, nodes: nodes(), quotes: [quoteOf(boundReport(), chain.endorsements, hex(milan.measurement))], nodeCertificates: new Map([[nodeId, nodeCert]]) },
      { now, trustedArks: [chain.trustedArk], expectMeasurements: [hex(milan.measurement)], requireSecure: true },
    );
    expect(verdict).toMatchObject({ ok: true, nodes: [{ platform: 'snp', product: 'Milan', secure: true, measurement: hex(milan.measurement), problems: [] }] });
  });

  it('refuses the same report under the pinned AMD roots (the throwaway root is not AMD)', () => {
    const verdict = verifyServiceAttestation(
      { serviceCertPem: serviceCert, nodes: nodes(), quotes: [quoteOf(boundReport(), chain.endorsements)], nodeCertificates: new Map([[nodeId, nodeCert]]) },
      { now },
    );
    expect(verdict.nodes[0]!.problems).toEqual([expect.stringMatching(/^SNP_ROOT_OF_TRUST_UNKNOWN/)]);
  });

  it('refuses the genuine Milan report for this node: genuine, but it binds no node key', () => {
    const verdict = verifyServiceAttestation(
      { serviceCertPem: serviceCert, nodes: nodes(), quotes: [quoteOf(milanReport, milanChain)], nodeCertificates: new Map([[nodeId, nodeCert]]) },
      { now },
    );
    expect(verdict.ok).toBe(false);
    expect(verdict.nodes[0]!.problems).toEqual([expect.stringMatching(/^SNP_REPORT_DATA_MISMATCH/)]);
  });

  it('refuses a node whose certificate was swapped for another key the service endorsed', async () => {
    const other = generateKeyPair('P-384');
    const swapped = await createEndorsedCertificate(other.publicKeyPem, { keyPair: serviceKey, certPem: serviceCert }, { commonName: 'Node', notBefore, validityDays: 3650 });
    const verdict = verifyServiceAttestation(
      { serviceCertPem: serviceCert, nodes: nodes(), quotes: [quoteOf(boundReport(), chain.endorsements)], nodeCertificates: new Map([[nodeId, swapped]]) },
      { now, trustedArks: [chain.trustedArk] },
    );
    expect(verdict.nodes[0]!.problems).toEqual([expect.stringMatching(/^NODE_ID_MISMATCH/), expect.stringMatching(/^SNP_REPORT_DATA_MISMATCH/)]);
  });
});

describe('the client verifies alone', () => {
  it('nothing under client/src/attestation or the verify-service command imports node/', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../client/src');
    const files = [
      ...readdirSync(join(root, 'attestation'), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
        .map((entry) => join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)),
      join(root, 'cli', 'verify-service.ts'),
    ];
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const imports = [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const specifier of imports) {
        if (!specifier.startsWith('.')) {
          expect(specifier, file).toMatch(/^node:/);
          continue;
        }
        const target = resolve(dirname(file), specifier);
        expect(target.startsWith(root), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });
});
