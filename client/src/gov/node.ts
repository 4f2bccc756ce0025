// The governance client in Node: a GovernanceClient over node:https, pinned to the service certificate.
//   const gov = createGovernanceClient({ url, serviceCert, member: { certPem, keyPem } });
//   const p = await gov.propose(proposal(setUser(userCertPem)));
//   await gov.vote(p.proposalId);
import { createClient } from '../client/node.ts';
import type { SynodClientOptions } from '../client/client.ts';
import type { Signer } from '../client/identity.ts';
import { GovernanceClient, type GovernanceClientOptions } from './client.ts';

export interface CreateGovernanceClientOptions extends GovernanceClientOptions {
  url: string;
  serviceCert: string;
  /** The member who signs; leave out for a read-only client (lists, service state). */
  member?: { certPem: string; keyPem?: string; signer?: Signer };
  requestTimeoutMs?: number;
  transport?: SynodClientOptions['transport'];
}

export function createGovernanceClient(options: CreateGovernanceClientOptions): GovernanceClient {
  const client = createClient({
    url: options.url,
    serviceCert: options.serviceCert,
    ...(options.member ? { identity: { ...options.member, role: 'member' as const }, auth: 'cose' as const } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
  });
  return new GovernanceClient(client, options.apiVersion !== undefined ? { apiVersion: options.apiVersion } : {});
}
