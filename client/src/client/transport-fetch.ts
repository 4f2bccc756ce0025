// The browser transport: the platform's fetch. A page cannot pin a certificate or present a TLS client
// certificate from script: the browser decides whom to trust (its own roots, or a certificate the
// user installed). So this transport refuses certificate auth, and SynodClient's pinning protects only
// what it verifies itself (receipts, against the service certificate). Use COSE-signed requests for
// identity in a browser. Not for Node: there, fetch trusts the system CAs; use transport-node.ts.
import { NetworkErrorCode, SynodNetworkError, UsageError, UsageErrorCode } from '../errors.ts';
import type { Transport, TransportFactory, TransportOptions, TransportRequest, TransportResponse } from './transport.ts';

export class FetchTransport implements Transport {
  readonly presentsClientCertificate = false;
  private readonly base: string;
  private readonly controller = new AbortController();

  constructor(private readonly options: TransportOptions) {
    if (options.clientCert) {
      throw new UsageError(UsageErrorCode.invalidArgument, 'a browser cannot present a TLS client certificate from script: use auth "cose" with the fetch transport');
    }
    if (typeof fetch !== 'function') throw new UsageError(UsageErrorCode.invalidArgument, 'this platform has no fetch');
    this.base = options.url.replace(/\/+$/, '');
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const what = `${req.method} ${req.path}`;
    if (this.controller.signal.aborted) throw new SynodNetworkError(NetworkErrorCode.connection, 'the client is closed');
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), req.timeoutMs);
    const signals = [this.controller.signal, timeout.signal, ...(req.signal ? [req.signal] : [])];
    const onAbort = (): void => timeout.abort();
    for (const s of signals) s.addEventListener('abort', onAbort);
    try {
      const res = await fetch(`${this.base}${req.path}`, {
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body as BodyInit } : {}),
        signal: timeout.signal,
        credentials: 'omit',
        redirect: 'error',
      });
      const body = await readBody(res, this.options.responseBytesMax, what);
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
      return { status: res.status, headers, body };
    } catch (error) {
      if (error instanceof SynodNetworkError) throw error;
      if (req.signal?.aborted) throw new SynodNetworkError(NetworkErrorCode.aborted, `${what}: aborted`, { cause: error });
      if (timeout.signal.aborted && !this.controller.signal.aborted) {
        throw new SynodNetworkError(NetworkErrorCode.timeout, `${what}: no complete response within ${req.timeoutMs} ms`, { cause: error });
      }
      // Browsers do not say why a fetch failed (TLS and connection failures look alike, by design).
      throw new SynodNetworkError(NetworkErrorCode.connection, `${what}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.controller.abort();
  }
}

export const fetchTransport: TransportFactory = (options) => new FetchTransport(options);

async function readBody(res: Response, bytesMax: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > bytesMax) throw new SynodNetworkError(NetworkErrorCode.responseTooLarge, `${what}: response larger than ${bytesMax} bytes`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.byteLength > bytesMax) throw new SynodNetworkError(NetworkErrorCode.responseTooLarge, `${what}: response larger than ${bytesMax} bytes`);
  return body;
}
