// The sandbox side of the `ccf` global: JavaScript evaluated once in every fresh QuickJS context, before
// any app module. It builds `ccf`, `console` and the request objects out of one host function and returns
// the entry points the host calls (invoke a handler, load a module) plus the realm's error constructors.
//
// Nothing here is a security boundary: an app can tamper with anything in its own realm, including these
// objects. Capabilities are enforced where the calls land (globals.ts). What this code does guard is its
// own correctness against an app that later redefines built-ins: it keeps its own references to the
// built-ins it uses ("primordials", as Node calls them), taken before app code runs.
//
// Shapes follow CCF's js/ccf-app (global.ts, endpoints.ts) and CCF's C++ extensions: request objects with
// headers, params, query (raw), url, path, method, route, hostname, body {text, json, arrayBuffer}, caller;
// kv map handles over ArrayBuffers; converters; crypto; rpc; consensus. Request fields are fetched from
// the host on first use, because parsing them all in the sandbox would cost more than most handlers.

import { SNP_BYTE_FIELDS } from './snp-attestation.ts';
import { BodyKind, HistoricalOp, JwkKind, Op, REQUEST_FIELDS, REQUEST_JSON_FIELDS_FROM } from './ops.ts';

/** The script; evaluating it yields a function taking the host function. */
export const BOOTSTRAP_SOURCE = String.raw`(function (host) {
'use strict';
const O = ${JSON.stringify(Op)};
const K = ${JSON.stringify(BodyKind)};
const J = ${JSON.stringify(JwkKind)};
const H = ${JSON.stringify(HistoricalOp)};
const FIELDS = ${JSON.stringify(REQUEST_FIELDS)};
const JSON_FROM = ${REQUEST_JSON_FIELDS_FROM};

// ---- primordials ----
const uncurry = (f) => Function.prototype.call.bind(f);
const defineProperty = Object.defineProperty, objectKeys = Object.keys, create = Object.create;
const jsonParse = JSON.parse, jsonStringify = JSON.stringify;
const isView = ArrayBuffer.isView, isInteger = Number.isInteger;
const byteLength = uncurry(Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get);
const abSlice = uncurry(ArrayBuffer.prototype.slice);
const u8Slice = uncurry(Uint8Array.prototype.slice);
const indexOf = uncurry(String.prototype.indexOf);
const charCodeAt = uncurry(String.prototype.charCodeAt);
const fromCharCode = String.fromCharCode;
const apply = Reflect.apply;
const promiseResolve = Promise.resolve.bind(Promise), promiseThen = uncurry(Promise.prototype.then);
const mapGet = uncurry(Map.prototype.get), mapSet = uncurry(Map.prototype.set);
const getUint32 = uncurry(DataView.prototype.getUint32);
const U8 = Uint8Array, DV = DataView, SafeArrayBuffer = ArrayBuffer, SafeMap = Map, SafeProxy = Proxy, SafeString = String, SafeNumber = Number;
const SafeTypeError = TypeError;
const GEN = Symbol('request'), MAP = Symbol('map');
let currentGen = 0;
// The current request's query string, handed over with the call (most handlers read it), or undefined.
let currentQuery;
const QUERY = FIELDS.indexOf('query');
// 0: no request yet (modules loading), 1: a request without historical state, 2: a historical request.
let historicalMode = 0;

// Not byteLength-in-a-try: a throw builds a backtrace, which costs more than the whole call. A forged
// prototype gets past instanceof, but the host checks again and finds no ArrayBuffer.
function isArrayBuffer(x) { return x instanceof SafeArrayBuffer; }
function str(x) { return typeof x === 'string' ? x : SafeString(x); }

// UTF-8 in the sandbox, only for strings holding NUL characters (the host's fast path reads C strings).
// Lone surrogates are encoded as three bytes, as QuickJS does for the host path.
function utf8Encode(s) {
  const out = new U8(s.length * 3);
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    let c = charCodeAt(s, i);
    if (c < 0x80) { out[j++] = c; continue; }
    if (c < 0x800) { out[j++] = 0xc0 | (c >> 6); out[j++] = 0x80 | (c & 63); continue; }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = charCodeAt(s, i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[j++] = 0xf0 | (c >> 18); out[j++] = 0x80 | ((c >> 12) & 63);
        out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
        continue;
      }
    }
    out[j++] = 0xe0 | (c >> 12); out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
  }
  return u8Slice(out, 0, j).buffer;
}
function utf8Decode(buffer) {
  const b = new U8(buffer);
  let out = '', units = [];
  for (let i = 0; i < b.length;) {
    const c = b[i];
    let cp = 0xfffd, n = 1;
    const t1 = (b[i + 1] & 0xc0) === 0x80, t2 = t1 && (b[i + 2] & 0xc0) === 0x80, t3 = t2 && (b[i + 3] & 0xc0) === 0x80;
    if (c < 0x80) cp = c;
    else if (c >= 0xc2 && c < 0xe0 && t1) { cp = ((c & 31) << 6) | (b[i + 1] & 63); n = 2; }
    else if (c >= 0xe0 && c < 0xf0 && t2) {
      const v = ((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63);
      if (v >= 0x800) { cp = v; n = 3; }
    } else if (c >= 0xf0 && c < 0xf5 && t3) {
      const v = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63);
      if (v >= 0x10000 && v < 0x110000) { cp = v; n = 4; }
    }
    i += n;
    if (cp >= 0x10000) { cp -= 0x10000; units[units.length] = 0xd800 + (cp >> 10); units[units.length] = 0xdc00 + (cp & 1023); }
    else units[units.length] = cp;
    if (units.length >= 4096) { out += apply(fromCharCode, null, units); units = []; }
  }
  return out + apply(fromCharCode, null, units);
}
/** Host strings arrive as strings, or as UTF-8 bytes when they hold a NUL character. */
function text(r) { return typeof r === 'string' || r === null ? r : utf8Decode(r); }
function bytesOf(s) { return s.indexOf('\0') < 0 ? host(O.strToBuf, s) : utf8Encode(s); }

// ---- request ----
// The generation is a symbol-keyed property: invisible to JSON.stringify and Object.keys, and much
// cheaper to set than a defineProperty.
function Body(gen) { this[GEN] = gen; }
function genOf(self) { const gen = self === undefined || self === null ? undefined : self[GEN]; return typeof gen === 'number' ? gen : currentGen; }
Body.prototype.text = function text_() { return text(host(O.bodyText, genOf(this))); };
Body.prototype.json = function json() { return jsonParse(text(host(O.bodyJson, genOf(this)))); };
Body.prototype.arrayBuffer = function arrayBuffer() { return host(O.bodyBuffer, genOf(this)); };

function Request(gen) { this[GEN] = gen; }
function own(self, name, value) {
  defineProperty(self, name, { value, writable: true, enumerable: true, configurable: true });
  return value;
}
for (let i = 0; i < FIELDS.length; i++) {
  const name = FIELDS[i];
  defineProperty(Request.prototype, name, {
    get() {
      const gen = genOf(this);
      const r = i === QUERY && gen === currentGen && currentQuery !== undefined ? currentQuery : host(O.requestField, gen, i);
      return own(this, name, i >= JSON_FROM ? jsonParse(text(r)) : text(r));
    },
    set(value) { own(this, name, value); },
    configurable: true,
  });
}
defineProperty(Request.prototype, 'body', {
  get() { return own(this, 'body', new Body(genOf(this))); },
  set(value) { own(this, 'body', value); },
  configurable: true,
});
Request.prototype.toJSON = function toJSON() {
  const out = {};
  for (let i = 0; i < FIELDS.length; i++) out[FIELDS[i]] = this[FIELDS[i]];
  out.body = {};
  return out;
};

// ---- response ----
// respond(kind | HEADERS when the third argument carries headers as JSON, status, headers, body)
const HEADERS = 16;
function invalid(why) { host(O.respond, K.invalid, 0, 0, why); }
function respond(r) {
  if (r === null || typeof r !== 'object') return invalid('Invalid endpoint function return value (not an object).');
  let status = r.statusCode;
  if (status === undefined || status === null) status = 200;
  else if (typeof status !== 'number' || !isInteger(status)) return invalid('Invalid endpoint function return value (status code type).');
  let headers = 0, flag = 0;
  const h = r.headers;
  if (h !== null && typeof h === 'object') {
    const o = {}, keys = objectKeys(h);
    for (let i = 0; i < keys.length; i++) o[keys[i]] = str(h[keys[i]]);
    headers = jsonStringify(o);
    flag = HEADERS;
  }
  const body = r.body;
  if (body === undefined) return host(O.respond, K.none | flag, status, headers, undefined);
  if (typeof body === 'string') {
    return body.indexOf('\0') < 0 ? host(O.respond, K.text | flag, status, headers, body) : host(O.respond, K.textBytes | flag, status, headers, utf8Encode(body));
  }
  if (isArrayBuffer(body)) return host(O.respond, K.bytes | flag, status, headers, body);
  if (isView(body)) return host(O.respond, K.bytes | flag, status, headers, u8Slice(new U8(body.buffer, body.byteOffset, body.byteLength)).buffer);
  let json;
  try { json = jsonStringify(body); } catch (e) { return invalid('Invalid endpoint function return value (error during JSON conversion of body): ' + str(e)); }
  if (typeof json !== 'string') return invalid('Invalid endpoint function return value (the body is not JSON-compatible).');
  return host(O.respond, K.json | flag, status, headers, json);
}
function fail(e) { host(O.fail, e); }
function settle(r) { try { respond(r); } catch (e) { fail(e); } }

function invoke(fn, gen, historical, query) {
  currentGen = gen;
  currentQuery = query;
  historicalMode = historical ? 2 : 1;
  const result = fn(new Request(gen));
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    promiseThen(promiseResolve(result), settle, fail);
    return;
  }
  respond(result);
}
function load(name) { return import(name); }

// ---- ccf.kv ----
function KvMap(id) { defineProperty(this, MAP, { value: id }); }
// Only plain numbers cross as ids: the host reads numbers with ToNumber, which would run an app's
// valueOf in the middle of a host call.
function mapId(self) { const id = self === undefined || self === null ? undefined : self[MAP]; return typeof id === 'number' ? id : -1; }
KvMap.prototype.has = function has(key) { return host(O.kvHas, mapId(this), key); };
KvMap.prototype.get = function get(key) { return host(O.kvGet, mapId(this), key); };
KvMap.prototype.getVersionOfPreviousWrite = function getVersionOfPreviousWrite(key) { return host(O.kvVersion, mapId(this), key); };
KvMap.prototype.set = function set(key, value) { host(O.kvSet, mapId(this), key, value); return this; };
KvMap.prototype.delete = function delete_(key) { host(O.kvDelete, mapId(this), key); };
KvMap.prototype.clear = function clear() { host(O.kvClear, mapId(this)); };
KvMap.prototype.forEach = function forEach(callback) {
  if (typeof callback !== 'function') throw new SafeTypeError('Argument must be a function');
  const it = host(O.kvIterOpen, mapId(this));
  try {
    for (;;) {
      const batch = host(O.kvIterNext, it);
      if (batch === undefined) return;
      const view = new DV(batch), end = byteLength(batch);
      for (let o = 0; o < end;) {
        const keyLength = getUint32(view, o, true); o += 4;
        const key = abSlice(batch, o, o + keyLength); o += keyLength;
        const valueLength = getUint32(view, o, true); o += 4;
        const value = abSlice(batch, o, o + valueLength); o += valueLength;
        callback(value, key, this);
      }
    }
  } finally {
    host(O.kvIterClose, it);
  }
};
defineProperty(KvMap.prototype, 'size', { get() { return host(O.kvSize, mapId(this)); }, configurable: true });

// ccf.kv[name] makes a handle for any name, as CCF's exotic object does. A Proxy trap on every access
// costs microseconds in QuickJS, so the Proxy sits behind a plain object as its prototype: the first
// access to a name falls through to the trap, which caches the handle as an own property.
// openOp is kvOpen for ccf.kv, kvOpenHistorical for ccf.historicalState.kv (the host tells the ids apart).
function makeKv(openOp, slot) {
  const maps = new SafeMap();
  function openMap(name) {
    if (typeof name !== 'string') return undefined;
    let map = mapGet(maps, name);
    if (map === undefined) {
      if (indexOf(name, '\0') >= 0) throw new SafeTypeError('map names may not contain NUL characters');
      map = new KvMap(slot === undefined ? host(openOp, name) : host(openOp, name, slot));
      mapSet(maps, name, map);
    }
    return map;
  }
  const trap = new SafeProxy(create(null), {
    get(_target, name, receiver) {
      const map = openMap(name);
      if (map !== undefined && receiver === kvObject) defineProperty(kvObject, name, { value: map, writable: false, configurable: false });
      return map;
    },
    has(_target, name) { return typeof name === 'string'; },
    set() { return false; },
  });
  const kvObject = create(trap);
  return kvObject;
}
const kv = makeKv(O.kvOpen);

// ---- ccf.historicalState ----
// CCF sets ccf.historicalState for each request to a historical endpoint. Synod keeps one interpreter
// for all requests, and @microsoft/ccf-app reads ccf.historicalState once, when its module loads: so one
// object serves every historical request, its fields reading the current request's state. Inside a
// request to another kind of endpoint ccf.historicalState is undefined, as in CCF.
const historicalState = {};
let receiptGen = -1, receipt;
defineProperty(historicalState, 'transactionId', {
  get() { return host(O.historical, H.transactionId); }, enumerable: true, configurable: true,
});
defineProperty(historicalState, 'receipt', {
  get() {
    if (receiptGen !== currentGen) { receipt = jsonParse(host(O.historical, H.receipt)); receiptGen = currentGen; }
    return receipt;
  },
  enumerable: true,
  configurable: true,
});
defineProperty(historicalState, 'kv', { value: makeKv(O.kvOpenHistorical), enumerable: true });

// ---- converters ----
function strToBuf(s) {
  if (typeof s !== 'string') throw new SafeTypeError('Argument must be a string');
  return bytesOf(s);
}
function bufToStr(buffer) {
  const r = host(O.bufToStr, buffer);
  return r === undefined ? utf8Decode(buffer) : r;
}
function jsonCompatibleToBuf(value) { return strToBuf(jsonStringify(value)); }
function bufToJsonCompatible(buffer) { return jsonParse(bufToStr(buffer)); }

// ---- crypto ----
function algorithm(a) {
  if (a === null || typeof a !== 'object') throw new SafeTypeError('algorithm must be an object');
  return [str(a.name), a.hash === undefined ? '' : str(a.hash), a.saltLength === undefined ? 0 : SafeNumber(a.saltLength)];
}
function keyBytes(key) { return bytesOf(str(key)); }
function wrapArgs(params) {
  if (params === null || typeof params !== 'object') throw new SafeTypeError('wrapping parameters must be an object');
  const label = isArrayBuffer(params.label) ? params.label : undefined;
  return [str(params.name), label === undefined ? 0 : 1, label, params.aesKeySize === undefined ? 0 : SafeNumber(params.aesKeySize)];
}
function jwkFromPem(kind) {
  return function pemToJwk(pem, kid) {
    return jsonParse(host(O.pemToJwk, kind, str(pem), kid === undefined ? 0 : 1, kid === undefined ? '' : str(kid)));
  };
}
function pemFromJwk(kind) {
  return function jwkToPem(jwk) { return host(O.jwkToPem, kind, jsonStringify(jwk)); };
}
const crypto = {
  digest: (name, data) => host(O.digest, str(name), data),
  generateAesKey: (size) => host(O.generateAesKey, SafeNumber(size)),
  generateRsaKeyPair(size, exponent) {
    return jsonParse(host(O.generateRsaKeyPair, SafeNumber(size), arguments.length < 2 ? -1 : SafeNumber(exponent)));
  },
  generateEcdsaKeyPair: (curve) => jsonParse(host(O.generateEcdsaKeyPair, str(curve))),
  generateEddsaKeyPair: (curve) => jsonParse(host(O.generateEddsaKeyPair, str(curve))),
  sign(alg, key, data) { const a = algorithm(alg); return host(O.sign, a[0], a[1], a[2], keyBytes(key), data); },
  verifySignature(alg, key, signature, data) {
    const a = algorithm(alg);
    return host(O.verifySignature, a[0], a[1], a[2], keyBytes(key), signature, data);
  },
  wrapKey(key, wrappingKey, params) { const p = wrapArgs(params); return host(O.wrapKey, key, wrappingKey, p[0], p[1], p[2], p[3]); },
  unwrapKey(key, wrappingKey, params) { const p = wrapArgs(params); return host(O.unwrapKey, key, wrappingKey, p[0], p[1], p[2], p[3]); },
  isValidX509CertBundle: (pem) => host(O.isValidX509CertBundle, str(pem)),
  isValidX509CertChain: (chain, trusted) => host(O.isValidX509CertChain, str(chain), str(trusted)),
  pubPemToJwk: jwkFromPem(J.ecPublic),
  pemToJwk: jwkFromPem(J.ecPrivate),
  pubRsaPemToJwk: jwkFromPem(J.rsaPublic),
  rsaPemToJwk: jwkFromPem(J.rsaPrivate),
  pubEddsaPemToJwk: jwkFromPem(J.eddsaPublic),
  eddsaPemToJwk: jwkFromPem(J.eddsaPrivate),
  pubJwkToPem: pemFromJwk(J.ecPublic),
  jwkToPem: pemFromJwk(J.ecPrivate),
  pubRsaJwkToPem: pemFromJwk(J.rsaPublic),
  rsaJwkToPem: pemFromJwk(J.rsaPrivate),
  pubEddsaJwkToPem: pemFromJwk(J.eddsaPublic),
  eddsaJwkToPem: pemFromJwk(J.eddsaPrivate),
};

// ---- the global ----
let metricsLogging = false;
const ccf = {
  kv,
  strToBuf, bufToStr, jsonCompatibleToBuf, bufToJsonCompatible,
  crypto,
  // Deprecated top-level aliases CCF still provides.
  generateAesKey: crypto.generateAesKey, generateRsaKeyPair: crypto.generateRsaKeyPair,
  generateEcdsaKeyPair: crypto.generateEcdsaKeyPair, wrapKey: crypto.wrapKey, digest: crypto.digest,
  isValidX509CertBundle: crypto.isValidX509CertBundle, isValidX509CertChain: crypto.isValidX509CertChain,
  rpc: {
    setApplyWrites(force) {
      if (typeof force !== 'boolean') throw new SafeTypeError('First argument must be a boolean');
      host(O.setApplyWrites, force);
    },
    setClaimsDigest(digest) { host(O.setClaimsDigest, digest); },
  },
  consensus: {
    getLastCommittedTxId() { const t = jsonParse(host(O.lastCommittedTxId)); return { view: t[0], seqno: t[1] }; },
    getStatusForTxId: (view, seqno) => host(O.statusForTxId, SafeNumber(view), SafeNumber(seqno)),
    getViewForSeqno: (seqno) => host(O.viewForSeqno, SafeNumber(seqno)),
  },
  historical: {
    getStateRange(handle, startSeqno, endSeqno, secondsUntilExpiry) {
      const text = host(O.historical, H.getStateRange, handle, startSeqno, endSeqno, secondsUntilExpiry);
      if (text === null) return null;
      const states = jsonParse(text);
      for (let i = 0; i < states.length; i++) {
        const [slot, transactionId, receipt] = states[i];
        states[i] = { transactionId, receipt, kv: makeKv(O.kvOpenHistorical, slot) };
      }
      return states;
    },
    dropCachedStates: (handle) => host(O.historical, H.dropCachedStates, handle),
  },
  enableUntrustedDateTime(enable) { return !!enable; },
  enableMetricsLogging(enable) {
    if (typeof enable !== 'boolean') throw new SafeTypeError('First argument must be a boolean');
    const previous = metricsLogging;
    metricsLogging = enable;
    return previous;
  },
  pemToId: (pem) => host(O.pemToId, str(pem)),
};
defineProperty(ccf, 'historicalState', {
  get() { return historicalMode === 1 ? undefined : historicalState; }, enumerable: true, configurable: true,
});

function logLine(level) {
  return function log() {
    let line = '';
    for (let i = 0; i < arguments.length; i++) {
      const a = arguments[i];
      let s;
      if (typeof a === 'string') s = a;
      else if (a !== null && typeof a === 'object' && !(a instanceof Error)) { try { s = jsonStringify(a); } catch { s = str(a); } }
      else s = str(a);
      line += (i === 0 ? '' : ' ') + s;
    }
    host(O.log, level, indexOf(line, '\0') < 0 ? line : line.split('\0').join(' '));
  };
}
const console = { log: logLine('info'), info: logLine('info'), debug: logLine('debug'), warn: logLine('warn'), error: logLine('error') };

defineProperty(globalThis, 'ccf', { value: ccf, writable: true, enumerable: false, configurable: true });
// snp_attestation: CCF defines it on every platform (it verifies a report it is handed). The host
// verifies and answers JSON whose byte fields are hex; they become ArrayBuffers here, as in CCF.
const SNP_BYTE_FIELDS = ${JSON.stringify(SNP_BYTE_FIELDS)};
function nibble(c) { return c <= 57 ? c - 48 : c - 87; } // '0'-'9', 'a'-'f' (the host writes lower case)
function hexToBuf(hex) {
  const out = new U8(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = nibble(charCodeAt(hex, 2 * i)) * 16 + nibble(charCodeAt(hex, 2 * i + 1));
  return out.buffer;
}
const snp_attestation = {
  verifySnpAttestation(evidence, endorsements, uvm_endorsements, endorsed_tcb) {
    const result = jsonParse(host(O.verifySnpAttestation, evidence, endorsements, uvm_endorsements, endorsed_tcb));
    const a = result.attestation;
    for (let i = 0; i < SNP_BYTE_FIELDS.length; i++) a[SNP_BYTE_FIELDS[i]] = hexToBuf(a[SNP_BYTE_FIELDS[i]]);
    a.signature = { r: hexToBuf(a.signature.r), s: hexToBuf(a.signature.s) };
    return result;
  },
};
defineProperty(globalThis, 'snp_attestation', { value: snp_attestation, writable: true, enumerable: false, configurable: true });
defineProperty(globalThis, 'console', { value: console, writable: true, enumerable: false, configurable: true });
// CCF replaces Math.random with the enclave's entropy source; so do we.
Math.random = function random() { return host(O.random); };

return [invoke, load, Error, TypeError, RangeError, ReferenceError, SyntaxError, InternalError];
})`;
