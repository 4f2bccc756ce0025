// Error catalogue of the Synod client library (receipt verification, ledger reading, audit, CLI).
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
