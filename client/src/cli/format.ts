// Human-readable rendering of CLI results. Kept apart from main.ts so that the text a person reads
// and the JSON a script reads are produced from the same values.
import type { AuditReport } from '../audit/report.ts';
import type { VerifiedReceipt } from '../verify/receipt.ts';

export function formatReceipt(r: VerifiedReceipt): string {
  const lines = [`receipt verified (${r.format})`];
  lines.push(`  transaction   ${r.txid ?? '(leaf-only receipt: no transaction ID)'}`);
  lines.push(`  merkle root   ${r.root}`);
  if (r.nodeId) lines.push(`  signed by     node ${r.nodeId}`);
  if (r.signatureTxid) lines.push(`  signature tx  ${r.signatureTxid}`);
  if (r.serviceKeyId) lines.push(`  service key   ${r.serviceKeyId} (endorsement checked)`);
  else if (r.issuerKeyId) {
    lines.push(`  endorsed by   key ${r.issuerKeyId} (named by the node certificate, not checked:`);
    lines.push('                compare it with the service key you expect, or pass --service-cert)');
  } else lines.push('  service key   not checked: pass --service-cert to check the endorsement');
  return lines.join('\n');
}

function table(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

export function formatAudit(report: AuditReport): string {
  const c = report.counts;
  const out: string[] = [];
  out.push(report.ok ? `ledger audit PASSED: ${report.ledgerDir}` : `ledger audit FAILED: ${report.ledgerDir}`);
  out.push(
    table([
      ['files', c.files],
      ['entries', `${c.entries}${report.lastSeqno ? ` (seqno 1..${report.lastSeqno})` : ''}`],
      ['last signed tx', report.lastSignedTxid ?? '-'],
      ['signatures verified', `${c.signaturesVerified} / ${c.signatures}`],
      ['COSE signatures verified', `${c.coseSignaturesVerified} / ${c.coseSignatures}`],
      ['views', c.views],
      ['nodes', c.nodes],
      ['members', c.members],
      ['users', c.users],
      ['proposals', `${c.proposals} (${c.ballots} ballots)`],
      ['member signatures verified', `${c.memberSignaturesVerified} / ${c.governanceRequests}`],
      ['service identities', `${c.serviceIdentities} (${c.serviceCertificateRenewals} certificate renewals)`],
      ['unsigned tail', c.unsignedTail],
    ]),
  );
  if (report.serviceIdentities.length > 0) {
    out.push('service identities (oldest first):');
    for (const id of report.serviceIdentities) out.push(`  ${id.introducedAt.padEnd(10)} ${id.keyId}  ${id.trust}`);
  }
  if (report.failure) {
    const f = report.failure;
    out.push('first divergence:');
    out.push(table([
      ['file', f.file],
      ['offset', f.offset],
      ['seqno', f.seqno ?? '-'],
      ['check', f.check],
      ['message', f.message],
    ]));
  }
  return out.join('\n');
}

/** The governance history: one line per proposal, then its ballots. */
export function formatGovernance(report: AuditReport): string {
  if (report.proposals.length === 0) return 'governance: no proposals in this ledger';
  const out = [`governance: ${report.proposals.length} proposals (created at, proposer, actions → final state)`];
  for (const p of report.proposals) {
    const actions = p.actions.length > 0 ? p.actions.join(', ') : '(body not in ledger)';
    const last = p.states.at(-1);
    out.push(`  ${p.id.slice(0, 16)}  ${p.createdAt ?? '?'}  by ${p.proposer?.slice(0, 16) ?? '?'}  ${actions} → ${p.finalState ?? '?'}${last ? ` at ${last.at}` : ''}`);
    for (const b of p.ballots) out.push(`      ballot by ${b.member.slice(0, 16)} at ${b.at}`);
  }
  return out.join('\n');
}
