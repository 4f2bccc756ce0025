// The CLI's commands that talk to a service, each a thin shell over SynodClient (src/client):
//   call <METHOD> <path> [--data text | --data-file file] [--content-type t] [--wait]
//   tx <txid> [--wait]     commit     receipt <txid> [--cose] [--out file]
// Connection options are shared: --url (or SYNOD_URL), --service-cert (the pinned trust anchor),
// and an identity (--cert, --key; --member for a member; --cose to sign bodies instead of TLS auth).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, UsageErrorCode } from '../errors.ts';
import { readText, usage } from './args.ts';
import type { SynodClient } from '../client/client.ts';
import { createClient } from '../client/node.ts';
import { bytesToBase64 } from '../verify/encoding.ts';
import { formatReceipt } from './format.ts';

export interface CommandOutput {
  stdout: (text: string) => void;
}

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  'service-cert': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  member: { type: 'boolean' },
  cose: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
} as const;

type ConnectionValues = { [K in keyof typeof CONNECTION_OPTIONS]?: (typeof CONNECTION_OPTIONS)[K]['type'] extends 'string' ? string : boolean };


function timeoutOf(values: ConnectionValues): number | undefined {
  const raw = values['timeout-ms'];
  if (raw === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw usage('--timeout-ms must be a positive integer');
  return Number(raw);
}

/** A client for the connection options; the caller closes it. */
export function connect(values: ConnectionValues, env: Record<string, string | undefined> = process.env): SynodClient {
  const url = values.url ?? env.SYNOD_URL;
  if (!url) throw usage('--url https://host:port is required (or set SYNOD_URL)');
  if (!values['service-cert']) throw usage('--service-cert is required: it is the only certificate the connection trusts');
  if ((values.cert === undefined) !== (values.key === undefined)) throw usage('--cert and --key go together');
  if ((values.member || values.cose) && values.cert === undefined) throw usage('--member and --cose need --cert and --key');
  const identity = values.cert === undefined
    ? undefined
    : { certPem: readText(values.cert, 'certificate'), keyPem: readText(values.key!, 'private key'), role: values.member ? ('member' as const) : ('user' as const) };
  const timeoutMs = timeoutOf(values);
  return createClient({
    url,
    serviceCert: readText(values['service-cert'], 'service certificate'),
    ...(identity ? { identity, auth: values.cose ? ('cose' as const) : ('cert' as const) } : {}),
    ...(timeoutMs !== undefined ? { requestTimeoutMs: timeoutMs } : {}),
  });
}

async function withClient<T>(values: ConnectionValues, run: (client: SynodClient) => Promise<T>): Promise<T> {
  const client = connect(values);
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

function bodyAsValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function callCommand(args: string[], out: CommandOutput): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, data: { type: 'string' }, 'data-file': { type: 'string' }, 'content-type': { type: 'string' }, wait: { type: 'boolean' } },
  });
  if (positionals.length !== 2) throw usage(`call needs <METHOD> <path>, got ${positionals.length} arguments`);
  const [method, path] = positionals as [string, string];
  if (values.data !== undefined && values['data-file'] !== undefined) throw usage('give --data or --data-file, not both');
  const text = values['data-file'] !== undefined ? readText(values['data-file'], 'data file') : values.data;
  const body = text === undefined ? undefined : new TextEncoder().encode(text);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': values['content-type'] ?? 'application/json' };
  await withClient(values, async (client) => {
    const res = await client.call(method.toUpperCase(), path, body, { headers });
    if (values.wait && res.txid) await client.waitForCommit(res.txid, { timeoutMs: timeoutOf(values) });
    const committed = values.wait && res.txid ? { committed: true } : {};
    if (values.json) {
      out.stdout(JSON.stringify({ ok: true, status: res.status, txid: res.txid ?? null, ...committed, body: bodyAsValue(res.text()) }));
      return;
    }
    out.stdout(`HTTP ${res.status}${res.txid ? `  transaction ${res.txid}${values.wait ? ' (committed)' : ''}` : ''}`);
    if (res.body.length > 0) out.stdout(res.text());
  });
}

export async function txCommand(args: string[], out: CommandOutput): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...CONNECTION_OPTIONS, wait: { type: 'boolean' } } });
  if (positionals.length !== 1) throw usage('tx needs one transaction ID <view>.<seqno>');
  const txid = positionals[0]!;
  await withClient(values, async (client) => {
    if (values.wait) await client.waitForCommit(txid, { timeoutMs: timeoutOf(values) });
    const status = values.wait ? 'Committed' : await client.txStatus(txid);
    out.stdout(values.json ? JSON.stringify({ ok: true, txid, status }) : `${txid} ${status}`);
  });
}

export async function commitCommand(args: string[], out: CommandOutput): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
  if (positionals.length !== 0) throw usage('commit takes no arguments');
  await withClient(values, async (client) => {
    const txid = await client.commit();
    out.stdout(values.json ? JSON.stringify({ ok: true, txid }) : txid);
  });
}

export async function receiptCommand(args: string[], out: CommandOutput): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...CONNECTION_OPTIONS, cose: { type: 'boolean' }, out: { type: 'string' } } });
  if (positionals.length !== 1) throw usage('receipt needs one transaction ID <view>.<seqno>');
  // --cose here names the receipt format; receipts are public, so no identity is used.
  const connection = { ...values, cose: false, cert: undefined, key: undefined, member: false };
  await withClient(connection, async (client) => {
    const receipt = await client.getReceipt(positionals[0]!, { format: values.cose ? 'cose' : 'json', timeoutMs: timeoutOf(values) });
    if (values.out !== undefined) {
      try {
        writeFileSync(values.out, receipt.format === 'cose' ? receipt.bytes : `${JSON.stringify(receipt.receipt, null, 2)}\n`);
      } catch (e) {
        throw new UsageError(UsageErrorCode.io, `cannot write ${values.out}: ${(e as Error).message}`);
      }
    }
    if (values.json) {
      const body = receipt.format === 'cose' ? bytesToBase64(receipt.bytes) : receipt.receipt;
      out.stdout(JSON.stringify({ ok: true, txid: receipt.txid, format: receipt.format, verified: receipt.verified, receipt: body }));
      return;
    }
    out.stdout(formatReceipt(receipt.verified!));
    if (values.out !== undefined) out.stdout(`wrote ${values.out}`);
  });
}
