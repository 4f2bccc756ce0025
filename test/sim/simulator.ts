// Seeded deterministic simulation of a Synod consensus network (TigerBeetle's VOPR idea, small). One
// seed drives everything: the nodes' election timers, the network (delay, reordering, loss,
// duplication, partitions), the disks (sync latency, crashes that lose unsynced writes, torn last
// entries), clients, periodic signatures and reconfigurations. The simulator is the driver of every
// node and honours the Ready contract (write, sync, then send, apply, advance), so a crash loses only
// what the contract allows. Safety invariants are checked after every step; after the chaos phase the
// network heals and a new signature must commit within a bounded number of ticks.

import { SafetyChecker } from '../../node/consensus/raft/invariants.ts';
import type { RaftLimits } from '../../node/consensus/raft/limits.ts';
import { type RaftNode, createRaftNode } from '../../node/consensus/raft/raft.ts';
import { Rng } from '../../node/consensus/raft/rng.ts';
import type { Entry, Message, NodeId, Ready } from '../../node/consensus/raft/types.ts';
import { formatMessage } from '../../node/consensus/raft/scenario.ts';
import { SimDisk } from './disk.ts';
import { SimNetwork } from './network.ts';

export interface SimOptions {
  nodeCount: number;
  chaosTicks: number;
  /** After healing, a leader must commit a new signature of its term within this many ticks, */
  livenessTicksMax: number;
  /** and then, with clients quiet, every voter must reach that commit index within this many more. */
  catchUpTicksMax: number;
  lossProbability: number;
  duplicateProbability: number;
  reorderProbability: number;
  delayTicksMax: number;
  crashProbabilityPerTick: number;
  /** Chance that a newly elected primary crashes within three ticks. */
  crashNewLeaderProbability: number;
  downTicksMax: number;
  partitionProbabilityPerTick: number;
  partitionTicksMax: number;
  tornWriteProbability: number;
  diskLatencyTicksMax: number;
  proposalProbabilityPerTick: number;
  signatureEveryEntries: number;
  signatureEveryTicks: number;
  reconfigurationProbabilityPerTick: number;
  votersMin: number;
  votersMax: number;
  limits: Partial<RaftLimits>;
}

/** Limits every simulated node runs with; the batch limits vary per seed (see optionsForSeed). */
export const simLimits: Partial<RaftLimits> = {
  electionTimeoutTicks: 20,
  heartbeatIntervalTicks: 3,
  appendRetryTicks: 15,
  uncommittedEntriesMax: 200,
};

/** Fault mix and workload for a seed: every seed explores a different corner. */
export function optionsForSeed(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = new Rng(seed ^ 0x5eed5eed);
  const nodeCount = r.pick([3, 5]);
  const delayTicksMax = r.pick([1, 2, 3, 5]);
  const diskLatencyTicksMax = r.pick([0, 1, 3]);
  const limits = {
    ...simLimits,
    entriesPerAppendMax: r.pick([2, 4, 16, 64]),
    bytesPerAppendMax: r.pick([64, 512, 4096]),
    inflightAppendsMax: r.pick([2, 4, 8]),
  };
  return {
    nodeCount,
    chaosTicks: r.between(300, 700),
    livenessTicksMax: livenessBoundTicks(limits, delayTicksMax, diskLatencyTicksMax),
    catchUpTicksMax: 1500,
    lossProbability: r.pick([0, 0.01, 0.05, 0.15]),
    duplicateProbability: r.pick([0, 0.02, 0.1]),
    reorderProbability: r.pick([0, 0.01, 0.1]),
    delayTicksMax,
    crashProbabilityPerTick: r.pick([0, 0.003, 0.01, 0.03]),
    crashNewLeaderProbability: r.pick([0, 0.1, 0.3]),
    downTicksMax: r.pick([5, 30, 100]),
    partitionProbabilityPerTick: r.pick([0, 0.005, 0.02]),
    partitionTicksMax: r.pick([20, 60, 150]),
    tornWriteProbability: 0.5,
    diskLatencyTicksMax,
    proposalProbabilityPerTick: r.pick([0.1, 0.4, 0.9]),
    signatureEveryEntries: r.pick([1, 3, 10]),
    signatureEveryTicks: r.pick([2, 6, 20]),
    reconfigurationProbabilityPerTick: r.pick([0, 0, 0.01, 0.03]),
    votersMin: 3,
    votersMax: nodeCount === 3 ? 4 : 6,
    limits,
    ...overrides,
  };
}

