// The Node transport: node:https with one keep-alive Agent per client whose only trust anchor is the
// service certificate. Passing `ca` replaces Node's bundled root CAs, so a node certificate that does
// not chain to the service certificate fails the handshake: there is no fallback to system CAs and
// no way to turn verification off. Certificate auth presents the identity's certificate as the TLS
// client certificate. Sockets are bounded (maxSockets, maxFreeSockets), and so are the time to a
// complete response and the response size.
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { NetworkErrorCode, SynodNetworkError, UsageError, UsageErrorCode } from '../errors.ts';
import type { Transport, TransportFactory, TransportOptions, TransportRequest, TransportResponse } from './transport.ts';

/** Node error codes that mean the TLS handshake or the certificate check failed. */
const TLS_ERROR_RE = /CERT|SSL|TLS|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|SELF_SIGNED|ALTNAME|HOSTNAME/;

export class NodeHttpsTransport implements Transport {
  readonly presentsClientCertificate: boolean;
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private closed = false;

  constructor(private readonly options: TransportOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:') throw new UsageError(UsageErrorCode.invalidArgument, `url must be https://…, got ${options.url}`);
    // URL keeps the brackets of an IPv6 literal; node:https wants the bare address.
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port || 443);
    this.presentsClientCertificate = options.clientCert !== undefined;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.socketsMax,
      maxFreeSockets: options.freeSocketsMax,
      ca: options.serviceCert,
      rejectUnauthorized: true,
      ...(options.clientCert ? { cert: options.clientCert.certPem, key: options.clientCert.keyPem } : {}),
    });
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    if (this.closed) return Promise.reject(new SynodNetworkError(NetworkErrorCode.connection, 'the client is closed'));
    return new Promise((resolve, reject) => {
      const what = `${req.method} ${req.path}`;
      let settled = false;
      const fail = (error: SynodNetworkError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outgoing.destroy();
        reject(error);
      };
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body !== undefined) headers['content-length'] = req.body.byteLength;
      const outgoing = httpsRequest({
        host: this.host,
        port: this.port,
        method: req.method,
        path: req.path,
        headers,
        agent: this.agent,
        ...(this.options.servername ? { servername: this.options.servername } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
      const timer = setTimeout(() => fail(new SynodNetworkError(NetworkErrorCode.timeout, `${what}: no complete response within ${req.timeoutMs} ms`)), req.timeoutMs);
      outgoing.on('response', (res) => {
        readBody(res, this.options.responseBytesMax, what, fail).then((body) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: flattenHeaders(res.headers), body });
        }, fail);
      });
      // A node that refuses a body answers first and then resets the connection while the body is
      // still being written: once its answer arrived, the reset is not a failure of this request.
      outgoing.on('error', (error) => fail(networkError(error, what)));
      outgoing.end(req.body === undefined ? undefined : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength));
    });
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

export const nodeHttpsTransport: TransportFactory = (options) => new NodeHttpsTransport(options);

/** Reads the whole body; an oversized one is reported through `fail` before the socket is torn down. */
function readBody(res: IncomingMessage, bytesMax: number, what: string, fail: (e: SynodNetworkError) => void): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    res.on('data', (chunk: Buffer) => {
      if (bytes > bytesMax) return;
      bytes += chunk.byteLength;
      if (bytes > bytesMax) {
        // Settle first: destroying the response makes the request emit its own (less precise) error.
        fail(new SynodNetworkError(NetworkErrorCode.responseTooLarge, `${what}: response larger than ${bytesMax} bytes`));
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => {
      const all = Buffer.concat(chunks);
      resolve(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
    });
    res.on('error', (error) => reject(networkError(error, what)));
    res.on('aborted', () => reject(new SynodNetworkError(NetworkErrorCode.connection, `${what}: the connection closed mid-response`)));
  });
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function networkError(error: Error & { code?: string }, what: string): SynodNetworkError {
  const code = error.code ?? '';
  if (error.name === 'AbortError' || code === 'ABORT_ERR') {
    return new SynodNetworkError(NetworkErrorCode.aborted, `${what}: aborted`, { cause: error });
  }
  if (TLS_ERROR_RE.test(code)) {
    return new SynodNetworkError(
      NetworkErrorCode.tls,
      `${what}: TLS check failed (${code}): the node's certificate is not endorsed by the pinned service certificate, or its name does not match; check --service-cert / serviceCert and the URL`,
      { cause: error },
    );
  }
  return new SynodNetworkError(NetworkErrorCode.connection, `${what}: ${code ? `${code}: ` : ''}${error.message}`, { cause: error });
}
