// A simulated network between nodes: every message gets a random delay, may be lost, duplicated or
// (rarely, as over a reconnected TCP channel) overtake earlier ones on its link, and is dropped when a
// partition separates its ends or its target is down at delivery time. All randomness comes from the
// simulator's one seeded generator.

import type { Rng } from '../../node/consensus/raft/rng.ts';
import type { Message, NodeId } from '../../node/consensus/raft/types.ts';

export interface NetworkFaults {
  lossProbability: number;
  duplicateProbability: number;
  /** A message normally keeps its link's order (node-to-node channels are TCP); this one may overtake. */
  reorderProbability: number;
  delayTicksMin: number;
  delayTicksMax: number;
}

interface InFlight {
  readonly deliverAt: number;
  /** Send order: ties among messages due on the same tick keep it. */
  readonly order: number;
  readonly message: Message;
}

export class SimNetwork {
  private inFlight: InFlight[] = [];
  private groups: NodeId[][] | undefined;
  /** Per link (from→to), the latest delivery tick given so far: later messages are not delivered before it. */
  private readonly linkTail = new Map<string, number>();
  private sequence = 0;
  readonly stats = { sent: 0, lost: 0, duplicated: 0, reordered: 0, cut: 0 };

  constructor(
    private readonly rng: Rng,
    public faults: NetworkFaults,
  ) {}

  get pending(): number {
    return this.inFlight.length;
  }

  partition(groups: NodeId[][]): void {
    this.groups = groups;
  }

  heal(): void {
    this.groups = undefined;
  }

  get partitioned(): boolean {
    return this.groups !== undefined;
  }

  separated(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return false;
    const group = this.groups.find((g) => g.includes(a));
    return !group || !group.includes(b);
  }

  send(message: Message, now: number): void {
    this.stats.sent++;
    if (this.rng.chance(this.faults.lossProbability)) {
      this.stats.lost++;
      return;
    }
    const copies = this.rng.chance(this.faults.duplicateProbability) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const link = `${message.from}>${message.to}`;
    for (let c = 0; c < copies; c++) {
      let deliverAt = now + this.rng.between(this.faults.delayTicksMin, this.faults.delayTicksMax);
      if (this.rng.chance(this.faults.reorderProbability)) {
        this.stats.reordered++;
      } else {
        deliverAt = Math.max(deliverAt, this.linkTail.get(link) ?? 0);
        this.linkTail.set(link, deliverAt);
      }
      this.inFlight.push({ deliverAt, order: this.sequence++, message });
    }
  }

  /** Messages due at or before `now`, in delivery order, removed from the network. */
  takeDue(now: number): Message[] {
    const due = this.inFlight.filter((m) => m.deliverAt <= now);
    if (due.length === 0) return [];
    this.inFlight = this.inFlight.filter((m) => m.deliverAt > now);
    due.sort((a, b) => a.deliverAt - b.deliverAt || a.order - b.order);
    const out: Message[] = [];
    for (const m of due) {
      if (this.separated(m.message.from, m.message.to)) this.stats.cut++;
      else out.push(m.message);
    }
    return out;
  }
}
