// Apps built on the npm package @microsoft/ccf-app must run unmodified. That package is not installed
// here, so this bundle reproduces what it does with the global (read from its sources, rewritten): at
// import time it binds ccf.consensus / ccf.historical / ccf.rpc functions, re-exports every ccf.crypto
// function by name, keeps `ccf.kv` and typed map handles in module scope, and converts through
// ccf.strToBuf / jsonCompatibleToBuf. Handles made at load must work in every later request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../kv/index.ts';
import { loadJsApp, type JsApp } from './index.ts';
import { makeRequest } from './testing.ts';

const CCF_APP_LIKE = `
const ccf = globalThis.ccf;
export const getLastCommittedTxId = ccf.consensus.getLastCommittedTxId.bind(ccf.consensus);
export const getStatusForTxId = ccf.consensus.getStatusForTxId.bind(ccf.consensus);
export const getViewForSeqno = ccf.consensus.getViewForSeqno.bind(ccf.consensus);
export const historicalState = ccf.historicalState;
export const getStateRange = ccf.historical.getStateRange.bind(ccf.historical);
export const dropCachedStates = ccf.historical.dropCachedStates.bind(ccf.historical);
export const setApplyWrites = ccf.rpc.setApplyWrites.bind(ccf.rpc);
export const setClaimsDigest = ccf.rpc.setClaimsDigest.bind(ccf.rpc);
export const rawKv = ccf.kv;
export const CRYPTO_NAMES = ['generateAesKey', 'generateRsaKeyPair', 'generateEcdsaKeyPair', 'generateEddsaKeyPair', 'wrapKey',
  'unwrapKey', 'sign', 'verifySignature', 'digest', 'isValidX509CertBundle', 'isValidX509CertChain', 'pubPemToJwk', 'pemToJwk',
  'pubRsaPemToJwk', 'rsaPemToJwk', 'pubEddsaPemToJwk', 'eddsaPemToJwk', 'pubJwkToPem', 'jwkToPem', 'pubRsaJwkToPem', 'rsaJwkToPem',
  'pubEddsaJwkToPem', 'eddsaJwkToPem'];
export const crypto = Object.fromEntries(CRYPTO_NAMES.map((n) => [n, ccf.crypto[n]]));
export const string = { encode: (v) => ccf.strToBuf(v), decode: (b) => ccf.bufToStr(b) };
export const json = () => ({ encode: (v) => ccf.jsonCompatibleToBuf(v), decode: (b) => ccf.bufToJsonCompatible(b) });
export const uint32 = {
  encode: (v) => { const b = new ArrayBuffer(4); new DataView(b).setUint32(0, v, true); return b; },
  decode: (b) => new DataView(b).getUint32(0, true),
};
export class TypedKvMap {
  constructor(kv, kt, vt) { this.kv = kv; this.kt = kt; this.vt = vt; }
  has(k) { return this.kv.has(this.kt.encode(k)); }
  get(k) { const v = this.kv.get(this.kt.encode(k)); return v === undefined ? undefined : this.vt.decode(v); }
  set(k, v) { this.kv.set(this.kt.encode(k), this.vt.encode(v)); return this; }
  delete(k) { this.kv.delete(this.kt.encode(k)); }
  forEach(cb) { const kt = this.kt, vt = this.vt, self = this; this.kv.forEach(function (v, k) { cb(vt.decode(v), kt.decode(k), self); }); }
  get size() { return this.kv.size; }
}
export function typedKv(nameOrMap, kt, vt) { return new TypedKvMap(typeof nameOrMap === 'string' ? ccf.kv[nameOrMap] : nameOrMap, kt, vt); }
`;

