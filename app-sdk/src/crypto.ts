// ccf.crypto as functions (ccf-app's crypto module, imported as "@synod/app-sdk/crypto.js" where apps
// on ccf-app import "@microsoft/ccf-app/crypto.js"). Each call goes to the global at call time.

import { ccfGlobal } from './global.ts';
import type {
  CryptoKeyPair,
  DigestAlgorithm,
  JsonWebKeyECPrivate,
  JsonWebKeyECPublic,
  JsonWebKeyEdDSAPrivate,
  JsonWebKeyEdDSAPublic,
  JsonWebKeyRSAPrivate,
  JsonWebKeyRSAPublic,
  SigningAlgorithm,
  WrapAlgoParams,
} from './types.ts';

export type {
  AesKwpParams,
  AlgorithmName,
  CryptoKeyPair,
  DigestAlgorithm,
  JsonWebKey,
  JsonWebKeyECPrivate,
  JsonWebKeyECPublic,
  JsonWebKeyEdDSAPrivate,
  JsonWebKeyEdDSAPublic,
  JsonWebKeyRSAPrivate,
  JsonWebKeyRSAPublic,
  RsaOaepAesKwpParams,
  RsaOaepParams,
  SigningAlgorithm,
  WrapAlgoParams,
} from './types.ts';

const c = () => ccfGlobal().crypto;

export const generateAesKey = (size: number): ArrayBuffer => c().generateAesKey(size);
export const generateRsaKeyPair = (size: number, exponent?: number): CryptoKeyPair =>
  exponent === undefined ? c().generateRsaKeyPair(size) : c().generateRsaKeyPair(size, exponent);
export const generateEcdsaKeyPair = (curve: string): CryptoKeyPair => c().generateEcdsaKeyPair(curve);
export const generateEddsaKeyPair = (curve: string): CryptoKeyPair => c().generateEddsaKeyPair(curve);
export const wrapKey = (key: ArrayBuffer, wrappingKey: ArrayBuffer, wrapAlgo: WrapAlgoParams): ArrayBuffer =>
  c().wrapKey(key, wrappingKey, wrapAlgo);
export const unwrapKey = (key: ArrayBuffer, wrappingKey: ArrayBuffer, wrapAlgo: WrapAlgoParams): ArrayBuffer =>
  c().unwrapKey(key, wrappingKey, wrapAlgo);
export const sign = (algorithm: SigningAlgorithm, key: string, plaintext: ArrayBuffer): ArrayBuffer => c().sign(algorithm, key, plaintext);
export const verifySignature = (algorithm: SigningAlgorithm, key: string, signature: ArrayBuffer, plaintext: ArrayBuffer): boolean =>
  c().verifySignature(algorithm, key, signature, plaintext);
export const digest = (algorithm: DigestAlgorithm, plaintext: ArrayBuffer): ArrayBuffer => c().digest(algorithm, plaintext);
export const isValidX509CertBundle = (pem: string): boolean => c().isValidX509CertBundle(pem);
export const isValidX509CertChain = (chain: string, trusted: string): boolean => c().isValidX509CertChain(chain, trusted);
export const pubPemToJwk = (pem: string, kid?: string): JsonWebKeyECPublic => c().pubPemToJwk(pem, ...optional(kid));
export const pemToJwk = (pem: string, kid?: string): JsonWebKeyECPrivate => c().pemToJwk(pem, ...optional(kid));
export const pubRsaPemToJwk = (pem: string, kid?: string): JsonWebKeyRSAPublic => c().pubRsaPemToJwk(pem, ...optional(kid));
export const rsaPemToJwk = (pem: string, kid?: string): JsonWebKeyRSAPrivate => c().rsaPemToJwk(pem, ...optional(kid));
export const pubEddsaPemToJwk = (pem: string, kid?: string): JsonWebKeyEdDSAPublic => c().pubEddsaPemToJwk(pem, ...optional(kid));
export const eddsaPemToJwk = (pem: string, kid?: string): JsonWebKeyEdDSAPrivate => c().eddsaPemToJwk(pem, ...optional(kid));
export const pubJwkToPem = (jwk: JsonWebKeyECPublic): string => c().pubJwkToPem(jwk);
export const jwkToPem = (jwk: JsonWebKeyECPrivate): string => c().jwkToPem(jwk);
export const pubRsaJwkToPem = (jwk: JsonWebKeyRSAPublic): string => c().pubRsaJwkToPem(jwk);
export const rsaJwkToPem = (jwk: JsonWebKeyRSAPrivate): string => c().rsaJwkToPem(jwk);
export const pubEddsaJwkToPem = (jwk: JsonWebKeyEdDSAPublic): string => c().pubEddsaJwkToPem(jwk);
export const eddsaJwkToPem = (jwk: JsonWebKeyEdDSAPrivate): string => c().eddsaJwkToPem(jwk);

/** Passes `kid` only when given: the runtime tells "absent" from "undefined" by argument count. */
function optional(kid: string | undefined): [] | [string] {
  return kid === undefined ? [] : [kid];
}
