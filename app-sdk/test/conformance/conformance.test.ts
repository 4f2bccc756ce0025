// Runs the conformance suite against both runtimes: Synod's sandbox (the reference) and the polyfill.

import { CONSENSUS, ENDPOINTS, conformanceSuite } from './suite.ts';
import { polyfillBackend, sandboxBackend } from './backends.ts';

conformanceSuite('Synod sandbox (node/js + node/kv)', () => sandboxBackend(Object.values(ENDPOINTS), CONSENSUS));
conformanceSuite('polyfill (plain Node)', () => polyfillBackend(CONSENSUS));
