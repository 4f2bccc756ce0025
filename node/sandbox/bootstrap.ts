// Bootstrapping a new service through governance, as CCF's sandbox does: the genesis transaction
// records the members (Accepted), the users and the node, with the service Opening; then, through the
// client library's governance client (client/src/gov) over HTTPS, every member acks the service state
// (→ Active), member0 proposes `set_js_app` (when a bundle is given) with `transition_service_to_open`,
// and members vote for it in order until it is Accepted. The last vote opens the service; bootstrap
// returns once that transaction is committed.
//
//   await bootstrapService({ nodeAddress: '127.0.0.1:8000', serviceCertPem, members: [{ certPem, keyPem }], bundle });
//
// Idempotent on restart: a service that is already Open is left as it is (members still Accepted ack).

import {
  GovernanceClient,
  NetworkErrorCode,
  ServiceUnavailableError,
  SynodHttpError,
  SynodNetworkError,
  createGovernanceClient,
  proposal,
  setJsApp,
  transitionServiceToOpen,
  type JsBundle,
  type ProposalInfo,
  type ProposalAction,
} from '../../client/src/index.ts';

export interface BootstrapMember {
  certPem: string;
  keyPem: string;
}

export interface BootstrapOptions {
  /** `host:port` (or `https://host:port`) of a node of the service. */
  nodeAddress: string;
  /** The service certificate: the client's only trust anchor, and the identity the members open the service with. */
  serviceCertPem: string;
  /** Members in order: member0 proposes; they vote in this order until the proposal is accepted. */
  members: BootstrapMember[];
  /** The JS app bundle to deploy in the opening proposal (`{metadata, modules}`, app-sdk's readBundleDir). */
  bundle?: JsBundle;
  /** Further actions to carry in the opening proposal (after set_js_app, before the opening). */
  extraActions?: ProposalAction[];
  /** Overall deadline; default 60 s. */
  timeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Builds a member's governance client (tests); default: node:https pinned to the service certificate. */
  connect?: (member: BootstrapMember) => GovernanceClient;
}

export interface BootstrapResult {
  /** False when the service was already Open (nothing proposed). */
  opened: boolean;
  /** Members that acked in this run (they were Accepted). */
  activated: string[];
  /** The opening proposal, as the last ballot left it. */
  proposal: ProposalInfo | undefined;
}

const RETRY_DELAY_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `attempt` while the node is not ready for it yet (no signature to ack yet, busy, starting). */
async function retrying<T>(what: string, deadline: number, attempt: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      const transient =
        e instanceof ServiceUnavailableError ||
        (e instanceof SynodHttpError && e.status === 500 && /signature/i.test(e.serviceMessage)) ||
        (e instanceof SynodNetworkError && e.code === NetworkErrorCode.connection);
      if (!transient || Date.now() >= deadline) {
        throw new Error(`bootstrap: ${what} failed: ${(e as Error).message}`, { cause: e });
      }
      await sleep(RETRY_DELAY_MS);
    }
  }
}

export async function bootstrapService(options: BootstrapOptions): Promise<BootstrapResult> {
  if (options.members.length === 0) throw new Error('bootstrap: at least one member is needed to open the service');
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const log = options.log ?? (() => {});
  const url = options.nodeAddress.startsWith('https://') ? options.nodeAddress : `https://${options.nodeAddress}`;
  const connect = options.connect ?? ((m: BootstrapMember) => createGovernanceClient({ url, serviceCert: options.serviceCertPem, member: m }));
  const govs = options.members.map((m) => connect(m));
  try {
    const [first] = govs as [GovernanceClient, ...GovernanceClient[]];
    const members = await retrying('reading the members', deadline, () => first.members());
    const status = new Map(members.map((m) => [m.memberId, m.status]));
    const activated: string[] = [];
    for (const gov of govs) {
      const id = gov.memberId!;
      if (!status.has(id)) throw new Error(`bootstrap: member ${id} is not a member of this service`);
      if (status.get(id) !== 'Accepted') continue;
      const digest = await retrying(`state digest of member ${id}`, deadline, () => gov.stateDigest());
      await retrying(`ack of member ${id}`, deadline, () => gov.ack(digest));
      activated.push(id);
      log(`member ${id.slice(0, 12)} acked the service state: Active`);
    }
    const info = await retrying('reading the service state', deadline, () => first.serviceInfo());
    if (info.status === 'Open') return { opened: false, activated, proposal: undefined };
    if (info.status !== 'Opening') throw new Error(`bootstrap: the service is ${info.status}, not Opening: open it by recovery`);

    const actions = [
      ...(options.bundle ? [setJsApp(options.bundle)] : []),
      ...(options.extraActions ?? []),
      transitionServiceToOpen(options.serviceCertPem),
    ];
    let current = await retrying('the opening proposal', deadline, () => first.propose(proposal(...actions)));
    log(`member0 proposed ${actions.map((a) => a.name).join(' + ')}: ${current.proposalId}`);
    for (const gov of govs) {
      if (current.proposalState !== 'Open') break;
      current = await retrying(`the ballot of member ${gov.memberId}`, deadline, () => gov.vote(current.proposalId, true));
      log(`member ${gov.memberId!.slice(0, 12)} voted for it: ${current.proposalState}`);
    }
    if (current.proposalState !== 'Accepted') {
      const why = current.failure === undefined ? '' : `: ${JSON.stringify(current.failure)}`;
      throw new Error(`bootstrap: the opening proposal ${current.proposalId} ended ${current.proposalState}${why}`);
    }
    if (current.txid) {
      await first.client.waitForCommit(current.txid, { timeoutMs: Math.max(1000, deadline - Date.now()) });
    }
    return { opened: true, activated, proposal: current };
  } finally {
    for (const gov of govs) gov.close();
  }
}
