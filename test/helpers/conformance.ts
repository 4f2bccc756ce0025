// Where the shared conformance vectors live: `shared/` sits beside the repository (as in CI's clean
// clone), unless SYNOD_CONFORMANCE_DIR points elsewhere.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const CONFORMANCE_ROOT = process.env.SYNOD_CONFORMANCE_DIR ?? join(REPO_ROOT, '..', 'shared', 'conformance');
export const CCF_CONFORMANCE = join(CONFORMANCE_ROOT, 'ccf');
export const SNP_CONFORMANCE = join(CONFORMANCE_ROOT, 'snp');
