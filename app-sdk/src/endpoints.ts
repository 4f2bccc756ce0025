// Endpoint functions: request and response types, and the per-request calls into ccf.rpc
// (ccf-app's endpoints module).

import { ccfGlobal } from './global.ts';

export type {
  AllOfAuthnIdentity,
  AnyCertAuthnIdentity,
  AuthnIdentity,
  AuthnIdentityCommon,
  Body,
  EmptyAuthnIdentity,
  EndpointFn,
  JwtAuthnIdentity,
  MemberCertAuthnIdentity,
  MemberCOSESign1AuthnIdentity,
  Request,
  Response,
  ResponseBodyType,
  UserCertAuthnIdentity,
  UserCOSESign1AuthnIdentity,
} from './types.ts';

/** Overrides "writes apply on a 2xx response" for this request: true keeps a 4xx's writes, false drops a 2xx's. */
export function setApplyWrites(force: boolean): void {
  ccfGlobal().rpc.setApplyWrites(force);
}

/** The 32-byte digest of application claims, recorded in this transaction's receipt. */
export function setClaimsDigest(digest: ArrayBuffer): void {
  ccfGlobal().rpc.setClaimsDigest(digest);
}
