// Names of the CCF public tables an auditor reads, and how their keys and values are serialized
// (observed in the real ledgers: IDs are hex text, singleton tables use 8 zero bytes as key, most
// values are JSON, certificates are raw PEM text, and a few values are JSON strings).
import { LedgerErrorCode, LedgerFormatError } from '../errors.ts';
import { bytesToUtf8 } from '../verify/encoding.ts';

export const Tables = {
  signatures: 'public:ccf.internal.signatures',
  coseSignatures: 'public:ccf.internal.cose_signatures',
  tree: 'public:ccf.internal.tree',
  nodesInfo: 'public:ccf.gov.nodes.info',
  endorsedNodeCerts: 'public:ccf.gov.nodes.endorsed_certificates',
  serviceInfo: 'public:ccf.gov.service.info',
  previousServiceIdentity: 'public:ccf.gov.service.previous_service_identity',
  previousServiceIdentityEndorsement: 'public:ccf.internal.previous_service_identity_endorsement',
  membersCerts: 'public:ccf.gov.members.certs',
  membersInfo: 'public:ccf.gov.members.info',
  usersCerts: 'public:ccf.gov.users.certs',
  proposals: 'public:ccf.gov.proposals',
  proposalsInfo: 'public:ccf.gov.proposals_info',
  history: 'public:ccf.gov.history',
  coseHistory: 'public:ccf.gov.cose_history',
} as const;

/** Key text (IDs are hex strings stored as ASCII). */
export function keyText(key: Uint8Array): string {
  try {
    return bytesToUtf8(key);
  } catch {
    throw new LedgerFormatError(LedgerErrorCode.badValue, 'a table key is not UTF-8 text');
  }
}

export function valueText(value: Uint8Array, table: string): string {
  try {
    return bytesToUtf8(value);
  } catch {
    throw new LedgerFormatError(LedgerErrorCode.badValue, `a value of ${table} is not UTF-8 text`);
  }
}

export function valueJson(value: Uint8Array, table: string): unknown {
  try {
    return JSON.parse(valueText(value, table));
  } catch (e) {
    if (e instanceof LedgerFormatError) throw e;
    throw new LedgerFormatError(LedgerErrorCode.badValue, `a value of ${table} is not JSON`);
  }
}

/** A JSON object value; throws LedgerFormatError for any other JSON. */
export function valueObject(value: Uint8Array, table: string): Record<string, unknown> {
  const v = valueJson(value, table);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new LedgerFormatError(LedgerErrorCode.badValue, `a value of ${table} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

/** A JSON string value (how CCF stores some PEMs and base64 blobs). */
export function valueJsonString(value: Uint8Array, table: string): string {
  const v = valueJson(value, table);
  if (typeof v !== 'string') throw new LedgerFormatError(LedgerErrorCode.badValue, `a value of ${table} is not a JSON string`);
  return v;
}

/** Certificates are stored either as raw PEM text or as a JSON string holding the PEM. */
export function valuePem(value: Uint8Array, table: string): string {
  const text = valueText(value, table);
  return text.startsWith('"') ? valueJsonString(value, table) : text;
}
