// Recovery shares and disaster recovery (CCF's recovery scheme): see shares.ts and endpoints.ts.
export * from './sharing.ts';
export * from './shares.ts';
export * from './tables.ts';
export { recoveryEndpoints, registerRecovery } from './endpoints.ts';

import { registerRecovery } from './endpoints.ts';

// Importing this module serves the recovery endpoints from every governance app created afterwards,
// and handles transition_service_to_open on a Recovering service.
registerRecovery();
