// Types of CCF's JavaScript app API: the `ccf` global (kv, converters, crypto, rpc, consensus,
// historical) and the request/response objects of endpoint functions. They describe the same shapes
// as @microsoft/ccf-app 6.x (global.d.ts, endpoints.d.ts), under the same names, so that code typed
// against that package type-checks against this one and the other way round (test/types.test.ts
// checks both directions). Synod's sandbox (node/js) implements this API; the polyfill
// (polyfill.ts) implements it in plain Node.

/** Any value JSON.stringify and JSON.parse carry unchanged; left open, as in ccf-app. */
export type JsonCompatible<T> = any;

// ---- kv -----------------------------------------------------------------------------------------

/** A map of the key-value store, over raw bytes. Keys compare by content. */
export interface KvMap {
  has(key: ArrayBuffer): boolean;
  get(key: ArrayBuffer): ArrayBuffer | undefined;
  /** Seqno of the last committed write of `key` as of the transaction's snapshot; own writes do not count. */
  getVersionOfPreviousWrite(key: ArrayBuffer): number | undefined;
  set(key: ArrayBuffer, value: ArrayBuffer): KvMap;
  delete(key: ArrayBuffer): void;
  clear(): void;
  forEach(callback: (value: ArrayBuffer, key: ArrayBuffer, kvmap: KvMap) => void): void;
  size: number;
}

/** A map used as a set (values are ignored). */
export interface KvSet {
  has(key: ArrayBuffer): boolean;
  getVersionOfPreviousWrite(key: ArrayBuffer): number | undefined;
  add(key: ArrayBuffer): KvSet;
  delete(key: ArrayBuffer): void;
  clear(): void;
  forEach(callback: (value: ArrayBuffer, kvset: KvSet) => void): void;
  size: number;
}

/** `ccf.kv[name]`: any name gives a handle; whether it may be read or written depends on the map. */
export type KvMaps = { [key: string]: KvMap };

// ---- receipts and historical state ---------------------------------------------------------------

export interface ProofElement {
  left?: string;
  right?: string;
}

export type Proof = ProofElement[];

export interface LeafComponents {
  write_set_digest: string;
  commit_evidence?: string;
  claims_digest?: string;
}

/** CCF's JSON receipt (hex digests, base64 signature, PEM certificate). */
export interface Receipt {
  signature: string;
  cert: string;
  proof: Proof;
  leaf?: string;
  leaf_components?: LeafComponents;
  node_id: string;
}

export interface HistoricalState {
  /** "view.seqno". */
  transactionId: string;
  receipt: Receipt;
  /** Read-only maps as of that transaction. */
  kv: KvMaps;
}

export interface TransactionId {
  view: number;
  seqno: number;
}

export type TransactionStatus = 'Committed' | 'Invalid' | 'Pending' | 'Unknown';

// ---- crypto -------------------------------------------------------------------------------------

export interface RsaOaepParams {
  name: 'RSA-OAEP';
  label?: ArrayBuffer;
}

export interface AesKwpParams {
  name: 'AES-KWP';
}

export interface RsaOaepAesKwpParams {
  name: 'RSA-OAEP-AES-KWP';
  /** Bits of the ephemeral AES key: 128, 192 or 256. */
  aesKeySize: number;
  label?: ArrayBuffer;
}

export type WrapAlgoParams = RsaOaepParams | AesKwpParams | RsaOaepAesKwpParams;

/** PEM strings: PKCS#8 private key, SPKI public key. */
export interface CryptoKeyPair {
  privateKey: string;
  publicKey: string;
}

export type AlgorithmName = 'RSA-PSS' | 'ECDSA' | 'EdDSA' | 'HMAC';

export type DigestAlgorithm = 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface SigningAlgorithm {
  name: AlgorithmName;
  /** Required except for EdDSA. */
  hash?: DigestAlgorithm;
  /** RSA-PSS only; 0 when absent. */
  saltLength?: number;
}

export interface JsonWebKey {
  kty: string;
  kid?: string;
}

export interface JsonWebKeyECPublic extends JsonWebKey {
  crv: string;
  x: string;
  y: string;
}

export interface JsonWebKeyECPrivate extends JsonWebKeyECPublic {
  d: string;
}

export interface JsonWebKeyRSAPublic extends JsonWebKey {
  n: string;
  e: string;
}

