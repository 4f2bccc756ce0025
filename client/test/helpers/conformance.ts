// Paths to the real CCF data in /work/shared/conformance/ccf (see its README.md).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const CONFORMANCE_DIR = process.env.SYNOD_CONFORMANCE_DIR ?? '/work/shared/conformance/ccf';
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
