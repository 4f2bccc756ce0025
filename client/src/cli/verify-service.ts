// synod verify-service --server <host:port | https://host:port> --service-cert <pem>
//                      [--expect-measurement <hex>]… [--require-secure] [--timeout-ms <ms>] [--json]
//
// Fetches GET /node/quotes and GET /node/network/nodes from one node, connects to every Trusted node's
// published address to read the certificate it presents (the connection trusts only the service
// certificate), and verifies everything offline with client/src/attestation (service.ts says what is
// checked). Prints one line per node, or JSON; exit code 0 only when every node verified.

import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, UsageErrorCode } from '../errors.ts';
import { verifyServiceAttestation, type ServedNode, type ServedQuote, type ServiceVerdict } from '../attestation/service.ts';

export interface VerifyServiceOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const VerifyServiceExit = { ok: 0, verificationFailed: 1, usage: 2, io: 3 } as const;

const RESPONSE_BYTES_MAX = 16 * 1024 * 1024;
const NODES_MAX = 1024;

interface Endpoint {
  host: string;
  port: number;
}

function parseAddress(text: string, what: string): Endpoint {
  const stripped = text.replace(/^https:\/\//, '').replace(/\/+$/, '');
  const match = /^(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/.exec(stripped);
  if (!match) throw new UsageError(UsageErrorCode.invalidArgument, `${what} ${JSON.stringify(text)} is not host:port`);
  const port = Number(match[2]);
  if (port > 65535 || (port === 0 && what === '--server')) throw new UsageError(UsageErrorCode.invalidArgument, `${what} ${JSON.stringify(text)} has no valid port`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

class NetworkError extends Error {}

/** GET a JSON document over HTTPS, trusting only `ca`. Host names are not checked: the chain is. */
function getJson(endpoint: Endpoint, path: string, ca: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: endpoint.host, port: endpoint.port, path, method: 'GET', ca, checkServerIdentity: () => undefined, timeout: timeoutMs, headers: { accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > RESPONSE_BYTES_MAX) {
            req.destroy(new NetworkError(`${path}: response larger than ${RESPONSE_BYTES_MAX} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new NetworkError(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new NetworkError(`${path}: the response is not JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new NetworkError(`${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => reject(error instanceof NetworkError ? error : new NetworkError(`${path}: ${error.message}`)));
    req.end();
  });
}

/** The certificate a node presents over TLS (PEM), the chain to `ca` verified by the handshake. */
export function fetchPeerCertificate(endpoint: Endpoint, ca: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: endpoint.host, port: endpoint.port, ca, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      if (!raw) return reject(new Error('the node presented no certificate'));
      resolve(new X509Certificate(raw).toString());
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function listOf<T>(value: unknown, field: string, path: string): T[] {
  const list = (value as Record<string, unknown> | null)?.[field];
  if (!Array.isArray(list)) throw new NetworkError(`${path}: expected {"${field}": [...]}`);
  if (list.length > NODES_MAX) throw new NetworkError(`${path}: more than ${NODES_MAX} entries`);
  return list as T[];
}

export interface FetchedService {
  nodes: ServedNode[];
  quotes: ServedQuote[];
  nodeCertificates: Map<string, string | { error: string }>;
}

/** Everything the verifier needs, from the node at `server`. */
export async function fetchServiceAttestation(server: Endpoint, serviceCertPem: string, timeoutMs: number): Promise<FetchedService> {
  const quotes = listOf<ServedQuote>(await getJson(server, '/node/quotes', serviceCertPem, timeoutMs), 'quotes', '/node/quotes');
  const nodes = listOf<ServedNode>(await getJson(server, '/node/network/nodes', serviceCertPem, timeoutMs), 'nodes', '/node/network/nodes');
  const nodeCertificates = new Map<string, string | { error: string }>();
  // The node we asked presents its own certificate; its ID (SHA-256 of its key) says which node it is.
  // Whether that certificate is the one the node's report binds is the verifier's business.
  const serverCert = await fetchPeerCertificate(server, serviceCertPem, timeoutMs).catch(() => null);
  const serverNodeId = serverCert === null ? null : createHash('sha256').update(new X509Certificate(serverCert).publicKey.export({ format: 'der', type: 'spki' })).digest('hex');
  await Promise.all(
    nodes
      .filter((node) => node?.status === 'Trusted' && typeof node.node_id === 'string')
      .map(async (node) => {
        if (serverCert !== null && node.node_id.toLowerCase() === serverNodeId) {
          nodeCertificates.set(node.node_id, serverCert);
          return;
        }
        const address = node.rpc_interfaces?.primary_rpc_interface?.published_address;
        let endpoint: Endpoint;
        try {
          endpoint = parseAddress(String(address), 'published address');
          if (endpoint.port === 0) throw new Error('port 0');
          // A node that publishes an unspecified address is reached where we reached the service.
          if (endpoint.host === '0.0.0.0' || endpoint.host === '::') endpoint = { host: server.host, port: endpoint.port };
        } catch {
          nodeCertificates.set(node.node_id, { error: `the node publishes no usable address (${JSON.stringify(address)})` });
          return;
        }
        try {
          nodeCertificates.set(node.node_id, await fetchPeerCertificate(endpoint, serviceCertPem, timeoutMs));
        } catch (error) {
          nodeCertificates.set(node.node_id, { error: `cannot fetch its certificate from ${endpoint.host}:${endpoint.port}: ${(error as Error).message}` });
        }
      }),
  );
  return { nodes, quotes, nodeCertificates };
}

const short = (hex: string | null, n = 16) => (hex === null ? '-' : hex.length > n ? `${hex.slice(0, n)}…` : hex);

export function formatServiceVerdict(verdict: ServiceVerdict): string {
  const rows = [['node id', 'platform', 'measurement', 'secure', 'verdict']];
  for (const node of verdict.nodes) {
    rows.push([
      short(node.nodeId),
      node.platform === null ? '-' : node.product !== null && node.product !== node.platform ? `${node.platform} (${node.product})` : node.platform,
      short(node.measurement, 24),
      node.secure === null ? '-' : node.secure ? 'yes' : 'NO (virtual)',
      node.ok ? 'OK' : 'FAILED',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const node of verdict.nodes) for (const problem of node.problems) lines.push(`  ${short(node.nodeId)}: ${problem}`);
  for (const problem of verdict.problems) lines.push(`  service: ${problem}`);
  lines.push(verdict.ok ? 'service attestation verified' : 'service attestation FAILED');
  if (verdict.ok && verdict.nodes.some((node) => node.secure === false)) {
    lines.push('warning: virtual nodes are insecure: their reports are not signed by any hardware and prove nothing');
  }
  return lines.join('\n');
}

export const VERIFY_SERVICE_USAGE = `usage: synod verify-service --server <host:port> --service-cert <pem> [options]

Verifies every Trusted node's attestation offline: its report (SEV-SNP: AMD's pinned roots; virtual:
structure only, insecure), that the report binds the key of the certificate the node presents, that the
service certificate signed that certificate, and the measurements.
  --server <host:port>          a node of the service (https:// prefix allowed; default $SYNOD_URL)
  --service-cert <pem>          the service certificate: the only certificate trusted
  --expect-measurement <hex>    accept only these measurements (repeatable)
  --require-secure              refuse virtual (insecure) nodes
  --timeout-ms <ms>             per request (default 10000)
  --json                        the verdict as JSON
exit codes: 0 verified, 1 verification failed, 2 usage error, 3 network error`;

export async function verifyServiceCommand(args: string[], out: VerifyServiceOutput): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out.stdout(VERIFY_SERVICE_USAGE);
    return VerifyServiceExit.ok;
  }
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      url: { type: 'string' },
      'service-cert': { type: 'string' },
      'expect-measurement': { type: 'string', multiple: true },
      'require-secure': { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new UsageError(UsageErrorCode.invalidArgument, `unexpected argument ${positionals[0]}`);
  const serverText = values.server ?? values.url ?? process.env.SYNOD_URL;
  if (!serverText) throw new UsageError(UsageErrorCode.invalidArgument, '--server host:port is required');
  if (!values['service-cert']) throw new UsageError(UsageErrorCode.invalidArgument, '--service-cert is required: it is the only certificate trusted');
  const timeoutText = values['timeout-ms'] ?? '10000';
  if (!/^[1-9]\d{0,8}$/.test(timeoutText)) throw new UsageError(UsageErrorCode.invalidArgument, '--timeout-ms must be a positive integer');
  const server = parseAddress(serverText, '--server');
  let serviceCertPem: string;
  try {
    serviceCertPem = readFileSync(values['service-cert'], 'utf8');
  } catch (error) {
    throw new UsageError(UsageErrorCode.io, `cannot read service certificate ${values['service-cert']}: ${(error as Error).message}`);
  }
  try {
    new X509Certificate(serviceCertPem);
  } catch (error) {
    throw new UsageError(UsageErrorCode.invalidArgument, `--service-cert ${values['service-cert']} is not a PEM certificate: ${(error as Error).message}`);
  }
  let fetched: FetchedService;
  try {
    fetched = await fetchServiceAttestation(server, serviceCertPem, Number(timeoutText));
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    if (values.json) out.stdout(JSON.stringify({ ok: false, error: { code: 'NETWORK', message: error.message } }));
    else out.stderr(`synod: ${error.message}`);
    return VerifyServiceExit.io;
  }
  const verdict = verifyServiceAttestation(
    { serviceCertPem, nodes: fetched.nodes, quotes: fetched.quotes, nodeCertificates: fetched.nodeCertificates },
    { expectMeasurements: values['expect-measurement'] ?? [], requireSecure: values['require-secure'] ?? false },
  );
  out.stdout(values.json ? JSON.stringify(verdict, null, 2) : formatServiceVerdict(verdict));
  return verdict.ok ? VerifyServiceExit.ok : VerifyServiceExit.verificationFailed;
}
