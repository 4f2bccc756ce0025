// Every bound of the consensus core, in one place, with its unit in its name (TIGER_STYLE). Time is
// counted in ticks: the driver decides how long a tick is (the enclave: one host timer period).
// These are defaults; a node may be created with some of them overridden (tests shrink them).

export interface RaftLimits {
  /** A follower that heard nothing from a leader for this long (plus a random part) starts a pre-vote. */
  readonly electionTimeoutTicks: number;
  /** The leader sends an AppendEntries (possibly empty) to every follower at this interval. */
  readonly heartbeatIntervalTicks: number;
  /** A follower whose acknowledgements stopped advancing for this long gets its unacknowledged entries again. */
  readonly appendRetryTicks: number;
  /** Entries in one AppendEntries message (etcd: MaxSizePerMsg counts bytes; this counts entries). */
  readonly entriesPerAppendMax: number;
  /** Bytes of entry data in one AppendEntries message (a single larger entry is still sent alone). */
  readonly bytesPerAppendMax: number;
  /** AppendEntries messages sent to one follower and not yet acknowledged (pipelining depth). */
  readonly inflightAppendsMax: number;
  /** Entries the leader holds beyond its commit index before proposals are refused (back-pressure). */
  readonly uncommittedEntriesMax: number;
  /** Entries accepted in one propose() call. */
  readonly entriesPerProposeMax: number;
  /** Committed entries handed to the driver in one Ready; the rest come in the following ones. */
  readonly committedEntriesPerReadyMax: number;
  /** Entries accepted in one incoming AppendEntries (a peer's limit may differ from ours; this bounds work). */
  readonly entriesPerIncomingAppendMax: number;
  /** Voters in one configuration. */
  readonly votersPerConfigurationMax: number;
  /** Length of a node id, in characters. */
  readonly nodeIdLengthMax: number;
}

export const defaultRaftLimits: RaftLimits = {
  electionTimeoutTicks: 10,
  heartbeatIntervalTicks: 1,
  appendRetryTicks: 5,
  // 512 × 8 in flight: a loaded primary answers acknowledgements only once per event-loop iteration
  // (~100 ms under 128 clients), and 64 × 4 capped replication at ~2,000 entries/s (bench/README.md).
  entriesPerAppendMax: 512,
  bytesPerAppendMax: 1024 * 1024,
  inflightAppendsMax: 8,
  uncommittedEntriesMax: 10_000,
  entriesPerProposeMax: 1_000,
  committedEntriesPerReadyMax: 1_000,
  entriesPerIncomingAppendMax: 10_000,
  votersPerConfigurationMax: 64,
  nodeIdLengthMax: 256,
};

/** Merges overrides into the defaults and checks the result; a bad limit is a programmer error. */
export function resolveLimits(overrides: Partial<RaftLimits> = {}): RaftLimits {
  const limits: RaftLimits = { ...defaultRaftLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`raft limits: ${name} must be a positive integer, got ${value}`);
  }
  if (limits.heartbeatIntervalTicks >= limits.electionTimeoutTicks) {
    throw new Error('raft limits: heartbeatIntervalTicks must be below electionTimeoutTicks');
  }
  return limits;
}
