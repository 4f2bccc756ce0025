// `synod gov …`: governance as a member, over the governance client (src/gov). Each command is a thin
// shell: it parses options, calls one or two GovernanceClient methods, and prints a table for a person
// or, with --json, one JSON object for a script.
//   propose <proposal.json> | --action <name> [--args <json>] …   [--vote]
//   vote <proposal ID> [--accept | --reject | --ballot <file.js>]
//   withdraw <proposal ID>        list        show <proposal ID>        ack        info
//   history <ledger dir>          (offline: every proposal, ballot and outcome in the ledger files)
//   recovery-share                (the recovery engineer's command: see recoveryShareCommand)
// Connection: --server (or SYNOD_URL; default https://127.0.0.1:8000, the sandbox's), --service-cert,
// --member-cert, --member-key; the defaults are the files of a sandbox workspace as CCF's sandbox
// writes them: <workspace>/sandbox_common/{service_cert.pem, member0_cert.pem, member0_privk.pem}
// (--workspace, default ./workspace; --member-name picks member1, …).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { readText, usage } from './args.ts';
import type { GovernanceClient } from '../gov/client.ts';
import type { CreateGovernanceClientOptions } from '../gov/node.ts';
import type { Proposal, ProposalAction, ProposalInfo } from '../gov/types.ts';

export interface GovOutput {
  stdout: (text: string) => void;
}

export interface GovDeps {
  /** Builds the governance client (tests inject one over a fake service). */
  connect?: (options: CreateGovernanceClientOptions) => GovernanceClient;
  env?: Record<string, string | undefined>;
}

export const GOV_USAGE = `usage: synod gov <command> [options]

  propose <proposal.json>        submit a proposal ({"actions": [{"name", "args"}]})
  propose --action <name> [--args <json> | --args @<file.json>] … [--js-app <bundle.json>]
                                 a proposal of these actions, in order (--js-app: set_js_app with
                                 a bundle as synod-build-bundle writes it)
      --vote                       also submit the proposer's accepting ballot
  vote <proposal ID>             submit a ballot: --accept (default), --reject, or --ballot <file.js>
  withdraw <proposal ID>         withdraw your proposal
  list                           the proposals the service holds
  show <proposal ID>             a proposal's state, ballots and actions
  ack                            ack the service state (an Accepted member becomes Active)
  info                           service status, members and nodes
  history <ledger dir>           offline: every proposal, ballot and outcome in the ledger files
      --service-cert <pem>         the service certificate (default: the workspace's); repeatable
  recovery-share                 submit this member's recovery share

connection:
  --server <https://host:port>   the node (default: $SYNOD_URL, else https://127.0.0.1:8000)
  --workspace <dir>              sandbox workspace for the defaults below (default: ./workspace)
  --service-cert <pem>           default <workspace>/sandbox_common/service_cert.pem
  --member-name <name>           default member0
  --member-cert <pem>            default <workspace>/sandbox_common/<member-name>_cert.pem
  --member-key <pem>             default <workspace>/sandbox_common/<member-name>_privk.pem
  --timeout-ms <ms>              request timeout
  --json                         one JSON object on stdout

exit codes: 0 ok, 1 ledger audit failed (history), 2 usage error, 3 I/O or network error,
            4 the service refused the request (its error code is printed)`;

const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  url: { type: 'string' },
  workspace: { type: 'string' },
  'service-cert': { type: 'string', multiple: true },
  'member-name': { type: 'string' },
  'member-cert': { type: 'string' },
  'member-key': { type: 'string' },
  'timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

type Values = {
  server?: string;
  url?: string;
  workspace?: string;
  'service-cert'?: string[];
  'member-name'?: string;
  'member-cert'?: string;
  'member-key'?: string;
  'timeout-ms'?: string;
  json?: boolean;
};


function common(values: Values): string {
  return join(values.workspace ?? 'workspace', 'sandbox_common');
}

export function serviceCertPaths(values: Values): string[] {
  const given = values['service-cert'] ?? [];
  return given.length > 0 ? given : [join(common(values), 'service_cert.pem')];
}

