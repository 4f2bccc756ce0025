// SynodClient: calls to a Synod (or CCF) service over a transport pinned to the service certificate,
// as a user or a member, authenticated by TLS client certificate or by COSE_Sign1-signed bodies; plus
// the waits every application needs after a write — until the transaction is committed, and until
// its receipt is served — with the receipt verified offline against the same pinned certificate
// before it is returned. Browser-safe: the transport is injected (node.ts wires node:https).
import { sha256 } from '@noble/hashes/sha2.js';
import {
  CommitTimeoutError,
  NetworkErrorCode,
  ReceiptError,
  ReceiptErrorCode,
  ServiceUnavailableError,
  SynodHttpError,
  SynodNetworkError,
  SynodProtocolError,
  TooManyRequestsError,
  TransactionInvalidError,
  TransactionPendingError,
  UsageError,
  UsageErrorCode,
} from '../errors.ts';
import { verifyCoseReceipt } from '../verify/cose-receipt.ts';
import { bytesToHex } from '../verify/encoding.ts';
import { type JsonReceipt, type VerifiedReceipt, verifyReceipt } from '../verify/receipt.ts';
import { parseCertificate } from '../verify/x509.ts';
import { type Clock, backoffDelayMs, systemClock } from './backoff.ts';
import { COSE_CONTENT_TYPE, type CoseRequestHeaders, governanceHeadersForPath, signCoseRequest } from './cose-sign.ts';
import { type Identity, type IdentityInput, loadIdentity } from './identity.ts';
import { clientLimits } from './limits.ts';
import { type RequestBody, type SynodResponse, encodeBody, errorFromResponse, makeResponse } from './response.ts';
import type { Transport, TransportFactory } from './transport.ts';

export type AuthMode = 'cert' | 'cose' | 'none';
export type TxStatus = 'Unknown' | 'Pending' | 'Committed' | 'Invalid';
const TX_STATUSES: readonly string[] = ['Unknown', 'Pending', 'Committed', 'Invalid'];
const TXID_RE = /^([1-9]\d{0,15})\.([1-9]\d{0,15})$/;

export interface SynodClientOptions {
  /** `https://host:port` of a node. */
  url: string;
  /** PEM of the service certificate: the only trust anchor for TLS and for receipts. */
  serviceCert: string;
  /** Builds the transport (nodeHttpsTransport in Node, fetchTransport in a browser). */
  transport: TransportFactory;
  identity?: IdentityInput;
  /** How the identity authenticates: 'cert' (TLS client certificate; default when a keyPem is given), 'cose' (signed bodies), 'none'. */
  auth?: AuthMode;
  requestTimeoutMs?: number;
  socketsMax?: number;
  responseBytesMax?: number;
  /** TLS name to check instead of the URL's host. */
  servername?: string;
  /** Injected time and randomness (tests); default: the system clock and Math.random. */
  clock?: Clock;
  random?: () => number;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** COSE headers for this request (auth 'cose'); `false` sends it unsigned. Governance paths get their msgType and proposalId by default. */
  cose?: CoseRequestHeaders | false;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ReceiptOptions extends WaitOptions {
  format?: 'json' | 'cose';
  /** Default true: verify against the pinned service certificate before returning. */
  verify?: boolean;
  /** Application claims whose SHA-256 must be the receipt's claims digest. */
  claims?: Uint8Array;
}

export type Receipt =
  | { format: 'json'; txid: string; receipt: JsonReceipt; bytes: Uint8Array; verified: VerifiedReceipt | undefined }
  | { format: 'cose'; txid: string; receipt: Uint8Array; bytes: Uint8Array; verified: VerifiedReceipt | undefined };

function invalid(message: string): UsageError {
  return new UsageError(UsageErrorCode.invalidArgument, message);
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw invalid(`${name} must be a positive integer`);
  return value;
}

/** Checks a TxID `view.seqno` (both positive integers) and returns it. */
export function checkTxid(txid: string): string {
  if (typeof txid !== 'string' || !TXID_RE.test(txid)) throw invalid(`transaction ID must be "<view>.<seqno>" with positive integers, got ${String(txid)}`);
  return txid;
}

export class SynodClient {
  readonly url: string;
  readonly serviceCert: string;
  readonly identity: Identity | undefined;
  readonly auth: AuthMode;
  private readonly transport: Transport;
  private readonly requestTimeoutMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(options: SynodClientOptions) {
    if (typeof options !== 'object' || options === null) throw invalid('SynodClient needs options { url, serviceCert, transport }');
    this.url = checkUrl(options.url);
    try {
      parseCertificate(options.serviceCert);
    } catch (e) {
      throw invalid(`serviceCert is not a PEM certificate: ${(e as Error).message}`);
    }
    this.serviceCert = options.serviceCert;
    if (typeof options.transport !== 'function') throw invalid('transport must be a transport factory (nodeHttpsTransport, fetchTransport)');
    this.identity = options.identity === undefined ? undefined : loadIdentity(options.identity);
    this.auth = options.auth ?? (this.identity === undefined ? 'none' : this.identity.keyPem !== undefined ? 'cert' : 'cose');
    checkAuth(this.auth, this.identity);
    this.requestTimeoutMs = positiveInt(options.requestTimeoutMs, clientLimits.requestTimeoutMs, 'requestTimeoutMs');
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.transport = options.transport({
      url: this.url,
      serviceCert: this.serviceCert,
      ...(this.auth === 'cert' ? { clientCert: { certPem: this.identity!.certPem, keyPem: this.identity!.keyPem! } } : {}),
      socketsMax: positiveInt(options.socketsMax, clientLimits.socketsMax, 'socketsMax'),
      freeSocketsMax: clientLimits.freeSocketsMax,
      responseBytesMax: positiveInt(options.responseBytesMax, clientLimits.responseBytesMax, 'responseBytesMax'),
      ...(options.servername !== undefined ? { servername: options.servername } : {}),
    });
  }

