import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { X509Certificate as NodeCertificate, createPublicKey } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  certificateDer,
  certificateDerToPem,
  certificatePublicKeyDer,
  createEndorsedCertificate,
  createIdentity,
  createSelfSignedCertificate,
  idFromCertificate,
  isEndorsedBy,
  nodeIdFromPublicKeyDer,
  VALIDITY_DAYS_MAX,
} from './certs.ts';
import { generateKeyPair, type KeyPair } from './keys.ts';
import { sha256, toHex } from './hash.ts';
import { CryptoError } from './errors.ts';
import { CCF_CONFORMANCE } from '../../test/helpers/conformance.ts';

const SERVICES = `${CCF_CONFORMANCE}/services`;

async function codeOf(action: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    return error instanceof CryptoError ? error.code : `not a CryptoError: ${String(error)}`;
  }
  return undefined;
}

interface Service {
  keyPair: KeyPair;
  certPem: string;
}

async function makeService(curve: 'P-256' | 'P-384' = 'P-384'): Promise<Service> {
  const keyPair = generateKeyPair(curve);
  return { keyPair, certPem: await createSelfSignedCertificate(keyPair, { commonName: 'CCF Network' }) };
}

async function makeNode(service: Service, ipAddresses = ['127.0.0.1']): Promise<{ keyPair: KeyPair; certPem: string }> {
  const keyPair = generateKeyPair('P-384');
  const certPem = await createEndorsedCertificate(keyPair.publicKeyPem, service, {
    commonName: 'CCF Node',
    ipAddresses,
    dnsNames: ['localhost'],
  });
  return { keyPair, certPem };
}

let service: Service;
let node: { keyPair: KeyPair; certPem: string };

beforeAll(async () => {
  service = await makeService();
  node = await makeNode(service, ['127.0.0.1', '::1']);
});

