// Conformance app, part 2: this package's app-facing modules (typed KV, converters, consensus,
// endpoints, crypto) over the `ccf` global. The imports name the SDK's sources; in Synod's sandbox the
// suite loads them as bundle modules of the same names, transpiled (backends.ts).

import * as sdk from "../../src/index.ts";
import { digest, generateEcdsaKeyPair, sign, verifySignature } from "../../src/crypto.ts";
import { ccf as ccfModule } from "../../src/global.ts";
import { TextEncoder as CcfTextEncoder } from "../../src/textcodec.ts";

const HEX = "0123456789abcdef";
function hex(buffer) {
  const u = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < u.length; i++) out += HEX[u[i] >> 4] + HEX[u[i] & 15];
  return out;
}
function outcome(fn) {
  try {
    fn();
    return "ok";
  } catch (e) {
    return e && e.name ? e.name : String(e);
  }
}

const records = sdk.typedKv("sdk:records", sdk.uint32, sdk.json());
const prices = sdk.typedKv("sdk:prices", sdk.string, sdk.float64);
const members = sdk.typedKvSet("sdk:members", sdk.int32);
const blobs = sdk.typedKv("sdk:blobs", sdk.uint8, sdk.typedArray(Uint8Array));
const big = sdk.typedKv("sdk:big", sdk.int64, sdk.uint64);
const flags = sdk.typedKv(sdk.rawKv["sdk:flags"], sdk.int8, sdk.bool);

export function write() {
  records.set(1, { name: "one", tags: ["a"] }).set(2, { name: "two", tags: [] });
  prices.set("pi", 3.14159).set("e", 2.71828);
  members.add(-5).add(7).add(7);
  blobs.set(255, new Uint8Array([0, 1, 2, 3]).subarray(1));
  big.set(-2n, 2n ** 64n - 1n);
  flags.set(-128, true).set(127, false);
  return {
    body: {
      ownRead: records.get(1),
      membersSize: members.size,
      ownVersion: records.getVersionOfPreviousWrite(1) ?? null,
      rawKvIsGlobal: sdk.rawKv["sdk:records"] === ccf.kv["sdk:records"],
      globalModule: ccfModule === ccf,
    },
  };
}

export function read() {
  const recordList = [];
  records.forEach((value, key, table) => recordList.push([key, value.name, table === records]));
  const memberList = [];
  members.forEach((key, set) => memberList.push([key, set === members]));
  return {
    body: {
      records: recordList.sort((a, b) => a[0] - b[0]),
      missing: records.get(3) === undefined && !records.has(3),
      prices: [prices.get("pi"), prices.get("e")],
      members: memberList.sort((a, b) => a[0] - b[0]),
      hasMember: [members.has(-5), members.has(8)],
      blob: Array.from(blobs.get(255)),
      big: String(big.get(-2n)),
      flags: [flags.get(-128), flags.get(127)],
      sizes: [records.size, prices.size, members.size],
      versions: [typeof records.getVersionOfPreviousWrite(1), typeof members.getVersionOfPreviousWrite(-5), members.getVersionOfPreviousWrite(99) ?? null],
      rawBytes: {
        member: hex(ccf.kv["sdk:members"].get(sdk.int32.encode(-5))),
        blobKey: ccf.kv["sdk:blobs"].has(new Uint8Array([255, 0]).buffer),
      },
    },
  };
}

export function remove() {
  records.delete(2);
  members.delete(-5);
  prices.clear();
  return { body: { records: records.size, members: members.size, prices: prices.size } };
}

export function encodings() {
  const e = (converter, value) => hex(converter.encode(value));
  return {
    body: {
      bool: [e(sdk.bool, true), e(sdk.bool, false)],
      int8: e(sdk.int8, -1),
      uint8: e(sdk.uint8, 5),
      int16: e(sdk.int16, -2),
      uint16: e(sdk.uint16, 258),
      int32: e(sdk.int32, -3),
      uint32: e(sdk.uint32, 1),
      int64: e(sdk.int64, -1n),
      uint64: e(sdk.uint64, 2n ** 63n),
      float32: e(sdk.float32, 1.5),
      float64: e(sdk.float64, 1),
      string: e(sdk.string, "é"),
      json: sdk.string.decode(sdk.json().encode({ a: 1 })),
      typedArray: e(sdk.typedArray(Uint16Array), new Uint16Array([1, 2]).subarray(1)),
      arrayBuffer: e(sdk.arrayBuffer, new Uint8Array([4]).buffer),
      decoded: [sdk.bool.decode(new Uint8Array([2]).buffer), sdk.uint8.decode(new Uint8Array([7, 9]).buffer), String(sdk.uint64.decode(sdk.uint64.encode(7n)))],
      textEncoder: Array.from(new CcfTextEncoder().encode("é")),
      refusals: {
        int8Range: outcome(() => sdk.int8.encode(128)),
        uint8Negative: outcome(() => sdk.uint8.encode(-1)),
        int32Fraction: outcome(() => sdk.int32.encode(1.5)),
        uint32String: outcome(() => sdk.uint32.encode("1")),
        boolNumber: outcome(() => sdk.bool.encode(1)),
        int64Number: outcome(() => sdk.int64.encode(1)),
        stringNumber: outcome(() => sdk.string.encode(1)),
        checkedJsonDate: outcome(() => sdk.checkedJson().encode({ list: [1, { when: new Date(0) }] })),
        checkedJsonMap: outcome(() => sdk.checkedJson().encode(new Map())),
        checkedJsonPlain: outcome(() => sdk.checkedJson().encode({ a: [1, { b: "c" }] })),
      },
    },
  };
}

export function services(request) {
  const claims = digest("SHA-256", sdk.string.encode(request.body.text()));
  sdk.setClaimsDigest(claims);
  const pair = generateEcdsaKeyPair("secp256r1");
  const algorithm = { name: "ECDSA", hash: "SHA-256" };
  const signature = sign(algorithm, pair.privateKey, claims);
  return {
    body: {
      claims: hex(claims),
      verified: verifySignature(algorithm, pair.publicKey, signature, claims),
      last: sdk.getLastCommittedTxId(),
      status: sdk.getStatusForTxId(2, 5),
      view: sdk.getViewForSeqno(99),
      // Captured at import (the runtime's shared object), and undefined for this non-historical request.
      historicalState: [typeof sdk.historicalState === "object" && sdk.historicalState !== null, sdk.getHistoricalState() === undefined],
    },
  };
}

export function keepRefusal() {
  records.set(100, { name: "kept" });
  sdk.setApplyWrites(true);
  return { statusCode: 409, body: { kept: true } };
}
