// JWT issuer constraints, as CCF applies them (src/node/rpc/jwt_management.h check_issuer_constraint and
// src/endpoints/authentication/jwt_auth.cpp validate_issuer). A JWKS key may carry an `issuer` field
// (Microsoft Entra publishes one per key): it becomes the key's constraint, and a token verified with
// that key must carry a matching `iss` claim. Keys without a constraint accept any `iss`; apps tell
// issuers apart by `caller.jwt.keyIssuer`, as in CCF.

const ENTRA_HOST = 'login.microsoftonline.com';
const TENANT_PLACEHOLDER = '{tenantid}';

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/**
 * Write time: a key's constraint must name the issuer's own domain or a parent of it (so that keys
 * registered for issuer A cannot vouch for tokens that claim to come from an unrelated issuer B).
 */
export function constraintFitsIssuer(issuer: string, constraint: string): boolean {
  const constraintHost = hostOf(constraint);
  if (constraintHost === '') return false;
  const issuerHost = hostOf(issuer);
  return issuerHost === constraintHost || issuerHost.endsWith(`.${constraintHost}`);
}

/**
 * Request time: does a token's `iss` (and Entra's `tid`) satisfy a key's constraint? Outside Entra the
 * constraint is the exact issuer and `tid` must be absent. For Entra, `{tenantid}` in the constraint
 * stands for the token's tenant, and that tenant must also be the first path segment of `iss`.
 */
export function issuerClaimMeetsConstraint(iss: string, tid: string | undefined, constraint: string): boolean {
  if (hostOf(constraint) !== ENTRA_HOST) return iss === constraint && tid === undefined;
  const expected = tid !== undefined ? constraint.replace(TENANT_PLACEHOLDER, tid) : constraint;
  if (iss !== expected || tid === undefined) return false;
  let path: string;
  try {
    path = new URL(iss).pathname;
  } catch {
    return false;
  }
  const tenant = path.split('/').find((segment) => segment.length > 0);
  return tenant === tid;
}
