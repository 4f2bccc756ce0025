// Governance: CCF's /gov REST API (2024-07-01) for members, proposal builders and ballots. Browser-safe;
// createGovernanceClient (node:https) is exported from the Node entry (src/index.ts) only.
export { GovernanceClient, type GovernanceClientOptions } from './client.ts';
export * from './proposals.ts';
export * from './types.ts';
