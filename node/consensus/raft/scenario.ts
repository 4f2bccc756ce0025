// Interpreter for plain-text consensus scenarios (etcd's interaction tests, in our words). A scenario is
// a list of blocks: a command line, a `----` line, then the expected output up to a blank line; `#`
// lines are comments. The interpreter drives in-memory nodes through the core's public API only, acts
// as the driver (it persists each Ready to a MemoryStorage, queues its messages, applies committed
// entries, and proposes the signature a new primary needs), and checks the safety invariants after
// every step. Commands:
//   add-nodes N [joining]          nodes N+1…; founders share a genesis entry 1.1 (sig, conf of them all)
//   set-limits NAME=VALUE…         limits for the nodes started afterwards (see limits.ts)
//   campaign ID                    start a pre-vote now, as an election timeout would
//   propose ID DATA…               one entry per word;  propose-signature ID;  propose-conf ID VOTER…
//   tick ID|all [xN]               N ticks (default 1)
//   deliver-msgs [from=ID] [to=ID] [drop=(ID,…)]   deliver queued messages (to dropped ids: discard)
//   drop-msgs [from=ID] [to=ID]    discard queued messages
//   stabilize                      deliver and process until no message is left
//   partition A… | B… [| C…]; heal;  crash ID; restart ID
//   status [ID…];  log ID

import { SafetyChecker, entryKey } from './invariants.ts';
import { type RaftLimits, defaultRaftLimits } from './limits.ts';
import { MemoryStorage } from './memory-storage.ts';
import { type RaftNode, createRaftNode } from './raft.ts';
import { Rng } from './rng.ts';
import type { Entry, Message, NodeId, RaftObserver, StepResult } from './types.ts';

export const scenarioLimits: Partial<RaftLimits> = {
  electionTimeoutTicks: 10,
  heartbeatIntervalTicks: 2,
  appendRetryTicks: 4,
  entriesPerAppendMax: 4,
  inflightAppendsMax: 2,
};

const stabilizeRoundsMax = 1000;

interface ScenarioNode {
  readonly id: NodeId;
  node: RaftNode | undefined; // undefined while crashed
  readonly storage: MemoryStorage;
  restarts: number;
}

export class ScenarioCluster {
  private readonly nodes = new Map<NodeId, ScenarioNode>();
  private queue: Message[] = [];
  private groups: NodeId[][] | undefined;
  private out: string[] = [];
  readonly checker = new SafetyChecker();
  private reportedViolations = 0;
  private readonly observer: RaftObserver;

  constructor(private limits: Partial<RaftLimits> = scenarioLimits) {
    const c = this.checker.observer;
    this.observer = {
      appended: c.appended,
      truncated: (id, after) => {
        this.print(`${id}: rolled back to ${after}`);
        c.truncated!(id, after);
      },
      roleChanged: (id, role, term) => {
        this.print(`${id}: ${role} at term ${term}`);
        c.roleChanged!(id, role, term);
      },
      committed: (id, commit) => {
        this.print(`${id}: commit ${commit}`);
        c.committed!(id, commit);
      },
    };
  }

  /** Runs one command line and returns its output (never empty: "ok" if nothing happened). */
  run(line: string): string {
    this.out = [];
    const [command, ...args] = line.trim().split(/\s+/);
    try {
      this.dispatch(command!, args);
    } catch (error) {
      this.print(`error: ${(error as Error).message}`);
    }
    this.reportViolations();
    return this.out.length === 0 ? 'ok' : this.out.join('\n');
  }

  private dispatch(command: string, args: string[]): void {
    switch (command) {
      case 'add-nodes': return this.addNodes(Number(args[0]), args.includes('joining'));
      case 'set-limits': return this.setLimits(args);
      case 'campaign': return this.withNode(args[0], (n) => n.campaign());
      case 'propose': return this.propose(args[0]!, args.slice(1).map((d) => ({ data: d, isSignature: false })));
      case 'propose-signature': return this.propose(args[0]!, [{ data: 'sig', isSignature: true }]);
      case 'propose-conf': return this.propose(args[0]!, [{ data: 'conf', isSignature: false, configuration: args.slice(1) }]);
      case 'tick': return this.tick(args);
      case 'deliver-msgs': return this.deliver(parseFilter(args));
      case 'drop-msgs': return this.dropMessages(parseFilter(args));
      case 'stabilize': return this.stabilize();
      case 'partition': return this.partition(args);
      case 'heal': this.groups = undefined; return this.print('healed');
      case 'crash': return this.crash(args[0]!);
      case 'restart': return this.restart(args[0]!);
      case 'status': return this.status(args);
      case 'log': return this.printLog(args[0]!);
      default: throw new Error(`unknown command ${command}`);
    }
  }

