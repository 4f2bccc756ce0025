// The conformance suite for the `ccf` global: one set of scenarios and expectations that every
// runtime must meet — Synod's sandbox, and the polyfill that stands in for it in unit tests. A fake
// that passes the same suite as the real thing can be trusted in the tests that use it.
//
// Steps within a describe block run in order and share state (a write, then reads of it).

import { constants, createHash, createPublicKey, privateDecrypt, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndorsedCertificate, createSelfSignedCertificate } from '../../../node/crypto/certs.ts';
import { generateKeyPair } from '../../../node/crypto/keys.ts';
import type { PolyfillConsensus } from '../../src/polyfill.ts';
import type { Backend, CallSpec, EndpointSpec, Mode, Outcome } from './backends.ts';

function endpoint(method: string, path: string, module: 'raw' | 'sdk', fn: string, mode: Mode = method === 'GET' ? 'readonly' : 'readwrite'): EndpointSpec {
  return { method, path, module, fn, mode };
}

export const ENDPOINTS = {
  kvWrite: endpoint('POST', '/kv/write', 'raw', 'kvWrite'),
  kvRead: endpoint('GET', '/kv/read', 'raw', 'kvRead'),
  kvUpdate: endpoint('POST', '/kv/update', 'raw', 'kvUpdate'),
  kvStatus: endpoint('POST', '/kv/status/{status}', 'raw', 'kvStatus'),
  kvList: endpoint('GET', '/kv/list', 'raw', 'kvList'),
  kvThrow: endpoint('POST', '/kv/throw', 'raw', 'kvThrow'),
  kvClear: endpoint('POST', '/kv/clear', 'raw', 'kvClear'),
  kvClearEmpty: endpoint('POST', '/kv/clear-empty', 'raw', 'kvClearEmpty'),
  kvForEachWrites: endpoint('POST', '/kv/foreach-writes', 'raw', 'kvForEachWrites'),
  kvReadonlyWrite: endpoint('GET', '/kv/readonly-write', 'raw', 'kvReadonlyWrite'),
  kvCapabilities: endpoint('POST', '/kv/capabilities', 'raw', 'kvCapabilities'),
  kvArguments: endpoint('POST', '/kv/arguments', 'raw', 'kvArguments'),
  kvCopies: endpoint('POST', '/kv/copies', 'raw', 'kvCopies'),
  converters: endpoint('GET', '/converters', 'raw', 'converters'),
  cryptoVectors: endpoint('POST', '/crypto/vectors', 'raw', 'cryptoVectors', 'readonly'),
  cryptoKeys: endpoint('POST', '/crypto/keys', 'raw', 'cryptoKeys', 'readonly'),
  rpcClaims: endpoint('POST', '/rpc/claims', 'raw', 'rpcClaims'),
  rpcErrors: endpoint('POST', '/rpc/errors', 'raw', 'rpcErrors'),
  consensus: endpoint('GET', '/consensus', 'raw', 'consensus'),
  echo: endpoint('POST', '/echo/{id}', 'raw', 'echo'),
  respond: endpoint('GET', '/respond/{kind}', 'raw', 'respond'),
  respondAsync: endpoint('POST', '/respond-async', 'raw', 'respondAsync'),
  globals: endpoint('GET', '/globals', 'raw', 'globals'),
  snpAttestation: endpoint('GET', '/snp-attestation', 'raw', 'snpAttestation'),
  historical: endpoint('GET', '/historical', 'raw', 'historical', 'historical'),
  notHistorical: endpoint('GET', '/not-historical', 'raw', 'notHistorical'),
  sdkWrite: endpoint('POST', '/sdk/write', 'sdk', 'write'),
  sdkRead: endpoint('GET', '/sdk/read', 'sdk', 'read'),
  sdkRemove: endpoint('POST', '/sdk/remove', 'sdk', 'remove'),
  sdkEncodings: endpoint('GET', '/sdk/encodings', 'sdk', 'encodings'),
  sdkServices: endpoint('POST', '/sdk/services', 'sdk', 'services'),
  sdkKeepRefusal: endpoint('POST', '/sdk/keep-refusal', 'sdk', 'keepRefusal'),
} as const;

type EndpointName = keyof typeof ENDPOINTS;

