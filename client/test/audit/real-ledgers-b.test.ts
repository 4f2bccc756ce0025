// Real CCF ledgers, part B: eol_service (1.x entries, four recoveries, certificate renewals),
// sgx_service (1.x entries, three recoveries), expired_service (one recovery).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditCheck, auditLedger } from '../../src/index.ts';
import { serviceCertPem } from '../helpers/conformance.ts';
import { cleanAudit, describeRealService, ledgerDir } from '../helpers/real-audit.ts';

describeRealService('eol_service', { wrongCert: false });
describeRealService('sgx_service', { wrongCert: false });
describeRealService('expired_service', { wrongCert: true });

describe('recoveries', () => {
  it('eol_service: four recoveries chained by previous_service_identity records', async () => {
    const report = await cleanAudit('eol_service');
    expect(report.serviceIdentities.map((i) => i.introducedAt)).toEqual(['2.1', '4.36', '6.66', '8.160', '10.329']);
    expect(report.serviceIdentities.slice(0, 4).every((i) => i.trust === 'previous_service_identity')).toBe(true);
    expect(report.counts.serviceCertificateRenewals).toBe(2);
  });

  it('an auditor holding only the old identity cannot vouch for the later one; holding both, can', async () => {
    const dir = ledgerDir('expired_service');
    const oldCert = previousIdentityIn(join(dir, 'ledger_29-46.committed'));
    const old = await auditLedger(dir, { serviceCert: oldCert });
    expect(old.failure).toMatchObject({ check: AuditCheck.serviceIdentity, seqno: 29, file: 'ledger_29-46.committed' });
    const both = await auditLedger(dir, { serviceCerts: [oldCert, serviceCertPem('expired_service')] });
    expect(both.ok).toBe(true);
    expect(both.serviceIdentities.map((i) => i.trust)).toEqual(['given', 'given']);
  });

  it('rejects a call without a service certificate', async () => {
    await expect(auditLedger(ledgerDir('acme_containing_service'), {} as never)).rejects.toThrow(/serviceCert/);
  });
});

/** The JSON-string PEM in public:ccf.gov.service.previous_service_identity, found by a plain text search. */
function previousIdentityIn(file: string): string {
  const bytes = readFileSync(file, 'latin1');
  const at = bytes.indexOf('public:ccf.gov.service.previous_service_identity');
  const start = bytes.indexOf('"-----BEGIN CERTIFICATE-----', at);
  const end = bytes.indexOf('-----END CERTIFICATE-----', start) + '-----END CERTIFICATE-----\\n"'.length;
  return JSON.parse(bytes.slice(start, end)) as string;
}