describe('createSelfSignedCertificate', () => {
  it('makes a CCF-style service certificate: CA:TRUE (critical), SKI = AKI, ECDSA-SHA384', () => {
    const cert = new x509.X509Certificate(service.certPem);
    expect(cert.subject).toBe('CN=CCF Network');
    expect(cert.issuer).toBe('CN=CCF Network');
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-384' } });
    const basic = cert.getExtension(x509.BasicConstraintsExtension)!;
    expect(basic.ca).toBe(true);
    expect(basic.critical).toBe(true);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(ski);
    expect(service.certPem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    expect(new NodeCertificate(service.certPem).ca).toBe(true);
    expect(isEndorsedBy(service.certPem, service.certPem)).toBe(true);
  });

  it('signs with SHA-256 for a P-256 key', async () => {
    const small = await makeService('P-256');
    const cert = new x509.X509Certificate(small.certPem);
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    expect(isEndorsedBy(small.certPem, small.certPem)).toBe(true);
  });

  it('honours notBefore and validityDays (inclusive end), and bounds validityDays', async () => {
    const notBefore = new Date('2024-01-02T03:04:05Z');
    const pem = await createSelfSignedCertificate(service.keyPair, { commonName: 'x', notBefore, validityDays: 2 });
    const cert = new NodeCertificate(pem);
    expect(new Date(cert.validFrom).toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2024-01-04T03:04:04.000Z');
    for (const validityDays of [0, -1, 1.5, VALIDITY_DAYS_MAX + 1]) {
      expect(await codeOf(() => createSelfSignedCertificate(service.keyPair, { commonName: 'x', validityDays }))).toBe(
        'CRYPTO_INVALID_ARGUMENT',
      );
    }
  });

  it('keeps a common name with commas and equals signs as one attribute', async () => {
    const pem = await createSelfSignedCertificate(service.keyPair, { commonName: 'a, O=evil, CN=b' });
    const cert = new x509.X509Certificate(pem);
    expect(cert.subjectName.getField('CN')).toEqual(['a, O=evil, CN=b']);
    expect(cert.subjectName.getField('O')).toEqual([]);
    expect(await codeOf(() => createSelfSignedCertificate(service.keyPair, { commonName: '' }))).toBe(
      'CRYPTO_INVALID_ARGUMENT',
    );
  });

  it('uses a fresh positive serial each time', async () => {
    const a = new NodeCertificate(await createSelfSignedCertificate(service.keyPair, { commonName: 'x' }));
    const b = new NodeCertificate(await createSelfSignedCertificate(service.keyPair, { commonName: 'x' }));
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
  });
});

describe('createEndorsedCertificate', () => {
  it('makes a node certificate issued by the service: CA:FALSE, AKI = service SKI, SANs', () => {
    const cert = new x509.X509Certificate(node.certPem);
    const serviceCert = new x509.X509Certificate(service.certPem);
    expect(cert.subject).toBe('CN=CCF Node');
    expect(cert.issuer).toBe(serviceCert.subject);
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-384' } });
    expect(cert.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(false);
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(
      serviceCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
    );
    const names = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
    expect(names).toEqual([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'dns', value: 'localhost' },
    ]);
    expect(certificatePublicKeyDer(node.certPem)).toEqual(node.keyPair.publicKeyDer);
  });

  it('is endorsed by its service and by nothing else', async () => {
    const other = await makeService();
    expect(isEndorsedBy(node.certPem, service.certPem)).toBe(true);
    expect(isEndorsedBy(node.certPem, other.certPem)).toBe(false);
    expect(isEndorsedBy(node.certPem, node.certPem)).toBe(false);
    expect(isEndorsedBy(service.certPem, node.certPem)).toBe(false);
    expect(isEndorsedBy('garbage', service.certPem)).toBe(false);
    expect(isEndorsedBy(node.certPem, 'garbage')).toBe(false);
  });

  it('signs with SHA-256 under a P-256 issuer, whatever the subject curve', async () => {
    const small = await makeService('P-256');
    const pem = await createEndorsedCertificate(generateKeyPair('P-384').publicKeyPem, small, { commonName: 'n' });
    expect(new x509.X509Certificate(pem).signatureAlgorithm).toMatchObject({ hash: { name: 'SHA-256' } });
    expect(isEndorsedBy(pem, small.certPem)).toBe(true);
  });

  it('refuses an issuer key that does not match the issuer certificate', async () => {
    const wrong = { keyPair: generateKeyPair('P-384'), certPem: service.certPem };
    expect(await codeOf(() => createEndorsedCertificate(node.keyPair.publicKeyPem, wrong, { commonName: 'n' }))).toBe(
      'CRYPTO_INVALID_ARGUMENT',
    );
  });

  it('rejects malformed addresses and keys', async () => {
    const key = node.keyPair.publicKeyPem;
    for (const ipAddresses of [['localhost'], ['1.2.3'], ['']]) {
      expect(await codeOf(() => createEndorsedCertificate(key, service, { commonName: 'n', ipAddresses }))).toBe(
        'CRYPTO_INVALID_ARGUMENT',
      );
    }
    expect(await codeOf(() => createEndorsedCertificate(key, service, { commonName: 'n', dnsNames: ['a b'] }))).toBe(
      'CRYPTO_INVALID_ARGUMENT',
    );
    expect(await codeOf(() => createEndorsedCertificate('nope', service, { commonName: 'n' }))).toBe(
      'CRYPTO_INVALID_KEY',
    );
  });
});

describe('identities and IDs', () => {
  it.each(['P-256', 'P-384'] as const)('createIdentity(%s) gives a self-signed certificate for its key', async (curve) => {
    const identity = await createIdentity('member0', curve);
    const cert = new NodeCertificate(identity.certPem);
    expect(cert.subject).toBe('CN=member0');
    expect(isEndorsedBy(identity.certPem, identity.certPem)).toBe(true);
    expect(certificatePublicKeyDer(identity.certPem)).toEqual(
      new Uint8Array(createPublicKey(identity.privateKeyPem).export({ format: 'der', type: 'spki' })),
    );
    expect(createPublicKey(identity.publicKeyPem).asymmetricKeyDetails?.namedCurve).toBe(
      curve === 'P-256' ? 'prime256v1' : 'secp384r1',
    );
  });

  it('IDs are SHA-256 of the DER (certificate for members, SPKI for nodes)', () => {
    const der = certificateDer(node.certPem);
    const body = node.certPem.replace(/-----[A-Z ]+-----|\s/g, '');
    expect(Buffer.from(der).toString('base64')).toBe(body);
    expect(idFromCertificate(node.certPem)).toBe(toHex(sha256(der)));
    expect(nodeIdFromPublicKeyDer(node.keyPair.publicKeyDer)).toBe(toHex(sha256(node.keyPair.publicKeyDer)));
    expect(certificateDerToPem(der)).toBe(node.certPem);
    expect(() => certificateDer('garbage')).toThrow(CryptoError);
  });

  // CCF stores members under their ID and nodes (with their endorsed certificates) under theirs, so
  // finding our IDs in CCF's own ledgers checks both ID rules and isEndorsedBy against real data.
  it.each(['acme_containing_service', 'cose_flipflop_service'])('agree with the IDs in CCF ledger %s', (name) => {
    const common = `${SERVICES}/${name}/common`;
    const chunk = readdirSync(`${SERVICES}/${name}/ledger`).find((file) => file.startsWith('ledger_1-'))!;
    const ledger = readFileSync(`${SERVICES}/${name}/ledger/${chunk}`).toString('latin1');
    const serviceCert = readFileSync(`${common}/service_cert.pem`, 'utf8');
    const memberCert = readFileSync(`${common}/member0_cert.pem`, 'utf8');
    expect(ledger.includes(idFromCertificate(memberCert))).toBe(true);
    expect(ledger.includes(toHex(sha256(certificatePublicKeyDer(memberCert))))).toBe(false);
    const pems = [...ledger.matchAll(/-----BEGIN CERTIFICATE-----\\n[A-Za-z0-9+/=\\n]+?-----END CERTIFICATE-----/g)]
      .map((match) => match[0].replaceAll('\\n', '\n'));
    const nodeCerts = pems.filter((pem) => ledger.includes(nodeIdFromPublicKeyDer(certificatePublicKeyDer(pem))));
    expect(nodeCerts.length).toBeGreaterThan(0);
    for (const pem of nodeCerts) {
      expect(isEndorsedBy(pem, serviceCert)).toBe(true);
      expect(isEndorsedBy(pem, memberCert)).toBe(false);
    }
  });
});

describe('TLS with these certificates', () => {
  let server: Server;
  let port: number;
  const user = { identity: undefined as unknown as Awaited<ReturnType<typeof createIdentity>> };

  beforeAll(async () => {
    user.identity = await createIdentity('user0', 'P-256');
    server = createServer(
      { cert: node.certPem, key: node.keyPair.privateKeyPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        // CCF accepts any client certificate at the TLS layer and authorizes it by ID afterwards.
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        const callerId = peer.raw === undefined ? 'none' : toHex(sha256(new Uint8Array(peer.raw)));
        res.end(callerId);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function get(options: { ca: string; cert?: string; key?: string }): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, ...options }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('a client pinning the service certificate reaches the node by IP', async () => {
    expect(await get({ ca: service.certPem })).toBe('none');
  });

  it('a client pinning a different service certificate is refused', async () => {
    const other = await makeService();
    await expect(get({ ca: other.certPem })).rejects.toThrow(/certificate|signature/i);
  });

  it('a self-signed user identity works as a client certificate, seen by its ID', async () => {
    const body = await get({ ca: service.certPem, cert: user.identity.certPem, key: user.identity.privateKeyPem });
    expect(body).toBe(idFromCertificate(user.identity.certPem));
  });

  it('an endorsed node certificate works as a client certificate', async () => {
    const peer = await makeNode(service);
    const body = await get({ ca: service.certPem, cert: peer.certPem, key: peer.keyPair.privateKeyPem });
    expect(body).toBe(idFromCertificate(peer.certPem));
  });
});
