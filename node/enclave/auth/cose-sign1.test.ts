// COSE_Sign1-signed user and member requests: signed by the client library (an independent
// implementation on @noble/curves) and by a minimal signer here; every refusal with its own code.

import { beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { encode } from 'cborg';
import { Store } from '../../kv/index.ts';
import { createIdentity, idFromCertificate, type Identity } from '../../crypto/certs.ts';
import { Tables } from '../tables.ts';
import { loadIdentity } from '../../../client/src/client/identity.ts';
import { signCoseRequest } from '../../../client/src/client/cose-sign.ts';
import { authenticateCoseSign1, type CoseOutcome } from './cose-sign1.ts';
import { authLimits } from './limits.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const COSE = 'application/cose';

interface Signer extends Identity {
  id: string;
  curve: 'P-256' | 'P-384';
}

async function identity(name: string, curve: 'P-256' | 'P-384'): Promise<Signer> {
  const id = await createIdentity(name, curve);
  return { ...id, id: idFromCertificate(id.certPem), curve };
}

/** A COSE_Sign1 body; `protectedHeader` entries are [label, value] pairs, encoded in the given order. */
function coseBody(signer: Signer, payload: Uint8Array | null, protectedHeader: Array<[number | string, unknown]>, options: { sign?: Signer; tag?: boolean } = {}): Uint8Array {
  const protectedBytes = encode(new Map(protectedHeader));
  const toBeSigned = encode(['Signature1', protectedBytes, new Uint8Array(0), payload ?? new Uint8Array(0)]);
  const by = options.sign ?? signer;
  const signature = nodeSign(by.curve === 'P-384' ? 'sha384' : 'sha256', toBeSigned, { key: createPrivateKey(by.privateKeyPem), dsaEncoding: 'ieee-p1363' });
  const array = encode([protectedBytes, new Map(), payload, new Uint8Array(signature)]);
  return options.tag === false ? array : Uint8Array.of(0xd2, ...array);
}

const alg = (s: Signer) => (s.curve === 'P-384' ? -35 : -7);
const userHeader = (s: Signer): Array<[number | string, unknown]> => [[1, alg(s)], [4, utf8(s.id)], ['ccf.msg.created_at', 1_700_000_000]];
const memberHeader = (s: Signer): Array<[number | string, unknown]> => [[1, alg(s)], [4, utf8(s.id)], ['ccf.gov.msg.type', 'proposal'], ['ccf.gov.msg.created_at', 1_700_000_000]];

/** tag 18 [h'', [[[…200k levels…]]] …]: an unprotected "header" whose decoding would recurse 200k deep. */
function deeplyNested(depth: number): Uint8Array {
  const body = new Uint8Array(4 + depth + 1);
  body.set([0xd2, 0x84, 0x40], 0);
  body.fill(0x81, 3, 3 + depth);
  return body;
}

function expectRefused(outcome: CoseOutcome, code: string, message?: RegExp): void {
  expect(outcome.ok, JSON.stringify(outcome)).toBe(false);
  if (outcome.ok) return;
  expect(outcome.code).toBe(code);
  if (message) expect(outcome.message).toMatch(message);
}

describe('COSE_Sign1 request authentication', () => {
  let user: Signer;
  let user256: Signer;
  let member: Signer;
  let stranger: Signer;
  let store: Store;
  const payload = utf8(JSON.stringify({ id: 1, msg: 'signed' }));

  beforeAll(async () => {
    [user, user256, member, stranger] = await Promise.all([
      identity('user0', 'P-384'), identity('user1', 'P-256'), identity('member0', 'P-384'), identity('stranger', 'P-384'),
    ]);
    store = new Store();
    const tx = store.begin();
    for (const u of [user, user256]) tx.map(Tables.userCerts).set(utf8(u.id), utf8(u.certPem));
    tx.map(Tables.memberCerts).set(utf8(member.id), utf8(member.certPem));
    expect(store.commit(tx).ok).toBe(true);
  });

  it('accepts a user request signed by the client library, exposing the payload and protected header', async () => {
    const client = loadIdentity({ certPem: user.certPem, keyPem: user.privateKeyPem, role: 'user' });
    const body = await signCoseRequest(client, payload, { msgType: 'log' }, 1_700_000_123);
    const outcome = authenticateCoseSign1(store, 'user', COSE, body);
    expect(outcome).toEqual({
      ok: true,
      id: user.id,
      cose: { content: payload, protectedHeader: { alg: -35, kid: user.id, 'ccf.msg.type': 'log', 'ccf.msg.created_at': 1_700_000_123 } },
    });
  });

  it('accepts a member request signed by the client library (governance headers)', async () => {
    const client = loadIdentity({ certPem: member.certPem, keyPem: member.privateKeyPem, role: 'member' });
    const body = await signCoseRequest(client, payload, { msgType: 'ballot', proposalId: 'abc' }, 1_700_000_456);
    const outcome = authenticateCoseSign1(store, 'member', 'application/cose', body);
    expect(outcome.ok && outcome.cose.protectedHeader).toEqual({
      alg: -35, kid: member.id, 'ccf.gov.msg.type': 'ballot', 'ccf.gov.msg.proposal_id': 'abc', 'ccf.gov.msg.created_at': 1_700_000_456,
    });
  });

  it('accepts ES256 from a P-256 user, an empty payload, and a content type with parameters', () => {
    const outcome = authenticateCoseSign1(store, 'user', 'Application/COSE; charset=binary', coseBody(user256, new Uint8Array(0), userHeader(user256)));
    expect(outcome.ok && outcome.id).toBe(user256.id);
    expect(outcome.ok && outcome.cose.content).toEqual(new Uint8Array(0));
  });

  it.each([[undefined, /missing content-type/], ['application/json', /expected application\/cose/], ['application/cose-x', /expected/]])(
    'refuses content-type %s', (contentType, message) => {
      expectRefused(authenticateCoseSign1(store, 'user', contentType, coseBody(user, payload, userHeader(user))), 'CoseWrongContentType', message);
    });

  it('refuses an oversize body before decoding it', () => {
    const body = new Uint8Array(authLimits.coseSign1BytesMax + 1);
    body[0] = 0xd2;
    expectRefused(authenticateCoseSign1(store, 'user', COSE, body), 'CoseTooLarge');
  });

  it('refuses an unknown signer, a member signing for a user endpoint, and a user for a member endpoint', () => {
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(stranger, payload, userHeader(stranger))), 'CoseUnknownSigner', /not a registered user/);
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(member, payload, userHeader(member))), 'CoseUnknownSigner');
    expectRefused(authenticateCoseSign1(store, 'member', COSE, coseBody(user, payload, memberHeader(user))), 'CoseUnknownSigner', /not a registered member/);
  });

  it('refuses a missing kid, a text kid, and a kid that is not an ID', () => {
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, [[1, -35]])), 'CoseMissingKid', /missing kid/);
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, [[1, -35], [4, user.id]])), 'CoseMissingKid', /byte string/);
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, [[1, -35], [4, utf8(user.id.toUpperCase())]])), 'CoseUnknownSigner', /64 lower-case hex/);
  });

  it('refuses a tampered payload, a tampered signature, and a signature by another key', () => {
    const body = coseBody(user, payload, userHeader(user));
    const at = Buffer.from(body).indexOf(Buffer.from('signed'));
    const tamperedPayload = body.slice();
    tamperedPayload[at] ^= 0x20;
    expectRefused(authenticateCoseSign1(store, 'user', COSE, tamperedPayload), 'CoseBadSignature', /does not verify/);
    const tamperedSignature = body.slice();
    tamperedSignature[tamperedSignature.length - 5] ^= 0x01;
    expectRefused(authenticateCoseSign1(store, 'user', COSE, tamperedSignature), 'CoseBadSignature');
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, userHeader(user), { sign: stranger })), 'CoseBadSignature');
  });

  it('refuses an algorithm that does not fit the certificate, and unsupported algorithms', () => {
    // ES256 claimed by a P-384 user: refused before any verification (no curve/hash confusion).
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, [[1, -7], [4, utf8(user.id)]])), 'CoseBadSignature', /does not fit/);
    for (const other of [-8, -36, -37, -257, 5]) {
      expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, [[1, other], [4, utf8(user.id)]])), 'CoseAlgorithmRefused');
    }
    expectRefused(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, [[4, utf8(user.id)]])), 'CoseMalformed', /missing alg/);
  });

  it('refuses malformed envelopes, each with a message naming the problem', () => {
    const good = coseBody(user, payload, userHeader(user));
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /not a tagged COSE_Sign1/],
      [coseBody(user, payload, userHeader(user), { tag: false }), /not a tagged COSE_Sign1/],
      [Uint8Array.of(0xd2, ...encode([1, 2, 3])), /array of 4/],
      [Uint8Array.of(0xd2, 0x84, 0x40, 0xa0, 0x40), /not valid CBOR/], // truncated
      [Uint8Array.of(...good, 0x00), /not valid CBOR/], // trailing bytes
      [Uint8Array.of(0xd2, ...encode([new Map(), new Map(), payload, new Uint8Array(96)])), /protected header must be a byte string/],
      [Uint8Array.of(0xd2, ...encode([encode(new Map([[1, -35]])), [], payload, new Uint8Array(96)])), /unprotected header must be a map/],
      [Uint8Array.of(0xd2, ...encode([encode(new Map([[1, -35]])), new Map(), 'text', new Uint8Array(96)])), /payload must be a byte string/],
      [coseBody(user, null, userHeader(user)), /detached/],
      [Uint8Array.of(0xd2, ...encode([encode([1, -35]), new Map(), payload, new Uint8Array(96)])), /must be a CBOR map/],
      [Uint8Array.of(0xd2, ...encode([encode(new Map<number, unknown>([[1, -35], [4, utf8(user.id)]])), new Map(), payload, 'sig'])), /signature must be a byte string/],
      // The unprotected header nested absurdly deep: refused as malformed, not a crash.
      [deeplyNested(200_000), /not valid CBOR/],
    ];
    for (const [body, message] of cases) expectRefused(authenticateCoseSign1(store, 'user', COSE, body), 'CoseMalformed', message);
  });

  it('refuses repeated labels and indefinite lengths in the protected header', () => {
    // {1: -35, 1: -7, 4: kid}, written by hand: an encoder would not repeat a key.
    const kid = encode(utf8(user.id));
    const repeated = Uint8Array.of(0xa3, 0x01, 0x38, 0x22, 0x01, 0x26, 0x04, ...kid);
    const indefinite = Uint8Array.of(0xbf, 0x01, 0x38, 0x22, 0x04, ...kid, 0xff);
    for (const protectedBytes of [repeated, indefinite]) {
      const body = Uint8Array.of(0xd2, ...encode([protectedBytes, new Map(), payload, new Uint8Array(96)]));
      expectRefused(authenticateCoseSign1(store, 'user', COSE, body), 'CoseMalformed', /protected header is not valid CBOR/);
    }
  });

  it('checks the types of CCF\'s message headers, and requires created_at from members', () => {
    const cases: Array<['user' | 'member', Signer, Array<[number | string, unknown]>, RegExp]> = [
      ['user', user, [[1, -35], [4, utf8(user.id)], ['ccf.msg.type', 7]], /ccf.msg.type must be a text string/],
      ['user', user, [[1, -35], [4, utf8(user.id)], ['ccf.msg.created_at', -1]], /created_at must be a non-negative integer/],
      ['user', user, [[1, -35], [4, utf8(user.id)], ['ccf.msg.created_at', 1.5]], /created_at must be/],
      ['member', member, [[1, -35], [4, utf8(member.id)], ['ccf.gov.msg.type', 'proposal']], /missing ccf.gov.msg.created_at/],
      ['member', member, [[1, -35], [4, utf8(member.id)], ['ccf.gov.msg.created_at', 1], ['ccf.gov.msg.proposal_id', utf8('x')]], /proposal_id must be a text string/],
    ];
    for (const [role, signer, header, message] of cases) {
      expectRefused(authenticateCoseSign1(store, role, COSE, coseBody(signer, payload, header)), 'CoseMalformed', message);
    }
    // A user request needs no created_at (CCF: optional for users).
    expect(authenticateCoseSign1(store, 'user', COSE, coseBody(user, payload, [[1, -35], [4, utf8(user.id)]])).ok).toBe(true);
  });
});