/** Simulated entries are at most this many bytes (client labels, signatures, configurations). */
const simEntryBytesMax = 24;

/**
 * How long a healed network may take to commit a new signature: a few election rounds, plus shipping
 * the whole uncommitted backlog a new primary may inherit (CCF: it can only commit through its own
 * signature, which comes after that backlog) at the pipeline's rate, with slack.
 */
function livenessBoundTicks(limits: Partial<RaftLimits>, delayTicksMax: number, diskLatencyTicksMax: number): number {
  const electionRoundsTicks = 10 * limits.electionTimeoutTicks!;
  const perBatch = Math.max(1, Math.min(limits.entriesPerAppendMax!, Math.floor(limits.bytesPerAppendMax! / simEntryBytesMax)));
  const roundTrips = Math.ceil(limits.uncommittedEntriesMax! / (perBatch * limits.inflightAppendsMax!));
  const roundTripTicks = 2 * delayTicksMax + 2 * diskLatencyTicksMax + 1;
  return electionRoundsTicks + 2 * roundTrips * roundTripTicks;
}

export interface SimStats {
  ticks: number;
  messages: number;
  elections: number;
  crashes: number;
  tornWrites: number;
  lostUnsyncedWrites: number;
  lostHardStates: number;
  partitions: number;
  proposals: number;
  committed: number;
  reconfigurations: number;
  livenessTicks: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: string;
  /** The last events before the end, for a failure report. */
  readonly trace: readonly string[];
  readonly stats: SimStats;
  /** A digest of every event, to check that one seed always replays the same run. */
  readonly digest: number;
}

interface SimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  core: RaftNode | undefined;
  writing: { ready: Ready; syncAt: number } | undefined;
  downUntil: number;
  /** A crash scheduled for this tick (see crashNewLeaderProbability). */
  crashAt: number | undefined;
  lastSignatureTick: number;
}

const traceLinesMax = Number(process.env.SIM_TRACE_LINES ?? 400);
const syncRoundsPerTickMax = 1000;

class SimulationFailure extends Error {}

class Simulator {
  private readonly rng: Rng;
  private readonly network: SimNetwork;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly checker = new SafetyChecker();
  private readonly trace: Array<string | (() => string)> = [];
  private readonly stats: SimStats = {
    ticks: 0, messages: 0, elections: 0, crashes: 0, tornWrites: 0, lostUnsyncedWrites: 0, lostHardStates: 0, partitions: 0, proposals: 0,
    committed: 0, reconfigurations: 0, livenessTicks: -1,
  };
  private digest = 0x811c9dc5;
  private now = 0;
  private healAt = 0;
  private nextNodeNumber = 1;
  private clientCounter = 0;
  private clientsQuiet = false;

  constructor(
    readonly seed: number,
    private readonly options: SimOptions,
  ) {
    this.rng = new Rng(seed);
    this.network = new SimNetwork(this.rng.fork(), {
      lossProbability: options.lossProbability, duplicateProbability: options.duplicateProbability,
      reorderProbability: options.reorderProbability, delayTicksMin: 1, delayTicksMax: options.delayTicksMax,
    });
    const founders = Array.from({ length: options.nodeCount }, () => String(this.nextNodeNumber++));
    const genesis: Entry = { term: 1, index: 1, isSignature: true, configuration: founders, data: new TextEncoder().encode('genesis') };
    for (const id of founders) this.addNode(id, new SimDisk({ hardState: { term: 1, votedFor: undefined }, entries: [genesis], commit: 1 }));
  }

  run(): SimResult {
    let failure: string | undefined;
    try {
      for (this.now = 1; this.now <= this.options.chaosTicks; this.now++) {
        this.injectFaults();
        this.step();
      }
      this.heal();
      failure = this.awaitLiveness();
    } catch (error) {
      failure = error instanceof SimulationFailure ? error.message : `exception: ${(error as Error).stack ?? error}`;
    }
    this.stats.ticks = this.now;
    this.stats.messages = this.network.stats.sent;
    this.stats.committed = this.checker.committedIndex;
    const trace = this.trace.map((t) => (typeof t === 'string' ? t : t()));
    return { seed: this.seed, ok: failure === undefined, ...(failure ? { failure } : {}), trace, stats: this.stats, digest: this.digest >>> 0 };
  }

