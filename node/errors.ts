// The node's error catalogue: every error that reaches an HTTP client has a stable code, a status and
// a message that says what to do. Clients switch on `code`; messages may improve over time.

export const ErrorCodes = {
  InvalidInput: { status: 400, text: 'The request is malformed.' },
  InvalidTransactionId: { status: 400, text: 'transaction_id must be "<view>.<seqno>" with positive integers.' },
  MissingRequiredHeader: { status: 400, text: 'A header this endpoint needs is missing.' },
  InvalidHeaderValue: { status: 400, text: 'A header has a value this endpoint cannot use.' },
  Unauthorized: { status: 401, text: 'The caller is not authenticated for this endpoint.' },
  Forbidden: { status: 403, text: 'The caller may not do this.' },
  ResourceNotFound: { status: 404, text: 'No such resource.' },
  UnknownURLPath: { status: 404, text: 'No endpoint at this path.' },
  TransactionPendingOrUnknown: { status: 404, text: 'The transaction is not committed (yet); try again later.' },
  TransactionInvalid: { status: 404, text: 'The transaction was rolled back; it will never be committed.' },
  UnsupportedHttpMethod: { status: 405, text: 'The endpoint does not accept this method.' },
  UnsupportedContentType: { status: 415, text: 'The endpoint expects another content type.' },
  RequestBodyTooLarge: { status: 413, text: 'The request body is larger than the node accepts.' },
  RequestHeaderTooLarge: { status: 431, text: 'The request headers are larger than the node accepts.' },
  TooManyRequests: { status: 429, text: 'Too many requests from this client; slow down.' },
  ServiceNotOpen: { status: 503, text: 'The service is not open for users yet.' },
  TransactionConflict: { status: 503, text: 'The transaction kept conflicting with concurrent ones; retry.' },
  Backpressure: { status: 503, text: 'The node is writing to disk as fast as it can; retry shortly.' },
  ServiceUnavailable: { status: 503, text: 'The node cannot serve this right now; retry shortly.' },
  PrimaryUnknown: { status: 503, text: 'No primary is known right now (an election is under way); retry shortly.' },
  ForwardingFailed: { status: 503, text: 'The request could not be forwarded to the primary; retry shortly.' },
  NotPrimary: { status: 409, text: 'This endpoint writes only on the primary and does not forward; send it to the primary.' },
  InternalError: { status: 500, text: 'The node failed to handle the request.' },
  NotImplemented: { status: 501, text: 'This node does not support that yet.' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** An expected error that becomes an HTTP response `{"error": {"code", "message", "details"?}}`. */
export class RpcError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? ErrorCodes[code].text);
    this.status = ErrorCodes[code].status;
  }

  toBody(): string {
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return JSON.stringify({ error });
  }
}

/** The ledger on disk cannot be trusted: the node refuses to start rather than lose data silently. */
export class LedgerCorruptError extends Error {
  readonly code = 'LedgerCorrupt';
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`ledger corrupt in ${file} at offset ${offset}: ${detail}. Refusing to start; restore this file from ` +
      `another node or a backup (nothing was truncated).`);
  }
}
