// Errors raised by node/crypto. Each has a stable `code` that callers (and HTTP layers above them) may
// match on; messages say what the caller should fix. Cryptographic *verification failures* are not
// errors: verify functions return false. These are for inputs that cannot be processed at all.

export type CryptoErrorCode =
  | 'CRYPTO_INVALID_HEX'
  | 'CRYPTO_INVALID_ARGUMENT'
  | 'CRYPTO_INVALID_KEY'
  | 'CRYPTO_UNSUPPORTED_CURVE'
  | 'CRYPTO_INVALID_DIGEST'
  | 'CRYPTO_INVALID_CERTIFICATE';

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CryptoError';
    this.code = code;
  }
}

export function invalidHex(message: string): CryptoError {
  return new CryptoError('CRYPTO_INVALID_HEX', message);
}

export function invalidArgument(message: string): CryptoError {
  return new CryptoError('CRYPTO_INVALID_ARGUMENT', message);
}

export function invalidKey(message: string, cause?: unknown): CryptoError {
  return new CryptoError('CRYPTO_INVALID_KEY', message, { cause });
}

export function unsupportedCurve(curve: unknown): CryptoError {
  return new CryptoError(
    'CRYPTO_UNSUPPORTED_CURVE',
    `unsupported curve ${String(curve)}: use 'P-256' or 'P-384'`,
  );
}

export function invalidDigest(length: number): CryptoError {
  return new CryptoError(
    'CRYPTO_INVALID_DIGEST',
    `a prehashed digest must be 32 bytes (SHA-256), got ${length}`,
  );
}

export function invalidCertificate(message: string, cause?: unknown): CryptoError {
  return new CryptoError('CRYPTO_INVALID_CERTIFICATE', message, { cause });
}
