// SynodClient against an in-memory transport: how requests are formed (body encodings, COSE-signed
// bodies on non-GET requests, governance headers from the path), how every non-2xx answer becomes a
// typed error, and waitForCommit's schedule (backoff with jitter, Invalid, deadline, 429/503) on a
// fake clock, so that each behaviour is checked exactly and without a node.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CommitTimeoutError,
  ForbiddenError,
  GovHeader,
  HTTP_NO_ERROR_CODE,
  InvalidRequestError,
  NotFoundError,
  ReceiptError,
  RequestTooLargeError,
  ServiceUnavailableError,
  SynodClient,
  SynodHttpError,
  SynodNetworkError,
  SynodProtocolError,
  TooManyRequestsError,
  TransactionInvalidError,
  TransactionPendingError,
  UnauthorizedError,
  backoffDelayMs,
  decodeCoseSign1,
  verifyCoseSign1,
  type Clock,
  type Transport,
  type TransportOptions,
  type TransportRequest,
  type TransportResponse,
} from '../../src/index.ts';
import { makeIdentity } from '../helpers/identities.ts';

const service = makeIdentity('service', 'P-384');
const member = makeIdentity('member0', 'P-384');
const user = makeIdentity('user0', 'P-256');

type Handler = (req: TransportRequest) => TransportResponse | Promise<TransportResponse>;

class FakeTransport implements Transport {
  readonly presentsClientCertificate: boolean;
  readonly requests: TransportRequest[] = [];
  closed = false;
  constructor(
    readonly options: TransportOptions,
    private readonly handler: Handler,
  ) {
    this.presentsClientCertificate = options.clientCert !== undefined;
  }
  async request(req: TransportRequest): Promise<TransportResponse> {
    this.requests.push(req);
    return this.handler(req);
  }
  close(): void {
    this.closed = true;
  }
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): TransportResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: new TextEncoder().encode(JSON.stringify(value)) };
}

function error(status: number, code: string, message = `${code} happened`, headers: Record<string, string> = {}): TransportResponse {
  return json(status, { error: { code, message } }, headers);
}