function memberPaths(values: Values): { cert: string; key: string } {
  const name = values['member-name'] ?? 'member0';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw usage('--member-name must be a short name such as member1');
  return {
    cert: values['member-cert'] ?? join(common(values), `${name}_cert.pem`),
    key: values['member-key'] ?? join(common(values), `${name}_privk.pem`),
  };
}

async function connect(values: Values, signed: boolean, deps: GovDeps): Promise<GovernanceClient> {
  const env = deps.env ?? process.env;
  const url = values.server ?? values.url ?? env.SYNOD_URL ?? 'https://127.0.0.1:8000';
  const certs = serviceCertPaths(values);
  if (certs.length !== 1) throw usage('give one --service-cert to connect with');
  const serviceCert = readText(certs[0]!, 'service certificate');
  const raw = values['timeout-ms'];
  if (raw !== undefined && !/^[1-9]\d{0,8}$/.test(raw)) throw usage('--timeout-ms must be a positive integer');
  let member: CreateGovernanceClientOptions['member'];
  if (signed) {
    const paths = memberPaths(values);
    member = { certPem: readText(paths.cert, 'member certificate'), keyPem: readText(paths.key, 'member private key') };
  }
  const options: CreateGovernanceClientOptions = {
    url,
    serviceCert,
    ...(member ? { member } : {}),
    ...(raw !== undefined ? { requestTimeoutMs: Number(raw) } : {}),
  };
  const factory = deps.connect ?? (await import('../gov/node.ts')).createGovernanceClient;
  return factory(options);
}

async function withGov<T>(values: Values, signed: boolean, deps: GovDeps, run: (gov: GovernanceClient) => Promise<T>): Promise<T> {
  const gov = await connect(values, signed, deps);
  try {
    return await run(gov);
  } finally {
    gov.close();
  }
}

function oneId(positionals: string[], command: string): string {
  if (positionals.length !== 1) throw usage(`gov ${command} needs one proposal ID`);
  return positionals[0]!;
}

function emit(out: GovOutput, values: Values, json: Record<string, unknown>, human: string): void {
  out.stdout(values.json ? JSON.stringify({ ok: true, ...json }) : human);
}

function short(id: string | undefined): string {
  return id === undefined ? '?' : id.length > 16 ? `${id.slice(0, 16)}…` : id;
}

function proposalLine(p: ProposalInfo): string {
  return `proposal ${p.proposalId}\n  state     ${p.proposalState}\n  ballots   ${p.ballotCount}\n  proposer  ${p.proposerId}${p.txid ? `\n  tx        ${p.txid}` : ''}`;
}

/** A table with a header row, columns padded to their widest cell. */
export function columns(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const ACTION_FLAGS = new Set(['--action', '--args', '--js-app']);

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw usage(`${what} is not JSON: ${(e as Error).message}`);
  }
}

/**
 * Actions from the command line, in order: `--action <name>` optionally followed by its `--args <json>`
 * (`--args @file.json` reads the file), and `--js-app <bundle.json>` for set_js_app with a bundle as
 * synod-build-bundle writes it.
 */
export function actionsFromArgs(args: string[]): ProposalAction[] {
  const actions: ProposalAction[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (!ACTION_FLAGS.has(flag)) continue;
    const value = flag !== arg ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw usage(`${flag} needs a value`);
    if (flag === '--action') {
      actions.push({ name: value });
      continue;
    }
    if (flag === '--js-app') {
      actions.push({ name: 'set_js_app', args: { bundle: parseJsonText(readText(value, 'bundle'), `bundle ${value}`), disable_bytecode_cache: false } });
      continue;
    }
    const last = actions.at(-1);
    if (!last || last.args !== undefined) throw usage('each --args follows the --action it belongs to');
    last.args = value.startsWith('@') ? parseJsonText(readText(value.slice(1), 'args file'), `--args ${value}`) : parseJsonText(value, `--args for ${last.name}`);
  }
  return actions;
}

