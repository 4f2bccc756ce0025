// Attestation end to end on a real node: /node/quotes/self and /node/quotes serve the genesis node's
// virtual quote in CCF's shapes, its report binds the key of the certificate the node presents over TLS,
// and `synod verify-service` accepts the service, and refuses it when a node's certificate, measurement
// or quote is not what its report says.

import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyServiceAttestation, type ServedNode, type ServedQuote } from '../../client/src/attestation/service.ts';
import { main } from '../../client/src/cli/main.ts';
import { fetchPeerCertificate } from '../../client/src/cli/verify-service.ts';
import { produceVirtualNodeEvidence, virtualMeasurementOfThisCode } from '../../node/attestation/node-evidence.ts';
import { createEndorsedCertificate, createSelfSignedCertificate } from '../../node/crypto/certs.ts';
import { generateKeyPair } from '../../node/crypto/keys.ts';
import { startTestNetwork, type TestNetwork } from '../helpers/network.ts';

let net: TestNetwork;
let measurementBefore: string;
let serviceCertFile: string;

beforeAll(async () => {
  measurementBefore = virtualMeasurementOfThisCode();
  net = await startTestNetwork({ signatureDelayMs: 5 });
  serviceCertFile = join(net.workspace, 'service_cert_copy.pem');
  writeFileSync(serviceCertFile, net.serviceCert);
});