  // ---- one tick -------------------------------------------------------------------------------------

  private step(): void {
    for (const n of this.nodes.values()) if (!n.core && this.now >= n.downUntil) this.restart(n);
    for (const n of this.rng.shuffle([...this.nodes.values()])) {
      if (!n.core) continue;
      n.core.tick();
      this.pump(n);
    }
    for (const m of this.network.takeDue(this.now)) this.deliver(m);
    this.clients();
    for (const n of this.nodes.values()) this.leaderDuties(n);
    this.completeSyncs();
    this.checkViolations();
  }

  private deliver(m: Message): void {
    const target = this.nodes.get(m.to);
    if (!target?.core) return;
    this.record(() => formatMessage(m), m.term, m.type.length);
    target.core.step(m);
    this.pump(target);
    this.checkViolations();
  }

  /** Hands the next Ready to the disk if the node is not already writing one. */
  private pump(n: SimNode): void {
    if (!n.core || n.writing || !n.core.hasReady()) return;
    const ready = n.core.ready();
    n.disk.write(ready);
    n.writing = { ready, syncAt: this.now + this.rng.between(0, this.options.diskLatencyTicksMax) };
  }

  private completeSyncs(): void {
    for (let round = 0; ; round++) {
      if (round >= syncRoundsPerTickMax) throw new SimulationFailure(`node Ready loop did not settle within a tick`);
      const due = [...this.nodes.values()].filter((n) => n.writing && n.writing.syncAt <= this.now);
      if (due.length === 0) return;
      for (const n of due) this.finishWrite(n);
    }
  }

  /** The sync finished: now the Ready's messages may go out and its committed entries be applied. */
  private finishWrite(n: SimNode): void {
    const { ready } = n.writing!;
    const core = n.core!;
    n.disk.sync(ready.softState.commit);
    for (const m of ready.messages) this.network.send(m, this.now);
    if (ready.committedEntries.length > 0) this.checker.applied(n.id, ready.committedEntries);
    core.advance(ready);
    n.writing = undefined;
    this.leaderDuties(n);
    this.pump(n);
  }

  // ---- the node's driver: signatures, clients, reconfiguration ------------------------------------

  private leaderDuties(n: SimNode): void {
    const core = n.core;
    if (!core || core.role !== 'leader') return;
    const unsigned = core.lastIndex - core.lastSignature.index;
    const due = unsigned >= this.options.signatureEveryEntries || (unsigned > 0 && this.now - n.lastSignatureTick >= this.options.signatureEveryTicks);
    if (!core.needsSignature && !due) return;
    const result = core.propose([{ term: core.term, index: core.lastIndex + 1, isSignature: true, data: encode(`sig ${n.id}`) }]);
    if (result.ok) {
      n.lastSignatureTick = this.now;
      this.record(`${this.now} ${n.id}: signs ${core.term}.${core.lastIndex}`);
    }
    this.pump(n);
  }

  private clients(): void {
    if (this.clientsQuiet || !this.rng.chance(this.options.proposalProbabilityPerTick)) return;
    const up = [...this.nodes.values()].filter((n) => n.core);
    if (up.length === 0) return;
    let n = this.rng.pick(up);
    // A backup forwards the request to the primary it knows (DESIGN.md, data path step 2).
    if (n.core!.role !== 'leader') {
      const leader = this.nodes.get(n.core!.leaderId ?? '');
      if (!leader?.core || this.network.separated(n.id, leader.id)) return;
      n = leader;
    }
    const core = n.core!;
    const count = this.rng.between(1, 3);
    const entries: Entry[] = [];
    for (let k = 0; k < count; k++) {
      entries.push({ term: core.term, index: core.lastIndex + 1 + k, isSignature: false, data: encode(`c${++this.clientCounter}`) });
    }
    if (core.propose(entries).ok) this.stats.proposals += count;
    this.maybeReconfigure(n);
    this.pump(n);
  }