async function proposeCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      action: { type: 'string', multiple: true },
      args: { type: 'string', multiple: true },
      'js-app': { type: 'string', multiple: true },
      vote: { type: 'boolean' },
    },
  });
  const { parseProposal } = await import('../gov/proposals.ts');
  let proposal: Proposal;
  if (values.action?.length || values['js-app']?.length) {
    if (positionals.length > 0) throw usage('give a proposal file or --action, not both');
    proposal = parseProposal({ actions: actionsFromArgs(args) });
  } else {
    if (positionals.length !== 1) throw usage('gov propose needs a proposal file, or --action <name> [--args <json>]');
    if (values.args?.length) throw usage('--args goes with --action');
    const text = readText(positionals[0]!, 'proposal');
    try {
      proposal = parseProposal(JSON.parse(text));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw usage(`${positionals[0]} is not JSON: ${(e as Error).message}`);
    }
  }
  await withGov(values, true, deps, async (gov) => {
    const created = await gov.propose(proposal);
    const voted = values.vote ? await gov.vote(created.proposalId, true) : undefined;
    const lines = [proposalLine(created)];
    if (voted) lines.push(`voted for it: now ${voted.proposalState} with ${voted.ballotCount} ballot${voted.ballotCount === 1 ? '' : 's'}`);
    emit(out, values, { proposal: created, ...(voted ? { vote: voted } : {}) }, lines.join('\n'));
  });
}

async function voteCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, accept: { type: 'boolean' }, reject: { type: 'boolean' }, ballot: { type: 'string' } },
  });
  const id = oneId(positionals, 'vote');
  if ([values.accept, values.reject, values.ballot !== undefined].filter(Boolean).length > 1) throw usage('give one of --accept, --reject, --ballot');
  const ballot = values.ballot !== undefined ? readText(values.ballot, 'ballot') : !values.reject;
  await withGov(values, true, deps, async (gov) => {
    const info = await gov.vote(id, ballot);
    emit(out, values, { proposal: info }, `ballot submitted\n${proposalLine(info)}`);
  });
}

async function withdrawCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
  const id = oneId(positionals, 'withdraw');
  await withGov(values, true, deps, async (gov) => {
    const info = await gov.withdraw(id);
    emit(out, values, { proposal: info ?? null }, info ? `withdrawn\n${proposalLine(info)}` : `proposal ${id} is not known to the service (already finished and cleaned up, or never existed)`);
  });
}

async function listCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
  if (positionals.length > 0) throw usage('gov list takes no arguments');
  await withGov(values, false, deps, async (gov) => {
    const proposals = await gov.listProposals();
    const human = proposals.length === 0
      ? 'no proposals'
      : columns(['PROPOSAL', 'STATE', 'BALLOTS', 'PROPOSER'], proposals.map((p) => [p.proposalId, p.proposalState, String(p.ballotCount), short(p.proposerId)]));
    emit(out, values, { proposals }, human);
  });
}

async function showCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
  const id = oneId(positionals, 'show');
  await withGov(values, false, deps, async (gov) => {
    const [info, actions] = await Promise.all([gov.getProposal(id), gov.getActions(id)]);
    const lines = [proposalLine(info)];
    for (const [member, vote] of Object.entries(info.finalVotes ?? {})) lines.push(`  vote      ${short(member)} ${vote ? 'for' : 'against'}`);
    if (info.failure !== undefined) lines.push(`  failure   ${JSON.stringify(info.failure)}`);
    lines.push('actions:');
    for (const a of actions.actions ?? []) {
      const text = a.args === undefined ? '' : JSON.stringify(a.args);
      lines.push(`  ${a.name}${text ? ` ${text.length > 200 ? `${text.slice(0, 200)}… (${text.length} characters)` : text}` : ''}`);
    }
    emit(out, values, { proposal: info, actions: actions.actions ?? [] }, lines.join('\n'));
  });
}

async function ackCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
  if (positionals.length > 0) throw usage('gov ack takes no arguments');
  await withGov(values, true, deps, async (gov) => {
    const digest = await gov.stateDigest();
    await gov.ack(digest);
    emit(out, values, { memberId: digest.memberId, stateDigest: digest.stateDigest }, `member ${digest.memberId} acked state digest ${digest.stateDigest}`);
  });
}

