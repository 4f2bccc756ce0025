// Governance history from the public governance tables, as the real ledgers hold it:
//   public:ccf.gov.proposals       proposal ID → proposal body (JSON {actions: [{name, args}]})
//   public:ccf.gov.proposals_info  proposal ID → {proposer_id, state, ballots: {member: script}, final_votes?}
//   public:ccf.gov.cose_history    member ID → the member's latest COSE_Sign1 governance request
//   public:ccf.gov.history         member ID → the member's latest HTTP-signed request (CCF 1.x/2.x:
//                                  {key_id, req: signed string, request_body, sig})
//   public:ccf.gov.members.certs / users.certs  ID (hex SHA-256 of the certificate DER) → PEM
// Every recorded request's member signature is verified with that member's certificate, so the
// history shows not only what was decided but that each member really asked for it.
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { base64ToBytes, bytesToBase64, bytesToHex, bytesToUtf8 } from '../verify/encoding.ts';
import { HEADER_KID, decodeCoseSign1, verifyCoseSign1 } from '../verify/cose.ts';
import { verifyEcdsa } from '../verify/ecdsa.ts';
import { type ParsedCertificate, parseCertificate } from '../verify/x509.ts';
import type { MapChanges } from '../ledger/entry.ts';
import { Tables, keyText, valueJson, valueJsonString, valueObject, valueText } from '../ledger/tables.ts';
import { AuditCheck, CheckFailed, type ProposalRecord } from './report.ts';
import { type AuditState, type EntryLocation, txidOf } from './state.ts';

/** Applies members, users and governance tables of one entry. */
export function applyGovernanceTables(state: AuditState, maps: Map<string, MapChanges>, at: EntryLocation): void {
  for (const [key, value] of maps.get(Tables.membersCerts)?.writes ?? []) addMember(state, keyText(key), value);
  for (const [key] of maps.get(Tables.membersInfo)?.writes ?? []) state.members.add(keyText(key));
  for (const [key] of maps.get(Tables.usersCerts)?.writes ?? []) state.users.add(keyText(key));
  for (const [key, value] of maps.get(Tables.proposals)?.writes ?? []) recordProposal(state, keyText(key), value, at);
  for (const [key, value] of maps.get(Tables.proposalsInfo)?.writes ?? []) recordProposalInfo(state, keyText(key), value, at);
  for (const [key, value] of maps.get(Tables.coseHistory)?.writes ?? []) checkCoseRequest(state, keyText(key), value);
  for (const [key, value] of maps.get(Tables.history)?.writes ?? []) checkSignedRequest(state, keyText(key), value);
}

function addMember(state: AuditState, id: string, value: Uint8Array): void {
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(valueText(value, Tables.membersCerts));
  } catch (e) {
    throw new CheckFailed(AuditCheck.tableValue, `member ${id}'s certificate cannot be parsed: ${(e as Error).message}`);
  }
  if (bytesToHex(sha256(cert.der)) !== id) {
    throw new CheckFailed(AuditCheck.tableValue, `member ID ${id} is not the SHA-256 of its certificate`);
  }
  state.members.add(id);
  state.memberCerts.set(id, cert);
}

function proposal(state: AuditState, id: string): ProposalRecord {
  let record = state.proposals.get(id);
  if (!record) {
    record = { id, proposer: undefined, createdAt: undefined, actions: [], ballots: [], states: [], finalState: undefined };
    state.proposals.set(id, record);
  }
  return record;
}

function recordProposal(state: AuditState, id: string, value: Uint8Array, at: EntryLocation): void {
  const record = proposal(state, id);
  record.createdAt ??= txidOf(at);
  const body = valueJson(value, Tables.proposals) as { actions?: Array<{ name?: unknown }> };
  if (Array.isArray(body?.actions)) record.actions = body.actions.map((a) => String(a?.name));
}

function recordProposalInfo(state: AuditState, id: string, value: Uint8Array, at: EntryLocation): void {
  const info = valueObject(value, Tables.proposalsInfo);
  const record = proposal(state, id);
  if (typeof info.proposer_id === 'string') record.proposer = info.proposer_id;
  const ballots = typeof info.ballots === 'object' && info.ballots !== null ? Object.keys(info.ballots) : [];
  for (const member of ballots) {
    if (record.ballots.some((b) => b.member === member)) continue;
    record.ballots.push({ member, at: txidOf(at) });
    state.counts.ballots++;
  }
  if (typeof info.final_votes === 'object' && info.final_votes !== null) {
    record.votes = Object.fromEntries(Object.entries(info.final_votes).map(([member, vote]) => [member, vote === true]));
  }
  if (info.failure !== undefined && info.failure !== null) {
    const failure = info.failure as { reason?: unknown };
    record.failure = typeof failure.reason === 'string' ? failure.reason : JSON.stringify(info.failure);
  }
  const stateName = String(info.state);
  if (record.finalState !== stateName) record.states.push({ state: stateName, at: txidOf(at) });
  record.finalState = stateName;
}

/** A member's COSE_Sign1 governance request: kid is the member ID, the payload is attached. */
function checkCoseRequest(state: AuditState, member: string, value: Uint8Array): void {
  state.counts.governanceRequests++;
  const fail = (message: string) => new CheckFailed(AuditCheck.memberSignature, `governance request of member ${member}: ${message}`);
  const cert = state.memberCerts.get(member);
  if (!cert) throw fail('no certificate on record for this member');
  let kid: string | undefined;
  let ok: boolean;
  try {
    const message = decodeCoseSign1(base64ToBytes(valueJsonString(value, Tables.coseHistory)));
    const kidBytes = message.protectedHeader.get(HEADER_KID);
    kid = kidBytes instanceof Uint8Array ? bytesToUtf8(kidBytes) : undefined;
    ok = verifyCoseSign1(message, cert.publicKey);
  } catch (e) {
    throw fail(`cannot be decoded: ${(e as Error).message}`);
  }
  if (kid !== member) throw fail(`kid ${kid ?? '(missing)'} is not the member ID`);
  if (!ok) throw fail('signature does not verify with the member certificate');
  state.counts.memberSignaturesVerified++;
}

/**
 * A CCF 1.x/2.x HTTP-signed request: `req` is the signed string (which carries the body's SHA-256
 * in its `digest:` line), `sig` a DER ECDSA signature with the member key's usual hash.
 */
function checkSignedRequest(state: AuditState, member: string, value: Uint8Array): void {
  state.counts.governanceRequests++;
  const fail = (message: string) => new CheckFailed(AuditCheck.memberSignature, `signed request of member ${member}: ${message}`);
  const cert = state.memberCerts.get(member);
  if (!cert) throw fail('no certificate on record for this member');
  const record = valueObject(value, Tables.history);
  let req: Uint8Array;
  let sig: Uint8Array;
  let body: Uint8Array;
  try {
    req = base64ToBytes(String(record.req));
    sig = base64ToBytes(String(record.sig));
    body = base64ToBytes(String(record.request_body ?? ''));
  } catch {
    throw fail('req, sig and request_body must be base64');
  }
  const digestLine = /^digest: SHA-256=(\S+)$/m.exec(new TextDecoder().decode(req));
  if (digestLine && digestLine[1] !== bytesToBase64(sha256(body))) throw fail('request_body does not match the signed digest');
  const hash = cert.publicKey.curve === 'P-384' ? sha384 : sha256;
  if (!verifyEcdsa(cert.publicKey, hash(req), sig, 'der')) throw fail('signature does not verify with the member certificate');
  state.counts.memberSignaturesVerified++;
}
