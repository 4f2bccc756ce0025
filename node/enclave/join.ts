// Joining a service, CCF style. A new node creates its key pair inside the enclave, produces attestation
// evidence binding the public key (report data = SHA-256 of the key), and calls `POST /node/join` on a
// node of the service over TLS, presenting a self-signed certificate of that key as its client
// certificate. The primary (backups forward the call) checks the evidence against the measurements and
// host data governance trusts, endorses the key with the service key, and records the node in
// `public:ccf.gov.nodes.info`: Trusted at once while the service is Opening, Pending once it is Open
// (members then vote transition_node_to_trusted). The joiner polls; once it is Trusted the answer
// carries the service's secrets, and the node starts as a backup with an empty ledger that the primary
// fills through consensus.

import { certificateDerToPem, certificatePublicKeyDer, createEndorsedCertificate, createSelfSignedCertificate, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { generateKeyPair, keyPairFromPrivateKeyPem, type KeyPair } from '../crypto/keys.ts';
import { RpcError } from '../errors.ts';
import { checkJoinEvidence, toJoinRpcError } from '../attestation/join-policy.ts';
import { evidenceFromQuoteInfo, type QuoteInfo } from '../attestation/node-evidence.ts';
import type { Enclave } from './enclave.ts';
import type { EndpointContext, EndpointRequest, NativeApp } from './frontend.ts';
import type { EnclaveSecrets } from './sealing.ts';
import { Tables, UNIT_KEY, fromUtf8, jsonBytes, parseJsonBytes, utf8, type NodeInfo, type ServiceInfo } from './tables.ts';

export interface JoinRequestBody {
  node_info_network: {
    rpc_interfaces: Record<string, { bind_address: string; published_address: string }>;
    node_to_node_interface: { bind_address: string; published_address: string };
  };
  quote_info: QuoteInfo;
}

export interface JoinResponseBody {
  node_status: 'Pending' | 'Trusted' | 'Retired';
  node_id: string;
  /** Only once Trusted: what the joiner needs to be a node of the service. */
  network_info?: {
    service_certificate: string;
    endorsed_certificate: string;
    service_key: { curve: KeyPair['curve']; private_key_pem: string };
    ledger_secret: string;
    /** A recovered service: the seqno ledger_secret starts at, and the previous ledger secrets (oldest first). */
    ledger_secret_start_seqno?: number;
    previous_ledger_secrets?: Array<{ start_seqno: number; key: string }>;
    /** The newest committed snapshot (base64 file, with its evidence receipt): the joiner starts from it. */
    snapshot?: string;
    /** The service's trusted nodes and where they take node-to-node traffic (the joiner's first peers). */
    nodes: Array<{ node_id: string; node_to_node_address: string }>;
  };
}

const ADDRESS_RE = /^[A-Za-z0-9.\-:[\]]{1,255}:\d{1,5}$/;

function checkAddress(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ADDRESS_RE.test(value)) throw new RpcError('InvalidInput', `${field} must be "host:port".`);
  return value;
}

function parseJoinBody(req: EndpointRequest): JoinRequestBody {
  const body = req.json() as Partial<JoinRequestBody> | null;
  if (typeof body !== 'object' || body === null) throw new RpcError('InvalidInput', 'The join request body must be a JSON object.');
  const network = body.node_info_network;
  if (typeof network !== 'object' || network === null) throw new RpcError('InvalidInput', 'node_info_network is missing.');
  const rpc = network.rpc_interfaces;
  if (typeof rpc !== 'object' || rpc === null || Object.keys(rpc).length === 0 || Object.keys(rpc).length > 8) {
    throw new RpcError('InvalidInput', 'node_info_network.rpc_interfaces must name 1 to 8 interfaces.');
  }
  const rpcInterfaces: JoinRequestBody['node_info_network']['rpc_interfaces'] = {};
  for (const [name, iface] of Object.entries(rpc)) {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new RpcError('InvalidInput', `rpc interface name ${JSON.stringify(name)} is not valid.`);
    rpcInterfaces[name] = {
      bind_address: checkAddress(iface?.bind_address, `rpc_interfaces.${name}.bind_address`),
      published_address: checkAddress(iface?.published_address, `rpc_interfaces.${name}.published_address`),
    };
  }
  const n2n = network.node_to_node_interface;
  return {
    node_info_network: {
      rpc_interfaces: rpcInterfaces,
      node_to_node_interface: {
        bind_address: checkAddress(n2n?.bind_address, 'node_to_node_interface.bind_address'),
        published_address: checkAddress(n2n?.published_address, 'node_to_node_interface.published_address'),
      },
    },
    quote_info: body.quote_info as QuoteInfo,
  };
}

interface CallerNode {
  nodeId: string;
  publicKeyDer: Uint8Array;
  publicKeyPem: string;
}