/** A clock that advances only when slept on, recording each sleep. */
function fakeClock(): Clock & { sleeps: number[]; t: number } {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

function client(handler: Handler, extra: Partial<ConstructorParameters<typeof SynodClient>[0]> = {}) {
  let transport!: FakeTransport;
  const clock = fakeClock();
  const c = new SynodClient({
    url: 'https://127.0.0.1:8000',
    serviceCert: service.certPem,
    transport: (options) => (transport = new FakeTransport(options, handler)),
    clock,
    random: () => 0.5,
    ...extra,
  });
  return { c, transport, clock };
}

describe('requests', () => {
  it('pins the service certificate and hands the identity to the transport for certificate auth', async () => {
    const { c, transport } = client(() => json(200, true, { 'x-ms-ccf-transaction-id': '2.15' }), { identity: { certPem: user.certPem, keyPem: user.keyPem } });
    expect(c.auth).toBe('cert');
    expect(transport.options.serviceCert).toBe(service.certPem);
    expect(transport.options.clientCert).toEqual({ certPem: user.certPem, keyPem: user.keyPem });
    const res = await c.post('/app/log/private', { id: 1, msg: 'hi' });
    expect(res.txid).toBe('2.15');
    expect(res.json()).toBe(true);
    const sent = transport.requests[0]!;
    expect(sent.headers['content-type']).toBe('application/json');
    expect(new TextDecoder().decode(sent.body)).toBe('{"id":1,"msg":"hi"}');
    await c.call('PUT', '/x', 'plain');
    expect(transport.requests[1]!.headers['content-type']).toBe('text/plain; charset=utf-8');
    await c.call('PUT', '/x', Uint8Array.of(1, 2), { headers: { 'Content-Type': 'application/x-thing' } });
    expect(transport.requests[2]!.headers['content-type']).toBe('application/x-thing');
    await c.get('/app/commit');
    expect(transport.requests[3]!.body).toBeUndefined();
    c.close();
    expect(transport.closed).toBe(true);
  });

  it('a member with COSE auth signs non-GET bodies, with msgType and proposalId taken from the governance path', async () => {
    const { c, transport } = client(() => json(200, {}), { identity: { certPem: member.certPem, keyPem: member.keyPem, role: 'member' }, auth: 'cose' });
    expect(transport.options.clientCert).toBeUndefined();
    await c.post('/gov/members/proposals/abc/ballots/def:submit?api-version=2024-07-01', { ballot: 'export function vote() { return true; }' });
    const sent = transport.requests[0]!;
    expect(sent.headers['content-type']).toBe('application/cose');
    const message = decodeCoseSign1(sent.body!);
    expect(message.protectedHeader.get(GovHeader.msgType)).toBe('ballot');
    expect(message.protectedHeader.get(GovHeader.proposalId)).toBe('abc');
    expect(JSON.parse(new TextDecoder().decode(message.payload!))).toEqual({ ballot: 'export function vote() { return true; }' });
    expect(verifyCoseSign1(message, c.identity!.cert.publicKey)).toBe(true);
    // GETs are not signed; an explicit header set overrides the path's; cose: false sends it plain.
    await c.get('/gov/service/info');
    expect(transport.requests[1]!.body).toBeUndefined();
    await c.post('/gov/members/state-digests/abc:update', undefined, { cose: { createdAt: 5 } });
    const digest = decodeCoseSign1(transport.requests[2]!.body!);
    expect(digest.protectedHeader.get(GovHeader.msgType)).toBe('state_digest');
    expect(digest.protectedHeader.get(GovHeader.createdAt)).toBe(5);
    expect(digest.payload).toEqual(new Uint8Array(0));
    await c.post('/gov/members/proposals:create', { actions: [] }, { cose: false });
    expect(transport.requests[3]!.headers['content-type']).toBe('application/json');
    // A member request to a path with no governance meaning needs its msgType spelled out.
    await expect(c.post('/app/anything', {})).rejects.toThrow(/needs msgType/);
  });

  it.each<[string, TransportResponse, new (...a: never[]) => SynodHttpError, string]>([
    ['400 InvalidInput', error(400, 'InvalidInput'), InvalidRequestError, 'InvalidInput'],
    ['401 Unauthorized', error(401, 'Unauthorized'), UnauthorizedError, 'Unauthorized'],
    ['403 Forbidden', error(403, 'Forbidden'), ForbiddenError, 'Forbidden'],
    ['404 ResourceNotFound', error(404, 'ResourceNotFound'), NotFoundError, 'ResourceNotFound'],
    ['404 TransactionPendingOrUnknown', error(404, 'TransactionPendingOrUnknown'), TransactionPendingError, 'TransactionPendingOrUnknown'],
    ['413 RequestBodyTooLarge', error(413, 'RequestBodyTooLarge'), RequestTooLargeError, 'RequestBodyTooLarge'],
    ['429 TooManyRequests', error(429, 'TooManyRequests', 'slow down', { 'retry-after': '2' }), TooManyRequestsError, 'TooManyRequests'],
    ['503 ServiceNotOpen', error(503, 'ServiceNotOpen'), ServiceUnavailableError, 'ServiceNotOpen'],
    ['500 InternalError', error(500, 'InternalError'), SynodHttpError, 'InternalError'],
    ['502 from a proxy, not JSON', { status: 502, headers: {}, body: new TextEncoder().encode('<html>bad gateway</html>') }, SynodHttpError, HTTP_NO_ERROR_CODE],
  ])('%s becomes a typed error with status, code and message', async (_name, response, Class, code) => {
    const { c } = client(() => response);
    const e = await c.get('/app/x').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Class);
    expect(e).toBeInstanceOf(SynodHttpError);
    const err = e as SynodHttpError;
    expect(err.status).toBe(response.status);
    expect(err.code).toBe(code);
    expect(err.method).toBe('GET');
    expect(err.path).toBe('/app/x');
    expect(err.message).toContain(err.serviceMessage);
    if (code === HTTP_NO_ERROR_CODE) expect(err.serviceMessage).toContain('bad gateway');
    if (code === 'TooManyRequests') expect(err.retryAfterMs).toBe(2000);
  });

  it('validates its input before sending anything', async () => {
    const { c, transport } = client(() => json(200, {}));
    await expect(c.get('app/x')).rejects.toThrow(/path must start with/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(c.post('/x', cyclic)).rejects.toThrow(/the body cannot be sent/);
    await expect(c.call('get', '/x')).rejects.toThrow(/method/);
    await expect(c.waitForCommit('2')).rejects.toThrow(/transaction ID/);
    await expect(c.getReceipt('0.5')).rejects.toThrow(/transaction ID/);
    await expect(c.getReceipt('1.5', { format: 'xml' as never })).rejects.toThrow(/format/);
    await expect(c.waitForCommit('1.5', { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
    expect(transport.requests).toHaveLength(0);
    const make = (o: object) => () => new SynodClient({ url: 'https://h:1', serviceCert: service.certPem, transport: (t) => new FakeTransport(t, () => json(200, {})), ...o });
    expect(make({ url: 'http://h:1' })).toThrow(/https/);
    expect(make({ url: 'https://h:1/app' })).toThrow(/no path/);
    expect(make({ serviceCert: 'nope' })).toThrow(/serviceCert/);
    expect(make({ auth: 'cert' })).toThrow(/needs an identity/);
    expect(make({ identity: { certPem: user.certPem }, auth: 'cert' })).toThrow(/keyPem/);
    expect(make({ identity: { certPem: user.certPem } })).toThrow(/'cose' needs/);
    expect(make({ transport: undefined })).toThrow(/transport/);
  });
});

describe('waitForCommit', () => {
  it('polls /app/tx with growing, jittered delays until Committed', async () => {
    const statuses = ['Unknown', 'Pending', 'Pending', 'Pending', 'Committed'];
    const { c, transport, clock } = client(() => json(200, { transaction_id: '2.9', status: statuses.shift() }));
    await c.waitForCommit('2.9');
    expect(transport.requests.map((r) => r.path)).toEqual(Array(5).fill('/app/tx?transaction_id=2.9'));
    // random() = 0.5: each delay is 3/4 of the nominal 5 · 2^n ms.
    expect(clock.sleeps).toEqual([3.75, 7.5, 15, 30]);
  });

  it('Invalid → TransactionInvalidError; never committed → CommitTimeoutError at the deadline', async () => {
    const invalid = client(() => json(200, { status: 'Invalid' }));
    const e = await invalid.c.waitForCommit('3.4').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransactionInvalidError);
    expect((e as TransactionInvalidError).txid).toBe('3.4');
    const pending = client(() => json(200, { status: 'Pending' }));
    const t = (await pending.c.waitForCommit('3.5', { timeoutMs: 1000 }).catch((x: unknown) => x)) as CommitTimeoutError;
    expect(t).toBeInstanceOf(CommitTimeoutError);
    expect(t.lastStatus).toBe('Pending');
    expect(t.elapsedMs).toBe(1000);
    // The delays stop growing at the ceiling, and the last one ends exactly at the deadline.
    expect(Math.max(...pending.clock.sleeps)).toBeLessThanOrEqual(500);
    expect(pending.clock.sleeps.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('a poll that times out at the deadline reports the status last seen, not a network error', async () => {
    let polls = 0;
    const holder: { clock?: Clock & { t: number } } = {};
    const { c, clock } = client((req) => {
      polls++;
      if (polls === 1) return json(200, { status: 'Pending' });
      holder.clock!.t += req.timeoutMs; // the node does not answer: the request times out
      throw new SynodNetworkError('CLIENT_REQUEST_TIMEOUT', 'no answer');
    });
    holder.clock = clock;
    const e = (await c.waitForCommit('4.4', { timeoutMs: 100 }).catch((x: unknown) => x)) as CommitTimeoutError;
    expect(e).toBeInstanceOf(CommitTimeoutError);
    expect(e.lastStatus).toBe('Pending');
    // Before the deadline, a timeout is a network failure like any other.
    const early = client(() => {
      throw new SynodNetworkError('CLIENT_REQUEST_TIMEOUT', 'no answer');
    });
    await expect(early.c.waitForCommit('4.4')).rejects.toBeInstanceOf(SynodNetworkError);
  });

  it('waits out 429 and 503 (honouring retry-after) but throws other errors at once', async () => {
    const answers = [error(429, 'TooManyRequests', 'x', { 'retry-after': '1' }), error(503, 'Backpressure'), json(200, { status: 'Committed' })];
    const { c, clock } = client(() => answers.shift()!);
    await c.waitForCommit('1.2');
    expect(clock.sleeps[0]).toBe(1000);
    const broken = client(() => error(400, 'InvalidTransactionId'));
    await expect(broken.c.waitForCommit('1.2')).rejects.toBeInstanceOf(InvalidRequestError);
    const garbage = client(() => json(200, { status: 'Maybe' }));
    await expect(garbage.c.waitForCommit('1.2')).rejects.toBeInstanceOf(SynodProtocolError);
  });

  it('backoff delays lie in [d/2, d] with d = min(max, initial · 2^n)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const d = Math.min(500, 5 * 2 ** n);
        const delay = backoffDelayMs(n, { initialDelayMs: 5, maxDelayMs: 500 }, r);
        expect(delay).toBeGreaterThanOrEqual(d / 2);
        expect(delay).toBeLessThanOrEqual(d);
      }),
    );
  });
});

describe('getReceipt', () => {
  it('waits for the receipt, then refuses one that does not verify against the pinned certificate', async () => {
    const answers: TransportResponse[] = [json(200, { status: 'Committed' }), error(404, 'TransactionPendingOrUnknown'), json(200, { cert: 'x' })];
    const { c, transport } = client(() => answers.shift()!);
    const e = await c.getReceipt('2.7').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReceiptError);
    expect(transport.requests.map((r) => r.path)).toEqual(['/app/tx?transaction_id=2.7', '/app/receipt?transaction_id=2.7', '/app/receipt?transaction_id=2.7']);
    expect(transport.requests[1]!.headers.accept).toBe('application/json');
    // verify: false hands back what the service sent, unverified.
    const raw = client((req) => (req.path.startsWith('/app/tx') ? json(200, { status: 'Committed' }) : json(200, { cert: 'x' })));
    const r = await raw.c.getReceipt('2.7', { verify: false });
    expect(r).toMatchObject({ format: 'json', txid: '2.7', receipt: { cert: 'x' }, verified: undefined });
    const rolledBack = client((req) => (req.path.startsWith('/app/tx') ? json(200, { status: 'Committed' }) : error(404, 'TransactionInvalid')));
    await expect(rolledBack.c.getReceipt('2.7')).rejects.toBeInstanceOf(TransactionInvalidError);
  });
});
