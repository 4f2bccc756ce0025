#!/usr/bin/env node
// The `synod` command line: a thin shell over the client library. Commands:
//   verify <receipt|snapshot file> [--service-cert pem]… [--claims file] [--json]
//   audit <ledger-dir> --service-cert pem [--service-cert pem]… [--governance] [--json] [--no-progress]
//         [--ledger-secret file | --member-enc-key pem [--member-enc-key pem]…] [--show-private map]
//   keygen --name <name> [--curve P-384|P-256] [--out dir] [--force] [--json]
//   call <METHOD> <path> | tx <txid> | commit | receipt <txid>   (a service over HTTPS: http-commands.ts)
//   gov <propose|vote|withdraw|list|show|ack|info|history|recovery-share> …   (governance: gov-commands.ts)
//   sandbox [options]    (the node's sandbox, node/sandbox/main.ts, loaded on demand)
// Exit codes: 0 ok, 1 verification failed, 2 usage error, 3 I/O or network error, 4 the service
// refused the request (an HTTP error status), or the transaction was rolled back or not committed in time.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CommitTimeoutError,
  LedgerFormatError,
  ReceiptError,
  ReceiptErrorCode,
  SynodClientError,
  SynodHttpError,
  SynodProtocolError,
  TransactionInvalidError,
  UsageError,
  UsageErrorCode,
} from '../errors.ts';
import type { PrivateWrite } from '../audit/decrypting-audit.ts';
import type { RecoverySharesAuditReport } from '../audit/recovery-shares.ts';
import { bytesToHex, hexToBytes } from '../verify/encoding.ts';
import { formatAudit, formatGovernance, formatPrivateWrites, formatReceipt, renderBytes } from './format.ts';
// Each command imports what it needs when it runs, so that `synod --help` or a usage error does not
// pay for loading the curves, ASN.1 and CBOR libraries.

export const ExitCode = { ok: 0, verificationFailed: 1, usage: 2, io: 3, requestFailed: 4 } as const;

export const USAGE = `usage: synod <command> [options]

commands:
  verify <receipt>        verify a CCF receipt (JSON, or COSE if the file is CBOR), or a committed
                          snapshot file (snapshot_<v>_<s>.committed) against its evidence receipt
      --service-cert <pem>   service certificate to check the endorsement against (repeatable)
      --claims <file>        application claims whose SHA-256 must be the receipt's claims digest
  audit <ledger-dir>      audit a ledger directory offline
      --service-cert <pem>   the service certificate (repeat for earlier identities); required
      --governance           also list proposals, ballots and outcomes
      --ledger-secret <file> the ledger secret (64 hex digits): decrypt and authenticate every entry
      --member-enc-key <pem> instead of --ledger-secret: a recovery member's encryption private key
                             (member<i>_enc_privk.pem; repeat up to the recovery threshold): recover
                             the ledger secret(s) from the ledger's recovery shares, then decrypt
      --show-private <map>   with --ledger-secret or --member-enc-key: print the decrypted writes of this private map
      --no-progress          no progress bar
  keygen                  create a member/user identity: <name>_cert.pem and <name>_privk.pem
      --name <name>          required
      --curve <curve>        P-384 (default) or P-256
      --out <dir>            output directory (default: .)
      --force                overwrite existing files
  sandbox [options]       start a local network (see: synod sandbox --help)
  gov <command>           governance as a member: propose, vote, withdraw, list, show, ack, info;
                          history <ledger dir> offline (see: synod gov --help)

commands that talk to a service (over HTTPS, trusting only the service certificate):
  call <METHOD> <path>    send a request; prints the status, transaction ID and body
      --data <text>          request body (content type application/json unless --content-type)
      --data-file <file>     request body from a file
      --wait                 wait until the write is committed
  tx <txid> [--wait]      status of a transaction (Unknown, Pending, Committed, Invalid)
  commit                  the latest committed transaction ID
  receipt <txid>          wait for the receipt and verify it against the service certificate
      --cose                 the COSE receipt (default: JSON)
      --out <file>           write the receipt to a file
  connection options:
      --url <https://host:port>   the node (default: $SYNOD_URL)
      --service-cert <pem>        the service certificate; required
      --cert <pem> --key <pem>    identity (TLS client certificate unless --cose)
      --member                    the identity is a member (COSE requests use ccf.gov.msg.* headers)
      --cose                      authenticate by signing the body (COSE_Sign1) instead of TLS
      --timeout-ms <ms>           request timeout, and how long --wait / receipt wait

common options:
  --json                  machine-readable output on stdout
  --help                  this text

exit codes: 0 ok, 1 verification failed, 2 usage error, 3 I/O or network error,
            4 request refused by the service (or transaction rolled back / not committed in time)`;

