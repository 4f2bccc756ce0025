// Conformance app, part 1: the `ccf` global alone. Plain JavaScript, so that the same file runs in
// Synod's sandbox (as a bundle module) and in Node under the polyfill. Each handler reports what it
// observed; suite.ts holds the expectations both runtimes must meet.

const b = (text) => ccf.strToBuf(text);
const s = (buffer) => ccf.bufToStr(buffer);
const bytes = (list) => new Uint8Array(list).buffer;
const HEX = "0123456789abcdef";
function hex(buffer) {
  const u = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < u.length; i++) out += HEX[u[i] >> 4] + HEX[u[i] & 15];
  return out;
}
function fromHex(text) {
  const u = new Uint8Array(text.length / 2);
  for (let i = 0; i < u.length; i++) u[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return u.buffer;
}
/** The error's class name, or "ok". */
function outcome(fn) {
  try {
    fn();
    return "ok";
  } catch (e) {
    return e && e.name ? e.name : String(e);
  }
}
function queryValue(query, name) {
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    if (part.slice(0, eq) === name) return decodeURIComponent(part.slice(eq + 1));
  }
  return undefined;
}
function sortedEntries(map) {
  const entries = [];
  map.forEach((value, key) => entries.push([hex(key), s(value)]));
  return entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

// ---- kv -----------------------------------------------------------------------------------------

export function kvWrite() {
  const m = ccf.kv["conf:a"];
  const returned = m.set(b("x"), b("1"));
  m.set(b("y"), b("2"));
  m.set(bytes([0, 255, 0]), bytes([]));
  return {
    body: {
      setReturnsMap: returned === m,
      sameHandle: ccf.kv["conf:a"] === m,
      ownRead: s(m.get(b("x"))),
      ownHas: m.has(b("x")),
      size: m.size,
      ownVersion: m.getVersionOfPreviousWrite(b("x")) ?? null,
      emptyValueBytes: m.get(bytes([0, 255, 0])).byteLength,
      keyByContent: m.has(new Uint8Array([0, 255, 0]).buffer),
      missing: m.get(b("zzz")) === undefined && !m.has(b("zzz")),
    },
  };
}

export function kvRead() {
  const m = ccf.kv["conf:a"];
  let sameMap = true;
  m.forEach((_v, _k, map) => (sameMap = sameMap && map === m));
  const version = (key) => m.getVersionOfPreviousWrite(key) ?? null;
  return {
    body: {
      entries: sortedEntries(m),
      size: m.size,
      sameMap,
      versions: { x: version(b("x")), y: version(b("y")), bin: version(bytes([0, 255, 0])), absent: version(b("nope")) },
    },
  };
}

export function kvUpdate() {
  const m = ccf.kv["conf:a"];
  m.set(b("x"), b("3"));
  m.delete(b("y"));
  const deleteReturns = m.delete(b("never-written"));
  return {
    body: {
      deleteReturns: deleteReturns === undefined ? "undefined" : typeof deleteReturns,
      yGone: m.get(b("y")) === undefined && !m.has(b("y")),
      x: s(m.get(b("x"))),
      size: m.size,
      yVersion: m.getVersionOfPreviousWrite(b("y")) ?? null,
    },
  };
}

/** Writes `status-<n>` and answers with status n; ?apply=true|false calls setApplyWrites. */
export function kvStatus(request) {
  const status = Number(request.params.status);
  ccf.kv["conf:status"].set(b(`status-${status}`), b(String(status)));
  const apply = queryValue(request.query, "apply");
  if (apply !== undefined) ccf.rpc.setApplyWrites(apply === "true");
  return { statusCode: status, body: { status } };
}

export function kvList(request) {
  const m = ccf.kv[queryValue(request.query, "map")];
  const keys = [];
  m.forEach((_v, k) => keys.push(s(k)));
  return { body: keys.sort() };
}

export function kvThrow() {
  ccf.kv["conf:status"].set(b("thrown"), b("1"));
  throw new RangeError("the handler failed after writing");
}

export function kvClear() {
  const m = ccf.kv["conf:a"];
  m.clear();
  let visited = 0;
  m.forEach(() => visited++);
  const observed = { sizeAfterClear: m.size, visited, hasX: m.has(b("x")), getX: m.get(b("x")) === undefined };
  m.set(b("after"), b("1"));
  return {
    body: { ...observed, sizeAfterSet: m.size, versionX: typeof m.getVersionOfPreviousWrite(b("x")) },
  };
}

export function kvClearEmpty() {
  ccf.kv["conf:never-written"].clear();
  ccf.kv["conf:never-written"].delete(b("absent"));
  return { body: { size: ccf.kv["conf:never-written"].size } };
}

export function kvForEachWrites() {
  const m = ccf.kv["conf:fe"];
  if (m.size === 0) {
    for (const k of ["k1", "k2", "k3"]) m.set(b(k), b(k));
    return { body: { seeded: true } };
  }
  const seen = [];
  m.forEach((_v, k) => {
    seen.push(s(k));
    m.set(b(`new-${s(k)}`), b("n"));
    m.delete(k);
  });
  return { body: { seen: seen.sort(), size: m.size, after: sortedEntries(m).map((e) => s(fromHex(e[0]))) } };
}

export function kvReadonlyWrite() {
  const m = ccf.kv["conf:a"];
  return {
    body: {
      get: outcome(() => m.get(b("x"))),
      size: outcome(() => m.size),
      set: outcome(() => m.set(b("ro"), b("1"))),
      delete: outcome(() => m.delete(b("x"))),
      clear: outcome(() => m.clear()),
    },
  };
}

export function kvCapabilities() {
  const names = [
    "app",
    "public:app",
    "public:ccf.gov.users.certs",
    "ccf.gov.users.certs",
    "ccf.internal.secrets",
    "public:ccf.internal.signatures",
    "ccf.app",
    "public:ccf.app",
  ];
  const result = {};
  for (const name of names) {
    const m = ccf.kv[name];
    result[name] = { read: outcome(() => m.get(b("k"))), write: outcome(() => m.set(b("k"), b("v"))) };
  }
  result.nameLengths = {
    empty: outcome(() => ccf.kv[""]),
    max: outcome(() => ccf.kv["n".repeat(256)]),
    tooLong: outcome(() => ccf.kv["n".repeat(257)]),
  };
  result.symbol = typeof ccf.kv[Symbol.iterator];
  return { body: result };
}

/** Misuse of the kv API; answers 400 so that nothing it wrote is applied. */
export function kvArguments() {
  const m = ccf.kv["conf:args"];
  const ab = b("k");
  return {
    statusCode: 400,
    body: {
      getTypedArray: outcome(() => m.get(new Uint8Array(1))),
      getString: outcome(() => m.get("k")),
      hasUndefined: outcome(() => m.has(undefined)),
      setStringValue: outcome(() => m.set(ab, "v")),
      setTypedArrayValue: outcome(() => m.set(ab, new Uint8Array(1))),
      forEachNotFunction: outcome(() => m.forEach(5)),
      keyAtLimit: outcome(() => m.set(new ArrayBuffer(64 * 1024), ab)),
      keyOverLimit: outcome(() => m.set(new ArrayBuffer(64 * 1024 + 1), ab)),
      valueAtLimit: outcome(() => m.set(ab, new ArrayBuffer(1024 * 1024))),
      valueOverLimit: outcome(() => m.set(ab, new ArrayBuffer(1024 * 1024 + 1))),
    },
  };
}

export function kvCopies() {
  const m = ccf.kv["conf:copies"];
  const key = bytes([1]);
  const value = new Uint8Array([7, 7]);
  m.set(key, value.buffer);
  value[0] = 9; // changing the caller's buffer after set changes nothing stored
  const first = new Uint8Array(m.get(key));
  first[1] = 9; // nor does changing a buffer get returned
  return { body: { stored: Array.from(new Uint8Array(m.get(key))) } };
}

// ---- converters -----------------------------------------------------------------------------------

export function converters() {
  const text = "héllo €😀";
  return {
    body: {
      utf8: hex(b(text)),
      roundTrip: s(b(text)) === text,
      nul: hex(b("a\0b")),
      nulBack: s(b("a\0b")) === "a\0b",
      loneSurrogate: hex(b("a\ud800b")),
      invalidUtf8: s(bytes([0xff, 0x41, 0xc3])),
      json: s(ccf.jsonCompatibleToBuf({ a: [1, "x", null], b: true })),
      jsonBack: ccf.bufToJsonCompatible(b('{"k":[1,2.5,"é"]}')),
      errors: {
        strToBufNumber: outcome(() => ccf.strToBuf(5)),
        bufToStrTypedArray: outcome(() => ccf.bufToStr(new Uint8Array(1))),
        jsonUndefined: outcome(() => ccf.jsonCompatibleToBuf(undefined)),
        jsonSyntax: outcome(() => ccf.bufToJsonCompatible(b("{"))),
      },
    },
  };
}

// ---- crypto ---------------------------------------------------------------------------------------

/** Known answers and refusals; the request body carries certificates made by the test. */
export function cryptoVectors(request) {
  const certs = request.body.json();
  const c = ccf.crypto;
  const fox = b("The quick brown fox jumps over the lazy dog");
  const kek = fromHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
  const ec = c.generateEcdsaKeyPair("secp256r1");
  const data = b("data");
  return {
    body: {
      sha256: hex(c.digest("SHA-256", b("abc"))),
      deprecatedDigest: hex(ccf.digest("SHA-256", b("abc"))),
      hmac256: hex(c.sign({ name: "HMAC", hash: "SHA-256" }, "key", fox)),
      hmacLengths: [c.sign({ name: "HMAC", hash: "SHA-384" }, "key", fox).byteLength, c.sign({ name: "HMAC", hash: "SHA-512" }, "key", fox).byteLength],
      kwp20: hex(c.wrapKey(fromHex("c37b7e6492584340bed12207808941155068f738"), kek, { name: "AES-KWP" })),
      kwp7: hex(c.wrapKey(fromHex("466f7250617369"), kek, { name: "AES-KWP" })),
      kwpUnwrap: hex(c.unwrapKey(fromHex("afbeb0f07dfbf5419200f2ccb50bb24f"), kek, { name: "AES-KWP" })),
      aesKeyBytes: [128, 192, 256].map((bits) => c.generateAesKey(bits).byteLength),
      aesKeysDiffer: hex(c.generateAesKey(256)) !== hex(c.generateAesKey(256)),
      certificates: {
        bundle: c.isValidX509CertBundle(certs.leaf + certs.root),
        notABundle: c.isValidX509CertBundle("not a certificate"),
        chain: c.isValidX509CertChain(certs.leaf, certs.root),
        chainThroughIntermediate: c.isValidX509CertChain(certs.leaf + certs.root, certs.root),
        wrongRoot: c.isValidX509CertChain(certs.leaf, certs.otherRoot),
        expired: c.isValidX509CertChain(certs.expired, certs.expired),
        selfTrusted: c.isValidX509CertChain(certs.root, certs.root),
      },
      refusals: {
        digestSha384: outcome(() => c.digest("SHA-384", data)),
        digestString: outcome(() => c.digest("SHA-256", "abc")),
        aesKeyBits: outcome(() => c.generateAesKey(100)),
        ecdsaCurve: outcome(() => c.generateEcdsaKeyPair("secp521r1")),
        eddsaCurve: outcome(() => c.generateEddsaKeyPair("ed448")),
        rsaBits: outcome(() => c.generateRsaKeyPair(512)),
        rsaExponent: outcome(() => c.generateRsaKeyPair(1024, 4)),
        signWithoutHash: outcome(() => c.sign({ name: "ECDSA" }, ec.privateKey, data)),
        signAlgorithm: outcome(() => c.sign({ name: "RSA-PKCS1", hash: "SHA-256" }, ec.privateKey, data)),
        signBadKey: outcome(() => c.sign({ name: "ECDSA", hash: "SHA-256" }, "not a key", data)),
        verifySha384: outcome(() => c.verifySignature({ name: "ECDSA", hash: "SHA-384" }, ec.publicKey, new ArrayBuffer(64), data)),
        verifyBadKey: outcome(() => c.verifySignature({ name: "ECDSA", hash: "SHA-256" }, "not a key", new ArrayBuffer(64), data)),
        wrapAlgorithm: outcome(() => c.wrapKey(new ArrayBuffer(16), new ArrayBuffer(16), { name: "AES-GCM" })),
        unwrapAlgorithm: outcome(() => c.unwrapKey(new ArrayBuffer(24), new ArrayBuffer(16), { name: "AES-GCM" })),
        unwrapGarbage: outcome(() => c.unwrapKey(new ArrayBuffer(24), new ArrayBuffer(16), { name: "AES-KWP" })),
        kwpKekSize: outcome(() => c.wrapKey(new ArrayBuffer(16), new ArrayBuffer(15), { name: "AES-KWP" })),
        jwkWrongKind: outcome(() => c.pubRsaPemToJwk(ec.publicKey)),
        jwkToPemWrongKty: outcome(() => c.pubJwkToPem({ kty: "RSA", n: "AQAB", e: "AQAB" })),
      },
      verifyMalformedSignature: c.verifySignature({ name: "ECDSA", hash: "SHA-256" }, ec.publicKey, new ArrayBuffer(3), data),
    },
  };
}

/** Fresh keys and signatures, for the test to check with node:crypto. */
export function cryptoKeys() {
  const c = ccf.crypto;
  const message = b("conformance message");
  const tampered = b("conformance messagE");
  const p256 = c.generateEcdsaKeyPair("secp256r1");
  const p384 = c.generateEcdsaKeyPair("secp384r1");
  const ed = c.generateEddsaKeyPair("curve25519");
  const x = c.generateEddsaKeyPair("x25519");
  const rsa = c.generateRsaKeyPair(2048);
  const ecdsa = { name: "ECDSA", hash: "SHA-256" };
  const pss = { name: "RSA-PSS", hash: "SHA-256", saltLength: 32 };
  const sigs = {
    p256: c.sign(ecdsa, p256.privateKey, message),
    p384: c.sign(ecdsa, p384.privateKey, message),
    ed: c.sign({ name: "EdDSA" }, ed.privateKey, message),
    rsa: c.sign(pss, rsa.privateKey, message),
  };
  const verify = (alg, pub, sig) => [c.verifySignature(alg, pub, sig, message), c.verifySignature(alg, pub, sig, tampered)];
  const aesKey = c.generateAesKey(256);
  const label = b("label");
  const oaep = c.wrapKey(aesKey, b(rsa.publicKey), { name: "RSA-OAEP", label });
  const hybrid = c.wrapKey(aesKey, b(rsa.publicKey), { name: "RSA-OAEP-AES-KWP", aesKeySize: 256 });
  return {
    body: {
      keys: { p256, p384, ed, x, rsaPublic: rsa.publicKey, rsaPrivate: rsa.privateKey },
      signatures: { p256: hex(sigs.p256), p384: hex(sigs.p384), ed: hex(sigs.ed), rsa: hex(sigs.rsa) },
      selfVerify: {
        p256: verify(ecdsa, p256.publicKey, sigs.p256),
        p384: verify(ecdsa, p384.publicKey, sigs.p384),
        ed: verify({ name: "EdDSA" }, ed.publicKey, sigs.ed),
        rsa: verify(pss, rsa.publicKey, sigs.rsa),
      },
      wrapping: {
        aesKey: hex(aesKey),
        oaep: hex(oaep),
        oaepRoundTrip: hex(c.unwrapKey(oaep, b(rsa.privateKey), { name: "RSA-OAEP", label })) === hex(aesKey),
        oaepWrongLabel: outcome(() => c.unwrapKey(oaep, b(rsa.privateKey), { name: "RSA-OAEP", label: b("other") })),
        hybridBytes: hybrid.byteLength,
        hybridRoundTrip: hex(c.unwrapKey(hybrid, b(rsa.privateKey), { name: "RSA-OAEP-AES-KWP", aesKeySize: 256 })) === hex(aesKey),
      },
      jwk: {
        p256: c.pubPemToJwk(p256.publicKey, "kid-1"),
        p256NoKid: Object.keys(c.pubPemToJwk(p256.publicKey)).sort(),
        p256Private: Object.keys(c.pemToJwk(p256.privateKey)).sort(),
        p256Back: c.pubJwkToPem(c.pubPemToJwk(p256.publicKey, "k")) === p256.publicKey,
        p256PrivateBack: c.jwkToPem(c.pemToJwk(p256.privateKey)) === p256.privateKey,
        rsa: Object.keys(c.pubRsaPemToJwk(rsa.publicKey)).sort(),
        rsaPrivate: Object.keys(c.rsaPemToJwk(rsa.privateKey)).sort(),
        rsaBack: c.pubRsaJwkToPem(c.pubRsaPemToJwk(rsa.publicKey)) === rsa.publicKey,
        ed: c.pubEddsaPemToJwk(ed.publicKey),
        edBack: c.eddsaJwkToPem(c.eddsaPemToJwk(ed.privateKey)) === ed.privateKey,
        x25519: c.pubEddsaPemToJwk(x.publicKey).crv,
      },
    },
  };
}

// ---- historical ---------------------------------------------------------------------------------

// Captured when the module loads, as @microsoft/ccf-app's historical module does.
const historicalAtLoad = ccf.historicalState;

export function historical() {
  const state = ccf.historicalState;
  const m = state.kv["hist:m"];
  return {
    body: {
      sameAsAtLoad: state === historicalAtLoad,
      transactionId: state.transactionId,
      receipt: state.receipt,
      a: s(m.get(b("a"))),
      missing: m.get(b("zz")) === undefined,
      entries: sortedEntries(m),
      size: m.size,
      version: typeof m.getVersionOfPreviousWrite(b("a")),
      governance: s(state.kv["public:ccf.gov.hist"].get(b("g"))),
      write: outcome(() => m.set(b("a"), b("2"))),
      internal: outcome(() => state.kv["ccf.internal.hist"].get(b("a"))),
      currentStateWrite: outcome(() => ccf.kv["hist:current"].set(b("a"), b("1"))),
    },
  };
}

/** A handler of another endpoint: no historical state, and the captured object refuses to answer. */
export function notHistorical() {
  return {
    body: {
      state: ccf.historicalState === undefined,
      capturedTransactionId: outcome(() => historicalAtLoad.transactionId),
      capturedKv: outcome(() => historicalAtLoad.kv["hist:m"].get(b("a"))),
    },
  };
}

// ---- rpc, consensus, request, response, globals ---------------------------------------------------

export function rpcClaims(request) {
  const digest = ccf.crypto.digest("SHA-256", b(request.body.text()));
  ccf.rpc.setClaimsDigest(digest);
  return { body: { digest: hex(digest) } };
}

export function rpcErrors() {
  return {
    body: {
      claimsShort: outcome(() => ccf.rpc.setClaimsDigest(new ArrayBuffer(31))),
      claimsTypedArray: outcome(() => ccf.rpc.setClaimsDigest(new Uint8Array(32))),
      applyWritesNumber: outcome(() => ccf.rpc.setApplyWrites(1)),
    },
  };
}

export function consensus() {
  const k = ccf.consensus;
  return {
    body: {
      last: k.getLastCommittedTxId(),
      statuses: [k.getStatusForTxId(2, 5), k.getStatusForTxId(1, 5), k.getStatusForTxId(2, 99)],
      numericStrings: k.getStatusForTxId("2", "5"),
      views: [k.getViewForSeqno(5), k.getViewForSeqno(99)],
      errors: {
        negative: outcome(() => k.getStatusForTxId(-1, 1)),
        notANumber: outcome(() => k.getStatusForTxId("x", 1)),
        negativeSeqno: outcome(() => k.getViewForSeqno(-3)),
      },
    },
  };
}

export function echo(request) {
  return {
    body: {
      method: request.method,
      path: request.path,
      url: request.url,
      route: request.route,
      query: request.query,
      params: request.params,
      contentType: request.headers["content-type"],
      custom: request.headers["x-custom"],
      hostname: request.hostname,
      caller: request.caller,
      text: request.body.text(),
      json: request.body.json(),
      bytes: request.body.arrayBuffer().byteLength,
      stringifiedKeys: Object.keys(JSON.parse(JSON.stringify(request))).sort(),
    },
  };
}

const RESPONSES = {
  text: () => ({ body: "hi" }),
  bytes: () => ({ body: new Uint8Array([1, 2, 3]).buffer }),
  view: () => ({ body: new Uint8Array([9, 8, 7, 6]).subarray(1, 3) }),
  json: () => ({ body: { a: [1, "é"] } }),
  none: () => ({}),
  custom: () => ({ statusCode: 201, headers: { "Content-Type": "application/x-custom", "x-n": 5 }, body: "x" }),
  nullStatus: () => ({ statusCode: null, body: "x" }),
  fractionalStatus: () => ({ statusCode: 200.5 }),
  notAnObject: () => 5,
  functionBody: () => ({ body: () => 1 }),
  bigintBody: () => ({ body: { n: 1n } }),
  badHeader: () => ({ headers: { "bad header": "x" } }),
};

export function respond(request) {
  return RESPONSES[request.params.kind]();
}

export async function respondAsync() {
  await Promise.resolve();
  ccf.kv["conf:async"].set(b("k"), b("later"));
  return { body: s(ccf.kv["conf:async"].get(b("k"))) };
}

/** CCF defines snp_attestation.verifySnpAttestation on every platform (it checks a report it is given). */
export function snpAttestation() {
  const global = globalThis.snp_attestation;
  return { body: { verify: global === undefined || global === null ? "undefined" : typeof global.verifySnpAttestation } };
}

export function globals() {
  const random = Math.random();
  return {
    body: {
      untrustedDateTime: [ccf.enableUntrustedDateTime(true), ccf.enableUntrustedDateTime(false)],
      metricsLogging: [ccf.enableMetricsLogging(true), ccf.enableMetricsLogging(false)],
      historical: outcome(() => ccf.historical.getStateRange(1, 1, 2, 10)),
      historicalState: ccf.historicalState === undefined,
      deprecatedAliases: ["generateAesKey", "generateRsaKeyPair", "generateEcdsaKeyPair", "wrapKey", "digest", "isValidX509CertBundle", "isValidX509CertChain"].filter(
        (name) => typeof ccf[name] !== "function",
      ),
      random: random >= 0 && random < 1,
      date: typeof Date.now(),
    },
  };
}
