// Names and key encodings of the maps the node itself reads and writes, as CCF names them, so that
// CCF tooling and auditors find governance and internal state where they expect it.

export const Tables = {
  signatures: 'public:ccf.internal.signatures',
  coseSignatures: 'public:ccf.internal.cose_signatures',
  tree: 'public:ccf.internal.tree',
  serviceInfo: 'public:ccf.gov.service.info',
  serviceConfig: 'public:ccf.gov.service.config',
  nodesInfo: 'public:ccf.gov.nodes.info',
  nodeEndorsedCerts: 'public:ccf.gov.nodes.endorsed_certificates',
  memberCerts: 'public:ccf.gov.members.certs',
  memberInfo: 'public:ccf.gov.members.info',
  memberEncryptionKeys: 'public:ccf.gov.members.encryption_public_keys',
  userCerts: 'public:ccf.gov.users.certs',
  userInfo: 'public:ccf.gov.users.info',
  /** member ID → {state_digest, cose_sign1_req?}: the digest a member must ack (CCF's MemberAcks). */
  memberAcks: 'public:ccf.gov.members.acks',
  /** trigger name (ledger_rekey, recovery_shares_refresh, snapshot) → JSON {proposal_id, seqno_read}: written by governance, acted on by the node. */
  govTriggers: 'public:ccf.internal.gov_triggers',
  /** CA certificate bundles by name (set_ca_cert_bundle). */
  caCertBundles: 'public:ccf.gov.tls.ca_cert_bundles',
} as const;

/** CCF stores single-value maps under one key: eight zero bytes. */
export const UNIT_KEY = new Uint8Array(8);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function parseJsonBytes<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

export type ServiceStatus = 'Opening' | 'Open' | 'Recovering' | 'WaitingForRecoveryShares';

export interface ServiceInfo {
  cert: string;
  status: ServiceStatus;
}

export interface NodeInfo {
  cert: string;
  status: 'Pending' | 'Trusted' | 'Retired';
  rpc_interfaces: Record<string, { bind_address: string; published_address: string }>;
  /** Where the node listens for node-to-node (consensus) traffic. */
  node_to_node_interface?: { bind_address: string; published_address: string };
  code_digest?: string;
}

/** The signature transaction's JSON, field for field as CCF writes it. */
export interface SignatureRecord {
  node: string;
  seqno: number;
  view: number;
  root: string;
  sig: string;
  cert: string;
  commit_seqno: number;
  commit_view: number;
  hashed_nonce?: string;
}
