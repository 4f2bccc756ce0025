// Creating a new service: the enclave's fresh secrets (service identity, node identity endorsed by it,
// ledger secret) and the genesis transaction that records members, users, the node and the service in
// the governance maps, where CCF keeps them.

import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '../crypto/keys.ts';
import { createEndorsedCertificate, createSelfSignedCertificate, idFromCertificate, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import type { Tx } from '../kv/index.ts';
import type { EnclaveSecrets } from './sealing.ts';
import { writeJsApp, writeJsRuntimeOptions } from './jsapp.ts';
import { writeJwtIssuer, writeJwtPublicSigningKeys } from './auth/jwt.ts';
import { Tables, UNIT_KEY, jsonBytes, utf8, type NodeInfo, type ServiceInfo } from './tables.ts';
import { defaultConstitution } from '../../governance/default-constitution.ts';
import { produceVirtualNodeEvidence, type NodeEvidence } from '../attestation/node-evidence.ts';
import { trustOwnEvidence } from '../attestation/trust-tables.ts';
import { issueRecoveryShares } from '../../governance/recovery/shares.ts';

export interface GenesisConfig {
  members: Array<{ certPem: string; encryptionPublicKeyPem?: string; memberData?: unknown }>;
  users: Array<{ certPem: string; userData?: unknown }>;
  /**
   * Open the service for users at once. Until governance lands this is how the sandbox opens it; with
   * governance, members open it by voting transition_service_to_open.
   */
  open: boolean;
  recoveryThreshold?: number;
  /**
   * A JS app bundle to deploy in the genesis transaction, written exactly as set_js_app writes it
   * (validated there). The sandbox deploys its sample app this way until governance lands.
   */
  jsApp?: unknown;
  /** CCF's set_js_runtime_options arguments (max_heap_bytes, max_stack_bytes, max_execution_time_ms). */
  jsRuntimeOptions?: Record<string, unknown>;
  /**
   * JWT issuers to register, each as a set_jwt_issuer proposal carrying its JWKS would: the keys, then
   * the issuer (metadata defaults to `{issuer, auto_refresh: false}`). Validated there.
   */
  jwtIssuers?: Array<{ issuer: string; metadata?: Record<string, unknown>; jwks?: unknown }>;
  /** The constitution's JS source (public:ccf.gov.constitution); default: samples/constitutions/default. */
  constitution?: string;
  /**
   * This node's attestation (node/attestation/node-evidence.ts). Default: virtual (insecure) evidence of
   * this code. Its measurement and host data become trusted, as CCF trusts the first node's.
   */
  nodeEvidence?: NodeEvidence;
}

export interface NodeAddresses {
  bindAddress: string;
  publishedAddress: string;
  /** Where this node listens for node-to-node (consensus) traffic, if it replicates. */
  nodeToNode?: { bindAddress: string; publishedAddress: string };
  /** IP addresses and DNS names the node certificate must cover. */
  ipAddresses: string[];
  dnsNames: string[];
}

export async function createSecrets(addresses: NodeAddresses): Promise<EnclaveSecrets> {
  const serviceKey = generateKeyPair('P-384');
  const serviceCertPem = await createSelfSignedCertificate(serviceKey, { commonName: 'Synod Service', validityDays: 3650 });
  const nodeKey = generateKeyPair('P-384');
  const nodeCertPem = await createEndorsedCertificate(nodeKey.publicKeyPem, { keyPair: serviceKey, certPem: serviceCertPem }, {
    commonName: 'Synod Node',
    ipAddresses: addresses.ipAddresses,
    dnsNames: addresses.dnsNames,
    validityDays: 3650,
  });
  return { nodeKey, nodeCertPem, serviceKey, serviceCertPem, ledgerSecret: new Uint8Array(randomBytes(32)) };
}

/** The body of the genesis transaction (seqno 1). */
export function genesisTransaction(config: GenesisConfig, secrets: EnclaveSecrets, addresses: NodeAddresses): (tx: Tx) => void {
  return (tx) => {
    const service: ServiceInfo = { cert: secrets.serviceCertPem, status: config.open ? 'Open' : 'Opening' };
    tx.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes(service));
    tx.map(Tables.serviceConfig).set(UNIT_KEY, jsonBytes({ consensus: 'CFT', recovery_threshold: config.recoveryThreshold ?? 1 }));
    const nodeId = nodeIdFromPublicKeyDer(secrets.nodeKey.publicKeyDer);
    const evidence = config.nodeEvidence ?? produceVirtualNodeEvidence(secrets.nodeKey.publicKeyDer);
    const trusted = trustOwnEvidence(tx, evidence.evidence);
    const node: NodeInfo & { quote_info: NodeEvidence['quoteInfo'] } = {
      cert: secrets.nodeCertPem,
      quote_info: evidence.quoteInfo,
      code_digest: trusted.measurement,
      status: 'Trusted',
      rpc_interfaces: {
        primary_rpc_interface: { bind_address: addresses.bindAddress, published_address: addresses.publishedAddress },
      },
      ...(addresses.nodeToNode ? {
        node_to_node_interface: { bind_address: addresses.nodeToNode.bindAddress, published_address: addresses.nodeToNode.publishedAddress },
      } : {}),
    };
    tx.map(Tables.nodesInfo).set(utf8(nodeId), jsonBytes(node));
    tx.map(Tables.nodeEndorsedCerts).set(utf8(nodeId), utf8(secrets.nodeCertPem));
    for (const member of config.members) {
      const id = utf8(idFromCertificate(member.certPem));
      tx.map(Tables.memberCerts).set(id, utf8(member.certPem));
      tx.map(Tables.memberInfo).set(id, jsonBytes({ status: 'Accepted', member_data: member.memberData ?? null }));
      if (member.encryptionPublicKeyPem) tx.map(Tables.memberEncryptionKeys).set(id, utf8(member.encryptionPublicKeyPem));
    }
    if (config.jsApp !== undefined) writeJsApp(tx, config.jsApp);
    if (config.jsRuntimeOptions !== undefined) writeJsRuntimeOptions(tx, config.jsRuntimeOptions);
    for (const user of config.users) {
      const id = utf8(idFromCertificate(user.certPem));
      tx.map(Tables.userCerts).set(id, utf8(user.certPem));
      tx.map(Tables.userInfo).set(id, jsonBytes({ user_data: user.userData ?? null }));
    }
    for (const { issuer, metadata, jwks } of config.jwtIssuers ?? []) {
      if (jwks !== undefined) writeJwtPublicSigningKeys(tx, issuer, jwks);
      writeJwtIssuer(tx, issuer, metadata ?? { issuer, auto_refresh: false });
    }
    // Members start Accepted (above) and become Active by acking the state digest; proposals are
    // judged by this constitution, stored as CCF does (a JSON string under the unit key).
    tx.map('public:ccf.gov.constitution').set(UNIT_KEY, jsonBytes(config.constitution ?? defaultConstitution()));
    // Members with an encryption key are recovery members: each gets a share of the ledger secret's wrapping key.
    issueRecoveryShares(tx, [{ startSeqno: 1, key: secrets.ledgerSecret }], { includeAccepted: true });
  };
}
