// Shared checks for the real CCF services' ledgers: each test file audits a few services once and
// runs every assertion on that one report (the audit is ECDSA-bound: ~10 ms per signature).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditCheck, auditLedger, type AuditCounts, type AuditReport } from '../../src/index.ts';
import { serviceCertPem, serviceDir } from './conformance.ts';
import { testService } from './service.ts';

export type ExpectedCounts = Pick<
  AuditCounts,
  'files' | 'entries' | 'signatures' | 'coseSignatures' | 'views' | 'nodes' | 'members' | 'users' | 'proposals' | 'serviceIdentities'
>;

/** Counts of the six fixtures, as this auditor finds them (see the report in client/README or the commit). */
export const EXPECTED: Record<string, ExpectedCounts> = {
  acme_containing_service: { files: 4, entries: 22, signatures: 8, coseSignatures: 8, views: 1, nodes: 3, members: 3, users: 1, proposals: 1, serviceIdentities: 1 },
  cose_flipflop_service: { files: 2, entries: 46, signatures: 23, coseSignatures: 5, views: 1, nodes: 1, members: 1, users: 1, proposals: 3, serviceIdentities: 1 },
  double_sealed_service: { files: 33, entries: 509, signatures: 156, coseSignatures: 156, views: 3, nodes: 6, members: 3, users: 1, proposals: 3, serviceIdentities: 2 },
  eol_service: { files: 49, entries: 500, signatures: 85, coseSignatures: 0, views: 5, nodes: 11, members: 3, users: 1, proposals: 26, serviceIdentities: 5 },
  expired_service: { files: 8, entries: 74, signatures: 26, coseSignatures: 18, views: 2, nodes: 6, members: 3, users: 2, proposals: 5, serviceIdentities: 2 },
  sgx_service: { files: 11, entries: 153, signatures: 54, coseSignatures: 0, views: 4, nodes: 9, members: 3, users: 2, proposals: 13, serviceIdentities: 4 },
};

const reports = new Map<string, Promise<AuditReport>>();

export function ledgerDir(service: string): string {
  return join(serviceDir(service), 'ledger');
}

/** The clean audit of a service, computed once per test file. */
export function cleanAudit(service: string): Promise<AuditReport> {
  let report = reports.get(service);
  if (!report) {
    report = auditLedger(ledgerDir(service), { serviceCert: serviceCertPem(service) });
    reports.set(service, report);
  }
  return report;
}

export function describeRealService(service: string, opts: { wrongCert: boolean }): void {
  describe(service, () => {
    it('audits clean against common/service_cert.pem, with the expected counts', async () => {
      const report = await cleanAudit(service);
      expect(report.failure).toBeUndefined();
      expect(report.ok).toBe(true);
      expect(report.counts).toMatchObject(EXPECTED[service]!);
      expect(report.counts.signaturesVerified).toBe(report.counts.signatures);
      expect(report.counts.coseSignaturesVerified).toBe(report.counts.coseSignatures);
      expect(report.counts.memberSignaturesVerified).toBe(report.counts.governanceRequests);
      expect(report.counts.unsignedTail).toBe(0);
      expect(report.lastSeqno).toBe(report.counts.entries);
      expect(report.serviceIdentities.at(-1)!.trust).toBe('given');
      expect(report.serviceIdentities.every((i) => i.trust !== 'unlinked')).toBe(true);
      for (const p of report.proposals) {
        expect(p.proposer).toMatch(/^[0-9a-f]{64}$/);
        expect(p.finalState).toBeDefined();
      }
    });

    if (opts.wrongCert) {
      it('fails against another service certificate, at the latest identity', async () => {
        const report = await auditLedger(ledgerDir(service), { serviceCert: testService(3).serviceCert });
        expect(report.failure!.check).toBe(AuditCheck.serviceIdentity);
        const latest = (await cleanAudit(service)).serviceIdentities.at(-1)!;
        expect(`${report.failure!.seqno}`).toBe(latest.introducedAt.split('.')[1]);
      });
    }
  });
}
