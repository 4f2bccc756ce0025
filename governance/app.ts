// The governance endpoints (CCF's /gov REST API), served by every node as a native app.
// Placeholder until the endpoints land: no routes yet.

import type { Enclave } from '../node/enclave/enclave.ts';
import type { NativeApp } from '../node/enclave/frontend.ts';

export function governanceApp(_enclave: Enclave): NativeApp {
  return { name: 'governance', endpoints: [] };
}
