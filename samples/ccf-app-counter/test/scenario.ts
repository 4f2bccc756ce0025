// The sample's handlers, unit-tested in plain Node against @synod/app-sdk's polyfill: no node, no
// bundle. Each call goes through app.json (method, path template, module, function and mode), so the
// handlers run as they are deployed. The scenario is run twice: with the real @microsoft/ccf-app
// (handlers.test.ts) and with its imports switched to @synod/app-sdk (handlers-sdk.test.ts).

import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { polyfill, userCaller, type PolyfillRequestInit, type PolyfillResponse } from '../../../app-sdk/src/polyfill.ts';
import type { Request } from '../../../app-sdk/src/types.ts';

type Handler = (request: Request) => unknown;
export type Modules = Record<string, Record<string, unknown>>;

interface AppJson {
  endpoints: Record<string, Record<string, { js_module: string; js_function: string; mode: 'readwrite' | 'readonly' | 'historical' }>>;
}

const APP_JSON = JSON.parse(readFileSync(new URL('../app.json', import.meta.url), 'utf8')) as AppJson;
const ALICE = userCaller('a1'.repeat(32));

export function describeCounterApp(label: string, load: () => Promise<Modules>): void {
  let modules: Modules;

  /** Calls the handler app.json maps `METHOD path` to, in that endpoint's mode. */
  function call(method: string, template: string, init: Omit<PolyfillRequestInit, 'method' | 'path' | 'route'> = {}): PolyfillResponse {
    const endpoint = APP_JSON.endpoints[template]?.[method.toLowerCase()];
    if (endpoint === undefined) throw new Error(`app.json has no ${method} ${template}`);
    const moduleName = endpoint.js_module.replace(/^endpoints\//, '').replace(/\.js$/, '');
    const handler = modules[moduleName]?.[endpoint.js_function] as Handler | undefined;
    if (typeof handler !== 'function') throw new Error(`${endpoint.js_module} exports no ${endpoint.js_function}`);
    const path = `/app${template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(init.params?.[name] ?? ''))}`;
    return polyfill.invoke(handler, { caller: ALICE, ...init, method, path, route: `/app${template}` }, { mode: endpoint.mode });
  }

  describe(`ccf-app-counter handlers (${label})`, () => {
    beforeEach(async () => {
      modules ??= await load();
      polyfill.reset();
    });

    describe('counters', () => {
      it('increment, read, list and delete', () => {
        const first = call('POST', '/counters/{name}', { params: { name: 'apples' }, body: { by: 5 } });
        expect([first.status, first.json(), first.applied]).toEqual([200, { name: 'apples', value: 5 }, true]);
        expect(call('POST', '/counters/{name}', { params: { name: 'apples' }, body: {} }).json().value).toBe(6);
        call('POST', '/counters/{name}', { params: { name: 'pears' }, body: { by: 1 } });
        const read = call('GET', '/counters/{name}', { params: { name: 'apples' } });
        expect(read.json()).toEqual({ name: 'apples', value: 6, version: 2, refusals: 0 });
        expect(call('GET', '/counters').json()).toEqual({ counters: [{ name: 'apples', value: 6 }, { name: 'pears', value: 1 }], count: 2 });
        expect(call('DELETE', '/counters/{name}', { params: { name: 'pears' } }).status).toBe(204);
        expect(call('GET', '/counters/{name}', { params: { name: 'pears' } }).status).toBe(404);
        expect(call('DELETE', '/counters/{name}', { params: { name: 'pears' } }).json().error.code).toBe('ResourceNotFound');
      });

      it('a refused decrement is answered 409 but recorded (setApplyWrites)', () => {
        call('POST', '/counters/{name}', { params: { name: 'coins' }, body: { by: 1 } });
        const refused = call('POST', '/counters/{name}', { params: { name: 'coins' }, body: { by: -2 } });
        expect([refused.status, refused.json().error.code, refused.applied, refused.applyWrites]).toEqual([409, 'CounterUnderflow', true, true]);
        expect(call('GET', '/counters/{name}', { params: { name: 'coins' } }).json()).toMatchObject({ value: 1, refusals: 1 });
      });

      it('an overflow is refused and writes nothing', () => {
        call('POST', '/counters/{name}', { params: { name: 'big' }, body: { by: 2 ** 31 - 1 } });
        const refused = call('POST', '/counters/{name}', { params: { name: 'big' }, body: { by: 1 } });
        expect([refused.status, refused.json().error.code, refused.applied]).toEqual([409, 'CounterOverflow', false]);
      });

      it.each([
        [{ name: 'no spaces' }, { by: 1 }],
        [{ name: 'ok' }, { by: 1.5 }],
        [{ name: 'ok' }, { by: '1' }],
        [{ name: 'ok' }, '{"by": '],
        [{ name: 'ok' }, [1]],
      ])('400 for %j %j', (params, body) => {
        const res = call('POST', '/counters/{name}', { params, body });
        expect([res.status, res.json().error.code, res.applied]).toEqual([400, 'InvalidInput', false]);
      });
    });

    describe('notes', () => {
      it('a note sets the claims digest of its claims and keeps its author', () => {
        const res = call('POST', '/notes', { body: { text: 'hello' } });
        expect(res.status).toBe(201);
        const claims = createHash('sha256').update(JSON.stringify({ id: 1, text: 'hello' })).digest('hex');
        expect(res.json()).toEqual({ id: 1, claims_digest: claims });
        expect(Buffer.from(res.claimsDigest!).toString('hex')).toBe(claims);
        expect(call('GET', '/notes/{id}', { params: { id: '1' } }).json()).toEqual({ id: 1, text: 'hello', author: ALICE.id });
        expect(call('POST', '/notes', { body: { text: 'again' } }).json().id).toBe(2);
      });

      it('refuses bad notes, unknown ids and anonymous writers', () => {
        expect(call('POST', '/notes', { body: { text: '' } }).status).toBe(400);
        expect(call('POST', '/notes', { body: { text: 'x'.repeat(4097) } }).status).toBe(400);
        expect(call('POST', '/notes', { body: { text: 'x' }, caller: { policy: 'no_auth' } }).status).toBe(401);
        expect(call('GET', '/notes/{id}', { params: { id: '01' } }).status).toBe(400);
        expect(call('GET', '/notes/{id}', { params: { id: '7' } }).status).toBe(404);
        expect(call('POST', '/notes', { body: { text: 'first' } }).json().id).toBe(1);
      });
    });

    describe('signing', () => {
      it('makes a key on first use, signs with it, and verifies', () => {
        expect(call('GET', '/signing-key').status).toBe(404);
        const signed = call('POST', '/signatures', { body: { message: 'm' } });
        expect(signed.applied).toBe(true);
        const { signature, public_key: publicKey } = signed.json();
        expect(createPublicKey(publicKey).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
        expect(verify('sha256', Buffer.from('m'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'hex'))).toBe(true);
        expect(call('POST', '/signatures', { body: { message: 'n' } }).json().public_key).toBe(publicKey);
        expect(call('GET', '/signing-key').json()).toEqual({ public_key: publicKey });
        expect(call('POST', '/signatures/verify', { body: { message: 'm', signature } }).json()).toEqual({ valid: true });
        expect(call('POST', '/signatures/verify', { body: { message: 'x', signature } }).json()).toEqual({ valid: false });
        expect(call('POST', '/signatures/verify', { body: { message: 'm', signature: 'zz' } }).status).toBe(400);
      });
    });

    describe('service', () => {
      it('whoami and commit status', () => {
        expect(call('GET', '/whoami').json()).toEqual({ policy: 'user_cert', id: ALICE.id });
        call('POST', '/counters/{name}', { params: { name: 'a' }, body: {} });
        const status = call('GET', '/commit-status', { query: 'view=1&seqno=1' }).json();
        expect(status).toEqual({ status: 'Committed', view_of_seqno: 1, last_committed: { view: 1, seqno: 1 } });
        expect(call('GET', '/commit-status', { query: 'view=1&seqno=9' }).json().status).toBe('Unknown');
        expect(call('GET', '/commit-status', { query: 'view=1' }).status).toBe(400);
      });
    });
  });
}
