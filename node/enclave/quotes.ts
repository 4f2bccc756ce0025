// Attestation endpoints (/node/quotes/self, /node/quotes), as CCF serves them.
// Placeholder until they land: no routes yet.

import type { Enclave } from './enclave.ts';
import type { NativeApp } from './frontend.ts';

export function quotesApp(_enclave: Enclave): NativeApp {
  return { name: 'quotes', endpoints: [] };
}