async function infoCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
  if (positionals.length > 0) throw usage('gov info takes no arguments');
  await withGov(values, false, deps, async (gov) => {
    const [service, members, nodes] = await Promise.all([gov.serviceInfo(), gov.members(), gov.nodes()]);
    const human = [
      `service   ${service.status}${service.creationTransactionId ? ` (created at ${service.creationTransactionId})` : ''}`,
      '',
      columns(['MEMBER', 'STATUS', 'RECOVERY'], members.map((m) => [m.memberId, m.status, m.publicEncryptionKey ? (m.recoveryRole ?? 'Participant') : '-'])),
      '',
      columns(['NODE', 'STATUS', 'ADDRESS'], nodes.map((n) => [n.nodeId, n.status, Object.values(n.rpcInterfaces ?? {}).map((i) => i.publishedAddress).filter(Boolean).join(', ') || '-'])),
    ].join('\n');
    emit(out, values, { service, members, nodes }, human);
  });
}

/** Offline: the governance history of a ledger directory, every member signature verified. Returns the exit code. */
async function historyCommand(args: string[], out: GovOutput): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CONNECTION_OPTIONS });
  if (positionals.length !== 1) throw usage('gov history needs one ledger directory');
  const { parseCertificate } = await import('../verify/x509.ts');
  const serviceCerts = serviceCertPaths(values).map((path) => {
    const pem = readText(path, 'service certificate');
    try {
      parseCertificate(pem);
    } catch (e) {
      throw usage(`--service-cert ${path} is not a PEM certificate: ${(e as Error).message}`);
    }
    return pem;
  });
  const { auditLedger } = await import('../audit/audit.ts');
  const { formatGovernance } = await import('./format.ts');
  const report = await auditLedger(positionals[0]!, { serviceCerts });
  const c = report.counts;
  const summary = report.ok
    ? `ledger ${report.ledgerDir}: audit passed, ${c.entries} entries, ${c.memberSignaturesVerified} / ${c.governanceRequests} member signatures verified`
    : `ledger ${report.ledgerDir}: audit FAILED at ${report.failure!.file} seqno ${report.failure!.seqno ?? '?'} (${report.failure!.check}): ${report.failure!.message}`;
  if (values.json) {
    out.stdout(JSON.stringify({ ok: report.ok, ledgerDir: report.ledgerDir, counts: c, failure: report.failure ?? null, proposals: report.proposals }));
  } else {
    out.stdout(`${summary}\n${formatGovernance(report)}`);
  }
  return report.ok ? 0 : 1;
}

/** Placeholder until the recovery engineer's command lands in src/gov (recovery-share.ts). */
async function recoveryShareCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<number> {
  const modulePath = new URL('../gov/recovery-share-cli.ts', import.meta.url);
  if (existsSync(modulePath)) {
    const mod = (await import(modulePath.href)) as { recoveryShareCommand?: (a: string[], o: GovOutput, d: GovDeps) => Promise<number | void> };
    if (typeof mod.recoveryShareCommand === 'function') return (await mod.recoveryShareCommand(args, out, deps)) ?? 0;
  }
  throw usage('gov recovery-share is not available yet in this build (recovery shares are being implemented)');
}

/** Runs `synod gov <command> …`; returns the exit code (errors are thrown for main.ts to report). */
export async function govCommand(argv: string[], out: GovOutput, deps: GovDeps = {}): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || args.includes('--help')) {
    out.stdout(GOV_USAGE);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'propose':
      await proposeCommand(args, out, deps);
      return 0;
    case 'vote':
      await voteCommand(args, out, deps);
      return 0;
    case 'withdraw':
      await withdrawCommand(args, out, deps);
      return 0;
    case 'list':
      await listCommand(args, out, deps);
      return 0;
    case 'show':
      await showCommand(args, out, deps);
      return 0;
    case 'ack':
      await ackCommand(args, out, deps);
      return 0;
    case 'info':
      await infoCommand(args, out, deps);
      return 0;
    case 'history':
      return historyCommand(args, out);
    case 'recovery-share':
      return recoveryShareCommand(args, out, deps);
    default:
      throw usage(`unknown gov command ${command} (synod gov --help)`);
  }
}
