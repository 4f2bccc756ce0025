// Small helpers shared by the endpoint modules: CCF-style error bodies, strict parsing of request
// input, and hex encoding (the sandbox has no Buffer, btoa or TextEncoder).

import * as ccfapp from "@microsoft/ccf-app";

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Thrown by handlers' helpers; `handle` turns it into a response. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errorResponse(statusCode: number, code: string, message: string): ccfapp.Response<ErrorBody> {
  return { statusCode, body: { error: { code, message } } };
}

/** Runs a handler body, mapping HttpError to its response; anything else is a bug and propagates (500). */
export function handle(fn: () => ccfapp.Response): ccfapp.Response {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HttpError) return errorResponse(e.statusCode, e.code, e.message);
    throw e;
  }
}

export function jsonObject(request: ccfapp.Request): Record<string, unknown> {
  let body: unknown;
  try {
    body = request.body.json();
  } catch {
    throw new HttpError(400, "InvalidInput", "The request body is not valid JSON.");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "InvalidInput", "The request body must be a JSON object.");
  }
  return body as Record<string, unknown>;
}

/** A non-negative integer from a path or query parameter, written in plain decimal digits. */
export function uintParam(raw: string | undefined, name: string, max: number): number {
  if (raw === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(raw) || Number(raw) > max) {
    throw new HttpError(400, "InvalidInput", `${name} must be an integer from 0 to ${max}.`);
  }
  return Number(raw);
}

/** The value of `name` in a raw query string (`a=1&b=2`), or undefined. */
export function queryParam(query: string, name: string): string | undefined {
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    if (key === name) return eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
  }
  return undefined;
}

const HEX = "0123456789abcdef";

export function toHex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!;
  return out;
}

export function fromHex(hex: string, what: string): ArrayBuffer {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new HttpError(400, "InvalidInput", `${what} must be an even number of hex digits.`);
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes.buffer;
}

/** The authenticated caller's ID, as CCF's user_cert policy gives it. */
export function callerId(request: ccfapp.Request): string {
  const caller = request.caller as { id?: unknown } | undefined;
  if (caller === undefined || typeof caller.id !== "string") {
    throw new HttpError(401, "Unauthorized", "This endpoint needs an authenticated user.");
  }
  return caller.id;
}
