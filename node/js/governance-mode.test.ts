// The governance execution modes: chosen by the host (InvokeHooks.executionMode), they give the
// constitution public:ccf.gov.* (read-write in apply, read-only otherwise) and no other map.
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../kv/index.ts';
import { loadJsApp, mapAccess, type JsApp } from './index.ts';
import { handlerBundle, makeRequest } from './testing.ts';

const apps: JsApp[] = [];
afterAll(() => apps.forEach((a) => a.dispose()));

const probe = `export function handler() {
  const out = {};
  for (const name of ['public:ccf.gov.members.info', 'private', 'public:app', 'ccf.gov.secret', 'public:ccf.internal.tree']) {
    const m = ccf.kv[name];
    const k = ccf.strToBuf('k');
    let r = 'read';
    try { m.get(k); } catch (e) { r = 'no-read'; }
    try { m.set(k, ccf.strToBuf('v')); r += '+write'; } catch (e) { r += '+no-write'; }
    out[name] = r;
  }
  return { body: out };
}`;

describe('governance execution modes', () => {
  it('maps: public:ccf.gov.* only, read-write in governance and read-only in governance-readonly', () => {
    expect(mapAccess('public:ccf.gov.members.info', 'governance').access).toBe('read-write');
    expect(mapAccess('public:ccf.gov.members.info', 'governance-readonly').access).toBe('read-only');
    for (const name of ['records', 'public:records', 'ccf.gov.x', 'public:ccf.internal.tree', 'public:ccf.other']) {
      expect(mapAccess(name, 'governance').access).toBe('none');
      expect(mapAccess(name, 'governance-readonly').access).toBe('none');
    }
  });

  it('the host override decides kv access inside the sandbox; without it the endpoint mode applies', async () => {
    const app = await loadJsApp(handlerBundle(probe));
    apps.push(app);
    const run = (executionMode?: 'governance' | 'governance-readonly') => {
      const result = app.invoke(app.endpoints[0]!, makeRequest('POST', '/t'), new Store().begin(), executionMode ? { executionMode } : {});
      if (!result.ok) throw result.error;
      return JSON.parse(new TextDecoder().decode(result.response.body));
    };
    expect(run('governance')).toEqual({
      'public:ccf.gov.members.info': 'read+write', private: 'no-read+no-write', 'public:app': 'no-read+no-write',
      'ccf.gov.secret': 'no-read+no-write', 'public:ccf.internal.tree': 'no-read+no-write',
    });
    expect(run('governance-readonly')['public:ccf.gov.members.info']).toBe('read+no-write');
    expect(run()).toMatchObject({ private: 'read+write', 'public:ccf.gov.members.info': 'read+no-write' });
  });
});