/** What ccf.consensus answers in both runtimes: committed up to 2.40, then pending. */
export const CONSENSUS: PolyfillConsensus = {
  lastCommittedTxId: () => ({ view: 2, seqno: 40 }),
  statusForTxId: (view, seqno) => (seqno > 40 ? 'Pending' : view === 2 ? 'Committed' : 'Invalid'),
  viewForSeqno: (seqno) => (seqno <= 40 ? 2 : undefined),
};

/** The case name, for knownGaps. */
export const SNP_ATTESTATION_CASE = 'the snp_attestation global offers verifySnpAttestation';

export interface SuiteOptions {
  /**
   * Behaviours this runtime is known not to meet yet, by test name, with the reason: they run as
   * `it.fails`, so the run stays green while the gap exists and turns red once it is closed.
   */
  knownGaps?: Record<string, string>;
}

interface Response {
  status: number;
  headers: Record<string, string>;
  applied: boolean;
  applyWrites: boolean | undefined;
  claimsDigest: string | undefined;
  text: string;
  json: any;
}

function asResponse(outcome: Outcome): Response {
  if (outcome.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(outcome)}`);
  const text = Buffer.from(outcome.body).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { ...outcome, text, json };
}

async function certificates(): Promise<Record<string, string>> {
  const rootKey = generateKeyPair('P-256');
  const root = await createSelfSignedCertificate(rootKey, { commonName: 'conformance root' });
  const leaf = await createEndorsedCertificate(generateKeyPair('P-256').publicKeyPem, { keyPair: rootKey, certPem: root }, { commonName: 'leaf' });
  const otherRoot = await createSelfSignedCertificate(generateKeyPair('P-256'), { commonName: 'other root' });
  const expired = await createSelfSignedCertificate(generateKeyPair('P-256'), {
    commonName: 'expired',
    notBefore: new Date(Date.UTC(2020, 0, 1)),
    validityDays: 1,
  });
  return { root, leaf, otherRoot, expired };
}

export function conformanceSuite(runtime: string, createBackend: () => Promise<Backend>, options: SuiteOptions = {}): void {
  const gaps = options.knownGaps ?? {};
  let backend: Backend;
  const call = (name: EndpointName, spec?: CallSpec): Promise<Outcome> => backend.call(ENDPOINTS[name], spec);
  const respond = async (name: EndpointName, spec?: CallSpec): Promise<Response> => asResponse(await call(name, spec));
  const check = (name: string, fn: () => Promise<void>, timeoutMs?: number): void => {
    const gap = gaps[name];
    if (gap === undefined) it(name, fn, timeoutMs);
    else it.fails(`${name} [known gap: ${gap}]`, fn, timeoutMs);
  };

  describe(`ccf global conformance: ${runtime}`, () => {
    beforeAll(async () => {
      backend = await createBackend();
    }, 60_000);
    afterAll(() => backend?.close());

    describe('kv', () => {
      let firstVersion: number;

      check('a transaction sees its own writes, not as previous versions; keys compare by content', async () => {
        const r = await respond('kvWrite');
        expect(r.status).toBe(200);
        expect(r.applied).toBe(true);
        expect(r.json).toEqual({
          setReturnsMap: true,
          sameHandle: true,
          ownRead: '1',
          ownHas: true,
          size: 3,
          ownVersion: null,
          emptyValueBytes: 0,
          keyByContent: true,
          missing: true,
        });
      });

      check('committed writes are visible to the next transaction, all at one version', async () => {
        const r = await respond('kvRead');
        expect(r.json.entries).toEqual([['00ff00', ''], ['78', '1'], ['79', '2']]);
        expect(r.json.size).toBe(3);
        expect(r.json.sameMap).toBe(true);
        const { x, y, bin, absent } = r.json.versions;
        expect(typeof x).toBe('number');
        expect(x).toBeGreaterThan(0);
        expect([y, bin]).toEqual([x, x]);
        expect(absent).toBeNull();
        firstVersion = x;
      });

      check('updates and deletes: own deletes are seen at once; previous versions ignore them until commit', async () => {
        const r = await respond('kvUpdate');
        expect(r.json).toEqual({ deleteReturns: 'undefined', yGone: true, x: '3', size: 2, yVersion: firstVersion });
        const read = (await respond('kvRead')).json;
        expect(read.entries).toEqual([['00ff00', ''], ['78', '3']]);
        expect(read.versions.x).toBeGreaterThan(firstVersion);
        expect(read.versions.y).toBeNull();
        expect(read.versions.bin).toBe(firstVersion);
      });

      check('writes apply on 2xx only, unless setApplyWrites says otherwise; a readonly handler never writes', async () => {
        const cases: Array<[string, string | undefined, boolean]> = [
          ['400', undefined, false],
          ['409', 'apply=true', true],
          ['200', 'apply=false', false],
          ['201', undefined, true],
          ['302', undefined, false],
        ];
        for (const [status, query, applied] of cases) {
          const r = await respond('kvStatus', { params: { status }, ...(query ? { query } : {}) });
          expect([r.status, r.applied], `${status} ${query ?? ''}`).toEqual([Number(status), applied]);
          expect(r.applyWrites).toBe(query === undefined ? undefined : query === 'apply=true');
        }
        const list = await respond('kvList', { query: 'map=conf:status' });
        expect(list.json).toEqual(['status-201', 'status-409']);
      });

      check('a handler that throws writes nothing', async () => {
        const outcome = await call('kvThrow');
        expect(outcome).toMatchObject({ kind: 'exception', name: 'RangeError', message: 'the handler failed after writing' });
        expect((await respond('kvList', { query: 'map=conf:status' })).json).toEqual(['status-201', 'status-409']);
      });

      check('clear empties the map for the transaction; later sets survive; previous versions still read the snapshot', async () => {
        const r = await respond('kvClear');
        expect(r.json).toEqual({ sizeAfterClear: 0, visited: 0, hasX: false, getX: true, sizeAfterSet: 1, versionX: 'number' });
        expect((await respond('kvRead')).json.entries).toEqual([['6166746572', '1']]);
        const empty = await respond('kvClearEmpty');
        expect(empty.json).toEqual({ size: 0 });
      });

      check('forEach visits what the transaction saw when it started, even when the callback writes', async () => {
        expect((await respond('kvForEachWrites')).json).toEqual({ seeded: true });
        const r = await respond('kvForEachWrites');
        expect(r.json).toEqual({ seen: ['k1', 'k2', 'k3'], size: 3, after: ['new-k1', 'new-k2', 'new-k3'] });
      });

      check('readonly endpoints read but cannot write', async () => {
        const r = await respond('kvReadonlyWrite');
        expect(r.json).toEqual({ get: 'ok', size: 'ok', set: 'TypeError', delete: 'TypeError', clear: 'TypeError' });
      });

      check("CCF's capability table: governance maps read-only, internal and reserved maps closed", async () => {
        const r = await respond('kvCapabilities');
        expect(r.json).toEqual({
          app: { read: 'ok', write: 'ok' },
          'public:app': { read: 'ok', write: 'ok' },
          'public:ccf.gov.users.certs': { read: 'ok', write: 'TypeError' },
          'ccf.gov.users.certs': { read: 'TypeError', write: 'TypeError' },
          'ccf.internal.secrets': { read: 'TypeError', write: 'TypeError' },
          'public:ccf.internal.signatures': { read: 'TypeError', write: 'TypeError' },
          'ccf.app': { read: 'TypeError', write: 'TypeError' },
          'public:ccf.app': { read: 'TypeError', write: 'TypeError' },
          nameLengths: { empty: 'TypeError', max: 'ok', tooLong: 'TypeError' },
          symbol: 'undefined',
        });
      });

      check('keys and values are ArrayBuffers of bounded size', async () => {
        const r = await respond('kvArguments');
        expect(r.status).toBe(400);
        expect(r.json).toEqual({
          getTypedArray: 'TypeError',
          getString: 'TypeError',
          hasUndefined: 'TypeError',
          setStringValue: 'TypeError',
          setTypedArrayValue: 'TypeError',
          forEachNotFunction: 'TypeError',
          keyAtLimit: 'ok',
          keyOverLimit: 'RangeError',
          valueAtLimit: 'ok',
          valueOverLimit: 'RangeError',
        });
      });

      check('buffers are copied in and out', async () => {
        expect((await respond('kvCopies')).json).toEqual({ stored: [7, 7] });
      });
    });

    describe('converters', () => {
      check('UTF-8 (lone surrogates as QuickJS writes them, invalid bytes as U+FFFD) and JSON', async () => {
        expect((await respond('converters')).json).toEqual({
          utf8: Buffer.from('héllo €😀', 'utf8').toString('hex'),
          roundTrip: true,
          nul: '610062',
          nulBack: true,
          loneSurrogate: '61eda08062',
          invalidUtf8: '\ufffdA\ufffd',
          json: '{"a":[1,"x",null],"b":true}',
          jsonBack: { k: [1, 2.5, 'é'] },
          errors: { strToBufNumber: 'TypeError', bufToStrTypedArray: 'TypeError', jsonUndefined: 'TypeError', jsonSyntax: 'SyntaxError' },
        });
      });
    });

    describe('crypto', () => {
      check('known answers (SHA-256, HMAC, RFC 5649 key wrap), certificate checks, and refusals', async () => {
        const r = await respond('cryptoVectors', { body: await certificates() });
        expect(r.json).toEqual({
          sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
          deprecatedDigest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
          hmac256: 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
          hmacLengths: [48, 64],
          kwp20: '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a',
          kwp7: 'afbeb0f07dfbf5419200f2ccb50bb24f',
          kwpUnwrap: '466f7250617369',
          aesKeyBytes: [16, 24, 32],
          aesKeysDiffer: true,
          certificates: { bundle: true, notABundle: false, chain: true, chainThroughIntermediate: true, wrongRoot: false, expired: false, selfTrusted: true },
          refusals: {
            digestSha384: 'RangeError',
            digestString: 'TypeError',
            aesKeyBits: 'RangeError',
            ecdsaCurve: 'RangeError',
            eddsaCurve: 'RangeError',
            rsaBits: 'RangeError',
            rsaExponent: 'RangeError',
            signWithoutHash: 'RangeError',
            signAlgorithm: 'RangeError',
            signBadKey: 'InternalError',
            verifySha384: 'RangeError',
            verifyBadKey: 'InternalError',
            wrapAlgorithm: 'RangeError',
            unwrapAlgorithm: 'RangeError',
            unwrapGarbage: 'InternalError',
            kwpKekSize: 'InternalError',
            jwkWrongKind: 'InternalError',
            jwkToPemWrongKty: 'InternalError',
          },
          verifyMalformedSignature: false,
        });
      });

      check('keys, signatures and wrapped keys that node:crypto accepts', async () => {
        const r = (await respond('cryptoKeys')).json;
        const message = Buffer.from('conformance message');
        const keys = r.keys;
        expect(createPublicKey(keys.p256.publicKey).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
        expect(createPublicKey(keys.p384.publicKey).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
        expect(createPublicKey(keys.ed.publicKey).asymmetricKeyType).toBe('ed25519');
        expect(createPublicKey(keys.x.publicKey).asymmetricKeyType).toBe('x25519');
        expect(createPublicKey(keys.rsaPublic).asymmetricKeyDetails?.modulusLength).toBe(2048);
        expect(keys.p256.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
        expect(keys.p256.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
        const sig = (name: string) => Buffer.from(r.signatures[name], 'hex');
        expect(sig('p256')).toHaveLength(64);
        expect(sig('p384')).toHaveLength(96);
        expect(verify('sha256', message, { key: keys.p256.publicKey, dsaEncoding: 'ieee-p1363' }, sig('p256'))).toBe(true);
        expect(verify('sha256', message, { key: keys.p384.publicKey, dsaEncoding: 'ieee-p1363' }, sig('p384'))).toBe(true);
        expect(verify(null, message, keys.ed.publicKey, sig('ed'))).toBe(true);
        const pss = { key: keys.rsaPublic, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
        expect(verify('sha256', message, pss, sig('rsa'))).toBe(true);
        expect(r.selfVerify).toEqual({ p256: [true, false], p384: [true, false], ed: [true, false], rsa: [true, false] });

        const w = r.wrapping;
        const oaep = { key: keys.rsaPrivate, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('label') };
        expect(privateDecrypt(oaep, Buffer.from(w.oaep, 'hex')).toString('hex')).toBe(w.aesKey);
        expect(w).toMatchObject({ oaepRoundTrip: true, oaepWrongLabel: 'InternalError', hybridBytes: 256 + 40, hybridRoundTrip: true });

        expect(r.jwk.p256).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'kid-1' });
        expect(r.jwk.p256).toEqual({ ...createPublicKey(keys.p256.publicKey).export({ format: 'jwk' }), kid: 'kid-1' });
        expect(r.jwk).toMatchObject({
          p256NoKid: ['crv', 'kty', 'x', 'y'],
          p256Private: ['crv', 'd', 'kty', 'x', 'y'],
          p256Back: true,
          p256PrivateBack: true,
          rsa: ['e', 'kty', 'n'],
          rsaPrivate: ['d', 'dp', 'dq', 'e', 'kty', 'n', 'p', 'q', 'qi'],
          rsaBack: true,
          ed: { kty: 'OKP', crv: 'Ed25519' },
          edBack: true,
          x25519: 'X25519',
        });
      }, 30_000);
    });

    describe('historical', () => {
      const receipt = { signature: 'c2ln', cert: 'PEM', node_id: 'ab', proof: [{ left: 'cd' }], leaf_components: { write_set_digest: 'ef' } };
      const past = { transactionId: '2.7', receipt, maps: { 'hist:m': { a: '1', b: '2' }, 'public:ccf.gov.hist': { g: 'gov' } } };

      check('a historical endpoint reads the past state, read-only, through the object captured at load', async () => {
        const r = await respond('historical', { historical: past });
        expect(r.applied).toBe(false);
        expect(r.json).toEqual({
          sameAsAtLoad: true,
          transactionId: '2.7',
          receipt,
          a: '1',
          missing: true,
          entries: [['61', '1'], ['62', '2']],
          size: 2,
          version: 'number',
          governance: 'gov',
          write: 'TypeError',
          internal: 'TypeError',
          currentStateWrite: 'TypeError',
        });
      });

      check('other endpoints see no historical state', async () => {
        expect((await respond('notHistorical')).json).toEqual({ state: true, capturedTransactionId: 'Error', capturedKv: 'Error' });
      });
    });

    describe('rpc', () => {
      check('setClaimsDigest reaches the caller', async () => {
        const r = await respond('rpcClaims', { body: 'claims text' });
        const expected = createHash('sha256').update('claims text').digest('hex');
        expect(r.json).toEqual({ digest: expected });
        expect(r.claimsDigest).toBe(expected);
      });

      check('setClaimsDigest takes 32 bytes in an ArrayBuffer; setApplyWrites a boolean', async () => {
        expect((await respond('rpcErrors')).json).toEqual({ claimsShort: 'TypeError', claimsTypedArray: 'TypeError', applyWritesNumber: 'TypeError' });
      });
    });

    describe('consensus', () => {
      check('answers from the runtime, with views and seqnos checked as numbers', async () => {
        expect((await respond('consensus')).json).toEqual({
          last: { view: 2, seqno: 40 },
          statuses: ['Committed', 'Invalid', 'Pending'],
          numericStrings: 'Committed',
          views: [2, null],
          errors: { negative: 'RangeError', notANumber: 'RangeError', negativeSeqno: 'RangeError' },
        });
      });
    });

    describe('requests and responses', () => {
      check('the request object', async () => {
        const caller = { policy: 'user_cert', id: 'ab'.repeat(32), data: { role: 'x' }, cert: 'PEM' } as const;
        const r = await respond('echo', {
          params: { id: '42' },
          query: 'a=1&b=x%20y',
          headers: { 'x-custom': 'v' },
          body: { hello: 'wörld' },
          caller,
        });
        expect(r.json).toEqual({
          method: 'POST',
          path: '/app/echo/42',
          url: '/app/echo/42?a=1&b=x%20y',
          route: '/app/echo/{id}',
          query: 'a=1&b=x%20y',
          params: { id: '42' },
          contentType: 'application/json',
          custom: 'v',
          hostname: 'localhost',
          caller,
          text: '{"hello":"wörld"}',
          json: { hello: 'wörld' },
          bytes: Buffer.byteLength('{"hello":"wörld"}'),
          stringifiedKeys: ['body', 'caller', 'headers', 'hostname', 'method', 'params', 'path', 'query', 'route', 'url'],
        });
      });

      for (const [kind, status, contentType, bodyHex] of [
        ['text', 200, 'text/plain', '6869'],
        ['bytes', 200, 'application/octet-stream', '010203'],
        ['view', 200, 'application/octet-stream', '0807'],
        ['json', 200, 'application/json', Buffer.from('{"a":[1,"é"]}').toString('hex')],
        ['none', 200, undefined, ''],
        ['nullStatus', 200, 'text/plain', '78'],
      ] as const) {
        check(`a ${kind} body is sent as CCF sends it`, async () => {
          const r = asResponse(await call('respond', { params: { kind } }));
          expect(r.status).toBe(status);
          expect(r.headers['content-type']).toBe(contentType);
          expect(Buffer.from(r.text, 'utf8').toString('hex')).toBe(bodyHex);
        });
      }

      check("the app's headers and content-type are kept; header values become strings", async () => {
        const r = await respond('respond', { params: { kind: 'custom' } });
        expect(r.status).toBe(201);
        expect(r.headers).toEqual({ 'Content-Type': 'application/x-custom', 'x-n': '5' });
      });

      for (const kind of ['fractionalStatus', 'notAnObject', 'functionBody', 'bigintBody', 'badHeader']) {
        check(`${kind} is not a response`, async () => {
          expect((await call('respond', { params: { kind } })).kind).toBe('invalid-response');
        });
      }

      check('async handlers are awaited and their writes apply', async () => {
        const r = await respond('respondAsync');
        expect([r.status, r.text, r.applied]).toEqual([200, 'later', true]);
      });

      check('the rest of the global', async () => {
        expect((await respond('globals')).json).toEqual({
          untrustedDateTime: [true, false],
          metricsLogging: [false, true],
          historical: 'Error',
          historicalState: true,
          deprecatedAliases: [],
          random: true,
          date: 'number',
        });
      });
    });

    describe('snp_attestation', () => {
      check(SNP_ATTESTATION_CASE, async () => {
        expect((await respond('snpAttestation')).json).toEqual({ verify: 'function' });
      });
    });

    describe('@synod/app-sdk on this runtime', () => {
      check('typed maps and sets write through converters', async () => {
        const r = await respond('sdkWrite');
        expect(r.applied).toBe(true);
        expect(r.json).toEqual({ ownRead: { name: 'one', tags: ['a'] }, membersSize: 2, ownVersion: null, rawKvIsGlobal: true, globalModule: true });
      });

      check('and read back in a later transaction, with the bytes ccf-app would have written', async () => {
        const r = await respond('sdkRead');
        expect(r.json).toEqual({
          records: [[1, 'one', true], [2, 'two', true]],
          missing: true,
          prices: [3.14159, 2.71828],
          members: [[-5, true], [7, true]],
          hasMember: [true, false],
          blob: [1, 2, 3],
          big: String(2n ** 64n - 1n),
          flags: [true, false],
          sizes: [2, 2, 2],
          versions: ['number', 'number', null],
          rawBytes: { member: '0000000000000000', blobKey: true },
        });
        await respond('sdkRemove');
        const after = await respond('sdkRead');
        expect(after.json.sizes).toEqual([1, 0, 1]);
      });

      check('converter encodings and refusals', async () => {
        expect((await respond('sdkEncodings')).json).toEqual({
          bool: ['01', '00'],
          int8: 'ff',
          uint8: '0500',
          int16: 'feff',
          uint16: '0201',
          int32: 'fdffffff',
          uint32: '01000000',
          int64: 'ffffffffffffffff',
          uint64: '0000000000000080',
          float32: '0000c03f',
          float64: '000000000000f03f',
          string: 'c3a9',
          json: '{"a":1}',
          typedArray: '0200',
          arrayBuffer: '04',
          decoded: [false, 7, '7'],
          textEncoder: [0xc3, 0xa9],
          refusals: {
            int8Range: 'RangeError',
            uint8Negative: 'RangeError',
            int32Fraction: 'TypeError',
            uint32String: 'TypeError',
            boolNumber: 'TypeError',
            int64Number: 'TypeError',
            stringNumber: 'TypeError',
            checkedJsonDate: 'TypeError',
            checkedJsonMap: 'TypeError',
            checkedJsonPlain: 'ok',
          },
        });
      });

      check('crypto, claims and consensus through the SDK modules', async () => {
        const r = await respond('sdkServices', { body: 'sdk claims' });
        const expected = createHash('sha256').update('sdk claims').digest('hex');
        expect(r.json).toEqual({ claims: expected, verified: true, last: { view: 2, seqno: 40 }, status: 'Committed', view: null, historicalState: [true, true] });
        expect(r.claimsDigest).toBe(expected);
      });

      check('setApplyWrites through the SDK keeps a refusal', async () => {
        const r = await respond('sdkKeepRefusal');
        expect([r.status, r.applied, r.applyWrites]).toEqual([409, true, true]);
        expect((await respond('sdkRead')).json.sizes).toEqual([2, 0, 1]);
      });
    });
  });
}