  private maybeReconfigure(n: SimNode): void {
    const core = n.core!;
    if (core.role !== 'leader' || core.needsSignature || core.configurations.length !== 1) return;
    if (!this.rng.chance(this.options.reconfigurationProbabilityPerTick * 3)) return;
    const voters = [...core.configurations[0]!.voters];
    let next: NodeId[];
    if (voters.length < this.options.votersMax && (voters.length <= this.options.votersMin || this.rng.chance(0.5))) {
      const id = String(this.nextNodeNumber++);
      this.addNode(id, new SimDisk());
      next = [...voters, id];
    } else if (voters.length > this.options.votersMin) {
      const removed = this.rng.pick(voters);
      next = voters.filter((v) => v !== removed);
    } else {
      return;
    }
    const entry: Entry = { term: core.term, index: core.lastIndex + 1, isSignature: false, configuration: next, data: encode(`conf ${next.join(',')}`) };
    if (core.propose([entry]).ok) {
      this.stats.reconfigurations++;
      this.record(`${this.now} ${n.id}: reconfigures to [${next.join(' ')}]`);
    }
  }

  // ---- faults -----------------------------------------------------------------------------------------

  private injectFaults(): void {
    const o = this.options;
    const all = [...this.nodes.values()];
    for (const n of all) {
      if (n.core && n.crashAt !== undefined && this.now >= n.crashAt) this.crash(n);
    }
    if (this.rng.chance(o.crashProbabilityPerTick)) {
      const up = all.filter((n) => n.core);
      // Half of the crashes hit a primary: the interesting histories start there.
      const leaders = up.filter((n) => n.core!.role === 'leader');
      if (up.length > 0) this.crash(this.rng.pick(leaders.length > 0 && this.rng.chance(0.5) ? leaders : up));
    }
    if (this.network.partitioned) {
      if (this.now >= this.healAt) {
        this.network.heal();
        this.record(`${this.now} heal`);
      }
    } else if (this.rng.chance(o.partitionProbabilityPerTick)) {
      const ids = this.rng.shuffle(all.map((n) => n.id));
      // Sometimes the primary alone (or with a minority) is cut off from the rest.
      const leader = all.find((n) => n.core?.role === 'leader');
      if (leader && this.rng.chance(0.5)) ids.sort((a, b) => Number(b === leader.id) - Number(a === leader.id));
      const cut = this.rng.between(1, ids.length - 1);
      const groups = [ids.slice(0, cut), ids.slice(cut)];
      this.network.partition(groups);
      this.healAt = this.now + this.rng.between(1, o.partitionTicksMax);
      this.stats.partitions++;
      this.record(`${this.now} partition ${groups.map((g) => g.join(' ')).join(' | ')}`);
    }
  }

  private crash(n: SimNode): void {
    n.crashAt = undefined;
    const report = n.disk.crash(this.rng, this.options.tornWriteProbability);
    this.stats.crashes++;
    if (report.tornEntry) this.stats.tornWrites++;
    this.stats.lostUnsyncedWrites += report.unsyncedWrites - report.keptWrites;
    n.core = undefined;
    n.writing = undefined;
    n.downUntil = this.now + this.rng.between(1, this.options.downTicksMax);
    if (report.hardStateLost) this.stats.lostHardStates++;
    this.record(`${this.now} ${n.id}: crash (kept ${report.keptWrites} of ${report.unsyncedWrites} unsynced ledger writes${report.tornEntry ? ', tore one' : ''}${report.hardStateLost ? ', lost the hard state' : ''})`);
  }

  private addNode(id: NodeId, disk: SimDisk): void {
    const n: SimNode = { id, disk, core: undefined, writing: undefined, downUntil: 0, crashAt: undefined, lastSignatureTick: 0 };
    this.nodes.set(id, n);
    this.restart(n);
  }