  /** One request; resolves with any 2xx response, rejects with SynodHttpError (or a subclass) otherwise. */
  async call(method: string, path: string, body?: RequestBody, options: CallOptions = {}): Promise<SynodResponse> {
    if (typeof method !== 'string' || !/^[A-Z]{1,16}$/.test(method)) throw invalid(`method must be an upper-case HTTP method, got ${String(method)}`);
    if (typeof path !== 'string' || !path.startsWith('/') || path.length > clientLimits.pathLengthMax || /[\s#]/.test(path)) {
      throw invalid(`path must start with '/', hold no spaces or '#', and be at most ${clientLimits.pathLengthMax} characters`);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = String(value);
    let encoded: ReturnType<typeof encodeBody>;
    try {
      encoded = encodeBody(body);
    } catch (e) {
      throw invalid(`the body cannot be sent: ${(e as Error).message}`);
    }
    if (encoded && encoded.bytes.byteLength > clientLimits.requestBodyBytesMax) throw invalid(`the body is larger than ${clientLimits.requestBodyBytesMax} bytes`);
    if (this.auth === 'cose' && method !== 'GET' && options.cose !== false) {
      const signed = await this.sign(path, encoded?.bytes ?? new Uint8Array(0), options.cose);
      encoded = { bytes: signed, contentType: COSE_CONTENT_TYPE };
      headers['content-type'] = COSE_CONTENT_TYPE;
    }
    if (encoded) headers['content-type'] ??= encoded.contentType;
    const res = await this.transport.request({
      method,
      path,
      headers,
      ...(encoded ? { body: encoded.bytes } : {}),
      timeoutMs: positiveInt(options.timeoutMs, this.requestTimeoutMs, 'timeoutMs'),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (res.status < 200 || res.status > 299) throw errorFromResponse(res, method, path);
    return makeResponse(res, `${method} ${path}`);
  }

  get(path: string, options?: CallOptions): Promise<SynodResponse> {
    return this.call('GET', path, undefined, options);
  }

  post(path: string, body?: RequestBody, options?: CallOptions): Promise<SynodResponse> {
    return this.call('POST', path, body, options);
  }

  /** Status of a transaction (GET /app/tx). */
  async txStatus(txid: string, options: WaitOptions = {}): Promise<TxStatus> {
    const res = await this.get(`/app/tx?transaction_id=${checkTxid(txid)}`, options);
    const status = res.json<{ status?: unknown }>()?.status;
    if (typeof status !== 'string' || !TX_STATUSES.includes(status)) throw new SynodProtocolError(`/app/tx answered status ${String(status)}`);
    return status as TxStatus;
  }

  /** The latest committed TxID (GET /app/commit). */
  async commit(options: WaitOptions = {}): Promise<string> {
    const txid = (await this.get('/app/commit', options)).json<{ transaction_id?: unknown }>()?.transaction_id;
    if (typeof txid !== 'string' || !/^\d+\.\d+$/.test(txid)) throw new SynodProtocolError(`/app/commit answered transaction_id ${String(txid)}`);
    return txid;
  }

  /**
   * Resolves once `txid` is Committed. Polls /app/tx with exponential backoff and jitter; 429 and 503
   * answers are waited out (honouring a bounded retry-after). Invalid → TransactionInvalidError;
   * still not committed at the deadline → CommitTimeoutError. Other errors are thrown as they come.
   */
  async waitForCommit(txid: string, options: WaitOptions = {}): Promise<void> {
    checkTxid(txid);
    const timeoutMs = positiveInt(options.timeoutMs, clientLimits.commitTimeoutMs, 'timeoutMs');
    await this.poll(txid, timeoutMs, options.signal, async (remainingMs) => {
      const status = await this.txStatus(txid, { signal: options.signal, timeoutMs: Math.min(this.requestTimeoutMs, remainingMs) });
      if (status === 'Invalid') throw new TransactionInvalidError(txid);
      return status === 'Committed' ? { done: true } : { done: false, status };
    });
  }

  /**
   * The receipt of `txid`: waits until it is committed and its receipt is served, then (unless
   * `verify: false`) verifies it against the pinned service certificate and checks that it is the
   * receipt of `txid`. Throws ReceiptError when it does not verify.
   */
  async getReceipt(txid: string, options: ReceiptOptions = {}): Promise<Receipt> {
    checkTxid(txid);
    const format = options.format ?? 'json';
    if (format !== 'json' && format !== 'cose') throw invalid(`format must be 'json' or 'cose', got ${String(format)}`);
    const timeoutMs = positiveInt(options.timeoutMs, clientLimits.commitTimeoutMs, 'timeoutMs');
    const started = this.clock.now();
    await this.waitForCommit(txid, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    const remainingMs = Math.max(1, Math.ceil(timeoutMs - (this.clock.now() - started)));
    let bytes: Uint8Array | undefined;
    const headers: Record<string, string> = format === 'cose' ? { accept: COSE_CONTENT_TYPE } : { accept: 'application/json' };
    await this.poll(txid, remainingMs, options.signal, async (leftMs) => {
      try {
        const timeout = Math.min(this.requestTimeoutMs, leftMs);
        bytes = (await this.get(`/app/receipt?transaction_id=${txid}`, { headers, timeoutMs: timeout, ...(options.signal ? { signal: options.signal } : {}) })).body;
        return { done: true };
      } catch (e) {
        if (e instanceof TransactionPendingError) return { done: false, status: 'receipt pending' };
        if (e instanceof SynodHttpError && e.code === 'TransactionInvalid') throw new TransactionInvalidError(txid);
        throw e;
      }
    });
    return this.checkReceipt(txid, format, bytes!, options);
  }

  /** Closes the transport's sockets; the client cannot be used afterwards. */
  close(): void {
    this.transport.close();
  }

  private async sign(path: string, payload: Uint8Array, requested: CoseRequestHeaders | undefined): Promise<Uint8Array> {
    const identity = this.identity!;
    const derived = identity.role === 'member' ? governanceHeadersForPath(path) : undefined;
    return signCoseRequest(identity, payload, { ...derived, ...requested });
  }

  /** Repeats `attempt` until done, sleeping with backoff; transient 429/503 answers count as not done. */
  private async poll(
    txid: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    attempt: (remainingMs: number) => Promise<{ done: true } | { done: false; status: string }>,
  ): Promise<void> {
    const started = this.clock.now();
    let status = 'unanswered';
    for (let n = 0; ; n++) {
      let retryAfterMs: number | undefined;
      // Each poll may take what is left of the wait, but at least a short floor: a poll given 1 ms
      // could only time out, and would hide the status the service last reported.
      const leftMs = Math.max(clientLimits.pollRequestTimeoutMinMs, Math.ceil(timeoutMs - (this.clock.now() - started)));
      try {
        const outcome = await attempt(leftMs);
        if (outcome.done) return;
        status = outcome.status;
      } catch (e) {
        // A request cut short by the deadline is the wait timing out, not the network failing.
        const deadlinePassed = this.clock.now() - started >= timeoutMs;
        if (e instanceof SynodNetworkError && e.code === NetworkErrorCode.timeout && deadlinePassed) {
          throw new CommitTimeoutError(txid, status, this.clock.now() - started);
        }
        if (!(e instanceof TooManyRequestsError || e instanceof ServiceUnavailableError)) throw e;
        status = e.code;
        retryAfterMs = e.retryAfterMs;
      }
      const elapsedMs = this.clock.now() - started;
      if (elapsedMs >= timeoutMs) throw new CommitTimeoutError(txid, status, elapsedMs);
      let delayMs = backoffDelayMs(n, { initialDelayMs: clientLimits.pollInitialDelayMs, maxDelayMs: clientLimits.pollMaxDelayMs }, this.random());
      if (retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(retryAfterMs, clientLimits.retryAfterMaxMs));
      await this.clock.sleep(Math.min(delayMs, timeoutMs - elapsedMs), signal);
    }
  }

  private checkReceipt(txid: string, format: 'json' | 'cose', bytes: Uint8Array, options: ReceiptOptions): Receipt {
    const verifyOptions = { serviceCert: this.serviceCert, ...(options.claims ? { claims: options.claims } : {}) };
    if (format === 'cose') {
      const verified = options.verify === false ? undefined : bindTxid(txid, verifyCoseReceipt(bytes, verifyOptions));
      return { format, txid, receipt: bytes, bytes, verified };
    }
    let receipt: JsonReceipt;
    try {
      receipt = JSON.parse(new TextDecoder().decode(bytes)) as JsonReceipt;
    } catch {
      throw new SynodProtocolError(`/app/receipt for ${txid} is not JSON`);
    }
    const verified = options.verify === false ? undefined : bindTxid(txid, verifyReceipt(receipt, verifyOptions));
    return { format, txid, receipt, bytes, verified };
  }
}

/** A receipt proves what it proves for the transaction its commit evidence names: that must be `txid`. */
function bindTxid(txid: string, verified: VerifiedReceipt): VerifiedReceipt {
  if (verified.txid !== txid) {
    const got = verified.txid === undefined ? 'no transaction ID (a leaf-only receipt)' : `transaction ${verified.txid}`;
    throw new ReceiptError(ReceiptErrorCode.txidMismatch, `asked for the receipt of ${txid}, the service returned a receipt for ${got}`);
  }
  return verified;
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`url is not a URL: ${String(url)}`);
  }
  if (parsed.protocol !== 'https:') throw invalid(`url must be https://host:port, got ${url}`);
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw invalid(`url must be https://host:port with no path, query or credentials, got ${url}`);
  }
  return `${parsed.protocol}//${parsed.host}`;
}

function checkAuth(auth: AuthMode, identity: Identity | undefined): void {
  if (auth !== 'cert' && auth !== 'cose' && auth !== 'none') throw invalid(`auth must be 'cert', 'cose' or 'none', got ${String(auth)}`);
  if (auth === 'none') return;
  if (!identity) throw invalid(`auth '${auth}' needs an identity`);
  if (auth === 'cert' && identity.keyPem === undefined) throw invalid("auth 'cert' needs the identity's keyPem (the TLS client key)");
  if (auth === 'cose' && identity.signer === undefined) throw invalid("auth 'cose' needs the identity's keyPem or a signer");
}

/** Hex SHA-256 of a certificate's DER: the user or member ID that CCF assigns to it. */
export function certificateId(certPem: string): string {
  try {
    return bytesToHex(sha256(parseCertificate(certPem).der));
  } catch (e) {
    throw invalid(`not a PEM certificate: ${(e as Error).message}`);
  }
}
