// Counters the node exposes at /node/metrics in Prometheus' text format (version 0.0.4).

const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000];

export class Metrics {
  transactions = 0;
  signatures = 0;
  conflicts = 0;
  ledgerBytes = 0;
  commitSeqno = 0;
  snapshots = 0;
  readonly requests = new Map<string, number>();
  private readonly latencyCounts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private latencySumMs = 0;
  private latencyCount = 0;

  countRequest(status: number): void {
    const key = `${Math.floor(status / 100)}xx`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  observeLatency(ms: number): void {
    let bucket = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
    if (bucket < 0) bucket = LATENCY_BUCKETS_MS.length;
    this.latencyCounts[bucket]!++;
    this.latencySumMs += ms;
    this.latencyCount++;
  }

  render(extra: Record<string, number>): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, value: number, labels = ''): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name}${labels} ${value}`);
    };
    counter('synod_transactions_total', 'Transactions appended to the ledger (signatures included).', this.transactions);
    counter('synod_signatures_total', 'Signature transactions emitted.', this.signatures);
    counter('synod_tx_conflicts_total', 'Transactions re-run after an optimistic concurrency conflict.', this.conflicts);
    counter('synod_ledger_bytes_total', 'Bytes of ledger entries appended.', this.ledgerBytes);
    lines.push('# HELP synod_requests_total HTTP requests by status class.', '# TYPE synod_requests_total counter');
    for (const [status, count] of this.requests) lines.push(`synod_requests_total{status="${status}"} ${count}`);
    lines.push('# HELP synod_request_duration_ms Time the enclave spent on a request.', '# TYPE synod_request_duration_ms histogram');
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      cumulative += this.latencyCounts[i]!;
      lines.push(`synod_request_duration_ms_bucket{le="${bound}"} ${cumulative}`);
    });
    cumulative += this.latencyCounts[LATENCY_BUCKETS_MS.length]!;
    lines.push(`synod_request_duration_ms_bucket{le="+Inf"} ${cumulative}`);
    lines.push(`synod_request_duration_ms_sum ${this.latencySumMs}`, `synod_request_duration_ms_count ${this.latencyCount}`);
    for (const [name, value] of Object.entries(extra)) {
      lines.push(`# HELP ${name} ${name.replace(/_/g, ' ')}.`, `# TYPE ${name} gauge`, `${name} ${value}`);
    }
    lines.push(`# HELP synod_commit_seqno Highest committed seqno.`, '# TYPE synod_commit_seqno gauge', `synod_commit_seqno ${this.commitSeqno}`);
    return lines.join('\n') + '\n';
  }
}