  private restart(n: SimNode): void {
    const observer = {
      ...this.checker.observer,
      roleChanged: (id: NodeId, role: string, term: number) => {
        if (role === 'leader') {
          this.stats.elections++;
          // A new primary that fails before its first signature spreads leaves an old-term signature
          // on some nodes and a newer one on itself: Raft's "Figure 8" histories.
          if (this.now <= this.options.chaosTicks && this.rng.chance(this.options.crashNewLeaderProbability)) {
            n.crashAt = this.now + this.rng.between(0, 3);
          }
        }
        this.record(`${this.now} ${id}: ${role} at term ${term}`, term);
        this.checker.observer.roleChanged!(id, role as never, term);
      },
    };
    const { hardState, entries, commit } = n.disk.snapshot();
    const created = createRaftNode({ id: n.id, storage: n.disk, rng: this.rng.fork(), limits: this.options.limits, observer, commitIndex: commit });
    if (!created.ok) throw new SimulationFailure(`${n.id} cannot restart: ${created.error}`);
    this.checker.started(n.id, hardState, entries, commit);
    n.core = created.node;
    this.record(`${this.now} ${n.id}: start at term ${hardState.term}, commit ${commit}, last ${entries.length}`);
    this.pump(n);
  }

  private heal(): void {
    this.network.heal();
    this.network.faults = { ...this.network.faults, lossProbability: 0, duplicateProbability: 0, reorderProbability: 0 };
    for (const n of this.nodes.values()) if (!n.core) n.downUntil = this.now;
    this.record(`${this.now} heal all: no more faults`);
  }

  /**
   * After healing: within livenessTicksMax a leader commits a new signature of its own term; then the
   * clients go quiet and within catchUpTicksMax every voter of the leader's configuration reaches it.
   */
  private awaitLiveness(): string | undefined {
    const healTick = this.now;
    const committedAtHeal = this.checker.committedIndex;
    let target: number | undefined;
    for (; this.now <= healTick + this.options.livenessTicksMax + this.options.catchUpTicksMax; this.now++) {
      this.step();
      const leader = [...this.nodes.values()].find((n) => n.core?.role === 'leader' && !n.core.isRetired)?.core;
      if (target === undefined) {
        if (this.now > healTick + this.options.livenessTicksMax) return this.livenessFailure('no new signature committed', healTick);
        if (!leader || leader.commitIndex <= committedAtHeal || leader.termAt(leader.commitIndex) !== leader.term) continue;
        target = leader.commitIndex;
        this.stats.livenessTicks = this.now - healTick;
        this.clientsQuiet = true;
      }
      if (!leader) continue;
      const voters = new Set(leader.configurations.flatMap((c) => c.voters));
      if ([...voters].every((id) => (this.nodes.get(id)?.core?.commitIndex ?? 0) >= target!)) return undefined;
    }
    return this.livenessFailure(`voters did not reach commit ${target}`, healTick);
  }

  private livenessFailure(what: string, healTick: number): string {
    const status = [...this.nodes.values()].map((n) => {
      const c = n.core;
      return c ? `${n.id}:${c.role}/t${c.term}/commit ${c.commitIndex}/last ${c.lastIndex}${c.isRetired ? '/retired' : ''}` : `${n.id}:down`;
    });
    return `liveness: ${what} ${this.now - healTick} ticks after healing (${status.join(', ')})`;
  }

  private checkViolations(): void {
    if (this.checker.violations.length > 0) throw new SimulationFailure(`safety: ${this.checker.violations.join('; ')}`);
  }

  /** Keeps the last events for a failure report (formatted lazily) and folds them into the digest. */
  private record(event: string | (() => string), ...numbers: number[]): void {
    this.trace.push(event);
    if (this.trace.length > traceLinesMax) this.trace.shift();
    let h = this.digest ^ this.now;
    h = Math.imul(h, 0x01000193);
    for (const x of numbers) h = Math.imul(h ^ x, 0x01000193);
    if (typeof event === 'string') for (let i = 0; i < event.length; i++) h = Math.imul(h ^ event.charCodeAt(i), 0x01000193);
    this.digest = h;
  }
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function runSimulation(seed: number, overrides: Partial<SimOptions> = {}): SimResult {
  return new Simulator(seed, optionsForSeed(seed, overrides)).run();
}

/** A failure report: the seed, the exact replay command, what failed, and the last events. */
export function describeFailure(result: SimResult, traceLines = 60): string {
  return [
    `simulation seed ${result.seed} failed: ${result.failure}`,
    `replay: SIM_SEED=${result.seed} npx vitest run test/sim`,
    `options: ${JSON.stringify({ ...optionsForSeed(result.seed), limits: undefined })}`,
    'last events:',
    ...result.trace.slice(-traceLines).map((l) => `  ${l}`),
  ].join('\n');
}
