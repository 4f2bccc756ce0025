// Service identities across recoveries. Each disaster recovery gives the service a new key; the
// ledger keeps the old entries, signed under the old identity. An auditor holding only the latest
// service certificate chains back (CCF conformance README; CCF's recovery design):
//   - `public:ccf.gov.service.info` records the identity in effect (a new key = a new identity; a new
//     certificate for the same key is a renewal);
//   - `public:ccf.gov.service.previous_service_identity`, written by the recovered service, names the
//     previous identity; it is vouched for by the recovered service's own signatures over the tree;
//   - `public:ccf.internal.previous_service_identity_endorsement` holds a COSE_Sign1 by the new
//     service key over the previous key (SubjectPublicKeyInfo DER), checked here cryptographically.
// Identity i-1 is trusted when identity i (trusted) vouches for it by either record; the latest
// identity must be one of the certificates the auditor was given.
import { base64ToBytes, equalBytes } from '../verify/encoding.ts';
import { decodeCoseSign1, verifyCoseSign1 } from '../verify/cose.ts';
import { type ParsedCertificate, parseCertificate, parsePublicKey, publicKeyId } from '../verify/x509.ts';
import type { MapChanges } from '../ledger/entry.ts';
import { Tables, valueObject, valuePem } from '../ledger/tables.ts';
import { AuditCheck, CheckFailed, type AuditFailure, type ServiceIdentityRecord } from './report.ts';
import { type AuditState, type EntryLocation, txidOf } from './state.ts';

/** Applies an entry's service-identity tables to the state. */
export function applyIdentityTables(state: AuditState, maps: Map<string, MapChanges>, at: EntryLocation): void {
  for (const [, value] of maps.get(Tables.serviceInfo)?.writes ?? []) applyServiceInfo(state, value, at);
  for (const [, value] of maps.get(Tables.previousServiceIdentity)?.writes ?? []) {
    const cert = parseOrFail(valuePem(value, Tables.previousServiceIdentity), 'previous service identity');
    state.links.push({ byIdentity: state.identities.length - 1, keyId: publicKeyId(cert.publicKey), how: 'previous_service_identity', at });
  }
  for (const [, value] of maps.get(Tables.previousServiceIdentityEndorsement)?.writes ?? []) {
    applyEndorsement(state, value, at);
  }
}

function applyServiceInfo(state: AuditState, value: Uint8Array, at: EntryLocation): void {
  const info = valueObject(value, Tables.serviceInfo);
  if (typeof info.cert !== 'string') throw new CheckFailed(AuditCheck.tableValue, 'service info has no certificate');
  const cert = parseOrFail(info.cert, 'service certificate');
  const keyId = publicKeyId(cert.publicKey);
  const current = state.currentIdentity();
  if (current && current.keyId === keyId) {
    if (!equalBytes(current.cert.der, cert.der)) state.counts.serviceCertificateRenewals++;
    current.cert = cert;
    return;
  }
  state.identities.push({ key: cert.publicKey, keyId, cert, introducedAt: at });
}

/**
 * `{endorsement: base64 COSE_Sign1, endorsing_key: base64 SPKI, …}`: the endorsing key signs the
 * endorsed (previous) key. A bad signature here is an integrity failure at this entry.
 */
function applyEndorsement(state: AuditState, value: Uint8Array, at: EntryLocation): void {
  const record = valueObject(value, Tables.previousServiceIdentityEndorsement);
  let endorsingKeyId: string;
  let endorsedKeyId: string;
  try {
    const endorsingKey = parsePublicKey(base64ToBytes(String(record.endorsing_key)));
    const message = decodeCoseSign1(base64ToBytes(String(record.endorsement)));
    if (!message.payload) throw new Error('endorsement has no payload');
    endorsedKeyId = publicKeyId(parsePublicKey(message.payload));
    endorsingKeyId = publicKeyId(endorsingKey);
    if (!verifyCoseSign1(message, endorsingKey, undefined, state.checker)) {
      throw new CheckFailed(AuditCheck.serviceIdentity, `endorsement of previous service key ${endorsedKeyId} does not verify with endorsing key ${endorsingKeyId}`);
    }
  } catch (e) {
    if (e instanceof CheckFailed) throw e;
    throw new CheckFailed(AuditCheck.tableValue, `malformed previous service identity endorsement: ${(e as Error).message}`);
  }
  state.counts.identityEndorsementsVerified++;
  const byIdentity = state.identities.findIndex((identity) => identity.keyId === endorsingKeyId);
  if (byIdentity < 0) {
    throw new CheckFailed(AuditCheck.serviceIdentity, `endorsement is signed by ${endorsingKeyId}, which is no service identity of this ledger`);
  }
  state.links.push({ byIdentity, keyId: endorsedKeyId, how: 'endorsement', at });
}

/**
 * After a complete scan: ties every identity that signed part of the ledger to the given service
 * certificates. Returns the per-identity record and the first failure, if any.
 */
export function resolveIdentityChain(
  state: AuditState,
  trusted: readonly ParsedCertificate[],
): { records: ServiceIdentityRecord[]; failure: Omit<AuditFailure, 'file' | 'offset' | 'seqno'> & { at: EntryLocation } | undefined } {
  const trustedIds = new Set(trusted.map((c) => publicKeyId(c.publicKey)));
  // Only identities introduced before the last signature are vouched for by a signature.
  const lastSigned = state.lastSignature?.seqno ?? 0;
  const identities = state.identities.filter((identity) => identity.introducedAt.seqno < lastSigned);
  const records: ServiceIdentityRecord[] = identities.map((identity) => ({
    keyId: identity.keyId,
    introducedAt: txidOf(identity.introducedAt),
    trust: 'unlinked',
  }));
  if (identities.length === 0) return { records, failure: undefined };
  const last = identities.length - 1;
  if (!trustedIds.has(identities[last]!.keyId)) {
    const given = [...trustedIds].join(', ') || 'none';
    const failure = {
      check: AuditCheck.serviceIdentity,
      message: `the ledger's latest service identity (key ${identities[last]!.keyId}) is not the given service certificate's key (${given})`,
      at: identities[last]!.introducedAt,
    };
    return { records, failure };
  }
  records[last]!.trust = 'given';
  for (let i = last; i > 0; i--) {
    const previous = identities[i - 1]!;
    // A cryptographic endorsement is the stronger record: report it when both exist.
    const candidates = state.links.filter((l) => l.byIdentity === i && l.keyId === previous.keyId);
    const link = candidates.find((l) => l.how === 'endorsement') ?? candidates[0];
    if (trustedIds.has(previous.keyId)) records[i - 1]!.trust = 'given';
    else if (link) records[i - 1]!.trust = link.how;
    else {
      const failure = {
        check: AuditCheck.serviceIdentity,
        message: `service identity ${identities[i]!.keyId} (from ${txidOf(identities[i]!.introducedAt)}) does not vouch for the previous identity ${previous.keyId}: no previous_service_identity record or endorsement`,
        at: identities[i]!.introducedAt,
      };
      return { records, failure };
    }
  }
  return { records, failure: undefined };
}

function parseOrFail(pem: string, what: string): ParsedCertificate {
  try {
    return parseCertificate(pem);
  } catch (e) {
    throw new CheckFailed(AuditCheck.tableValue, `${what} cannot be parsed: ${(e as Error).message}`);
  }
}

