// Error catalogue of the Synod client library (receipt verification, ledger reading, audit, CLI, and
// the HTTP client: the service's own error codes, network failures, commit outcomes).
// Every error carries a stable `code` that scripts may match on; messages may be reworded, codes may not.
// Expected verification outcomes inside the auditor are report entries, not exceptions: these classes
// are for callers that asked one question (is this receipt valid? can this file be read?) and got "no".

/** Base class: a stable machine-readable code and a message that says what failed and what to do. */
export class SynodClientError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Codes of ReceiptError. Each names the single check that failed. */
export const ReceiptErrorCode = {
  /** The receipt is not of the expected shape (missing field, wrong type, bad hex/base64/CBOR). */
  malformed: 'RECEIPT_MALFORMED',
  /** The commit evidence string is not `ce:{view}.{seqno}:{64 hex}`. */
  badCommitEvidence: 'RECEIPT_BAD_COMMIT_EVIDENCE',
  /** The claims given by the caller do not hash to the receipt's claims digest. */
  claimsMismatch: 'RECEIPT_CLAIMS_MISMATCH',
  /** A certificate could not be parsed, or its key is not ECDSA P-256/P-384. */
  badCertificate: 'RECEIPT_BAD_CERTIFICATE',
  /** `node_id` is not the SHA-256 of the node certificate's public key. */
  nodeIdMismatch: 'RECEIPT_NODE_ID_MISMATCH',
  /** The signature over the Merkle root does not verify. */
  badSignature: 'RECEIPT_BAD_SIGNATURE',
  /** The node certificate does not chain to any trusted service certificate. */
  notEndorsed: 'RECEIPT_NOT_ENDORSED',
  /** Without a service certificate: the node certificate's signature is not by the key its AuthorityKeyIdentifier names. */
  certInconsistent: 'RECEIPT_CERT_INCONSISTENT',
  /** A COSE receipt's protected header is not CCF's profile (alg, kid, vds, ccf.v1). */
  coseBadHeader: 'RECEIPT_COSE_BAD_HEADER',
  /** A COSE receipt's kid names no service certificate we were given. */
  coseUnknownKid: 'RECEIPT_COSE_UNKNOWN_KID',
  /** A COSE receipt was given no service certificate to verify against. */
  noServiceCert: 'RECEIPT_NO_SERVICE_CERT',
  /** The receipt verifies, but for another transaction than the one asked for. */
  txidMismatch: 'RECEIPT_TXID_MISMATCH',
} as const;
export type ReceiptErrorCode = (typeof ReceiptErrorCode)[keyof typeof ReceiptErrorCode];

/** A receipt failed verification; `code` says which check. */
export class ReceiptError extends SynodClientError {
  declare readonly code: ReceiptErrorCode;
  constructor(code: ReceiptErrorCode, message: string) {
    super(code, message);
  }
}

/** Codes of LedgerFormatError: bytes that are not a well-formed CCF ledger. */
export const LedgerErrorCode = {
  /** A chunk file's header, offset table or entry boundaries are inconsistent. */
  badChunk: 'LEDGER_BAD_CHUNK',
  /** An entry's header, sizes or public domain cannot be parsed. */
  badEntry: 'LEDGER_BAD_ENTRY',
  /** Chunk file names are not a contiguous sequence of seqno ranges. */
  badFileSet: 'LEDGER_BAD_FILE_SET',
  /** A table value that must be JSON/PEM/base64 is not. */
  badValue: 'LEDGER_BAD_VALUE',
} as const;
export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode];

/** Ledger bytes are malformed. `offset` is relative to the start of the chunk file when known. */
export class LedgerFormatError extends SynodClientError {
  declare readonly code: LedgerErrorCode;
  readonly offset: number | undefined;
  constructor(code: LedgerErrorCode, message: string, offset?: number) {
    super(code, message);
    this.offset = offset;
  }
}

/** Codes for input-validation failures of public entry points (a programming or usage error). */
export const UsageErrorCode = {
  invalidArgument: 'CLIENT_INVALID_ARGUMENT',
  io: 'CLIENT_IO',
} as const;
export type UsageErrorCode = (typeof UsageErrorCode)[keyof typeof UsageErrorCode];

/** A public function was called with arguments it cannot accept, or a file could not be read. */
export class UsageError extends SynodClientError {
  declare readonly code: UsageErrorCode;
  constructor(code: UsageErrorCode, message: string) {
    super(code, message);
  }
}

// ---------------------------------------------------------------------------------------------------
// HTTP client errors. A response with a non-2xx status becomes a SynodHttpError whose `code` is the
// service's own stable code (node/errors.ts: `{"error": {"code", "message"}}`), so that callers match
// the same names CCF documents; common codes have subclasses for `instanceof`. Failures to get any
// response at all are SynodNetworkError. Commit outcomes that are not errors of one request have
// their own classes.

/** Code carried by a SynodHttpError whose response had no `{"error": {"code"}}` body. */
export const HTTP_NO_ERROR_CODE = 'CLIENT_HTTP_NO_ERROR_BODY';