function callerNode(req: EndpointRequest): CallerNode {
  if (!req.clientCertDer) {
    throw new RpcError('Unauthorized', 'A joining node presents a certificate of its node key as its TLS client certificate.');
  }
  let publicKeyDer: Uint8Array;
  try {
    publicKeyDer = certificatePublicKeyDer(certificateDerToPem(req.clientCertDer));
  } catch {
    throw new RpcError('Unauthorized', 'The TLS client certificate does not parse.');
  }
  const publicKeyPem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(publicKeyDer).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PUBLIC KEY-----\n`;
  return { nodeId: nodeIdFromPublicKeyDer(publicKeyDer), publicKeyDer, publicKeyPem };
}

function ipAndDnsOf(address: string): { ipAddresses: string[]; dnsNames: string[] } {
  const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  return {
    ipAddresses: [...new Set(['127.0.0.1', ...(isIp ? [host] : [])])],
    dnsNames: [...new Set(['localhost', ...(isIp ? [] : [host])])],
  };
}

interface Prepared {
  caller: CallerNode;
  body: JoinRequestBody;
  endorsedCertPem: string;
  snapshot: Uint8Array | undefined;
}

/** Whether a join answer now would carry the secrets (the node is Trusted, or will be while Opening). */
function willBeTrusted(enclave: Enclave, nodeId: string): boolean {
  const existing = enclave.store.get(Tables.nodesInfo, utf8(nodeId));
  if (existing) return parseJsonBytes<NodeInfo>(existing).status === 'Trusted';
  const service = enclave.store.get(Tables.serviceInfo, UNIT_KEY);
  return service !== undefined && parseJsonBytes<ServiceInfo>(service).status === 'Opening';
}

/** `POST /node/join` (forwarded to the primary by backups). */
export function joinApp(enclave: Enclave): NativeApp {
  return {
    name: 'join',
    endpoints: [{
      method: 'POST',
      path: '/node/join',
      authn: ['no_auth'],
      mode: 'readwrite',
      forwarding: 'always',
      beforeOpen: true,
      summary: 'A new node asks to join the service (its TLS client certificate carries its key)',
      prepare: async (req: EndpointRequest): Promise<Prepared> => {
        const caller = callerNode(req);
        const body = parseJoinBody(req);
        const known = enclave.store.get(Tables.nodeEndorsedCerts, utf8(caller.nodeId));
        const endorsedCertPem = known ? fromUtf8(known) : await createEndorsedCertificate(
          caller.publicKeyPem,
          { keyPair: enclave.serviceKeyPair(), certPem: enclave.serviceCertPem },
          { commonName: 'Synod Node', ...ipAndDnsOf(body.node_info_network.rpc_interfaces[Object.keys(body.node_info_network.rpc_interfaces)[0]!]!.published_address), validityDays: 3650 },
        );
        const snapshot = willBeTrusted(enclave, caller.nodeId) ? await enclave.latestSnapshot() : undefined;
        return { caller, body, endorsedCertPem, snapshot };
      },
      handler: (ctx: EndpointContext) => {
        const { caller, body, endorsedCertPem, snapshot } = (ctx as EndpointContext & { prepared: Prepared }).prepared;
        const nodes = ctx.tx.map(Tables.nodesInfo);
        const key = utf8(caller.nodeId);
        const existing = nodes.get(key);
        let status: NodeInfo['status'];
        if (existing) {
          status = parseJsonBytes<NodeInfo>(existing).status;
        } else {
          let verified;
          try {
            verified = checkJoinEvidence(ctx.tx, evidenceFromQuoteInfo(body.quote_info), caller.publicKeyDer);
          } catch (error) {
            throw toJoinRpcError(error);
          }
          const service = ctx.tx.map(Tables.serviceInfo).get(UNIT_KEY);
          const serviceStatus = service ? parseJsonBytes<ServiceInfo>(service).status : undefined;
          status = serviceStatus === 'Opening' ? 'Trusted' : 'Pending';
          const info: NodeInfo & { quote_info: QuoteInfo } = {
            cert: endorsedCertPem,
            status,
            quote_info: body.quote_info,
            code_digest: verified.measurement,
            rpc_interfaces: body.node_info_network.rpc_interfaces,
            node_to_node_interface: body.node_info_network.node_to_node_interface,
          };
          nodes.set(key, jsonBytes(info));
          ctx.tx.map(Tables.nodeEndorsedCerts).set(key, utf8(endorsedCertPem));
        }
        const answer: JoinResponseBody = { node_status: status, node_id: caller.nodeId };
        if (status === 'Retired') throw new RpcError('Forbidden', `Node ${caller.nodeId} was retired from this service and cannot join again.`);
        if (status === 'Trusted') {
          const secrets = enclave.secretsForJoiner(endorsedCertPem);
          answer.network_info = {
            service_certificate: secrets.serviceCertPem,
            endorsed_certificate: endorsedCertPem,
            service_key: { curve: secrets.serviceKey.curve, private_key_pem: secrets.serviceKey.privateKeyPem },
            ledger_secret: Buffer.from(secrets.ledgerSecret).toString('base64'),
            ...recoveredSecrets(enclave.ledgerSecretRanges()),
            nodes: trustedPeers(ctx.tx, caller.nodeId),
            ...(snapshot ? { snapshot: Buffer.from(snapshot).toString('base64') } : {}),
          };
        }
        return { status: 200, body: answer };
      },
    }],
  };
}

/** A recovered or rekeyed service's latest and earlier ledger secrets, for a joiner to read the whole ledger (recovery.ts). */
function recoveredSecrets(ranges: Array<{ startSeqno: number; key: Uint8Array }>): Partial<Pick<NonNullable<JoinResponseBody['network_info']>, 'ledger_secret' | 'ledger_secret_start_seqno' | 'previous_ledger_secrets'>> {
  const latest = ranges[ranges.length - 1];
  if (!latest || latest.startSeqno <= 1) return {};
  return {
    ledger_secret: Buffer.from(latest.key).toString('base64'),
    ledger_secret_start_seqno: latest.startSeqno,
    previous_ledger_secrets: ranges.slice(0, -1).map((r) => ({ start_seqno: r.startSeqno, key: Buffer.from(r.key).toString('base64') })),
  };
}

function trustedPeers(tx: EndpointContext['tx'], except: string): Array<{ node_id: string; node_to_node_address: string }> {
  const out: Array<{ node_id: string; node_to_node_address: string }> = [];
  tx.map(Tables.nodesInfo).forEach((value, key) => {
    const id = fromUtf8(key);
    const info = parseJsonBytes<NodeInfo>(value);
    const address = info.node_to_node_interface?.published_address;
    if (id !== except && info.status === 'Trusted' && address) out.push({ node_id: id, node_to_node_address: address });
  });
  return out;
}

/** Joiner side: the snapshot a Trusted answer carries, if any (verified by the enclave before use). */
export function snapshotFromJoinResponse(answer: JoinResponseBody): Uint8Array | undefined {
  const text = answer.network_info?.snapshot;
  if (typeof text !== 'string' || text.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Joiner side: the service's nodes from a Trusted answer (validated), to reach them before any entry arrives. */
export function peersFromJoinResponse(answer: JoinResponseBody): Map<string, string> {
  const peers = new Map<string, string>();
  for (const node of answer.network_info?.nodes ?? []) {
    if (typeof node?.node_id === 'string' && /^[0-9a-f]{64}$/.test(node.node_id) && typeof node.node_to_node_address === 'string' && ADDRESS_RE.test(node.node_to_node_address)) {
      peers.set(node.node_id, node.node_to_node_address);
    }
  }
  return peers;
}

/** Joiner side: the secrets in a Trusted answer, with this node's own key (validated: hostile input). */
export function secretsFromJoinResponse(answer: JoinResponseBody, nodeKey: KeyPair): EnclaveSecrets {
  const info = answer.network_info;
  if (!info) throw new Error('the join answer carries no network information');
  const serviceKey = keyPairFromPrivateKeyPem(info.service_key.private_key_pem);
  if (Buffer.compare(Buffer.from(certificatePublicKeyDer(info.service_certificate)), Buffer.from(serviceKey.publicKeyDer)) !== 0) {
    throw new Error('the join answer\'s service key does not match its service certificate');
  }
  if (Buffer.compare(Buffer.from(certificatePublicKeyDer(info.endorsed_certificate)), Buffer.from(nodeKey.publicKeyDer)) !== 0) {
    throw new Error('the join answer endorsed another key than this node\'s');
  }
  const ledgerSecret = new Uint8Array(Buffer.from(info.ledger_secret, 'base64'));
  if (ledgerSecret.length !== 32) throw new Error('the join answer\'s ledger secret is not 32 bytes');
  const start = info.ledger_secret_start_seqno;
  if (start !== undefined && (!Number.isSafeInteger(start) || start < 1)) throw new Error('the join answer\'s ledger secret start seqno is invalid');
  const previous = (info.previous_ledger_secrets ?? []).map((p) => {
    const key = new Uint8Array(Buffer.from(String(p?.key), 'base64'));
    if (key.length !== 32 || !Number.isSafeInteger(p?.start_seqno) || p.start_seqno < 1 || (start !== undefined && p.start_seqno >= start)) {
      throw new Error('the join answer\'s previous ledger secrets are malformed');
    }
    return { startSeqno: p.start_seqno, key };
  });
  return {
    nodeKey, nodeCertPem: info.endorsed_certificate, serviceKey, serviceCertPem: info.service_certificate, ledgerSecret, joined: true,
    ...(start !== undefined && start > 1 ? { ledgerSecretStartSeqno: start } : {}),
    ...(previous.length > 0 ? { previousLedgerSecrets: previous } : {}),
  };
}

/** Joiner side: the node key (created here, inside the enclave) and a self-signed certificate of it for TLS. */
export async function createJoinerIdentity(): Promise<{ nodeKey: KeyPair; certPem: string }> {
  const nodeKey = generateKeyPair('P-384');
  const certPem = await createSelfSignedCertificate(nodeKey, { commonName: 'Synod Joining Node', validityDays: 30 });
  return { nodeKey, certPem };
}
