// The `ccf` global as a module, like @microsoft/ccf-app's global.js. The runtime (Synod's sandbox, CCF,
// or the polyfill) defines `globalThis.ccf`; everything in this package reaches it through `ccfGlobal()`
// at call time, so that importing an app module before the polyfill is installed still works.
// No Node APIs here: this module runs inside the sandbox.

import type { CCF, SnpAttestation } from './types.ts';

interface WithCcf {
  ccf?: CCF;
  snp_attestation?: SnpAttestation;
}

const scope = globalThis as WithCcf;

/** The current `ccf` global; throws a clear error outside a CCF runtime without the polyfill. */
export function ccfGlobal(): CCF {
  const ccf = scope.ccf;
  if (ccf === undefined || ccf === null) {
    throw new ReferenceError(
      'the ccf global is not defined: this code runs in a CCF/Synod app sandbox, or in Node after importing @synod/app-sdk/polyfill.js',
    );
  }
  return ccf;
}

/**
 * Forwards every property read to the global as it is at that moment. Used only when the global is
 * missing at import time (plain Node before the polyfill); inside a runtime the real object is exported.
 */
function lateBound<T extends object>(get: () => T): T {
  return new Proxy({} as T, {
    get: (_target, name) => Reflect.get(get(), name),
    has: (_target, name) => Reflect.has(get(), name),
  });
}

/** The `ccf` global. */
export const ccf: CCF = scope.ccf ?? lateBound(ccfGlobal);

/** The `snp_attestation` global (verification by the node against AMD's pinned roots; absent outside a node). */
export const snp_attestation: SnpAttestation = scope.snp_attestation ?? lateBound(() => {
  const value = scope.snp_attestation;
  if (value === undefined) throw new ReferenceError('the snp_attestation global is not available in this runtime');
  return value;
});

export type * from './types.ts';
