// ccf.crypto in the sandbox, cross-checked against node:crypto in both directions (what the sandbox
// signs or wraps, node verifies or unwraps, and the reverse), plus RFC 5649's AES-KWP vectors.

import {
  constants,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../kv/index.ts';
import { createEndorsedCertificate, createSelfSignedCertificate, idFromCertificate } from '../crypto/certs.ts';
import { generateKeyPair } from '../crypto/keys.ts';
import { loadJsApp, type JsApp } from './index.ts';
import { handlerBundle, makeRequest } from './testing.ts';

// The handler evaluates `body.code` with `input` in scope; hex() and unhex() convert ArrayBuffers.
const SOURCE = `
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s) => new Uint8Array(s.match(/../g) ?? []).map((_, i) => parseInt(s.slice(2 * i, 2 * i + 2), 16)).buffer;
export function handler(request) {
  const { code, input } = request.body.json();
  try {
    return { body: { value: (0, eval)('(input, hex, unhex) => ' + code)(input, hex, unhex) } };
  } catch (e) {
    return { body: { error: e.name + ': ' + e.message } };
  }
}`;

let app: JsApp;
beforeAll(async () => {
  app = await loadJsApp(handlerBundle(SOURCE));
});
afterAll(() => app.dispose());

function sandbox(code: string, input: unknown = null): unknown {
  const result = app.invoke(app.endpoints[0]!, makeRequest('POST', '/t', { body: { code, input } }), new Store().begin());
  if (!result.ok) throw result.error;
  const out = JSON.parse(new TextDecoder().decode(result.response.body)) as { value?: unknown; error?: string };
  if (out.error !== undefined) throw new Error(out.error);
  return out.value;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const data = randomBytes(100);

describe('ccf.crypto', () => {
  it('digest: SHA-256 as node computes it; other names refused as in CCF', () => {
    expect(sandbox("hex(ccf.crypto.digest('SHA-256', unhex(input)))", hex(data))).toBe(createHash('sha256').update(data).digest('hex'));
    expect(sandbox("hex(ccf.digest('SHA-256', new ArrayBuffer(0)))")).toBe(createHash('sha256').digest('hex'));
    expect(() => sandbox("ccf.crypto.digest('SHA-384', new ArrayBuffer(1))")).toThrow('RangeError: unsupported digest algorithm, supported: SHA-256');
  });

  it('generateAesKey gives random keys of the asked size', () => {
    expect(sandbox('[128, 192, 256].map((n) => ccf.crypto.generateAesKey(n).byteLength)')).toEqual([16, 24, 32]);
    expect(sandbox('hex(ccf.crypto.generateAesKey(256)) !== hex(ccf.crypto.generateAesKey(256))')).toBe(true);
    expect(() => sandbox('ccf.crypto.generateAesKey(100)')).toThrow('RangeError');
  });

  it.each([
    ['secp256r1', 'prime256v1', 64],
    ['secp384r1', 'secp384r1', 96],
  ])('ECDSA %s: sandbox signatures verify in node (P1363) and node signatures verify in the sandbox', (curve, nodeCurve, sigBytes) => {
    const pair = sandbox(`ccf.crypto.generateEcdsaKeyPair('${curve}')`) as { privateKey: string; publicKey: string };
    expect(pair.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPublicKey(pair.publicKey).asymmetricKeyDetails?.namedCurve).toBe(nodeCurve);
    const signature = Buffer.from(
      sandbox("hex(ccf.crypto.sign({ name: 'ECDSA', hash: 'SHA-256' }, input.key, unhex(input.data)))", { key: pair.privateKey, data: hex(data) }) as string,
      'hex',
    );
    expect(signature.length).toBe(sigBytes);
    expect(verify('sha256', data, { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    const nodeSignature = sign('sha256', data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    const check = "ccf.crypto.verifySignature({ name: 'ECDSA', hash: 'SHA-256' }, input.key, unhex(input.sig), unhex(input.data))";
    expect(sandbox(check, { key: pair.publicKey, sig: hex(nodeSignature), data: hex(data) })).toBe(true);
    expect(sandbox(check, { key: pair.publicKey, sig: hex(nodeSignature), data: hex(randomBytes(100)) })).toBe(false);
  });

  it('RSA-PSS with a salt length, both ways', () => {
    const pair = sandbox('ccf.crypto.generateRsaKeyPair(2048)') as { privateKey: string; publicKey: string };
    expect(createPublicKey(pair.publicKey).asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    const signature = Buffer.from(
      sandbox("hex(ccf.crypto.sign({ name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 }, input.key, unhex(input.data)))", { key: pair.privateKey, data: hex(data) }) as string,
      'hex',
    );
    expect(verify('sha256', data, { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)).toBe(true);
    const nodeSignature = sign('sha256', data, { key: pair.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    expect(
      sandbox("ccf.crypto.verifySignature({ name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 }, input.key, unhex(input.sig), unhex(input.data))", {
        key: pair.publicKey,
        sig: hex(nodeSignature),
        data: hex(data),
      }),
    ).toBe(true);
    expect(() => sandbox('ccf.crypto.generateRsaKeyPair(512)')).toThrow('RangeError');
  });

  it('EdDSA (Ed25519), both ways; x25519 pairs are key-agreement keys', () => {
    const pair = sandbox("ccf.crypto.generateEddsaKeyPair('curve25519')") as { privateKey: string; publicKey: string };
    const signature = Buffer.from(sandbox("hex(ccf.crypto.sign({ name: 'EdDSA' }, input.key, unhex(input.data)))", { key: pair.privateKey, data: hex(data) }) as string, 'hex');
    expect(verify(null, data, pair.publicKey, signature)).toBe(true);
    expect(sandbox("ccf.crypto.verifySignature({ name: 'EdDSA' }, input.key, unhex(input.sig), unhex(input.data))", { key: pair.publicKey, sig: hex(sign(null, data, pair.privateKey)), data: hex(data) })).toBe(true);
    const x = sandbox("ccf.crypto.generateEddsaKeyPair('x25519')") as { publicKey: string };
    expect(createPublicKey(x.publicKey).asymmetricKeyType).toBe('x25519');
  });

  it('HMAC keyed by the string argument, as node computes it', () => {
    const mac = sandbox("hex(ccf.crypto.sign({ name: 'HMAC', hash: 'SHA-384' }, 'the key', unhex(input)))", hex(data));
    expect(mac).toBe(createHmac('sha384', 'the key').update(data).digest('hex'));
  });

  it('verifies against a certificate as well as a public key', async () => {
    const keyPair = generateKeyPair('P-256');
    const certPem = await createSelfSignedCertificate(keyPair, { commonName: 'signer' });
    const signature = sign('sha256', data, { key: keyPair.privateKeyPem, dsaEncoding: 'ieee-p1363' });
    expect(sandbox("ccf.crypto.verifySignature({ name: 'ECDSA', hash: 'SHA-256' }, input.key, unhex(input.sig), unhex(input.data))", { key: certPem, sig: hex(signature), data: hex(data) })).toBe(true);
  });

  it('RSA-OAEP wrapping (SHA-256, optional label) interoperates with node', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const key = randomBytes(32);
    const label = Buffer.from('label');
    const wrapped = Buffer.from(
      sandbox("hex(ccf.crypto.wrapKey(unhex(input.key), ccf.strToBuf(input.pem), { name: 'RSA-OAEP', label: ccf.strToBuf('label') }))", { key: hex(key), pem: publicKey }) as string,
      'hex',
    );
    expect(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, wrapped)).toEqual(key);
    const nodeWrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
    expect(sandbox("hex(ccf.crypto.unwrapKey(unhex(input.w), ccf.strToBuf(input.pem), { name: 'RSA-OAEP' }))", { w: hex(nodeWrapped), pem: privateKey })).toBe(hex(key));
  });

  it('AES-KWP matches the RFC 5649 vectors and unwraps them', () => {
    const kek = '5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8';
    const vectors = [
      ['c37b7e6492584340bed12207808941155068f738', '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a'],
      ['466f7250617369', 'afbeb0f07dfbf5419200f2ccb50bb24f'],
    ];
    for (const [key, wrapped] of vectors) {
      expect(sandbox("hex(ccf.crypto.wrapKey(unhex(input.key), unhex(input.kek), { name: 'AES-KWP' }))", { key, kek })).toBe(wrapped);
      expect(sandbox("hex(ccf.crypto.unwrapKey(unhex(input.w), unhex(input.kek), { name: 'AES-KWP' }))", { w: wrapped, kek })).toBe(key);
    }
    expect(() => sandbox("ccf.crypto.unwrapKey(unhex('00'.repeat(16)), unhex(input), { name: 'AES-KWP' })", kek)).toThrow('InternalError: Failed to unwrap key');
  });

  it('RSA-OAEP-AES-KWP (CKM_RSA_AES_KEY_WRAP): RSA-wrapped ephemeral key then KWP, unwrapped by node', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const key = randomBytes(48);
    const wrapped = Buffer.from(
      sandbox("hex(ccf.crypto.wrapKey(unhex(input.key), ccf.strToBuf(input.pem), { name: 'RSA-OAEP-AES-KWP', aesKeySize: 256 }))", { key: hex(key), pem: publicKey }) as string,
      'hex',
    );
    const ephemeral = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped.subarray(0, 384));
    expect(ephemeral.length).toBe(32);
    const decipher = createDecipheriv('id-aes256-wrap-pad', ephemeral, Buffer.from('a65959a6', 'hex'));
    expect(Buffer.concat([decipher.update(wrapped.subarray(384)), decipher.final()])).toEqual(key);
    expect(sandbox("hex(ccf.crypto.unwrapKey(unhex(input.w), ccf.strToBuf(input.pem), { name: 'RSA-OAEP-AES-KWP' }))", { w: wrapped.toString('hex'), pem: privateKey })).toBe(hex(key));
  });

  it('PEM and JWK convert both ways like node, for EC, RSA and EdDSA keys', () => {
    const ec = sandbox("ccf.crypto.generateEcdsaKeyPair('secp256r1')") as { privateKey: string; publicKey: string };
    const jwk = sandbox("ccf.crypto.pubPemToJwk(input, 'my-kid')", ec.publicKey) as Record<string, string>;
    expect(jwk).toEqual({ ...createPublicKey(ec.publicKey).export({ format: 'jwk' }), kid: 'my-kid' });
    const privateJwk = sandbox('ccf.crypto.pemToJwk(input)', ec.privateKey) as Record<string, string>;
    expect(privateJwk.d).toBeDefined();
    expect(sandbox('ccf.crypto.jwkToPem(input)', privateJwk)).toBe(ec.privateKey);
    expect(sandbox('ccf.crypto.pubJwkToPem(input)', jwk)).toBe(ec.publicKey);
    const rsa = sandbox('ccf.crypto.generateRsaKeyPair(2048)') as { privateKey: string; publicKey: string };
    expect(sandbox('ccf.crypto.pubRsaJwkToPem(ccf.crypto.pubRsaPemToJwk(input))', rsa.publicKey)).toBe(rsa.publicKey);
    expect(sandbox('ccf.crypto.rsaJwkToPem(ccf.crypto.rsaPemToJwk(input))', rsa.privateKey)).toBe(rsa.privateKey);
    const ed = sandbox("ccf.crypto.generateEddsaKeyPair('curve25519')") as { privateKey: string; publicKey: string };
    expect(sandbox('ccf.crypto.pubEddsaPemToJwk(input).crv', ed.publicKey)).toBe('Ed25519');
    expect(sandbox('ccf.crypto.eddsaJwkToPem(ccf.crypto.eddsaPemToJwk(input))', ed.privateKey)).toBe(ed.privateKey);
    expect(() => sandbox('ccf.crypto.pubRsaPemToJwk(input)', ec.publicKey)).toThrow('not an RSA public key');
  });

  it('certificates: pemToId is CCF\'s identity, bundles and chains are checked', async () => {
    const rootKey = generateKeyPair('P-384');
    const rootPem = await createSelfSignedCertificate(rootKey, { commonName: 'root' });
    const leafKey = generateKeyPair('P-256');
    const leafPem = await createEndorsedCertificate(leafKey.publicKeyPem, { keyPair: rootKey, certPem: rootPem }, { commonName: 'leaf' });
    const otherPem = await createSelfSignedCertificate(generateKeyPair('P-256'), { commonName: 'other' });
    expect(sandbox('ccf.pemToId(input)', leafPem)).toBe(idFromCertificate(leafPem));
    expect(sandbox('ccf.crypto.isValidX509CertBundle(input)', leafPem + rootPem)).toBe(true);
    expect(sandbox('ccf.crypto.isValidX509CertBundle(input)', 'not a certificate')).toBe(false);
    const chain = 'ccf.crypto.isValidX509CertChain(input.chain, input.trusted)';
    expect(sandbox(chain, { chain: leafPem, trusted: rootPem })).toBe(true);
    expect(sandbox(chain, { chain: leafPem + rootPem, trusted: rootPem })).toBe(true);
    expect(sandbox(chain, { chain: leafPem, trusted: otherPem })).toBe(false);
    expect(sandbox(chain, { chain: otherPem, trusted: rootPem })).toBe(false);
  });
});