afterAll(async () => {
  await net?.stop();
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

function address(): { host: string; port: number } {
  const [h, p] = net.node.status.rpcAddress.split(':');
  return { host: h!, port: Number(p) };
}

describe('quotes endpoints on a real node', () => {
  it('serves its own quote: virtual, binding the key of the certificate it presents', async () => {
    const res = await net.anonymous.get('/node/quotes/self');
    expect(res.status, res.text()).toBe(200);
    const quote = res.json();
    expect(Object.keys(quote).sort()).toEqual(['endorsements', 'format', 'measurement', 'node_id', 'raw']);
    expect(quote.format).toBe('Insecure_Virtual');
    expect(quote.endorsements).toBe('');
    const report = JSON.parse(Buffer.from(quote.raw, 'base64').toString('utf8'));
    expect(report.measurement).toBe(quote.measurement);
    // The same code measures the same, unless a file changed while the node started.
    if (virtualMeasurementOfThisCode() === measurementBefore) expect(quote.measurement).toBe(measurementBefore);

    const certPem = await fetchPeerCertificate(address(), net.serviceCert, 5000);
    const spki = new X509Certificate(certPem).publicKey.export({ format: 'der', type: 'spki' });
    const keyDigest = createHash('sha256').update(spki).digest();
    expect(quote.node_id).toBe(keyDigest.toString('hex'));
    expect(Buffer.from(report.report_data, 'base64')).toEqual(Buffer.concat([keyDigest, Buffer.alloc(32)]));
  });

  it('lists the quotes of every trusted node, the same as /node/attestations', async () => {
    const [self, quotes, attestations, nodes] = await Promise.all(
      ['/node/quotes/self', '/node/quotes', '/node/attestations', '/node/network/nodes'].map((path) => net.anonymous.get(path)),
    );
    expect(quotes!.status).toBe(200);
    expect(quotes!.json()).toEqual({ quotes: [self!.json()] });
    expect(attestations!.json()).toEqual({ attestations: [self!.json()] });
    expect(nodes!.json().nodes.map((n: { node_id: string }) => n.node_id)).toEqual([self!.json().node_id]);
  });
});

describe('synod verify-service', () => {
  it('accepts the network, and the expected measurement', async () => {
    const measurement = (await net.anonymous.get('/node/quotes/self')).json().measurement as string;
    const ok = await run(['verify-service', '--server', net.node.status.rpcAddress, '--service-cert', serviceCertFile, '--expect-measurement', measurement]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/virtual .*NO \(virtual\)\s+OK/);
    expect(ok.stdout).toContain('service attestation verified');

    const json = await run(['verify-service', '--server', `https://${net.node.status.rpcAddress}`, '--service-cert', serviceCertFile, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, nodes: [{ platform: 'virtual', secure: false, measurement, ok: true, problems: [] }] });
  });

  it('refuses an unexpected measurement, and virtual nodes when --require-secure', async () => {
    const other = await run(['verify-service', '--server', net.node.status.rpcAddress, '--service-cert', serviceCertFile, '--expect-measurement', 'ab'.repeat(32)]);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain('MEASUREMENT_NOT_EXPECTED');
    const secure = await run(['verify-service', '--server', net.node.status.rpcAddress, '--service-cert', serviceCertFile, '--require-secure', '--json']);
    expect(secure.code).toBe(1);
    expect(JSON.parse(secure.stdout).nodes[0].problems).toEqual([expect.stringMatching(/^NOT_SECURE/)]);
  });

  it('refuses a service certificate that did not endorse the node (TLS fails: an I/O error, exit 3)', async () => {
    const otherService = await createSelfSignedCertificate(generateKeyPair('P-384'), { commonName: 'Other Service', validityDays: 30 });
    const file = join(net.workspace, 'other_service.pem');
    writeFileSync(file, otherService);
    const res = await run(['verify-service', '--server', net.node.status.rpcAddress, '--service-cert', file]);
    expect(res.code).toBe(3);
  });

  it('usage errors exit 2; --help exits 0', async () => {
    const help = await run(['verify-service', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--expect-measurement');
    expect((await run(['verify-service', '--service-cert', serviceCertFile])).code).toBe(2);
    expect((await run(['verify-service', '--server', 'nohostport', '--service-cert', serviceCertFile])).code).toBe(2);
  });

  describe('the verifier, on what this node served, with one thing swapped', () => {
    let quotes: ServedQuote[];
    let nodes: ServedNode[];
    let certPem: string;
    beforeAll(async () => {
      quotes = (await net.anonymous.get('/node/quotes')).json().quotes;
      nodes = (await net.anonymous.get('/node/network/nodes')).json().nodes;
      certPem = await fetchPeerCertificate(address(), net.serviceCert, 5000);
    });
    const verify = (cert: string, q: ServedQuote[] = quotes, n: ServedNode[] = nodes) =>
      verifyServiceAttestation({ serviceCertPem: net.serviceCert, nodes: n, quotes: q, nodeCertificates: new Map([[n[0]!.node_id, cert]]) });

    it('accepts what the node served', () => {
      expect(verify(certPem)).toMatchObject({ ok: true, problems: [] });
    });

    it('refuses a node certificate for another key, not endorsed by the service', async () => {
      // Issued by a different service key: not endorsed.
      const otherServiceKey = generateKeyPair('P-384');
      const otherServiceCert = await createSelfSignedCertificate(otherServiceKey, { commonName: 'Other', validityDays: 30 });
      const strangerKey = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const notEndorsed = await createEndorsedCertificate(strangerKey, { keyPair: otherServiceKey, certPem: otherServiceCert }, { commonName: 'Synod Node', validityDays: 30 });
      const refused = verify(notEndorsed);
      expect(refused.ok).toBe(false);
      expect(refused.nodes[0]!.problems.join('\n')).toMatch(/NODE_CERT_NOT_ENDORSED/);
      expect(refused.nodes[0]!.problems.join('\n')).toMatch(/VIRTUAL_REPORT_DATA_MISMATCH/);
    });

    it('refuses a quote whose claimed measurement is not its report\'s, or a quote for another node', () => {
      const claimed = verify(certPem, [{ ...quotes[0]!, measurement: 'cd'.repeat(32) }]);
      expect(claimed.nodes[0]!.problems).toEqual([expect.stringMatching(/^MEASUREMENT_CLAIM_MISMATCH/)]);
      const missing = verify(certPem, [{ ...quotes[0]!, node_id: 'ef'.repeat(32) }]);
      expect(missing.ok).toBe(false);
      expect(missing.nodes[0]!.problems).toEqual([expect.stringMatching(/^NO_QUOTE/)]);
      expect(missing.problems).toEqual([expect.stringMatching(/^QUOTE_FOR_UNKNOWN_NODE/)]);
    });

    it('refuses a certificate the service did endorse, for a key other than the one the report binds', async () => {
      // A service of our own, so that we hold its key: the node's certificate swapped for another the
      // same service endorsed.
      const serviceKey = generateKeyPair('P-384');
      const serviceCert = await createSelfSignedCertificate(serviceKey, { commonName: 'Test Service', validityDays: 30 });
      const endorse = (keyPem: string) => createEndorsedCertificate(keyPem, { keyPair: serviceKey, certPem: serviceCert }, { commonName: 'Synod Node', validityDays: 30 });
      const nodeKey = generateKeyPair('P-384');
      const nodeId = createHash('sha256').update(nodeKey.publicKeyDer).digest('hex');
      const { quoteInfo, measurement } = produceVirtualNodeEvidence(nodeKey.publicKeyDer);
      const served: ServedQuote[] = [{ node_id: nodeId, raw: quoteInfo.quote, endorsements: quoteInfo.endorsements, format: quoteInfo.format, measurement }];
      const listed: ServedNode[] = [{ node_id: nodeId, status: 'Trusted' }];
      const check = (cert: string) => verifyServiceAttestation({ serviceCertPem: serviceCert, nodes: listed, quotes: served, nodeCertificates: new Map([[nodeId, cert]]) });
      expect(check(await endorse(nodeKey.publicKeyPem))).toMatchObject({ ok: true });
      const swapped = check(await endorse(generateKeyPair('P-384').publicKeyPem));
      expect(swapped.ok).toBe(false);
      expect(swapped.nodes[0]!.problems).toEqual([expect.stringMatching(/^NODE_ID_MISMATCH/), expect.stringMatching(/^VIRTUAL_REPORT_DATA_MISMATCH/)]);
    });

    it('refuses when the certificate cannot be had', () => {
      const res = verifyServiceAttestation({ serviceCertPem: net.serviceCert, nodes, quotes, nodeCertificates: new Map([[nodes[0]!.node_id, { error: 'unreachable' }]]) });
      expect(res.ok).toBe(false);
      expect(res.nodes[0]!.problems).toEqual(['NODE_CERT_UNAVAILABLE: unreachable']);
    });
  });
});
