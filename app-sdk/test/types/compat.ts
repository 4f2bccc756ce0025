// Type-level checks, compiled by test/types.test.ts: every type and function signature that
// @microsoft/ccf-app exports has a counterpart here that is assignable both ways. A mismatch is a
// compile error on the line that names it.

import type * as Ccf from '@microsoft/ccf-app';
import type * as CcfCrypto from '@microsoft/ccf-app/crypto.js';
import type * as CcfGlobal from '@microsoft/ccf-app/global.js';
import type * as Sdk from '../../src/index.ts';
import type * as SdkCrypto from '../../src/crypto.ts';
import type * as SdkGlobal from '../../src/global.ts';

// `any` would pass vacuously (ccf-app's kv.d.ts re-exports from "./global", which NodeNext resolution
// leaves as any): it counts as a mismatch.
type IsAny<T> = 0 extends 1 & T ? true : false;
type Mutual<A, B> = IsAny<A> extends true ? false : IsAny<B> extends true ? false : [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<T extends true[]> = T;

export type GlobalTypes = AllTrue<[
  Mutual<SdkGlobal.CCF, CcfGlobal.CCF>,
  Mutual<SdkGlobal.KvMap, CcfGlobal.KvMap>,
  Mutual<SdkGlobal.KvSet, CcfGlobal.KvSet>,
  Mutual<SdkGlobal.KvMaps, CcfGlobal.KvMaps>,
  Mutual<SdkGlobal.CCFCrypto, CcfGlobal.CCFCrypto>,
  Mutual<SdkGlobal.CCFRpc, CcfGlobal.CCFRpc>,
  Mutual<SdkGlobal.CCFConsensus, CcfGlobal.CCFConsensus>,
  Mutual<SdkGlobal.CCFHistorical, CcfGlobal.CCFHistorical>,
  Mutual<SdkGlobal.HistoricalState, CcfGlobal.HistoricalState>,
  Mutual<SdkGlobal.Receipt, CcfGlobal.Receipt>,
  Mutual<SdkGlobal.LeafComponents, CcfGlobal.LeafComponents>,
  Mutual<SdkGlobal.TransactionId, CcfGlobal.TransactionId>,
  Mutual<SdkGlobal.TransactionStatus, CcfGlobal.TransactionStatus>,
  Mutual<SdkGlobal.WrapAlgoParams, CcfGlobal.WrapAlgoParams>,
  Mutual<SdkGlobal.SigningAlgorithm, CcfGlobal.SigningAlgorithm>,
  Mutual<SdkGlobal.DigestAlgorithm, CcfGlobal.DigestAlgorithm>,
  Mutual<SdkGlobal.CryptoKeyPair, CcfGlobal.CryptoKeyPair>,
  Mutual<SdkGlobal.JsonWebKeyECPrivate, CcfGlobal.JsonWebKeyECPrivate>,
  Mutual<SdkGlobal.JsonWebKeyRSAPrivate, CcfGlobal.JsonWebKeyRSAPrivate>,
  Mutual<SdkGlobal.JsonWebKeyEdDSAPrivate, CcfGlobal.JsonWebKeyEdDSAPrivate>,
  Mutual<SdkGlobal.SnpAttestation, CcfGlobal.SnpAttestation>,
  Mutual<SdkGlobal.SnpAttestationResult, CcfGlobal.SnpAttestationResult>,
  Mutual<typeof SdkGlobal.ccf, typeof CcfGlobal.ccf>,
]>;

export type EndpointTypes = AllTrue<[
  Mutual<Sdk.Request<{ a: number }>, Ccf.Request<{ a: number }>>,
  Mutual<Sdk.Response<{ a: number }>, Ccf.Response<{ a: number }>>,
  Mutual<Sdk.Body, Ccf.Body>,
  Mutual<Sdk.AuthnIdentity, Ccf.AuthnIdentity>,
  Mutual<Sdk.UserCertAuthnIdentity, Ccf.UserCertAuthnIdentity>,
  Mutual<Sdk.JwtAuthnIdentity, Ccf.JwtAuthnIdentity>,
  Mutual<Sdk.AllOfAuthnIdentity, Ccf.AllOfAuthnIdentity>,
  Mutual<Sdk.UserCOSESign1AuthnIdentity, Ccf.UserCOSESign1AuthnIdentity>,
  Mutual<Sdk.EndpointFn<{ a: number }, string>, Ccf.EndpointFn<{ a: number }, string>>,
  Mutual<typeof Sdk.setApplyWrites, typeof Ccf.setApplyWrites>,
  Mutual<typeof Sdk.setClaimsDigest, typeof Ccf.setClaimsDigest>,
]>;

export type ConverterTypes = AllTrue<[
  Mutual<Sdk.DataConverter<number>, Ccf.DataConverter<number>>,
  Mutual<Sdk.TypedArrayConstructor<Uint8Array>, Ccf.TypedArrayConstructor<Uint8Array>>,
  Mutual<typeof Sdk.bool, typeof Ccf.bool>,
  Mutual<typeof Sdk.int8, typeof Ccf.int8>,
  Mutual<typeof Sdk.uint8, typeof Ccf.uint8>,
  Mutual<typeof Sdk.int16, typeof Ccf.int16>,
  Mutual<typeof Sdk.uint16, typeof Ccf.uint16>,
  Mutual<typeof Sdk.int32, typeof Ccf.int32>,
  Mutual<typeof Sdk.uint32, typeof Ccf.uint32>,
  Mutual<typeof Sdk.int64, typeof Ccf.int64>,
  Mutual<typeof Sdk.uint64, typeof Ccf.uint64>,
  Mutual<typeof Sdk.float32, typeof Ccf.float32>,
  Mutual<typeof Sdk.float64, typeof Ccf.float64>,
  Mutual<typeof Sdk.string, typeof Ccf.string>,
  Mutual<typeof Sdk.arrayBuffer, typeof Ccf.arrayBuffer>,
  Mutual<ReturnType<typeof Sdk.json<{ a: number }>>, ReturnType<typeof Ccf.json<{ a: number }>>>,
  Mutual<ReturnType<typeof Sdk.checkedJson<{ a: number }>>, ReturnType<typeof Ccf.checkedJson<{ a: number }>>>,
  Mutual<ReturnType<typeof Sdk.typedArray<Float32Array>>, ReturnType<typeof Ccf.typedArray<Float32Array>>>,
]>;

// TypedKvMap/TypedKvSet are classes with private fields, so TypeScript compares them by name; their
// public methods' parameters are checked instead (forEach's callback up to the table it passes back).
type Api<T> = { [K in Exclude<keyof T, 'forEach'>]: T[K] extends (...args: infer A) => unknown ? A : T[K] };
type CallbackArgs<T extends { forEach: (callback: (...args: any[]) => void) => void }, N extends number> = Parameters<
  Parameters<T['forEach']>[0]
> extends infer P extends unknown[]
  ? N extends 1 ? [P[0]] : [P[0], P[1]]
  : never;

export type KvTypes = AllTrue<[
  Mutual<Parameters<typeof Sdk.typedKv<string, number>>, Parameters<typeof Ccf.typedKv<string, number>>>,
  Mutual<Parameters<typeof Sdk.typedKvSet<string, unknown>>, Parameters<typeof Ccf.typedKvSet<string, unknown>>>,
  Mutual<Api<Sdk.TypedKvMap<string, number>>, Api<Ccf.TypedKvMap<string, number>>>,
  Mutual<Api<Sdk.TypedKvSet<string>>, Api<Ccf.TypedKvSet<string>>>,
  Mutual<CallbackArgs<Sdk.TypedKvMap<string, number>, 2>, CallbackArgs<Ccf.TypedKvMap<string, number>, 2>>,
  Mutual<CallbackArgs<Sdk.TypedKvSet<string>, 1>, CallbackArgs<Ccf.TypedKvSet<string>, 1>>,
  Mutual<typeof Sdk.rawKv, typeof Ccf.rawKv>,
]>;

export type ServiceTypes = AllTrue<[
  Mutual<typeof Sdk.getLastCommittedTxId, typeof Ccf.getLastCommittedTxId>,
  Mutual<typeof Sdk.getStatusForTxId, typeof Ccf.getStatusForTxId>,
  Mutual<typeof Sdk.getViewForSeqno, typeof Ccf.getViewForSeqno>,
  Mutual<typeof Sdk.historicalState, typeof Ccf.historicalState>,
  Mutual<typeof Sdk.getStateRange, typeof Ccf.getStateRange>,
  Mutual<typeof Sdk.dropCachedStates, typeof Ccf.dropCachedStates>,
]>;

export type CryptoTypes = AllTrue<[
  Mutual<typeof SdkCrypto.sign, typeof CcfCrypto.sign>,
  Mutual<typeof SdkCrypto.verifySignature, typeof CcfCrypto.verifySignature>,
  Mutual<typeof SdkCrypto.digest, typeof CcfCrypto.digest>,
  Mutual<typeof SdkCrypto.generateAesKey, typeof CcfCrypto.generateAesKey>,
  Mutual<typeof SdkCrypto.generateRsaKeyPair, typeof CcfCrypto.generateRsaKeyPair>,
  Mutual<typeof SdkCrypto.generateEcdsaKeyPair, typeof CcfCrypto.generateEcdsaKeyPair>,
  Mutual<typeof SdkCrypto.generateEddsaKeyPair, typeof CcfCrypto.generateEddsaKeyPair>,
  Mutual<typeof SdkCrypto.wrapKey, typeof CcfCrypto.wrapKey>,
  Mutual<typeof SdkCrypto.unwrapKey, typeof CcfCrypto.unwrapKey>,
  Mutual<typeof SdkCrypto.isValidX509CertBundle, typeof CcfCrypto.isValidX509CertBundle>,
  Mutual<typeof SdkCrypto.isValidX509CertChain, typeof CcfCrypto.isValidX509CertChain>,
  Mutual<typeof SdkCrypto.pubPemToJwk, typeof CcfCrypto.pubPemToJwk>,
  Mutual<typeof SdkCrypto.pemToJwk, typeof CcfCrypto.pemToJwk>,
  Mutual<typeof SdkCrypto.pubRsaPemToJwk, typeof CcfCrypto.pubRsaPemToJwk>,
  Mutual<typeof SdkCrypto.rsaPemToJwk, typeof CcfCrypto.rsaPemToJwk>,
  Mutual<typeof SdkCrypto.pubEddsaPemToJwk, typeof CcfCrypto.pubEddsaPemToJwk>,
  Mutual<typeof SdkCrypto.eddsaPemToJwk, typeof CcfCrypto.eddsaPemToJwk>,
  Mutual<typeof SdkCrypto.pubJwkToPem, typeof CcfCrypto.pubJwkToPem>,
  Mutual<typeof SdkCrypto.jwkToPem, typeof CcfCrypto.jwkToPem>,
  Mutual<typeof SdkCrypto.pubRsaJwkToPem, typeof CcfCrypto.pubRsaJwkToPem>,
  Mutual<typeof SdkCrypto.rsaJwkToPem, typeof CcfCrypto.rsaJwkToPem>,
  Mutual<typeof SdkCrypto.pubEddsaJwkToPem, typeof CcfCrypto.pubEddsaJwkToPem>,
  Mutual<typeof SdkCrypto.eddsaJwkToPem, typeof CcfCrypto.eddsaJwkToPem>,
]>;
