// Bounds of request authentication (TIGER_STYLE: a limit on everything, unit last). They live beside the
// code rather than in node/limits.ts so that this folder can be reviewed on its own; the request body and
// header limits of node/limits.ts still apply first, at the host.

import { limits } from '../../limits.ts';

export const authLimits = {
  /**
   * Longest bearer token accepted. Below the 16 KiB header limit so that a token and the other headers fit;
   * identity providers' access tokens are a few KiB (Entra moves large group lists out of the token).
   */
  jwtBytesMax: 12 * 1024,
  /** Deepest JSON nesting in a JWT header or payload (the payload is handed to the JS sandbox as JSON). */
  jwtJsonDepthMax: 32,
  /** Leeway, in seconds, when comparing exp and nbf with the node's (untrusted) clock. */
  jwtClockSkewSecondsMax: 30,
  /** Smallest and largest RSA modulus accepted for RS256/PS256 keys. */
  rsaModulusBitsMin: 2048,
  rsaModulusBitsMax: 8192,
  /** Keys in one JWKS given to set_jwt_public_signing_keys / set_jwt_issuer. */
  jwksKeysMax: 100,
  /** Longest kid, issuer name and issuer constraint stored in governance. */
  jwtKeyIdBytesMax: 256,
  jwtIssuerBytesMax: 2048,
  /** Parsed public keys kept in memory (keyed by their DER), so a request does not re-parse its key. */
  publicKeyCacheEntriesMax: 256,
  /** Largest COSE_Sign1 request body: the node's request body limit, so the host refuses first (413). */
  coseSign1BytesMax: limits.requestBodyBytesMax,
  /** Largest serialized COSE protected header. */
  coseProtectedHeaderBytesMax: 4 * 1024,
} as const;
