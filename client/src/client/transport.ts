// The seam between SynodClient and the network: one request in, one response out. SynodClient holds
// no socket and no TLS state, so the same client runs over node:https (transport-node.ts: pinned to
// the service certificate, TLS client certificates) or the browser's fetch (transport-fetch.ts), and
// tests drive it with an in-memory transport. Implementations turn every failure to obtain a
// response into SynodNetworkError; any HTTP status, 2xx or not, is a response.

/** A request as SynodClient hands it to a transport. */
export interface TransportRequest {
  method: string;
  /** Path and query, starting with '/'. */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body?: Uint8Array;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface Transport {
  request(request: TransportRequest): Promise<TransportResponse>;
  /** Releases sockets; requests after close fail. */
  close(): void;
  /** Whether the transport presents the identity's certificate in the TLS handshake. */
  readonly presentsClientCertificate: boolean;
}

/** What a transport needs to be built: SynodClient calls the factory once, with validated input. */
export interface TransportOptions {
  /** `https://host:port`, no path. */
  url: string;
  /** PEM of the service certificate: the only trust anchor for the node's TLS certificate. */
  serviceCert: string;
  /** PEM certificate and private key to present as TLS client certificate (certificate auth). */
  clientCert?: { certPem: string; keyPem: string };
  socketsMax: number;
  freeSocketsMax: number;
  responseBytesMax: number;
  /** TLS server name to check instead of the URL's host (e.g. `localhost` for an IP the cert lacks). */
  servername?: string;
}

export type TransportFactory = (options: TransportOptions) => Transport;