  private print(line: string): void {
    this.out.push(line);
  }

  private reportViolations(): void {
    const all = this.checker.violations;
    for (; this.reportedViolations < all.length; this.reportedViolations++) this.print(`VIOLATION: ${all[this.reportedViolations]}`);
  }

  private addNodes(count: number, joining: boolean): void {
    const first = this.nodes.size + 1;
    const ids = Array.from({ length: count }, (_, k) => String(first + k));
    const genesis: Entry = { term: 1, index: 1, isSignature: true, configuration: ids, data: new TextEncoder().encode('genesis') };
    for (const id of ids) {
      const storage = joining
        ? new MemoryStorage()
        : new MemoryStorage({ hardState: { term: 1, votedFor: undefined }, entries: [genesis], commit: 1 });
      this.nodes.set(id, { id, node: undefined, storage, restarts: 0 });
      this.start(id);
    }
    this.print(`added ${ids.join(' ')}${joining ? ' (joining, empty log)' : ` (voters ${ids.join(' ')})`}`);
  }

  /** Limits for nodes started from now on, e.g. `set-limits entriesPerAppendMax=2`. */
  private setLimits(args: string[]): void {
    const overrides: Record<string, number> = {};
    for (const arg of args) {
      const [key, value] = arg.split('=');
      if (!key || !(key in defaultRaftLimits) || !Number.isSafeInteger(Number(value))) throw new Error(`bad limit ${arg}`);
      overrides[key] = Number(value);
    }
    this.limits = { ...this.limits, ...overrides };
    this.print(`limits for new nodes: ${Object.entries(this.limits).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }

  private start(id: NodeId): void {
    const sn = this.nodes.get(id)!;
    const seed = Number(id) * 1000 + sn.restarts;
    const commitIndex = sn.storage.commitMarker;
    const created = createRaftNode({ id, storage: sn.storage, rng: new Rng(seed), limits: this.limits, observer: this.observer, commitIndex });
    if (!created.ok) throw new Error(created.error);
    const { hardState, entries } = sn.storage.snapshot();
    this.checker.started(id, hardState, entries, commitIndex);
    sn.node = created.node;
  }

  private withNode(id: string | undefined, action: (node: RaftNode) => void): void {
    const sn = this.nodes.get(id ?? '');
    if (!sn) throw new Error(`no node ${id}`);
    if (!sn.node) throw new Error(`node ${id} is down`);
    action(sn.node);
    this.processReady(sn);
  }

  /** The driver's half of the Ready contract, done synchronously. */
  private processReady(sn: ScenarioNode): void {
    const node = sn.node;
    if (!node) return;
    while (node.hasReady()) {
      const rd = node.ready();
      sn.storage.persist(rd);
      this.queue.push(...rd.messages);
      if (rd.committedEntries.length > 0) this.checker.applied(sn.id, rd.committedEntries);
      node.advance(rd);
      if (rd.needSignature && node.role === 'leader' && node.status().needSignature) {
        const entry = { term: node.term, index: node.lastIndex + 1, isSignature: true, data: new TextEncoder().encode('sig') };
        const result = node.propose([entry]);
        this.print(`${sn.id}: signs ${formatEntry(entry)} as new primary${result.ok ? '' : ` (refused: ${result.reason})`}`);
      }
    }
  }

  private processAll(): void {
    for (const sn of this.nodes.values()) this.processReady(sn);
  }

  private propose(id: string, specs: Array<{ data: string; isSignature: boolean; configuration?: string[] }>): void {
    this.withNode(id, (node) => {
      const entries: Entry[] = specs.map((s, k) => ({
        term: node.term, index: node.lastIndex + 1 + k, isSignature: s.isSignature, data: new TextEncoder().encode(s.data),
        ...(s.configuration ? { configuration: s.configuration } : {}),
      }));
      const result = node.propose(entries);
      this.print(result.ok ? `${id}: proposed ${entries.map(formatEntry).join(', ')}` : `${id}: proposal refused: ${result.reason}`);
    });
  }

  private tick(args: string[]): void {
    const times = args[1]?.startsWith('x') ? Number(args[1].slice(1)) : 1;
    const ids = args[0] === 'all' ? [...this.nodes.keys()] : [args[0]!];
    for (let t = 0; t < times; t++) {
      for (const id of ids) if (this.nodes.get(id)?.node) this.withNode(id, (n) => n.tick());
    }
  }

  private deliver(filter: MessageFilter): void {
    const batch = this.queue.filter((m) => matches(m, filter) || filter.drop.has(m.to));
    this.queue = this.queue.filter((m) => !batch.includes(m));
    let cut = 0;
    for (const m of batch) {
      if (filter.drop.has(m.to)) {
        this.print(`${formatMessage(m)}  [dropped]`);
        continue;
      }
      const target = this.nodes.get(m.to);
      if (!target?.node || this.separated(m.from, m.to)) {
        cut++;
        continue;
      }
      this.print(formatMessage(m));
      const result: StepResult = target.node.step(m);
      if (!result.ok) this.print(`  ignored: ${result.reason}`);
      this.processAll();
      this.reportViolations();
    }
    if (cut > 0) this.print(`(${cut} message${cut === 1 ? '' : 's'} lost to partitions or crashed nodes)`);
  }

  private dropMessages(filter: MessageFilter): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((m) => !matches(m, filter));
    this.print(`dropped ${before - this.queue.length} messages`);
  }

  private stabilize(): void {
    this.processAll();
    for (let round = 0; this.queue.length > 0; round++) {
      if (round >= stabilizeRoundsMax) throw new Error('stabilize: messages still flowing');
      this.deliver({ drop: new Set() });
    }
  }

  private separated(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return false;
    const group = this.groups.find((g) => g.includes(a));
    return !group || !group.includes(b);
  }

  private partition(args: string[]): void {
    this.groups = args.join(' ').split('|').map((g) => g.trim().split(/\s+/).filter(Boolean));
    this.print(`partitioned ${this.groups.map((g) => g.join(' ')).join(' | ')}`);
  }

  private crash(id: string): void {
    const sn = this.nodes.get(id);
    if (!sn?.node) throw new Error(`node ${id} is not running`);
    sn.node = undefined;
    this.print(`${id}: crashed`);
  }

  private restart(id: string): void {
    const sn = this.nodes.get(id);
    if (!sn || sn.node) throw new Error(`node ${id} is not down`);
    sn.restarts++;
    this.start(id);
    const s = sn.node!.status();
    this.print(`${id}: restarted at term ${s.term}, commit ${s.commit}, last ${s.lastTerm}.${s.lastIndex}`);
    this.processReady(sn);
  }

  private status(args: string[]): void {
    const ids = args.length > 0 ? args : [...this.nodes.keys()];
    for (const id of ids) {
      const node = this.nodes.get(id)?.node;
      if (!node) {
        this.print(`${id}: down`);
        continue;
      }
      const s = node.status();
      const confs = s.configurations.map((c) => `[${c.voters.join(' ')}]`).join('+');
      this.print(
        `${id}: ${s.role} term=${s.term} leader=${s.leaderId ?? '-'} commit=${s.commit} applied=${s.applied} ` +
          `last=${s.lastTerm}.${s.lastIndex} sig=${s.lastSignature.term}.${s.lastSignature.index} conf=${confs || '-'}${s.retired ? ' retired' : ''}`,
      );
      if (s.followers.size > 0) {
        const parts = [...s.followers].map(([f, p]) => `${f}:match=${p.match},next=${p.next},${p.state}`);
        this.print(`   followers ${parts.join(' ')}`);
      }
    }
  }

  private printLog(id: string): void {
    const node = this.nodes.get(id)?.node;
    if (!node) throw new Error(`node ${id} is down`);
    this.print(`${id}: commit=${node.commitIndex} last=${node.lastIndex}`);
    for (const e of node.entries(1, node.lastIndex + 1)) this.print(`  ${formatEntry(e)}${e.index <= node.commitIndex ? '' : '  (uncommitted)'}`);
  }
}

interface MessageFilter {
  from?: string;
  to?: string;
  drop: Set<string>;
}

function parseFilter(args: string[]): MessageFilter {
  const filter: MessageFilter = { drop: new Set() };
  for (const arg of args) {
    const [key, value] = arg.split('=');
    if (key === 'from') filter.from = value!;
    else if (key === 'to') filter.to = value!;
    else if (key === 'drop') for (const id of value!.replace(/[()]/g, '').split(',')) filter.drop.add(id);
    else throw new Error(`unknown filter ${arg}`);
  }
  return filter;
}

function matches(m: Message, f: MessageFilter): boolean {
  return (f.from === undefined || m.from === f.from) && (f.to === undefined || m.to === f.to);
}

export function formatEntry(e: Entry): string {
  const parts = [`${e.term}.${e.index}`];
  const key = entryKey(e).split(':').slice(1).join(':');
  if (e.isSignature) parts.push('sig');
  if (e.configuration) parts.push(`conf(${e.configuration.join(' ')})`);
  if (!e.isSignature && !e.configuration) parts.push(key);
  return parts.join(' ');
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to}`;
  switch (m.type) {
    case 'append':
      return `${head} append t${m.term} prev=${m.prevTerm}.${m.prevIndex} commit=${m.commit}${m.entries.length > 0 ? ` [${m.entries.map(formatEntry).join(', ')}]` : ''}`;
    case 'append-response':
      return m.success
        ? `${head} append-ok t${m.term} match=${m.matchIndex} commit=${m.commit}`
        : `${head} append-reject t${m.term} rejected=${m.rejectedIndex} hint=${m.hintTerm}.${m.hintIndex} commit=${m.commit}`;
    case 'vote':
      return `${head} ${m.preVote ? 'pre-vote' : 'vote'} t${m.term} last-sig=${m.lastSignatureTerm}.${m.lastSignatureIndex}${m.transfer ? ' transfer' : ''}`;
    case 'vote-response':
      return `${head} ${m.preVote ? 'pre-vote' : 'vote'}-${m.granted ? 'granted' : 'rejected'} t${m.term}`;
    case 'timeout-now':
      return `${head} timeout-now t${m.term}`;
  }
}

export interface ScenarioBlock {
  /** 0-based line of the command. */
  readonly line: number;
  readonly command: string;
  readonly expected: string;
  /** Lines [start, end) hold the expected output. */
  readonly outputStart: number;
  readonly outputEnd: number;
}

export function parseScenario(text: string): ScenarioBlock[] {
  const lines = text.split('\n');
  const blocks: ScenarioBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (lines[i + 1]?.trim() !== '----') throw new Error(`line ${i + 1}: command "${line}" is not followed by ----`);
    let end = i + 2;
    while (end < lines.length && lines[end]!.trim() !== '') end++;
    blocks.push({ line: i, command: line, expected: lines.slice(i + 2, end).join('\n'), outputStart: i + 2, outputEnd: end });
    i = end;
  }
  return blocks;
}

export interface ScenarioRun {
  readonly results: Array<{ block: ScenarioBlock; actual: string }>;
  readonly violations: readonly string[];
}

export function runScenario(text: string, limits?: Partial<RaftLimits>): ScenarioRun {
  const cluster = new ScenarioCluster(limits);
  const results = parseScenario(text).map((block) => ({ block, actual: cluster.run(block.command) }));
  return { results, violations: cluster.checker.violations };
}

/** The scenario text with every expected output replaced by the actual one (golden-file rewrite). */
export function rewriteScenario(text: string, run: ScenarioRun): string {
  const lines = text.split('\n');
  for (const { block, actual } of [...run.results].reverse()) {
    lines.splice(block.outputStart, block.outputEnd - block.outputStart, ...actual.split('\n'));
  }
  return lines.join('\n');
}
