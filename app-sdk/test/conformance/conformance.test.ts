// Runs the conformance suite against both runtimes: Synod's sandbox (the reference) and the polyfill.

import { CONSENSUS, ENDPOINTS, SNP_ATTESTATION_CASE, conformanceSuite } from './suite.ts';
import { polyfillBackend, sandboxBackend } from './backends.ts';

conformanceSuite('Synod sandbox (node/js + node/kv)', () => sandboxBackend(Object.values(ENDPOINTS), CONSENSUS), {
  knownGaps: {
    // @microsoft/ccf-app's snp_attestation module reads this global at import: an app using it cannot
    // load on Synod. CCF defines it on every platform (it verifies a report handed to it).
    [SNP_ATTESTATION_CASE]: 'node/js defines no snp_attestation global',
  },
});
conformanceSuite('polyfill (plain Node)', () => polyfillBackend(CONSENSUS));
