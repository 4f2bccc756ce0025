// The browser transport over a stubbed fetch: what it sends (URL, method, headers, body, no cookies,
// no redirects), what it returns, and how it fails (timeout, network, response size, after close);
// it refuses certificate auth, which a page cannot do from script.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FetchTransport, SynodClient, SynodNetworkError, UsageError, fetchTransport, type TransportOptions } from '../../src/browser.ts';
import { makeIdentity } from '../helpers/identities.ts';

const service = makeIdentity('service');
const options: TransportOptions = { url: 'https://node.example:8000/', serviceCert: service.certPem, socketsMax: 4, freeSocketsMax: 1, responseBytesMax: 1024 };

afterEach(() => vi.unstubAllGlobals());

describe('FetchTransport', () => {
  it('sends the request as given and returns status, lower-case headers and body', async () => {
    const fetchMock = vi.fn(async (_url: string, _init: RequestInit) => new Response('{"ok":true}', { status: 201, headers: { 'X-Ms-Ccf-Transaction-Id': '2.3' } }));
    vi.stubGlobal('fetch', fetchMock);
    const t = new FetchTransport(options);
    const res = await t.request({ method: 'POST', path: '/app/log/public?x=1', headers: { 'content-type': 'application/json' }, body: Uint8Array.of(1, 2), timeoutMs: 1000 });
    expect(res.status).toBe(201);
    expect(res.headers['x-ms-ccf-transaction-id']).toBe('2.3');
    expect(new TextDecoder().decode(res.body)).toBe('{"ok":true}');
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('https://node.example:8000/app/log/public?x=1');
    expect(init).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'omit', redirect: 'error' });
    expect(init.body).toEqual(Uint8Array.of(1, 2));
  });

  it('fails as SynodNetworkError: timeout, connection, oversized response, after close', async () => {
    vi.stubGlobal('fetch', (_url: string, init: RequestInit) => new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))));
    const slow = new FetchTransport(options);
    await expect(slow.request({ method: 'GET', path: '/', headers: {}, timeoutMs: 20 })).rejects.toMatchObject({ code: 'CLIENT_REQUEST_TIMEOUT' });
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(new FetchTransport(options).request({ method: 'GET', path: '/', headers: {}, timeoutMs: 1000 })).rejects.toMatchObject({ code: 'CLIENT_NETWORK' });
    vi.stubGlobal('fetch', async () => new Response('x'.repeat(2048)));
    const big = await new FetchTransport(options).request({ method: 'GET', path: '/', headers: {}, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(SynodNetworkError);
    expect((big as SynodNetworkError).code).toBe('CLIENT_RESPONSE_TOO_LARGE');
    const closed = new FetchTransport(options);
    closed.close();
    await expect(closed.request({ method: 'GET', path: '/', headers: {}, timeoutMs: 1000 })).rejects.toMatchObject({ code: 'CLIENT_NETWORK' });
  });

  it('refuses certificate auth; a client over fetch authenticates with COSE-signed bodies', async () => {
    const user = makeIdentity('user0', 'P-256');
    expect(() => new FetchTransport({ ...options, clientCert: { certPem: user.certPem, keyPem: user.keyPem } })).toThrow(UsageError);
    const make = (auth?: 'cose') => new SynodClient({ url: 'https://node.example:8000', serviceCert: service.certPem, transport: fetchTransport, identity: { certPem: user.certPem, keyPem: user.keyPem }, ...(auth ? { auth } : {}) });
    expect(() => make()).toThrow(/TLS client certificate/);
    const seen: RequestInit[] = [];
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      seen.push(init);
      return new Response('true', { status: 200 });
    });
    const client = make('cose');
    await client.post('/app/log/private', { id: 1, msg: 'x' });
    expect((seen[0]!.headers as Record<string, string>)['content-type']).toBe('application/cose');
  });
});
