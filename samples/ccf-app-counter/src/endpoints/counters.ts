// Named counters in a private map, written against @microsoft/ccf-app's typed KV.
//
//   POST   /counters/{name}   {"by"?: int32}  -> {name, value}; 409 below zero (the refusal is recorded)
//   GET    /counters/{name}                   -> {name, value, version, refusals}, or 404
//   GET    /counters                          -> {counters: [{name, value}], count}
//   DELETE /counters/{name}                   -> 204, or 404

import * as ccfapp from "@microsoft/ccf-app";
import { HttpError, errorResponse, handle, jsonObject } from "../http.js";

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const counters = ccfapp.typedKv("counters", ccfapp.string, ccfapp.int32);
// Public, so that refused attempts are visible in the ledger in plaintext.
const refusals = ccfapp.typedKv("public:counters.refusals", ccfapp.string, ccfapp.uint32);

interface IncrementRequest {
  by?: number;
}

interface Counter {
  name: string;
  value: number;
}

function counterName(request: ccfapp.Request): string {
  const name = request.params["name"];
  if (name === undefined || !NAME.test(name)) {
    throw new HttpError(400, "InvalidInput", "Counter names are 1 to 64 letters, digits, '.', '_' or '-'.");
  }
  return name;
}

export function increment(request: ccfapp.Request<IncrementRequest>): ccfapp.Response {
  return handle(() => {
    const name = counterName(request);
    const by = jsonObject(request)["by"] ?? 1;
    if (typeof by !== "number" || !Number.isInteger(by) || by < INT32_MIN || by > INT32_MAX) {
      throw new HttpError(400, "InvalidInput", "by must be a 32-bit integer.");
    }
    const value = (counters.get(name) ?? 0) + by;
    if (value < 0) {
      // Refused, but the refusal itself is kept: a 4xx discards writes unless the app asks otherwise.
      refusals.set(name, (refusals.get(name) ?? 0) + 1);
      ccfapp.setApplyWrites(true);
      return errorResponse(409, "CounterUnderflow", `Counter ${name} cannot go below zero.`);
    }
    if (value > INT32_MAX) return errorResponse(409, "CounterOverflow", `Counter ${name} would exceed ${INT32_MAX}.`);
    counters.set(name, value);
    return { body: { name, value } satisfies Counter };
  });
}

export function get(request: ccfapp.Request): ccfapp.Response {
  return handle(() => {
    const name = counterName(request);
    const value = counters.get(name);
    if (value === undefined) return errorResponse(404, "ResourceNotFound", `No counter named ${name}.`);
    return {
      body: {
        name,
        value,
        version: counters.getVersionOfPreviousWrite(name) ?? null,
        refusals: refusals.get(name) ?? 0,
      },
    };
  });
}

export function list(): ccfapp.Response<{ counters: Counter[]; count: number }> {
  const all: Counter[] = [];
  counters.forEach((value, name) => all.push({ name, value }));
  all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { body: { counters: all, count: counters.size } };
}

export function remove(request: ccfapp.Request): ccfapp.Response {
  return handle(() => {
    const name = counterName(request);
    if (!counters.has(name)) return errorResponse(404, "ResourceNotFound", `No counter named ${name}.`);
    counters.delete(name);
    return { statusCode: 204 };
  });
}