export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultOutput: Output = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
};

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], out: Output = defaultOutput): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    switch (command) {
      case 'verify':
        return await verifyCommand(rest, out);
      case 'audit':
        return await auditCommand(rest, out);
      case 'keygen':
        return await keygenCommand(rest, out);
      case 'sandbox':
        return await sandboxCommand(rest);
      case 'gov':
        return await (await import('./gov-commands.ts')).govCommand(rest, out);
      case 'verify-service':
        return await (await import('./verify-service.ts')).verifyServiceCommand(rest, out);
      case 'call':
      case 'tx':
      case 'commit':
      case 'receipt':
        return await httpCommand(command, rest, out);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        (command === undefined ? out.stderr : out.stdout)(USAGE);
        return command === undefined ? ExitCode.usage : ExitCode.ok;
      default:
        throw new UsageError(UsageErrorCode.invalidArgument, `unknown command ${command}`);
    }
  } catch (e) {
    return reportError(e, json, out);
  }
}

async function httpCommand(command: 'call' | 'tx' | 'commit' | 'receipt', args: string[], out: Output): Promise<number> {
  const commands = await import('./http-commands.ts');
  const run = { call: commands.callCommand, tx: commands.txCommand, commit: commands.commitCommand, receipt: commands.receiptCommand }[command];
  await run(args, out);
  return ExitCode.ok;
}

function reportError(e: unknown, json: boolean, out: Output): number {
  const code = exitCodeFor(e);
  const error: Record<string, unknown> =
    e instanceof SynodClientError
      ? { code: e.code, message: e.message }
      : { code: String((e as { code?: unknown }).code ?? 'CLIENT_INTERNAL'), message: (e as Error).message };
  if (e instanceof SynodHttpError) error.status = e.status;
  if (json) out.stdout(JSON.stringify({ ok: false, error }));
  else out.stderr(`synod: ${error.message}${code === ExitCode.usage ? '\n(synod --help for usage)' : ''}`);
  return code;
}

function exitCodeFor(e: unknown): number {
  if (e instanceof ReceiptError || e instanceof LedgerFormatError) return ExitCode.verificationFailed;
  // The ledger's recovery shares do not give back its secret with the keys given (audit --member-enc-key).
  if (e instanceof SynodClientError && e.code.startsWith('RECOVERY_')) return ExitCode.verificationFailed;
  if (e instanceof SynodHttpError || e instanceof SynodProtocolError || e instanceof TransactionInvalidError || e instanceof CommitTimeoutError) {
    return ExitCode.requestFailed;
  }
  if (e instanceof UsageError) return e.code === UsageErrorCode.io ? ExitCode.io : ExitCode.usage;
  // node:util parseArgs rejects unknown options and missing values with these codes.
  const code = (e as { code?: string }).code ?? '';
  if (code.startsWith('ERR_PARSE_ARGS')) return ExitCode.usage;
  return ExitCode.io; // the filesystem (ENOENT, EACCES, …), or an internal error: could not complete
}

