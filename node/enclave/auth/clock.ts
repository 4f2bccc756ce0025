// The clock authentication reads for JWT exp/nbf. Node time is untrusted host input (DESIGN.md, "The
// trust boundary"): the operating system's clock belongs to the host, exactly as CCF's enclave takes
// its time from the untrusted host. What this clock adds is that it never goes backwards while the node
// runs: once the node has seen a time, a host that winds the clock back cannot make tokens that expired
// before that moment acceptable again. It cannot protect against a clock that is wrong from the start
// (or set forward): that only shifts which tokens count as fresh, never who may sign them.

export class MonotonicClock {
  private lastMs = 0;

  constructor(private readonly readMs: () => number = Date.now) {}

  nowSeconds(): number {
    const ms = this.readMs();
    if (Number.isFinite(ms)) this.lastMs = Math.max(this.lastMs, ms);
    return Math.floor(this.lastMs / 1000);
  }
}
