// Built-in endpoints every node serves, with CCF's paths and response shapes: transaction status,
// receipts, commit, node state and version, the network view, metrics, and the OpenAPI description.

import { RpcError } from '../errors.ts';
import { limits } from '../limits.ts';
import type { Enclave } from './enclave.ts';
import type { Endpoint, EndpointRequest, EndpointResponse } from './frontend.ts';
import { Tables, UNIT_KEY, fromUtf8, parseJsonBytes, type NodeInfo, type ServiceInfo } from './tables.ts';
import { openApiDocument } from './openapi.ts';
import { withServiceEndorsements } from './recovery.ts';

export const SYNOD_VERSION = 'synod-0.1.0';

export function builtinEndpoints(describe: () => Endpoint[]): Endpoint[] {
  const get = (path: string, summary: string, builtin: Endpoint['builtin']): Endpoint => ({
    method: 'GET', path, authn: ['no_auth'], mode: 'readonly', summary, builtin,
  });
  return [
    get('/app/tx', 'Status of a transaction', txStatus),
    get('/node/tx', 'Status of a transaction', txStatus),
    get('/app/commit', 'Latest committed transaction', commit),
    get('/node/commit', 'Latest committed transaction', commit),
    get('/app/receipt', 'Receipt of a committed transaction (JSON, or COSE with Accept: application/cose)', receipt),
    get('/node/state', 'State of this node', nodeState),
    get('/node/version', 'Version of this node', () => ({ body: { ccf_version: SYNOD_VERSION, unsafe: false, quickjs_version: null } })),
    get('/node/network', 'The network as this node sees it', network),
    get('/node/network/nodes', 'Nodes of the network', nodes),
    get('/node/metrics', 'Prometheus metrics', metrics),
    get('/app/api', 'OpenAPI description of the application', () => ({ body: openApiDocument(describe()) })),
    get('/node/api', 'OpenAPI description of the node endpoints', () => ({ body: openApiDocument(describe().filter((e) => e.path.startsWith('/node'))) })),
  ];
}

/** Parses `transaction_id=<view>.<seqno>`; anything else is a clear 400. */
export function parseTxId(req: EndpointRequest): { view: number; seqno: number } {
  const raw = req.query.get('transaction_id');
  if (raw === null) throw new RpcError('InvalidInput', 'Missing query parameter transaction_id (e.g. ?transaction_id=2.15).');
  if (raw.length > limits.transactionIdLengthMax || !/^\d+\.\d+$/.test(raw)) {
    throw new RpcError('InvalidTransactionId', `"${raw.slice(0, limits.transactionIdLengthMax)}" is not a transaction id <view>.<seqno>.`);
  }
  const [view, seqno] = raw.split('.').map(Number) as [number, number];
  if (!Number.isSafeInteger(view) || !Number.isSafeInteger(seqno) || view < 1 || seqno < 1) {
    throw new RpcError('InvalidTransactionId', `"${raw}" is out of range.`);
  }
  return { view, seqno };
}

function txStatus(req: EndpointRequest, enclave: Enclave): EndpointResponse {
  const { view, seqno } = parseTxId(req);
  return { body: { transaction_id: `${view}.${seqno}`, status: enclave.txStatus(view, seqno) } };
}

function commit(_req: EndpointRequest, enclave: Enclave): EndpointResponse {
  const seqno = enclave.consensus.commitSeqno;
  return { body: { transaction_id: `${enclave.consensus.viewOf(seqno) ?? 0}.${seqno}` } };
}

function receipt(req: EndpointRequest, enclave: Enclave): EndpointResponse {
  const { view, seqno } = parseTxId(req);
  if ((req.headers.accept ?? '').includes('application/cose')) {
    return { body: enclave.coseReceipt(view, seqno), headers: { 'content-type': 'application/cose' } };
  }
  return { body: withServiceEndorsements(enclave.receipt(view, seqno), enclave) };
}

function nodeState(_req: EndpointRequest, enclave: Enclave): EndpointResponse {
  return {
    body: {
      node_id: enclave.nodeId,
      state: 'PartOfNetwork',
      last_signed_seqno: enclave.history.lastSignature()?.seqno ?? 0,
      startup_seqno: 0,
    },
  };
}

function serviceInfo(enclave: Enclave): ServiceInfo | undefined {
  const raw = enclave.store.get(Tables.serviceInfo, UNIT_KEY);
  return raw ? parseJsonBytes<ServiceInfo>(raw) : undefined;
}

function network(_req: EndpointRequest, enclave: Enclave): EndpointResponse {
  const info = serviceInfo(enclave);
  return {
    body: {
      service_status: info?.status ?? 'Opening',
      service_certificate: info?.cert ?? enclave.serviceCertPem,
      current_view: enclave.consensus.view,
      primary_id: enclave.consensus.primaryId() ?? null,
      recovery_count: 0,
    },
  };
}

function nodes(_req: EndpointRequest, enclave: Enclave): EndpointResponse {
  const list: unknown[] = [];
  enclave.store.forEachCommitted(Tables.nodesInfo, (key, value) => {
    const id = fromUtf8(key);
    const info = parseJsonBytes<NodeInfo>(value);
    list.push({ node_id: id, status: info.status, primary: id === enclave.consensus.primaryId(), rpc_interfaces: info.rpc_interfaces });
  });
  return { body: { nodes: list } };
}

function metrics(_req: EndpointRequest, enclave: Enclave): EndpointResponse {
  return {
    body: enclave.metrics.render({
      synod_last_seqno: enclave.lastSeqno,
      synod_durable_seqno: enclave.durable,
      synod_current_view: enclave.consensus.view,
    }),
    headers: { 'content-type': 'text/plain; version=0.0.4' },
  };
}
