// Paths to the real CCF data in shared/conformance/ccf beside the repository (see its README.md);
// SYNOD_CONFORMANCE_DIR overrides the conformance root.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CONFORMANCE_DIR = join(process.env.SYNOD_CONFORMANCE_DIR ?? join(REPO_ROOT, '..', 'shared', 'conformance'), 'ccf');
export const RECEIPT_FILES = ['doc-verify-tx-2.643.json', 'doc-audit-receipt.json'];

export function realReceipt(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'receipts', name), 'utf8'));
}

export function serviceNames(): string[] {
  return readdirSync(join(CONFORMANCE_DIR, 'services')).sort();
}

export function serviceDir(name: string): string {
  return join(CONFORMANCE_DIR, 'services', name);
}

export function serviceCertPem(name: string): string {
  return readFileSync(join(serviceDir(name), 'common', 'service_cert.pem'), 'utf8');
}
