// A service signing key, made on first use and kept in a private map: the app signs messages for
// callers and checks signatures, with ccf.crypto (ECDSA P-256, SHA-256, signatures as r‖s).
//
//   POST /signatures         {"message"}               -> {signature (hex), public_key (PEM)}
//   POST /signatures/verify  {"message", "signature"}  -> {valid}
//   GET  /signing-key                                   -> {public_key}, or 404 before the first signature

import * as ccfapp from "@microsoft/ccf-app";
import { generateEcdsaKeyPair, sign as signData, verifySignature } from "@microsoft/ccf-app/crypto.js";
import type { CryptoKeyPair, SigningAlgorithm } from "@microsoft/ccf-app/global.js";
import { HttpError, errorResponse, fromHex, handle, jsonObject, toHex } from "../http.js";

const MESSAGE_LENGTH_MAX = 65536;
const ALGORITHM: SigningAlgorithm = { name: "ECDSA", hash: "SHA-256" };
const CURRENT = "current";

const keys = ccfapp.typedKv("signing_keys", ccfapp.string, ccfapp.json<CryptoKeyPair>());

function message(body: Record<string, unknown>): ArrayBuffer {
  const text = body["message"];
  if (typeof text !== "string" || text.length > MESSAGE_LENGTH_MAX) {
    throw new HttpError(400, "InvalidInput", `message must be a string of at most ${MESSAGE_LENGTH_MAX} characters.`);
  }
  return ccfapp.string.encode(text);
}

export function sign(request: ccfapp.Request<{ message: string }>): ccfapp.Response {
  return handle(() => {
    const data = message(jsonObject(request));
    let pair = keys.get(CURRENT);
    if (pair === undefined) {
      pair = generateEcdsaKeyPair("secp256r1");
      keys.set(CURRENT, pair);
    }
    return { body: { signature: toHex(signData(ALGORITHM, pair.privateKey, data)), public_key: pair.publicKey } };
  });
}

export function verify(request: ccfapp.Request<{ message: string; signature: string }>): ccfapp.Response {
  return handle(() => {
    const body = jsonObject(request);
    const data = message(body);
    const signature = body["signature"];
    if (typeof signature !== "string") throw new HttpError(400, "InvalidInput", "signature must be a hex string.");
    const pair = keys.get(CURRENT);
    if (pair === undefined) return errorResponse(404, "ResourceNotFound", "Nothing has been signed yet.");
    return { body: { valid: verifySignature(ALGORITHM, pair.publicKey, fromHex(signature, "signature"), data) } };
  });
}

export function publicKey(): ccfapp.Response {
  const pair = keys.get(CURRENT);
  if (pair === undefined) return errorResponse(404, "ResourceNotFound", "Nothing has been signed yet.");
  return { body: { public_key: pair.publicKey } };
}