const APP = `
import * as ccfapp from './node_modules/@microsoft/ccf-app/index.js';
const people = ccfapp.typedKv('people', ccfapp.uint32, ccfapp.json());
const names = ccfapp.typedKv(ccfapp.rawKv['public:names'], ccfapp.string, ccfapp.string);
export function put(request) {
  const { id, person } = request.body.json();
  people.set(id, person);
  names.set(person.name, String(id));
  return { statusCode: 204 };
}
export function list() {
  const out = [];
  people.forEach((person, id) => out.push([id, person.name, names.get(person.name)]));
  return { body: { out, size: people.size, missingCrypto: ccfapp.CRYPTO_NAMES.filter((n) => typeof ccfapp.crypto[n] !== 'function'),
    committed: ccfapp.getLastCommittedTxId(), status: ccfapp.getStatusForTxId(1, 1),
    historical: [typeof ccfapp.historicalState, ccf.historicalState === undefined] } };
}
// ccf-app's historicalState is read once, when the module loads: with one interpreter for all requests
// it must still show each historical request's state.
export function history() {
  const state = ccfapp.historicalState;
  const past = ccfapp.typedKv(state.kv.people, ccfapp.uint32, ccfapp.json());
  return { body: { same: state === ccf.historicalState, txid: state.transactionId, seqno: state.receipt.seqno, person: past.get(1) } };
}
export function forceWrites() { people.set(999, { name: 'forced' }); ccfapp.setApplyWrites(true); return { statusCode: 500 }; }
`;

let app: JsApp;
const hooks = {
  consensus: { lastCommittedTxId: () => ({ view: 1, seqno: 9 }), statusForTxId: () => 'Committed' as const, viewForSeqno: () => 1 },
};

beforeAll(async () => {
  const endpoint = (fn: string, mode = 'readwrite') => ({ js_module: 'app.js', js_function: fn, authn_policies: ['user_cert'], forwarding_required: 'always', mode });
  app = await loadJsApp({
    metadata: { endpoints: { '/people': { post: endpoint('put'), get: endpoint('list', 'readonly') }, '/force': { post: endpoint('forceWrites') }, '/history': { get: endpoint('history', 'historical') } } },
    modules: [
      { name: 'app.js', module: APP },
      { name: 'node_modules/@microsoft/ccf-app/index.js', module: CCF_APP_LIKE },
    ],
  });
});
afterAll(() => app.dispose());

describe('an app written against @microsoft/ccf-app', () => {
  it('loads (import-time binds and handles) and its handles work in later requests', () => {
    const store = new Store();
    for (const [id, name] of [[1, 'ada'], [2, 'grace']] as const) {
      const tx = store.begin();
      const put = app.invoke({ method: 'POST', path: '/people' }, makeRequest('POST', '/people', { body: { id, person: { name } } }), tx, hooks);
      expect(put.ok && put.response.status).toBe(204);
      expect(store.commit(tx).ok).toBe(true);
    }
    const tx = store.begin();
    const list = app.invoke({ method: 'GET', path: '/people' }, makeRequest('GET', '/people'), tx, hooks);
    if (!list.ok) throw list.error;
    expect(JSON.parse(new TextDecoder().decode(list.response.body))).toEqual({
      out: [[1, 'ada', '1'], [2, 'grace', '2']],
      size: 2,
      missingCrypto: [],
      committed: { view: 1, seqno: 9 },
      status: 'Committed',
      historical: ['object', true],
    });
  });

  it('historicalState imported at load time shows the state of each historical request', () => {
    for (const [seqno, name] of [[4, 'ada'], [7, 'lovelace']] as const) {
      const past = new Store();
      past.restore({ version: seqno - 1, maps: [] });
      past.applyWrites(seqno, [{ name: 'people', writes: [[new Uint8Array([1, 0, 0, 0]), new TextEncoder().encode(JSON.stringify({ name }))]], removes: [] }]);
      const historical = { transactionId: `2.${seqno}`, receipt: { seqno }, tx: past.begin() };
      const result = app.invoke({ method: 'GET', path: '/history' }, makeRequest('GET', '/history'), new Store().begin(), { ...hooks, historical });
      if (!result.ok) throw result.error;
      expect(JSON.parse(new TextDecoder().decode(result.response.body))).toEqual({ same: true, txid: `2.${seqno}`, seqno, person: { name } });
    }
  });

  it('setApplyWrites bound at import reaches the caller', () => {
    const result = app.invoke({ method: 'POST', path: '/force' }, makeRequest('POST', '/force'), new Store().begin(), hooks);
    expect(result.ok && [result.response.status, result.applyWrites]).toEqual([500, true]);
  });
});