/** Fields of a SynodHttpError, as read from the response. */
export interface HttpErrorFields {
  status: number;
  /** The service's error code (e.g. `ResourceNotFound`), or HTTP_NO_ERROR_CODE. */
  code: string;
  /** The service's message, or the start of the response body. */
  serviceMessage: string;
  details?: unknown;
  method: string;
  path: string;
  /** `retry-after` in milliseconds, when the service sent one. */
  retryAfterMs?: number;
}

/** The service answered with a non-2xx status. */
export class SynodHttpError extends SynodClientError {
  readonly status: number;
  readonly serviceMessage: string;
  readonly details: unknown;
  readonly method: string;
  readonly path: string;
  readonly retryAfterMs: number | undefined;
  constructor(fields: HttpErrorFields) {
    super(fields.code, `${fields.method} ${fields.path}: ${fields.status} ${fields.code}: ${fields.serviceMessage}`);
    this.status = fields.status;
    this.serviceMessage = fields.serviceMessage;
    this.details = fields.details;
    this.method = fields.method;
    this.path = fields.path;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/** 400: the request is malformed (InvalidInput, InvalidTransactionId, …). Fix the request; do not retry. */
export class InvalidRequestError extends SynodHttpError {}
/** 401: the caller is not authenticated for this endpoint: wrong or unregistered identity. */
export class UnauthorizedError extends SynodHttpError {}
/** 403: the caller is authenticated but may not do this. */
export class ForbiddenError extends SynodHttpError {}
/** 404 for a resource or path (ResourceNotFound, UnknownURLPath). */
export class NotFoundError extends SynodHttpError {}
/** 404 TransactionPendingOrUnknown: not committed (yet); waiting helpers retry on it. */
export class TransactionPendingError extends SynodHttpError {}
/** 413/431: the request is larger than the node accepts. */
export class RequestTooLargeError extends SynodHttpError {}
/** 429: too many requests from this client; `retryAfterMs` says when to try again. */
export class TooManyRequestsError extends SynodHttpError {}
/** 503 (ServiceNotOpen, TransactionConflict, Backpressure): retry later. */
export class ServiceUnavailableError extends SynodHttpError {}

/** The subclass for a status and service code; plain SynodHttpError for the rest. */
export function httpErrorFor(fields: HttpErrorFields): SynodHttpError {
  const byCode: Record<string, new (f: HttpErrorFields) => SynodHttpError> = {
    TransactionPendingOrUnknown: TransactionPendingError,
    ResourceNotFound: NotFoundError,
    UnknownURLPath: NotFoundError,
  };
  const byStatus: Record<number, new (f: HttpErrorFields) => SynodHttpError> = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    413: RequestTooLargeError,
    431: RequestTooLargeError,
    429: TooManyRequestsError,
    503: ServiceUnavailableError,
  };
  const Class = (fields.status === 404 ? byCode[fields.code] : undefined) ?? byStatus[fields.status] ?? SynodHttpError;
  return new Class(fields);
}

/** Codes of SynodNetworkError: no usable HTTP response was received. */
export const NetworkErrorCode = {
  /** Connection refused, reset, DNS failure, …: the node may be down or restarting. */
  connection: 'CLIENT_NETWORK',
  /** The TLS handshake failed: the server's certificate does not chain to the pinned service certificate, or the name does not match. */
  tls: 'CLIENT_TLS',
  /** No complete response within the request timeout. */
  timeout: 'CLIENT_REQUEST_TIMEOUT',
  /** The response was larger than the client accepts. */
  responseTooLarge: 'CLIENT_RESPONSE_TOO_LARGE',
  /** The caller aborted the request. */
  aborted: 'CLIENT_ABORTED',
} as const;
export type NetworkErrorCode = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];

/** No usable response: the request may or may not have been executed. */
export class SynodNetworkError extends SynodClientError {
  declare readonly code: NetworkErrorCode;
  constructor(code: NetworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** A 2xx response whose body is not what the endpoint documents (e.g. /app/tx without a status). */
export class SynodProtocolError extends SynodClientError {
  constructor(message: string) {
    super('CLIENT_BAD_RESPONSE', message);
  }
}

/** The transaction was rolled back (committed in another view): it will never be committed. */
export class TransactionInvalidError extends SynodClientError {
  readonly txid: string;
  constructor(txid: string) {
    super('TRANSACTION_INVALID', `transaction ${txid} is Invalid: it was rolled back and will never be committed; resubmit the request`);
    this.txid = txid;
  }
}

/** The transaction (or its receipt) was not committed before the deadline; it may still be later. */
export class CommitTimeoutError extends SynodClientError {
  readonly txid: string;
  /** The last status the service reported (Pending, Unknown), or the last error's code. */
  readonly lastStatus: string;
  readonly elapsedMs: number;
  constructor(txid: string, lastStatus: string, elapsedMs: number) {
    super('COMMIT_TIMEOUT', `transaction ${txid} still ${lastStatus} after ${Math.round(elapsedMs)} ms; wait longer, or check the service's health`);
    this.txid = txid;
    this.lastStatus = lastStatus;
    this.elapsedMs = elapsedMs;
  }
}
