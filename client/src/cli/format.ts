// Human-readable rendering of CLI results. Kept apart from main.ts so that the text a person reads
// and the JSON a script reads are produced from the same values.
import type { DecryptingAuditReport, PrivateDomainCounts, PrivateWrite } from '../audit/decrypting-audit.ts';
import type { AuditReport } from '../audit/report.ts';
import { bytesToHex } from '../verify/encoding.ts';
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

export function formatAudit(report: AuditReport | DecryptingAuditReport): string {
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
  if ('privateDomain' in report && report.privateDomain) out.push(formatPrivateCounts(report.privateDomain));
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
export function formatGovernance(report: Pick<AuditReport, 'proposals'>): string {
  if (report.proposals.length === 0) return 'governance: no proposals in this ledger';
  const out = [`governance: ${report.proposals.length} proposals (created at, proposer, actions → final state)`];
  for (const p of report.proposals) {
    const actions = p.actions.length > 0 ? p.actions.join(', ') : '(body not in ledger)';
    const last = p.states.at(-1);
    out.push(`  ${p.id.slice(0, 16)}  ${p.createdAt ?? '?'}  by ${p.proposer?.slice(0, 16) ?? '?'}  ${actions} → ${p.finalState ?? '?'}${last ? ` at ${last.at}` : ''}`);
    for (const b of p.ballots) {
      const vote = p.votes?.[b.member];
      out.push(`      ballot by ${b.member.slice(0, 16)} at ${b.at}${vote === undefined ? '' : vote ? ': for' : ': against'}`);
    }
    if (p.failure !== undefined) out.push(`      failure: ${p.failure}`);
  }
  return out.join('\n');
}

function formatPrivateCounts(p: PrivateDomainCounts): string {
  const lines = [
    'private domain (decrypted with the ledger secret):',
    table([
      ['entries authenticated', p.entriesAuthenticated],
      ['entries with a private domain', p.entriesWithPrivateDomain],
      ['private maps', p.privateMaps],
      ['private writes', `${p.privateWrites} (${p.privateRemoves} removals)`],
    ]),
  ];
  for (const [name, tally] of Object.entries(p.maps)) lines.push(`    ${name}: ${tally.writes} writes, ${tally.removes} removals`);
  return lines.join('\n');
}

/** Printable UTF-8 text as a JSON string; other bytes as hex (8 bytes also as the u64 LE they often are). */
export function renderBytes(bytes: Uint8Array): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // Control characters (other than tab/newline) mean binary, not text.
    if (!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return JSON.stringify(text);
  } catch {
    // not UTF-8: hex below
  }
  const hex = `0x${bytesToHex(bytes)}`;
  if (bytes.length !== 8) return hex;
  return `${hex} (u64 ${new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true)})`;
}

/** The decrypted writes of one private map, one line each: txid, key, value (or "removed"). */
export function formatPrivateWrites(map: string, writes: PrivateWrite[], truncated: boolean): string {
  const out = [`private map ${map}: ${writes.length}${truncated ? '+ (truncated)' : ''} writes and removals (txid, key, value)`];
  for (const w of writes) out.push(`  ${w.txid.padEnd(10)} ${renderBytes(w.key)}  ${w.value === undefined ? '(removed)' : renderBytes(w.value)}`);
  return out.join('\n');
}