function readInput(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(UsageErrorCode.io, `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

async function readServiceCerts(paths: string[] | undefined): Promise<string[]> {
  const { parseCertificate } = await import('../verify/x509.ts');
  return (paths ?? []).map((path) => {
    const pem = new TextDecoder().decode(readInput(path, 'service certificate'));
    try {
      parseCertificate(pem);
    } catch (e) {
      throw new UsageError(UsageErrorCode.invalidArgument, `--service-cert ${path} is not a PEM certificate: ${(e as Error).message}`);
    }
    return pem;
  });
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(UsageErrorCode.invalidArgument, `expected one ${what}, got ${positionals.length}`);
  return positionals[0]!;
}

async function verifyCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'service-cert': { type: 'string', multiple: true }, claims: { type: 'string' }, json: { type: 'boolean' } },
  });
  const path = onePositional(positionals, 'receipt file');
  const bytes = readInput(path, 'receipt');
  const serviceCerts = await readServiceCerts(values['service-cert']);
  const { verifyReceipt } = await import('../verify/receipt.ts');
  const { verifyCoseReceipt } = await import('../verify/cose-receipt.ts');
  const claims = values.claims === undefined ? undefined : readInput(values.claims, 'claims file');
  const options = { serviceCerts, claims };
  const fileName = basename(path);
  const { parseSnapshotName, verifySnapshot } = await import('../ledger/snapshot.ts');
  if (parseSnapshotName(fileName)) {
    const snapshot = verifySnapshot(bytes, { serviceCerts, name: fileName });
    out.stdout(values.json ? JSON.stringify({ ok: true, snapshot }) : `snapshot at seqno ${snapshot.version}: evidence ${formatReceipt(snapshot.receipt)}`);
    return ExitCode.ok;
  }
  // CCF COSE receipts are CBOR tag 18 (first byte 0xd2); anything else is read as a JSON receipt.
  const result = bytes[0] === 0xd2 ? verifyCoseReceipt(bytes, options) : verifyReceipt(parseJsonReceipt(bytes), options);
  out.stdout(values.json ? JSON.stringify({ ok: true, receipt: result }) : formatReceipt(result));
  return ExitCode.ok;
}

function parseJsonReceipt(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ReceiptError(ReceiptErrorCode.malformed, 'the receipt file is neither JSON nor a COSE receipt');
  }
}

async function auditCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'service-cert': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      governance: { type: 'boolean' },
      'ledger-secret': { type: 'string' },
      'show-private': { type: 'string' },
      'member-enc-key': { type: 'string', multiple: true },
    },
  });
  const dir = onePositional(positionals, 'ledger directory');
  const memberEncKeys = values['member-enc-key']?.map((path) => new TextDecoder().decode(readInput(path, 'member encryption key')));
  if (memberEncKeys !== undefined && values['ledger-secret'] !== undefined) {
    throw new UsageError(UsageErrorCode.invalidArgument, 'give --ledger-secret or --member-enc-key, not both');
  }
  if (!values['service-cert']?.length) throw new UsageError(UsageErrorCode.invalidArgument, 'audit needs --service-cert');
  const serviceCerts = await readServiceCerts(values['service-cert']);
  const showPrivate = values['show-private'];
  if (showPrivate !== undefined && values['ledger-secret'] === undefined && memberEncKeys === undefined) {
    throw new UsageError(UsageErrorCode.invalidArgument, '--show-private needs --ledger-secret or --member-enc-key');
  }
  const ledgerSecret = values['ledger-secret'] === undefined ? undefined : readLedgerSecret(values['ledger-secret']);
  const shown: PrivateWrite[] = [];
  let shownTruncated = false;
  const onPrivateWrite = (w: PrivateWrite): void => {
    if (w.map !== showPrivate) return;
    if (shown.length < SHOW_PRIVATE_WRITES_MAX) shown.push(w);
    else shownTruncated = true;
  };
  const { auditLedger } = await import('../audit/decrypting-audit.ts');
  const { default: cliProgress } = await import('cli-progress');
  const showProgress = !values.json && !values['no-progress'] && process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar(
    { format: 'auditing |{bar}| {percentage}% | {file}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const audit: (d: string, o: Parameters<typeof auditLedger>[1]) => Promise<Omit<RecoverySharesAuditReport, 'recovery'> & Partial<RecoverySharesAuditReport>> = memberEncKeys === undefined
    ? auditLedger
    : async (d: string, o: Parameters<typeof auditLedger>[1]) => {
        const { auditLedgerWithRecoveryShares } = await import('../audit/recovery-shares.ts');
        return auditLedgerWithRecoveryShares(d, { ...o, memberEncryptionKeys: memberEncKeys });
      };
  const report = await audit(dir, {
    serviceCerts,
    ...(ledgerSecret ? { ledgerSecret } : {}),
    ...(showPrivate !== undefined ? { onPrivateWrite } : {}),
    onProgress: (p) => {
      if (!showProgress) return;
      if (!started) bar.start(p.bytesTotal, 0, { file: '' });
      started = true;
      bar.update(p.bytesDone, { file: p.file });
    },
  }).finally(() => started && bar.stop());
  const sections = [formatAudit(report)];
  if (report.recovery) {
    const r = report.recovery;
    sections.push(`ledger secret(s) recovered from the recovery shares written at ${r.recordTxid} (threshold ${r.threshold}; shares of ${r.members.join(', ')}); starting at seqno ${r.ledgerSecretStartSeqnos.join(', ')}`);
  }
  if (values.governance) sections.push(formatGovernance(report));
  if (showPrivate !== undefined) sections.push(formatPrivateWrites(showPrivate, shown, shownTruncated));
  const json = showPrivate === undefined ? report : { ...report, privateWrites: shown.map(jsonWrite), privateWritesTruncated: shownTruncated };
  out.stdout(values.json ? JSON.stringify(json) : sections.join('\n'));
  return report.ok ? ExitCode.ok : ExitCode.verificationFailed;
}

/** At most this many decrypted writes are kept for --show-private (the rest are counted only). */
const SHOW_PRIVATE_WRITES_MAX = 100_000;

/** A file holding the 32-byte ledger secret as 64 hex digits (surrounding whitespace allowed). */
function readLedgerSecret(path: string): Uint8Array {
  const text = new TextDecoder().decode(readInput(path, 'ledger secret file')).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new UsageError(UsageErrorCode.invalidArgument, `--ledger-secret ${path} must hold the 32-byte ledger secret as 64 hex digits`);
  }
  return hexToBytes(text.toLowerCase());
}

function jsonWrite(w: PrivateWrite): Record<string, unknown> {
  return { txid: w.txid, key: bytesToHex(w.key), value: w.value === undefined ? null : bytesToHex(w.value), rendered: { key: renderBytes(w.key), value: w.value === undefined ? null : renderBytes(w.value) } };
}

async function keygenCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      name: { type: 'string' },
      curve: { type: 'string', default: 'P-384' },
      out: { type: 'string', default: '.' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean' },
    },
  });
  void positionals;
  if (!values.name) throw new UsageError(UsageErrorCode.invalidArgument, 'keygen needs --name');
  const { keygen } = await import('./keygen.ts');
  const result = keygen({ name: values.name, curve: values.curve as 'P-384' | 'P-256', outDir: values.out, force: values.force });
  out.stdout(
    values.json
      ? JSON.stringify({ ok: true, ...result })
      : `wrote ${result.certPath}\nwrote ${result.privateKeyPath}\nid ${result.id}`,
  );
  return ExitCode.ok;
}

/** The sandbox belongs to the node package; loaded only when asked for, so the client stands alone. */
async function sandboxCommand(args: string[]): Promise<number> {
  const specifier = new URL('../../../node/sandbox/main.ts', import.meta.url).href;
  let sandbox: { runSandbox?: (argv: string[]) => Promise<number> | number };
  try {
    sandbox = (await import(specifier)) as typeof sandbox;
  } catch (e) {
    throw new UsageError(UsageErrorCode.io, `the sandbox needs the Synod node (node/sandbox/main.ts): ${(e as Error).message}`);
  }
  if (typeof sandbox.runSandbox !== 'function') throw new UsageError(UsageErrorCode.io, 'node/sandbox/main.ts exports no runSandbox');
  const code = await sandbox.runSandbox(args);
  return typeof code === 'number' ? code : ExitCode.ok;
}

/** Entry point for `node --import tsx client/src/cli/main.ts` and bin/synod.mjs. */
export async function run(argv = process.argv.slice(2)): Promise<void> {
  process.exitCode = await main(argv);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
