// The operations the sandbox may ask of the host, one number each. The sandbox holds a single host
// function, `host(op, ...args)`, inside the bootstrap's closure (bootstrap.ts); globals.ts answers it.
// Every operation checks its own arguments and capabilities on the host side: the sandbox-side wrappers
// only shape calls and are not trusted to enforce anything.

export const Op = {
  // The request being handled (arguments start with the request generation).
  requestField: 1,
  bodyText: 2,
  bodyBuffer: 3,
  /** The body as text for JSON.parse, refused if it nests deeper than jsLimits.requestJsonDepthMax. */
  bodyJson: 6,
  // The handler's outcome.
  respond: 4,
  fail: 5,
  // ccf.kv
  kvOpen: 10,
  kvGet: 11,
  kvHas: 12,
  kvSet: 13,
  kvDelete: 14,
  kvClear: 15,
  kvSize: 16,
  kvVersion: 17,
  kvIterOpen: 18,
  kvIterNext: 19,
  kvIterClose: 20,
  /** A map of `ccf.historicalState.kv`: its id is HISTORICAL_MAP_ID_BASE + the map's id. */
  kvOpenHistorical: 21,
  // converters
  strToBuf: 30,
  bufToStr: 31,
  // ccf.rpc, ccf.consensus, ccf.historical, console, Math.random
  setApplyWrites: 40,
  setClaimsDigest: 41,
  lastCommittedTxId: 42,
  statusForTxId: 43,
  viewForSeqno: 44,
  historical: 45,
  log: 46,
  random: 47,
  // ccf.crypto
  digest: 60,
  generateAesKey: 61,
  generateRsaKeyPair: 62,
  generateEcdsaKeyPair: 63,
  generateEddsaKeyPair: 64,
  sign: 65,
  verifySignature: 66,
  wrapKey: 67,
  unwrapKey: 68,
  isValidX509CertBundle: 69,
  isValidX509CertChain: 70,
  pemToJwk: 71,
  jwkToPem: 72,
  pemToId: 73,
  // snp_attestation (a global of its own, as in CCF)
  verifySnpAttestation: 74,
} as const;

export type OpCode = (typeof Op)[keyof typeof Op];

/** Map ids at or above this name a map of the historical state's store (ccf.historicalState.kv). */
export const HISTORICAL_MAP_ID_BASE = 2 ** 30;

/** `historical`'s first argument: which part of ccf.historical / ccf.historicalState is asked for. */
export const HistoricalOp = {
  getStateRange: 0,
  dropCachedStates: 1,
  transactionId: 2,
  /** The receipt as JSON text. */
  receipt: 3,
} as const;

/** Request fields the sandbox reads lazily, in the order of `requestField`'s index argument. */
export const REQUEST_FIELDS = ['method', 'path', 'query', 'url', 'route', 'hostname', 'headers', 'params', 'caller'] as const;
/** Fields from REQUEST_FIELDS that arrive as JSON text. */
export const REQUEST_JSON_FIELDS_FROM = 6;

/** How the sandbox hands over a response body (`respond`'s first argument). */
export const BodyKind = {
  none: 0,
  text: 1,
  /** A string whose UTF-8 the sandbox encoded itself (it holds a NUL character). */
  textBytes: 2,
  bytes: 3,
  json: 4,
  /** Not a valid response; the body argument says why. */
  invalid: 5,
} as const;

/** Or'ed into the body kind when `respond`'s third argument holds the headers as JSON. */
export const RESPOND_HAS_HEADERS = 16;

/** JWK kinds for pemToJwk / jwkToPem, in CCF's function order. */
export const JwkKind = {
  ecPublic: 0,
  ecPrivate: 1,
  rsaPublic: 2,
  rsaPrivate: 3,
  eddsaPublic: 4,
  eddsaPrivate: 5,
} as const;