export interface JsonWebKeyRSAPrivate extends JsonWebKeyRSAPublic {
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

export interface JsonWebKeyEdDSAPublic extends JsonWebKey {
  crv: string;
  x: string;
}

export interface JsonWebKeyEdDSAPrivate extends JsonWebKeyEdDSAPublic {
  d: string;
}

export interface CCFCrypto {
  /** ECDSA signatures are IEEE P1363 (r‖s); `key` is a PEM private key, or the secret for HMAC. */
  sign(algorithm: SigningAlgorithm, key: string, plaintext: ArrayBuffer): ArrayBuffer;
  /** `key`: PEM public key or certificate. SHA-256 only (EdDSA: no hash). */
  verifySignature(algorithm: SigningAlgorithm, key: string, signature: ArrayBuffer, plaintext: ArrayBuffer): boolean;
  generateAesKey(size: number): ArrayBuffer;
  generateRsaKeyPair(size: number, exponent?: number): CryptoKeyPair;
  /** "secp256r1" or "secp384r1". */
  generateEcdsaKeyPair(curve: string): CryptoKeyPair;
  /** "curve25519" (Ed25519) or "x25519". */
  generateEddsaKeyPair(curve: string): CryptoKeyPair;
  wrapKey(key: ArrayBuffer, wrappingKey: ArrayBuffer, wrapAlgo: WrapAlgoParams): ArrayBuffer;
  unwrapKey(key: ArrayBuffer, wrappingKey: ArrayBuffer, wrapAlgo: WrapAlgoParams): ArrayBuffer;
  /** SHA-256 only. */
  digest(algorithm: DigestAlgorithm, plaintext: ArrayBuffer): ArrayBuffer;
  isValidX509CertBundle(pem: string): boolean;
  isValidX509CertChain(chain: string, trusted: string): boolean;
  pubPemToJwk(pem: string, kid?: string): JsonWebKeyECPublic;
  pemToJwk(pem: string, kid?: string): JsonWebKeyECPrivate;
  pubRsaPemToJwk(pem: string, kid?: string): JsonWebKeyRSAPublic;
  rsaPemToJwk(pem: string, kid?: string): JsonWebKeyRSAPrivate;
  pubEddsaPemToJwk(pem: string, kid?: string): JsonWebKeyEdDSAPublic;
  eddsaPemToJwk(pem: string, kid?: string): JsonWebKeyEdDSAPrivate;
  pubJwkToPem(jwk: JsonWebKeyECPublic): string;
  jwkToPem(jwk: JsonWebKeyECPrivate): string;
  pubRsaJwkToPem(jwk: JsonWebKeyRSAPublic): string;
  rsaJwkToPem(jwk: JsonWebKeyRSAPrivate): string;
  pubEddsaJwkToPem(jwk: JsonWebKeyEdDSAPublic): string;
  eddsaJwkToPem(jwk: JsonWebKeyEdDSAPrivate): string;
}

// ---- rpc, consensus, historical -----------------------------------------------------------------

export interface CCFRpc {
  /** Overrides "writes apply on a 2xx response" for the current request. */
  setApplyWrites(force: boolean): void;
  /** 32 bytes, recorded in the transaction's receipt leaf. */
  setClaimsDigest(digest: ArrayBuffer): void;
}

export interface CCFConsensus {
  getLastCommittedTxId(): TransactionId;
  getStatusForTxId(view: number, seqno: number): TransactionStatus;
  getViewForSeqno(seqno: number): number | null;
}

export interface CCFHistorical {
  getStateRange(handle: number, startSeqno: number, endSeqno: number, secondsUntilExpiry: number): HistoricalState[] | null;
  dropCachedStates(handle: number): boolean;
}

/** The `ccf` global. */
export interface CCF {
  strToBuf(v: string): ArrayBuffer;
  bufToStr(v: ArrayBuffer): string;
  jsonCompatibleToBuf<T extends JsonCompatible<T>>(v: T): ArrayBuffer;
  bufToJsonCompatible<T extends JsonCompatible<T>>(v: ArrayBuffer): T;
  /** @deprecated use ccf.crypto.generateAesKey */
  generateAesKey(size: number): ArrayBuffer;
  /** @deprecated use ccf.crypto.generateRsaKeyPair */
  generateRsaKeyPair(size: number, exponent?: number): CryptoKeyPair;
  /** @deprecated use ccf.crypto.generateEcdsaKeyPair */
  generateEcdsaKeyPair(curve: string): CryptoKeyPair;
  /** @deprecated use ccf.crypto.wrapKey */
  wrapKey(key: ArrayBuffer, wrappingKey: ArrayBuffer, wrapAlgo: WrapAlgoParams): ArrayBuffer;
  /** @deprecated use ccf.crypto.digest */
  digest(algorithm: DigestAlgorithm, data: ArrayBuffer): ArrayBuffer;
  /** @deprecated use ccf.crypto.isValidX509CertBundle */
  isValidX509CertBundle(pem: string): boolean;
  /** @deprecated use ccf.crypto.isValidX509CertChain */
  isValidX509CertChain(chain: string, trusted: string): boolean;
  crypto: CCFCrypto;
  rpc: CCFRpc;
  consensus: CCFConsensus;
  kv: KvMaps;
  /** Set for endpoints in "historical" mode. */
  historicalState?: HistoricalState;
  historical: CCFHistorical;
  enableUntrustedDateTime(enable: boolean): boolean;
  enableMetricsLogging(enable: boolean): boolean;
}

// ---- SEV-SNP attestation (the `snp_attestation` global; not provided by Synod yet) ---------------

export interface TcbVersion {
  boot_loader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface SnpAttestationResult {
  attestation: {
    version: number;
    guest_svn: number;
    policy: { abi_minor: number; abi_major: number; smt: number; migrate_ma: number; debug: number; single_socket: number };
    family_id: ArrayBuffer;
    image_id: ArrayBuffer;
    vmpl: number;
    signature_algo: number;
    platform_version: TcbVersion;
    platform_info: { smt_en: number; tsme_en: number };
    flags: { author_key_en: number; mask_chip_key: number; signing_key: number };
    report_data: ArrayBuffer;
    measurement: ArrayBuffer;
    host_data: ArrayBuffer;
    id_key_digest: ArrayBuffer;
    author_key_digest: ArrayBuffer;
    report_id: ArrayBuffer;
    report_id_ma: ArrayBuffer;
    reported_tcb: TcbVersion;
    cpuid_fam_id: number;
    cpuid_mod_id: number;
    cpuid_step: number;
    chip_id: ArrayBuffer;
    committed_tcb: TcbVersion;
    current_minor: number;
    current_build: number;
    current_major: number;
    committed_build: number;
    committed_minor: number;
    committed_major: number;
    launch_tcb: TcbVersion;
    signature: { r: ArrayBuffer; s: ArrayBuffer };
  };
  uvm_endorsements?: { did: string; feed: string; svn: string };
}

export interface SnpAttestation {
  verifySnpAttestation(evidence: ArrayBuffer, endorsements: ArrayBuffer, uvm_endorsements?: ArrayBuffer, endorsed_tcb?: string): SnpAttestationResult;
}

// ---- endpoints: requests and responses ------------------------------------------------------------

export interface Body<T extends JsonCompatible<T> = any> {
  text(): string;
  json(): T;
  arrayBuffer(): ArrayBuffer;
}

export interface Request<T extends JsonCompatible<T> = any> {
  /** Lower-case names. */
  headers: { [key: string]: string };
  /** Path template parameters, e.g. `{id}` in `/records/{id}`. */
  params: { [key: string]: string };
  url: string;
  /** Full path, e.g. `/app/records/42`. */
  path: string;
  /** The endpoint's path template, e.g. `/app/records/{id}`. */
  route: string;
  /** Raw query string, without `?`. */
  query: string;
  method: string;
  hostname: string;
  body: Body<T>;
  caller?: AuthnIdentity;
}

export interface AuthnIdentityCommon {
  policy: string | string[];
}

export interface EmptyAuthnIdentity extends AuthnIdentityCommon {
  policy: 'no_auth';
}

interface CertAuthnIdentityCommon extends AuthnIdentityCommon {
  /** PEM. */
  cert: string;
}

export interface AnyCertAuthnIdentity extends CertAuthnIdentityCommon {
  policy: 'any_cert';
}

interface UserMemberAuthnIdentityCommon extends CertAuthnIdentityCommon {
  /** Hex SHA-256 of the certificate's DER. */
  id: string;
  /** user_data / member_data as set by governance. */
  data: any;
}

export interface UserCertAuthnIdentity extends UserMemberAuthnIdentityCommon {
  policy: 'user_cert';
}

export interface MemberCertAuthnIdentity extends UserMemberAuthnIdentityCommon {
  policy: 'member_cert';
}

interface UserMemberCOSEAuthIdentityCommon {
  cose: { content: ArrayBuffer };
}

export interface MemberCOSESign1AuthnIdentity extends UserMemberAuthnIdentityCommon, UserMemberCOSEAuthIdentityCommon {
  policy: 'member_cose_sign1';
}

export interface UserCOSESign1AuthnIdentity extends UserMemberAuthnIdentityCommon, UserMemberCOSEAuthIdentityCommon {
  policy: 'user_cose_sign1';
}

export interface JwtAuthnIdentity extends AuthnIdentityCommon {
  policy: 'jwt';
  jwt: { keyIssuer: string; header: any; payload: any };
}

/** An endpoint whose policies must all pass: one entry per policy. */
export interface AllOfAuthnIdentity extends AuthnIdentityCommon {
  policy: string[];
  user_cert?: UserCertAuthnIdentity;
  member_cert?: MemberCertAuthnIdentity;
  any_cert?: AnyCertAuthnIdentity;
  user_cose_sign1?: UserCOSESign1AuthnIdentity;
  member_cose_sign1?: MemberCOSESign1AuthnIdentity;
  jwt?: JwtAuthnIdentity;
}

export type AuthnIdentity =
  | EmptyAuthnIdentity
  | UserCertAuthnIdentity
  | MemberCertAuthnIdentity
  | AnyCertAuthnIdentity
  | JwtAuthnIdentity
  | MemberCOSESign1AuthnIdentity
  | UserCOSESign1AuthnIdentity
  | AllOfAuthnIdentity;

/** A string is sent as text/plain, an ArrayBuffer (or typed array) as application/octet-stream, anything else as JSON. */
export type ResponseBodyType<T> = string | ArrayBuffer | JsonCompatible<T>;

export interface Response<T extends ResponseBodyType<T> = any> {
  /** Defaults to 200. */
  statusCode?: number;
  headers?: { [key: string]: string };
  body?: T;
}

export type EndpointFn<A extends JsonCompatible<A> = any, B extends ResponseBodyType<B> = any> = (request: Request<A>) => Response<B>;
