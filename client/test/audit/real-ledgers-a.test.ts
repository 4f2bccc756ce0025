// Real CCF ledgers, part A: double_sealed_service (a recovery tied by COSE endorsements),
// acme_containing_service (ends with an open chunk), cose_flipflop_service (COSE on and off).
import { describe, expect, it } from 'vitest';
import { cleanAudit, describeRealService } from '../helpers/real-audit.ts';

describeRealService('double_sealed_service', { wrongCert: false });
describeRealService('acme_containing_service', { wrongCert: true });
describeRealService('cose_flipflop_service', { wrongCert: true });

describe('double_sealed_service identities', () => {
  it('the first identity is tied to the current one by a verified COSE endorsement', async () => {
    const report = await cleanAudit('double_sealed_service');
    expect(report.serviceIdentities.map((i) => [i.introducedAt, i.trust])).toEqual([
      ['2.1', 'endorsement'],
      ['4.484', 'given'],
    ]);
    expect(report.counts.identityEndorsementsVerified).toBe(3);
  });
});
