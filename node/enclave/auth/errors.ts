// Why a request was not authenticated, with stable codes (clients and tests switch on `code`; the
// message says which check failed and what to do). An authentication refusal is an expected outcome:
// it is a return value, never an exception. Invalid governance input for the JWT maps (issuers, JWKS)
// is an exception, AuthConfigError, because the governance action or genesis that supplied it fails.

export const RefusalCodes = {
  PolicyNotSupported: 'The endpoint names an authentication policy this node does not know.',
  NoClientCertificate: 'The policy needs a TLS client certificate.',
  CertificateNotRegistered: 'The client certificate is not registered for this policy.',
  JwtMissing: 'The policy needs an "Authorization: Bearer <JWT>" header.',
  JwtMalformed: 'The bearer token is not a well-formed JWT.',
  JwtTooLarge: 'The bearer token is longer than the node accepts.',
  JwtAlgorithmRefused: 'The token is unsigned or uses an algorithm the node refuses.',
  JwtUnknownKey: 'No signing key with the token\'s kid is registered by governance.',
  JwtKeyMismatch: 'The registered key cannot verify the token\'s algorithm.',
  JwtBadSignature: 'The token\'s signature does not verify.',
  JwtExpired: 'The token has expired.',
  JwtNotYetValid: 'The token is not valid yet (nbf).',
  JwtIssuerMismatch: 'The token\'s iss claim fails the key\'s issuer constraint.',
  CoseWrongContentType: 'The policy needs a COSE_Sign1 body with content-type application/cose.',
  CoseTooLarge: 'The COSE_Sign1 body is larger than the node accepts.',
  CoseMalformed: 'The body is not a well-formed COSE_Sign1 request.',
  CoseAlgorithmRefused: 'The COSE algorithm is not ES256 or ES384.',
  CoseMissingKid: 'The COSE protected header has no kid (the signer\'s ID as a byte string).',
  CoseUnknownSigner: 'The kid does not name a registered identity for this policy.',
  CoseBadSignature: 'The COSE_Sign1 signature does not verify with the signer\'s certificate.',
} as const;

export type RefusalCode = keyof typeof RefusalCodes;

export interface Refusal {
  ok: false;
  code: RefusalCode;
  /** Which check failed, with the offending value where that helps (bounded, never a secret). */
  message: string;
}

export function refuse(code: RefusalCode, message: string): Refusal {
  return { ok: false, code, message };
}

/** A short, printable rendering of an attacker-chosen value for an error message. */
export function quote(value: unknown, lengthMax = 80): string {
  const text = typeof value === 'string' ? value : String(value);
  const shown = JSON.stringify(text.length > lengthMax ? `${text.slice(0, lengthMax)}…` : text);
  return shown;
}

export const AuthConfigErrorCodes = {
  InvalidJwtIssuer: 'The JWT issuer or its metadata is invalid.',
  InvalidJwks: 'The JSON Web Key Set is invalid.',
} as const;

/** Invalid input to the JWT governance writes (set_jwt_issuer, set_jwt_public_signing_keys, genesis). */
export class AuthConfigError extends Error {
  constructor(
    readonly code: keyof typeof AuthConfigErrorCodes,
    message: string,
  ) {
    super(message);
    this.name = 'AuthConfigError';
  }
}
