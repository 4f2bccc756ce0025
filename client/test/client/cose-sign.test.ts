// COSE_Sign1-signed requests: what we produce is decoded and verified with the package's own COSE
// verifier (src/verify/cose.ts) and cross-checked with node:crypto; the protected header is CCF's
// (alg by curve, kid = caller ID as bytes, ccf.gov.msg.* for members, ccf.msg.* for users); any
// change to the signed request makes it fail to verify.
import { createPrivateKey, verify as nodeVerify, webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GovHeader,
  UserHeader,
  decodeCoseSign1,
  governanceHeadersForPath,
  loadIdentity,
  signCoseRequest,
  sigStructure,
  verifyCoseSign1,
  webCryptoSigner,
  certificateId,
  parsePrivateKeyPem,
} from '../../src/index.ts';
import { bytesToUtf8, utf8ToBytes } from '../../src/verify/encoding.ts';
import { makeIdentity } from '../helpers/identities.ts';

const member384 = makeIdentity('member0', 'P-384');
const user256 = makeIdentity('user0', 'P-256');
const body = utf8ToBytes(JSON.stringify({ actions: [{ name: 'set_user', args: { cert: user256.certPem } }] }));

describe('signCoseRequest', () => {
  it('a member proposal: ES384, kid = member ID bytes, governance headers, attached payload; verifies', async () => {
    const identity = loadIdentity({ certPem: member384.certPem, keyPem: member384.keyPem, role: 'member' });
    const signed = await signCoseRequest(identity, body, { msgType: 'proposal' }, 1_700_000_000);
    expect(signed[0]).toBe(0xd2); // tag 18
    const message = decodeCoseSign1(signed);
    const h = message.protectedHeader;
    expect(h.get(1)).toBe(-35);
    expect(bytesToUtf8(h.get(4) as Uint8Array)).toBe(certificateId(member384.certPem));
    expect(identity.id).toBe(certificateId(member384.certPem));
    expect(h.get(GovHeader.msgType)).toBe('proposal');
    expect(h.get(GovHeader.createdAt)).toBe(1_700_000_000);
    expect(h.has(GovHeader.proposalId)).toBe(false);
    expect([...h.keys()]).toHaveLength(4);
    expect(message.unprotectedHeader.size).toBe(0);
    expect(message.payload).toEqual(body);
    expect(verifyCoseSign1(message, identity.cert.publicKey)).toBe(true);
    // Independent check: node:crypto verifies the P1363 signature over the Sig_structure.
    const ok = nodeVerify('sha384', sigStructure(message.protectedBytes, body), { key: member384.certPem, dsaEncoding: 'ieee-p1363' }, message.signature);
    expect(ok).toBe(true);
  });

  it('a ballot carries the proposal ID; a ballot without one, or a proposal with one, is refused', async () => {
    const identity = loadIdentity({ certPem: member384.certPem, keyPem: member384.pkcs8Pem, role: 'member' });
    const message = decodeCoseSign1(await signCoseRequest(identity, body, { msgType: 'ballot', proposalId: 'abc123' }));
    expect(message.protectedHeader.get(GovHeader.proposalId)).toBe('abc123');
    expect(message.protectedHeader.get(GovHeader.msgType)).toBe('ballot');
    // created_at defaults to now, in seconds.
    const createdAt = message.protectedHeader.get(GovHeader.createdAt) as number;
    expect(Math.abs(createdAt - Date.now() / 1000)).toBeLessThan(60);
    await expect(signCoseRequest(identity, body, { msgType: 'ballot' })).rejects.toThrow(/proposalId is required/);
    await expect(signCoseRequest(identity, body, { msgType: 'proposal', proposalId: 'x' })).rejects.toThrow(/proposalId/);
    await expect(signCoseRequest(identity, body, {})).rejects.toThrow(/needs msgType/);
    await expect(signCoseRequest(identity, body, { msgType: 'vote' })).rejects.toThrow(/needs msgType/);
    await expect(signCoseRequest(identity, body, { msgType: 'proposal', createdAt: -1 })).rejects.toThrow(/createdAt/);
    await expect(signCoseRequest(identity, body, { msgType: 'proposal', createdAt: 1.5 })).rejects.toThrow(/createdAt/);
  });

  it('a user request: ES256 on P-256, ccf.msg.* headers, no governance names', async () => {
    const identity = loadIdentity({ certPem: user256.certPem, keyPem: user256.keyPem });
    expect(identity.role).toBe('user');
    const message = decodeCoseSign1(await signCoseRequest(identity, body, { msgType: 'log' }, 42));
    expect(message.protectedHeader.get(1)).toBe(-7);
    expect(message.protectedHeader.get(UserHeader.msgType)).toBe('log');
    expect(message.protectedHeader.get(UserHeader.createdAt)).toBe(42);
    expect([...message.protectedHeader.keys()].some((k) => String(k).startsWith('ccf.gov'))).toBe(false);
    expect(verifyCoseSign1(message, identity.cert.publicKey)).toBe(true);
    expect(nodeVerify('sha256', sigStructure(message.protectedBytes, body), { key: user256.certPem, dsaEncoding: 'ieee-p1363' }, message.signature)).toBe(true);
    await expect(signCoseRequest(identity, body, { proposalId: 'p' })).rejects.toThrow(/member identity/);
  });

  it('signs with a non-extractable WebCrypto key, verified on first use against the certificate', async () => {
    const pkcs8 = createPrivateKey(member384.keyPem).export({ type: 'pkcs8', format: 'der' });
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign']);
    const identity = loadIdentity({ certPem: member384.certPem, signer: webCryptoSigner(key as CryptoKey), role: 'member' });
    const message = decodeCoseSign1(await signCoseRequest(identity, new Uint8Array(0), { msgType: 'ack' }));
    expect(message.payload).toEqual(new Uint8Array(0));
    expect(verifyCoseSign1(message, identity.cert.publicKey)).toBe(true);
    // A signer whose key is not the certificate's is caught before anything is sent.
    const other = makeIdentity('other', 'P-384');
    const otherKey = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(other.keyPem).export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign']);
    const wrong = loadIdentity({ certPem: member384.certPem, signer: webCryptoSigner(otherKey as CryptoKey), role: 'member' });
    await expect(signCoseRequest(wrong, body, { msgType: 'proposal' })).rejects.toThrow(/does not verify with the identity's certificate/);
  });

  it('any change to a signed request (header, payload or signature byte) stops it verifying', async () => {
    const identity = loadIdentity({ certPem: user256.certPem, keyPem: user256.keyPem });
    const signed = await signCoseRequest(identity, body, { msgType: 'x' }, 7);
    expect(verifyCoseSign1(decodeCoseSign1(signed), identity.cert.publicKey)).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: signed.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        const copy = signed.slice();
        copy[index]! ^= mask;
        let ok: boolean;
        try {
          ok = verifyCoseSign1(decodeCoseSign1(copy), identity.cert.publicKey);
        } catch {
          ok = false; // no longer a COSE_Sign1 at all
        }
        expect(ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('identities', () => {
  it('refuses a key that is not the certificate’s, a key on another curve, and unreadable keys', () => {
    const other = makeIdentity('x', 'P-384');
    expect(() => loadIdentity({ certPem: member384.certPem, keyPem: other.keyPem })).toThrow(/does not belong to the certificate/);
    expect(() => loadIdentity({ certPem: member384.certPem, keyPem: user256.keyPem })).toThrow(/does not belong/);
    expect(() => loadIdentity({ certPem: member384.certPem, keyPem: 'hello' })).toThrow(/expected one "EC PRIVATE KEY" or "PRIVATE KEY"/);
    expect(() => loadIdentity({ certPem: 'nope', keyPem: member384.keyPem })).toThrow(/identity certificate/);
    expect(() => loadIdentity({ certPem: member384.certPem, role: 'admin' as never })).toThrow(/role/);
    const encrypted = createPrivateKey(member384.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(() => loadIdentity({ certPem: member384.certPem, keyPem: encrypted })).toThrow(/encrypted keys are not supported/);
  });

  it('reads SEC 1 and PKCS#8 keys on both curves to the same scalar node:crypto holds', () => {
    for (const curve of ['P-256', 'P-384'] as const) {
      const id = makeIdentity(`k-${curve}`, curve);
      const d = createPrivateKey(id.keyPem).export({ format: 'jwk' }).d!;
      for (const pem of [id.keyPem, id.pkcs8Pem]) {
        const key = parsePrivateKeyPem(pem);
        expect(key.curve).toBe(curve);
        expect(Buffer.from(key.scalar).toString('base64url')).toBe(d);
        expect(loadIdentity({ certPem: id.certPem, keyPem: pem }).signer?.curve).toBe(curve);
      }
    }
  });
});

describe('governanceHeadersForPath', () => {
  it.each([
    ['/gov/members/proposals:create?api-version=2024-07-01', { msgType: 'proposal' }],
    ['/gov/members/proposals/1a2b/ballots/ff00:submit', { msgType: 'ballot', proposalId: '1a2b' }],
    ['/gov/members/proposals/1a2b:withdraw', { msgType: 'withdrawal', proposalId: '1a2b' }],
    ['/gov/members/state-digests/ff00:update', { msgType: 'state_digest' }],
    ['/gov/members/state-digests/ff00:ack', { msgType: 'ack' }],
    ['/gov/recovery/members/ff00:recover', { msgType: 'recovery_share' }],
    ['/app/log/private', undefined],
  ])('%s', (path, expected) => {
    expect(governanceHeadersForPath(path)).toEqual(expected);
  });
});
