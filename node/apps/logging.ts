// The logging sample app, natively in TypeScript until JS bundles land: CCF's logging app API.
//   POST /app/log/private  {"id": <number>, "msg": <string>}  → true, stored encrypted in the ledger
//   GET  /app/log/private?id=<n>                          → {"msg": …} or 404 ResourceNotFound
//   POST/GET /app/log/public: the same in a public map, readable in the ledger by anyone.
// Callers authenticate with a user certificate.

import { RpcError } from '../errors.ts';
import type { Endpoint, EndpointContext, EndpointResponse, NativeApp } from '../enclave/frontend.ts';
import { limits } from '../limits.ts';

const PRIVATE_MAP = 'records';
const PUBLIC_MAP = 'public:records';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Keys are the id as a u64 little-endian, as CCF's logging app stores them. */
function idKey(id: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(id), true);
  return key;
}

function parseId(raw: unknown): number {
  const id = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new RpcError('InvalidInput', 'id must be a non-negative integer.');
  }
  return id;
}

function write(map: string) {
  return (ctx: EndpointContext): EndpointResponse => {
    const body = ctx.json() as { id?: unknown; msg?: unknown } | null;
    if (body === null || typeof body !== 'object') throw new RpcError('InvalidInput', 'Expected a JSON object {"id", "msg"}.');
    const id = parseId(body.id);
    if (typeof body.msg !== 'string') throw new RpcError('InvalidInput', 'msg must be a string.');
    const value = encoder.encode(body.msg);
    if (value.length > limits.kvValueBytesMax) throw new RpcError('InvalidInput', `msg is longer than ${limits.kvValueBytesMax} bytes.`);
    ctx.tx.map(map).set(idKey(id), value);
    return { body: true };
  };
}

function read(map: string) {
  return (ctx: EndpointContext): EndpointResponse => {
    const id = parseId(ctx.query.get('id') ?? undefined);
    const value = ctx.tx.map(map).get(idKey(id));
    if (value === undefined) throw new RpcError('ResourceNotFound', `No message with id ${id}.`);
    return { body: { msg: decoder.decode(value) } };
  };
}

function endpoints(kind: 'private' | 'public', map: string): Endpoint[] {
  const path = `/app/log/${kind}`;
  const bodySchema = {
    requestBody: {
      required: true,
      content: { 'application/json': { schema: { type: 'object', required: ['id', 'msg'], properties: { id: { type: 'integer' }, msg: { type: 'string' } } } } },
    },
  };
  return [
    { method: 'POST', path, authn: ['user_cert'], mode: 'readwrite', handler: write(map), summary: `Record a ${kind} message`, openapi: bodySchema },
    { method: 'GET', path, authn: ['user_cert'], mode: 'readonly', handler: read(map), summary: `Read a ${kind} message by id` },
  ];
}

export const loggingApp: NativeApp = {
  name: 'logging',
  endpoints: [...endpoints('private', PRIVATE_MAP), ...endpoints('public', PUBLIC_MAP)],
};
