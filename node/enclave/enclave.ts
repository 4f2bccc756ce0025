// The enclave: the node's trusted state machine. It owns the keys, the ledger secret, the KV store, the
// Merkle tree and the consensus seam. Requests run here in KV transactions; each committed write set
// becomes a ledger entry (private domain encrypted), a Merkle leaf, and an append through consensus.
// Every `signatureTxCount` transactions or `signatureDelayMs` milliseconds it emits a signature
// transaction over the Merkle root: the only commit points (CCF's rule).

import type { HostPort, LedgerReadMessage, TlsIdentityMessage } from '../boundary.ts';
import { sha256, toHex } from '../crypto/hash.ts';
import { digestSigner, sharedNoncePool } from '../crypto/keys.ts';
import { certificateDerToPem, certificatePublicKeyDer, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { ProposeError, ReplicatedConsensus } from '../consensus/replicated.ts';
import type { Entry, HardState, Message, Role } from '../consensus/raft/types.ts';
import type { RaftLimits } from '../consensus/raft/limits.ts';
import { decodeFrame, encodeFrame } from '../consensus/wire.ts';
import { decodeEntry, encodeEntry, leafFromDigests, LedgerSecret, type DecodedEntry } from '../ledger/index.ts';
import type { RequestMessage, ResponseMessage } from '../boundary.ts';
import { equalBytes } from '../crypto/hash.ts';
import { EntryFlags } from '../ledger/index.ts';
import { Snapshotter, restoreFromSnapshotFile, serializeSnapshotInSteps, snapshotDigestInSteps, snapshotEvidenceWrite } from '../snapshot/index.ts';
import { Store, type Tx } from '../kv/index.ts';
import { MerkleTree } from '../merkle/tree.ts';
import { limits } from '../limits.ts';
import { RpcError } from '../errors.ts';
import { coseReceipt, coseSigner, signRoot, type CoseSigner } from './cose.ts';
import { jsonReceipt, TransactionHistory, type JsonReceipt } from './history.ts';
import { Tables, UNIT_KEY, fromUtf8, jsonBytes, parseJsonBytes, utf8, type NodeInfo, type SignatureRecord } from './tables.ts';
import { seal, unseal, type EnclaveSecrets } from './sealing.ts';
import { createSecrets, genesisTransaction, type GenesisConfig, type NodeAddresses } from './genesis.ts';
import { replayLedger } from './replay.ts';
import { LedgerSecretChain, attachRecoverySession, endorsePreviousIdentity, ledgerSecretOf, recoveryTransaction, replayPublicLedger, type LedgerSecretRange } from './recovery.ts';
import { Metrics } from './metrics.ts';

const ZERO_DIGEST = new Uint8Array(32);

export type TxStatus = 'Unknown' | 'Pending' | 'Committed' | 'Invalid';

export interface EnclaveOptions {
  signatureTxCount: number;
  signatureDelayMs: number;
  /** Length of one consensus tick (election timeouts and heartbeats are counted in ticks). Default 50. */
  consensusTickMs?: number;
  /** Overrides of the consensus core's limits (tests shrink timeouts). */
  raftLimits?: Partial<RaftLimits>;
  /** Committed entries consensus keeps in memory with their bytes (default IN_MEMORY_COMMITTED_ENTRIES). */
  inMemoryCommittedEntries?: number;
  /** The primary snapshots the store at the first signature this many transactions after the last one (CCF: 10,000). 0: never. */
  snapshotTxInterval?: number;
}

export const SNAPSHOT_TX_INTERVAL_DEFAULT = 10_000;

/** Default consensus tick: heartbeats every 50 ms, elections after 0.5–1 s of silence. */
export const CONSENSUS_TICK_MS_DEFAULT = 50;

/** How long a backup waits for the primary's answer to a forwarded request. */
const FORWARD_TIMEOUT_MS = 10_000;

/** Thrown inside a transaction on a backup when a request that may be forwarded tries to write. */
export class WriteOnBackup extends Error {
  constructor() {
    super('write on a backup');
  }
}

export interface EnclaveInit {
  host: HostPort;
  options: EnclaveOptions;
  /** Platform sealing key (virtual platform: from a file; SEV-SNP: derived by the secure processor). */
  sealingKey: Uint8Array;
  /** The sealed secrets the host stored, if this node has run before. */
  sealed?: Uint8Array;
  ledger: LedgerReadMessage;
  /** Only for a new service: who its first members and users are. */
  genesis?: GenesisConfig;
  /** A node that joined: the service's secrets, received from the primary after it was trusted. */
  joined?: EnclaveSecrets;
  /** A node that joined: the service's nodes (id → node-to-node address) as the primary listed them. */
  joinPeers?: ReadonlyMap<string, string>;
  addresses: NodeAddresses;
  /** The consensus hard state (term, vote) the host kept, if any (hostile input: validated). */
  consensusState?: Uint8Array;
  /**
   * A committed snapshot file (CCF format, with its evidence receipt) the ledger continues from: a node
   * that joined from a snapshot keeps ledger entries only after it. Hostile input: verified against the
   * service certificate before use.
   */
  snapshot?: Uint8Array;
  /**
   * Attestation of this node's key for the genesis record (platform-specific; the key is created here,
   * so the evidence can only be produced once it exists). Default: virtual (insecure) evidence.
   */
  produceEvidence?: (nodePublicKeyDer: Uint8Array) => Promise<NonNullable<GenesisConfig['nodeEvidence']>>;
}

export interface TxOutcome<T> {
  value: T;
  /** Set when the transaction wrote something: its TxID `view.seqno`. */
  txid?: string;
  seqno?: number;
}

interface ReplayedState {
  store: Store;
  tree: MerkleTree;
  history: TransactionHistory;
}

export class Enclave {
  readonly store: Store;
  readonly tree: MerkleTree;
  readonly history: TransactionHistory;
  readonly metrics = new Metrics();
  readonly nodeId: string;
  private readonly ledgerSecret: LedgerSecret;
  private readonly cose: CoseSigner;
  private readonly signRootDigest: (digest: Uint8Array) => Uint8Array;
  private readonly tickMs: number;
  private unsignedCount = 0;
  private unsignedSinceMs: number | undefined;
  private nowMs = 0;
  private lastTickMs: number | undefined;
  private durableSeqno = 0;
  private readonly commitWaiters: Array<{ seqno: number; resolve: () => void }> = [];
  private readonly writeListeners: Array<(maps: readonly { name: string }[]) => void> = [];
  private readonly roleListeners: Array<(role: Role, view: number) => void> = [];
  /** Voting nodes (status Trusted) as the store holds them, sorted: consensus's configuration. */
  private trusted: string[] = [];
  /** Entries of incoming AppendEntries, decoded once when the message arrives. */
  private readonly decoded = new WeakMap<Uint8Array, DecodedEntry>();
  private forwardHandler: ((request: RequestMessage) => ResponseMessage | Promise<ResponseMessage>) | undefined;
  private nextForwardId = 1;
  private readonly forwards = new Map<number, {
    primary: string; resolve: (r: ResponseMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout;
  }>();
  /** The primary as last seen by failForwardsToFormerPrimary. */
  private knownPrimary: string | undefined;
  private signaturePending = false;
  private readonly snapshotter: Snapshotter | undefined;
  /** A snapshot is being made (takeSnapshot); no other starts until it is done. */
  private snapshotInFlight = false;
  /** Peers known before this node's store lists any node (a joiner: from the join answer). */
  private bootstrapPeers: ReadonlyMap<string, string> = new Map();

  private constructor(
    private readonly secrets: EnclaveSecrets,
    private readonly host: HostPort,
    private readonly options: EnclaveOptions,
    state: ReplayedState,
    consensusState: { entries: Entry[]; hardState: HardState; commitSeqno: number },
  ) {
    this.store = state.store;
    this.tree = state.tree;
    this.history = state.history;
    this.nodeId = nodeIdFromPublicKeyDer(secrets.nodeKey.publicKeyDer);
    this.ledgerSecret = ledgerSecretOf(secrets);
    // Both root signatures take their nonces from a worker thread (node/crypto/nonces.ts).
    this.signRootDigest = digestSigner(secrets.nodeKey.privateKeyPem, { nonces: sharedNoncePool(secrets.nodeKey.curve) });
    this.cose = coseSigner(secrets.serviceKey.privateKeyPem, secrets.serviceKey.publicKeyDer, secrets.serviceKey.curve, sharedNoncePool(secrets.serviceKey.curve));
    this.tickMs = options.consensusTickMs ?? CONSENSUS_TICK_MS_DEFAULT;
    const interval = options.snapshotTxInterval ?? SNAPSHOT_TX_INTERVAL_DEFAULT;
    if (interval > 0) this.snapshotter = new Snapshotter(interval, 0);
    this.trusted = this.trustedNodes();
    this.durableSeqno = consensusState.entries.length;
    this.consensusImpl = this.createConsensus(consensusState.entries, consensusState.hardState, consensusState.commitSeqno);
    this.announcePeers();
    this.onMapsWritten((maps) => {
      if (maps.some((m) => m.name === Tables.govTriggers)) this.onGovernanceTrigger();
    });
  }

  /**
   * Starts the enclave. Its secrets come unsealed from the blob the host kept (hostile input: the blob is
   * authenticated), or are created fresh for a new service and handed to the host only sealed. The ledger
   * is hostile input too: replay checks every entry (framing, GCM tag, commit evidence, Merkle root, node
   * signature) before any of it is trusted.
   */
  /**
   * Starts the enclave. Its secrets come unsealed from the blob the host kept (hostile input: the blob is
   * authenticated), are created fresh for a new service, or arrive from the primary for a node that
   * joined; they reach the host only sealed. The ledger is hostile input too: replay checks every entry
   * (framing, GCM tag, commit evidence, Merkle roots, signatures) before any of it is trusted, and the
   * consensus log is rebuilt from what replay accepted.
   */
  static async start(init: EnclaveInit): Promise<Enclave> {
    const { host, ledger } = init;
    let secrets: EnclaveSecrets;
    let genesis: ((tx: Tx) => void) | undefined;
    if (init.sealed) {
      secrets = unseal(init.sealed, init.sealingKey);
      // Sealed, but the genesis transaction never reached the disk (a crash in between): create it again.
      if (ledger.entries.length === 0 && init.genesis && !secrets.joined) genesis = genesisTransaction(await withEvidence(init, secrets), secrets, init.addresses);
    } else if (init.joined) {
      if (ledger.entries.length > 0) throw new Error('the data folder holds a ledger but no sealed secrets: use an empty folder to join');
      secrets = { ...init.joined, joined: true };
      await host.sealedWrite(seal(secrets, init.sealingKey));
    } else {
      if (ledger.entries.length > 0) {
        throw new Error('the data folder holds a ledger but no sealed secrets: this node cannot decrypt it. ' +
          'Restore the sealed secrets, or recover the service with the members\' recovery shares.');
      }
      if (!init.genesis) throw new Error('the data folder is empty and no genesis configuration was given');
      secrets = await createSecrets(init.addresses);
      await host.sealedWrite(seal(secrets, init.sealingKey));
      genesis = genesisTransaction(await withEvidence(init, secrets), secrets, init.addresses);
    }
    const nodeId = nodeIdFromPublicKeyDer(secrets.nodeKey.publicKeyDer);
    const secret = ledgerSecretOf(secrets);
    let store = new Store();
    let tree = new MerkleTree();
    const history = new TransactionHistory();
    const entries: Entry[] = [];
    let voters: string[] = [];
    let base: { seqno: number; view: number } | undefined;
    if (init.snapshot) {
      const restored = restoreFromSnapshotFile(init.snapshot, secrets.serviceCertPem, secret);
      store = restored.store;
      tree = restored.tree;
      base = { seqno: restored.seqno, view: restored.view };
      history.startAfter(restored.seqno, restored.signatureInfo);
      voters = trustedNodesOf(store);
      // The consensus log before the snapshot: positions and views only (the entries themselves are not
      // here; everything up to the snapshot is committed, and only the configuration at it matters).
      const placeholder = new Uint8Array(0);
      let k = 0;
      for (let index = 1; index <= restored.seqno; index++) {
        while (k + 1 < restored.views.length && restored.views[k + 1]!.startSeqno <= index) k++;
        const last = index === restored.seqno;
        entries.push({
          term: restored.views[k]?.view ?? restored.view, index, isSignature: last, data: placeholder,
          ...(last ? { configuration: voters } : {}),
        });
      }
      host.log('info', `starting from the snapshot at seqno ${restored.seqno} (view ${restored.view}), evidence at ${restored.evidence.evidenceSeqno}`);
    }
    const replayed = replayLedger(ledger, {
      secret, store, tree, history, nodeId, log: host.log.bind(host), ...(base ? { base } : {}),
      onEntry: (entry, bytes, isSignature) => {
        let configuration: string[] | undefined;
        if (entry.maps.some((m) => m.name === Tables.nodesInfo)) {
          const now = trustedNodesOf(store);
          if (!sameList(now, voters)) configuration = voters = now;
        }
        entries.push({ term: entry.view, index: entry.seqno, isSignature, data: bytes, ...(configuration ? { configuration } : {}) });
      },
    });
    if (replayed.truncateTo !== undefined) {
      host.log('warn', `ledger: cutting ${replayed.droppedEntries} uncommitted entr${replayed.droppedEntries === 1 ? 'y' : 'ies'} ` +
        `after seqno ${replayed.truncateTo}, the last good entry: ${replayed.reason}`);
      await host.ledgerTruncate(replayed.truncateTo);
    }
    const lastSeqno = replayed.lastSeqno;
    const hardState = parseHardState(init.consensusState, replayed.lastView, host);
    const enclave = new Enclave(secrets, host, init.options, { store, tree, history }, {
      entries, hardState, commitSeqno: Math.max(replayed.commitSeqno, base?.seqno ?? 0),
    });
    if (init.joinPeers) {
      enclave.bootstrapPeers = init.joinPeers;
      enclave.announcePeers();
    }
    if (lastSeqno === 0 && genesis) {
      enclave.bootstrapGenesis(genesis);
      host.log('info', `service created by node ${nodeId}`);
    } else if (lastSeqno === 0 && !secrets.joined) {
      throw new Error('the ledger is empty but this node\'s secrets are sealed: its genesis was lost');
    } else if (lastSeqno > 0 && init.joined) {
      host.log('info', `node ${nodeId} joined from a snapshot at seqno ${lastSeqno}; catching up from the primary`);
    } else if (lastSeqno > 0) {
      host.log('info', `restarted from ledger at seqno ${lastSeqno} (view ${replayed.lastView}, committed ${replayed.commitSeqno})`);
    } else {
      host.log('info', `node ${nodeId} joined; catching up from the primary`);
    }
    enclave.campaignIfAlone();
    return enclave;
  }

  tlsIdentity(): TlsIdentityMessage {
    return {
      nodeCertPem: this.secrets.nodeCertPem,
      nodeKeyPem: this.secrets.nodeKey.privateKeyPem,
      serviceCertPem: this.secrets.serviceCertPem,
    };
  }

  get serviceCertPem(): string {
    return this.secrets.serviceCertPem;
  }

  get nodeCertPem(): string {
    return this.secrets.nodeCertPem;
  }

  get consensus(): ReplicatedConsensus {
    return this.consensusImpl;
  }

  /**
   * The service's secrets for a node being admitted (join response). Only ever sent over TLS terminated
   * inside the TEE on both ends, to a node whose key is bound to an attestation the service accepted.
   */
  secretsForJoiner(endorsedCertPem: string): Omit<EnclaveSecrets, 'nodeKey'> & { nodeKey?: undefined } {
    return {
      nodeCertPem: endorsedCertPem,
      serviceKey: this.secrets.serviceKey,
      serviceCertPem: this.secrets.serviceCertPem,
      ledgerSecret: this.secrets.ledgerSecret,
    };
  }

  /** The newest committed snapshot file the host keeps (for a joiner to start from), if any. */
  latestSnapshot(): Promise<Uint8Array | undefined> {
    return this.host.snapshotLatest?.() ?? Promise.resolve(undefined);
  }

  /** Signs a joiner's public key into a node certificate endorsed by the service key. */
  serviceKeyPair(): EnclaveSecrets['serviceKey'] {
    return this.secrets.serviceKey;
  }

  isPrimary(): boolean {
    return this.bootstrapping !== undefined || this.consensus.isPrimary();
  }

  /**
   * Runs `body` in a KV transaction with optimistic concurrency: on a conflict the body runs again, up to
   * `transactionRetriesMax` times, then the request fails with 503. `keep` decides from the body's result
   * whether its writes apply (CCF applies writes only for 2xx responses). On a backup a body that writes
   * throws WriteOnBackup (the frontend forwards the request to the primary instead).
   */
  execute<T>(body: (tx: Tx) => T, keep: (value: T) => boolean = () => true, claimsDigest?: () => Uint8Array | undefined): TxOutcome<T> {
    if (this.history.lastSeqno - this.durableSeqno > limits.ledgerPendingEntriesMax) throw new RpcError('Backpressure');
    if (this.bootstrapping === undefined && this.consensus.isPrimary()) {
      if (this.consensus.needsSignature) this.emitSignature();
      if (this.consensus.uncommittedCount() >= limits.ledgerPendingEntriesMax) throw new RpcError('Backpressure');
    }
    for (let attempt = 0; attempt <= limits.transactionRetriesMax; attempt++) {
      const tx = this.store.begin();
      const value = body(tx);
      if (!keep(value)) return { value };
      if (!this.isPrimary()) {
        if (tx.hasWrites()) throw new WriteOnBackup();
        return { value };
      }
      const result = this.store.commit(tx);
      if (!result.ok) {
        this.metrics.conflicts++;
        continue;
      }
      if (result.seqno === undefined) return { value };
      const view = this.proposalView();
      this.appendEntry(result.seqno, view, result.maps, result.maxConflictVersion, claimsDigest?.() ?? ZERO_DIGEST, false);
      this.afterAppend();
      for (const listener of this.writeListeners) listener(result.maps);
      return { value, txid: `${view}.${result.seqno}`, seqno: result.seqno };
    }
    throw new RpcError('TransactionConflict');
  }

  /** Calls `listener` with the maps written by every transaction this node applies (its own or replicated). */
  onMapsWritten(listener: (maps: readonly { name: string }[]) => void): void {
    this.writeListeners.push(listener);
  }

  /** Calls `listener` when this node's consensus role changes. */
  onRoleChanged(listener: (role: Role, view: number) => void): void;
  onRoleChanged(role: Role, term: number): void;
  onRoleChanged(a: Role | ((role: Role, view: number) => void), term?: number): void {
    if (typeof a === 'function') {
      this.roleListeners.push(a);
      return;
    }
    this.host.log('info', `consensus: ${a} in view ${term}`);
    if (a === 'leader') {
      // A new primary signs at once (CCF): until it does it can commit nothing. Not from inside the core.
      this.unsignedCount = 0;
      this.unsignedSinceMs = undefined;
      this.scheduleSignature();
    }
    for (const listener of this.roleListeners) listener(a, term ?? 0);
  }

  /** Host → enclave: time advanced (untrusted; only liveness depends on it). */
  tick(nowMs: number): void {
    if (!Number.isFinite(nowMs)) return;
    this.nowMs = Math.max(this.nowMs, nowMs);
    if (this.lastTickMs === undefined) this.lastTickMs = this.nowMs;
    // At most one consensus tick per call. When the event loop lags (a loaded machine, a long request),
    // consensus time slows down with it: messages that arrived meanwhile are processed before the next
    // tick, so a busy leader does not step down (check-quorum) and a busy follower does not start an
    // election only because its own timers ran late while the peers' messages waited in its socket.
    if (this.nowMs - this.lastTickMs >= this.tickMs) {
      this.lastTickMs = this.nowMs - this.tickMs > this.lastTickMs ? this.nowMs : this.lastTickMs + this.tickMs;
      this.consensus.tick();
      this.failForwardsToFormerPrimary();
    }
    if (!this.consensus.isPrimary()) return;
    if (this.consensus.needsSignature) {
      this.emitSignature();
      return;
    }
    if (this.unsignedSinceMs === undefined) this.unsignedSinceMs = this.unsignedCount > 0 ? this.nowMs : undefined;
    if (this.unsignedCount > 0 && this.unsignedSinceMs !== undefined && this.nowMs - this.unsignedSinceMs >= this.options.signatureDelayMs) {
      this.emitSignature();
    }
  }

  /** Host → enclave: the local ledger is durable up to `seqno`. */
  onLedgerDurable(seqno: number): void {
    if (!Number.isInteger(seqno) || seqno < 0) return;
    this.durableSeqno = Math.min(seqno, this.history.lastSeqno);
    this.consensus.onLocalDurable(seqno);
  }

  /** Host → enclave: a frame from a peer whose channel authenticated it as node `from` (content hostile). */
  onPeerFrame(from: string, bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      this.host.log('warn', `peer ${from.slice(0, 12)}: dropped a malformed frame (${(error as Error).message})`);
      return;
    }
    switch (frame.kind) {
      case 'raft': {
        const m = frame.message;
        if (m.from !== from || m.to !== this.nodeId) {
          this.host.log('warn', `peer ${from.slice(0, 12)}: dropped a message claiming to be from ${m.from.slice(0, 12)} to ${m.to.slice(0, 12)}`);
          return;
        }
        if (m.type === 'append' && !this.checkIncomingEntries(m.entries, from)) return;
        this.consensus.step(m);
        if (this.consensus.needsSignature && this.consensus.isPrimary()) this.scheduleSignature();
        this.failForwardsToFormerPrimary();
        return;
      }
      case 'forward':
        void this.serveForwarded(from, frame.id, frame.request);
        return;
      case 'forward-response': {
        const pending = this.forwards.get(frame.id);
        if (!pending) return;
        this.forwards.delete(frame.id);
        clearTimeout(pending.timer);
        pending.resolve(frame.response);
        return;
      }
    }
  }

  /** Whether a peer certificate (DER) belongs to a node this one exchanges consensus traffic with. */
  authorizePeer(certDer: Uint8Array): string | undefined {
    let nodeId: string;
    try {
      nodeId = nodeIdFromPublicKeyDer(certificatePublicKeyDer(certificateDerToPem(certDer)));
    } catch {
      return undefined;
    }
    if (nodeId === this.nodeId) return undefined;
    const known = this.nodeInfos();
    // A node that joined and holds no state yet accepts any node the service endorsed (TLS checked
    // that); it learns the membership from the primary's first entries.
    if (known.size === 0) return nodeId;
    const info = known.get(nodeId);
    return info && (info.status === 'Trusted' || info.status === 'Retired') ? nodeId : undefined;
  }

  /** The frontend that serves requests forwarded by backups (set once by the node's wiring). */
  setForwardHandler(handler: (request: RequestMessage) => ResponseMessage | Promise<ResponseMessage>): void {
    this.forwardHandler = handler;
  }

  /**
   * Requests forwarded to a node that is no longer the primary (it died, or lost an election) will get
   * no answer: fail them now with ForwardingFailed (503, retry) instead of at the forwarding timeout. The
   * client cannot tell whether such a request ran, exactly as after a timeout; it retries.
   */
  private failForwardsToFormerPrimary(): void {
    const primary = this.consensus.primaryId();
    if (primary === this.knownPrimary) return;
    this.knownPrimary = primary;
    for (const [id, pending] of this.forwards) {
      if (pending.primary === primary) continue;
      this.forwards.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new RpcError('ForwardingFailed',
        `The primary ${pending.primary.slice(0, 12)}… lost its office while the request was forwarded to it; it may or may not have run.`));
    }
  }

  /** Backup → primary: runs a client request on the primary and returns its response. */
  forward(request: RequestMessage): Promise<ResponseMessage> {
    const primary = this.consensus.primaryId();
    if (primary === undefined || primary === this.nodeId) return Promise.reject(new RpcError('PrimaryUnknown'));
    const id = this.nextForwardId++;
    return new Promise<ResponseMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.forwards.delete(id);
        reject(new RpcError('ForwardingFailed', `The primary ${primary.slice(0, 12)}… did not answer within ${FORWARD_TIMEOUT_MS / 1000} s.`));
      }, FORWARD_TIMEOUT_MS);
      timer.unref?.();
      this.forwards.set(id, { primary, resolve, reject, timer });
      if (!this.sendFrame(primary, { kind: 'forward', id, request })) {
        clearTimeout(timer);
        this.forwards.delete(id);
        reject(new RpcError('ForwardingFailed', `No connection to the primary ${primary.slice(0, 12)}… right now.`));
      }
    });
  }

  txStatus(view: number, seqno: number): TxStatus {
    const actualView = this.consensus.viewOf(seqno);
    if (actualView === undefined) {
      return view < this.consensus.view && seqno <= this.history.lastSeqno ? 'Invalid' : 'Unknown';
    }
    if (actualView !== view) return 'Invalid';
    return seqno <= this.consensus.commitSeqno ? 'Committed' : 'Pending';
  }

  /** Resolves once `seqno` is committed (used by tests and the benchmark through /app/tx polling). */
  waitForCommit(seqno: number): Promise<void> {
    if (seqno <= this.consensus.commitSeqno) return Promise.resolve();
    return new Promise((resolve) => this.commitWaiters.push({ seqno, resolve }));
  }

  receipt(view: number, seqno: number): JsonReceipt {
    this.requireCommitted(view, seqno);
    const receipt = jsonReceipt(seqno, this.history, this.tree, this.ledgerSecret.commitEvidence(view, seqno));
    if (!receipt) throw new RpcError('TransactionPendingOrUnknown');
    return receipt;
  }

  coseReceipt(view: number, seqno: number): Uint8Array {
    this.requireCommitted(view, seqno);
    const covering = this.history.coveringSignature(seqno);
    if (!covering?.coseSignature || this.history.signatureAt(seqno)) {
      throw new RpcError('ResourceNotFound', 'COSE receipts are available for application transactions only');
    }
    return coseReceipt(covering.coseSignature, {
      writeSetDigest: this.history.writeSetDigest(seqno),
      commitEvidence: this.ledgerSecret.commitEvidence(view, seqno),
      claimsDigest: this.history.claimsDigest(seqno),
    }, this.tree.proof(seqno, covering.seqno));
  }

  /**
   * Decodes one of this ledger's entries with the ledger secret (GCM tag checked, private domain
   * decrypted), for historical queries; the secret itself stays here. Callers check the bytes against
   * the recorded write-set digest first: they come back from the host.
   */
  decodeLedgerEntry(bytes: Uint8Array): DecodedEntry {
    return decodeEntry(bytes, this.ledgerSecret);
  }

  get lastSeqno(): number {
    return this.history.lastSeqno;
  }

  get durable(): number {
    return this.durableSeqno;
  }

  private requireCommitted(view: number, seqno: number): void {
    if (seqno < this.history.firstSeqno) {
      throw new RpcError('ResourceNotFound', `This node started from a snapshot at seqno ${this.history.firstSeqno - 1} and holds no receipt for earlier transactions; ask another node.`);
    }
    const status = this.txStatus(view, seqno);
    if (status === 'Invalid') throw new RpcError('TransactionInvalid');
    if (status !== 'Committed') throw new RpcError('TransactionPendingOrUnknown');
  }

  private appendEntry(
    seqno: number,
    view: number,
    maps: Parameters<typeof encodeEntry>[0]['maps'],
    maxConflictVersion: number,
    claimsDigest: Uint8Array,
    isSignature: boolean,
    flags = 0,
  ): void {
    const commitEvidenceDigest = this.ledgerSecret.commitEvidenceDigest(view, seqno);
    const bytes = encodeEntry({ seqno, view, claimsDigest, commitEvidenceDigest, maxConflictVersion, maps }, this.ledgerSecret, flags ? { flags } : {});
    const writeSetDigest = sha256(bytes);
    this.tree.append(leafFromDigests(writeSetDigest, commitEvidenceDigest, claimsDigest));
    this.history.record(seqno, writeSetDigest, claimsDigest);
    let configuration: string[] | undefined;
    if (maps.some((m) => m.name === Tables.nodesInfo)) {
      const now = this.trustedNodes();
      if (!sameList(now, this.trusted)) configuration = this.trusted = now;
      this.announcePeers();
    }
    if (this.bootstrapping !== undefined) {
      this.bootstrapping.push({ term: view, index: seqno, isSignature, data: bytes, ...(configuration ? { configuration } : {}) });
    } else {
      try {
        this.consensus.replicate([{ seqno, view, bytes, isSignature }], configuration);
      } catch (error) {
        // Consensus refused (no longer primary, back-pressure): undo what this transaction did here.
        this.rollbackTo(seqno - 1);
        if (error instanceof ProposeError) {
          throw new RpcError(error.reason === 'too-many-uncommitted' ? 'Backpressure' : 'PrimaryUnknown', error.message);
        }
        throw error;
      }
    }
    this.metrics.transactions++;
    this.metrics.ledgerBytes += bytes.length;
  }

  private afterAppend(): void {
    this.unsignedCount++;
    if (this.unsignedSinceMs === undefined) {
      this.unsignedSinceMs = this.nowMs;
      // The signature is due signatureDelayMs from now: ask for that tick rather than tick often.
      this.host.tickAfter?.(this.options.signatureDelayMs);
    }
    if (this.unsignedCount >= this.options.signatureTxCount) this.emitSignature();
  }

  /** Signs the root over leaves 0..s-1 as the transaction at seqno s (CCF's signature transaction). */
  emitSignature(): void {
    if (!this.isPrimary()) return;
    const seqno = this.store.version + 1;
    const view = this.proposalView();
    if (this.tree.size !== seqno) throw new Error(`signature: tree has ${this.tree.size} leaves, expected ${seqno}`);
    const root = this.tree.root();
    const signature = this.signRootDigest(root);
    const coseSignature = signRoot(this.cose, root, `${view}.${seqno}`, Math.floor(this.nowMs / 1000));
    const commitSeqno = this.bootstrapping !== undefined ? 0 : this.consensus.commitSeqno;
    const record: SignatureRecord = {
      commit_seqno: commitSeqno,
      commit_view: this.bootstrapping !== undefined ? 0 : this.consensus.viewOf(commitSeqno) ?? 0,
      node: this.nodeId,
      root: toHex(root),
      seqno,
      sig: Buffer.from(signature).toString('base64'),
      view,
      cert: this.secrets.nodeCertPem,
    };
    const tx = this.store.begin();
    tx.map(Tables.signatures).set(UNIT_KEY, jsonBytes(record));
    // CCF stores the COSE_Sign1 as a JSON string of its base64.
    tx.map(Tables.coseSignatures).set(UNIT_KEY, jsonBytes(Buffer.from(coseSignature).toString('base64')));
    const result = this.store.commit(tx);
    if (!result.ok || result.seqno !== seqno) throw new Error('signature transaction could not commit');
    this.history.recordSignature({
      seqno, view, root, signature, nodeId: this.nodeId, nodeCertPem: this.secrets.nodeCertPem, coseSignature,
    });
    // CCF: a signature a snapshot is taken at ends a ledger chunk.
    const snapshotDue = this.bootstrapping === undefined && !this.snapshotInFlight && this.snapshotter?.dueAt(seqno) === true;
    this.appendEntry(seqno, view, result.maps, result.maxConflictVersion, ZERO_DIGEST, true, snapshotDue ? EntryFlags.ForceLedgerChunkAfter : 0);
    this.unsignedCount = 0;
    this.unsignedSinceMs = undefined;
    this.metrics.signatures++;
    if (snapshotDue) this.takeSnapshot(seqno, view);
  }

  /**
   * The store right after the signature at `seqno`, as a CCF snapshot entry (private maps encrypted),
   * and a transaction recording its digest as evidence (the digest is that transaction's claims, so its
   * receipt proves the snapshot). The host keeps the entry; it becomes a `.committed` file with that
   * receipt once the evidence commits.
   *
   * The state is captured now; the encoding, encryption and hashing (~3 µs per key) go on in steps
   * between other work (serializeSnapshotInSteps), as CCF makes snapshots asynchronously: done in one
   * piece, a store of a few hundred thousand keys held the primary for an election timeout. The
   * evidence is written when the entry is ready, if this node is still primary of the view that signed
   * `seqno` (otherwise the snapshot is dropped; the next one comes at the next interval).
   */
  private takeSnapshot(seqno: number, view: number): void {
    const started = performance.now();
    const views = this.consensus.viewStartsUpTo(seqno);
    this.snapshotInFlight = true;
    const making = serializeSnapshotInSteps({ store: this.store, seqno, view, tree: this.tree, secret: this.ledgerSecret, views });
    void making
      .then(async (entry) => {
        const digest = await snapshotDigestInSteps(entry);
        if (!this.consensus.isPrimary() || this.consensus.viewOf(seqno) !== view) {
          this.host.log('info', `snapshot at ${seqno} dropped: this node is no longer primary of view ${view}`);
          return;
        }
        const outcome = this.execute((tx) => snapshotEvidenceWrite(tx, entry, seqno, digest), undefined, () => digest);
        this.snapshotter!.recordEvidence(seqno, outcome.seqno!);
        this.metrics.snapshots++;
        this.host.log('info', `snapshot at ${seqno}: ${entry.byteLength} bytes, made in ${(performance.now() - started).toFixed(0)} ms, evidence at ${outcome.seqno}`);
        this.host.snapshotWritePending?.(seqno, entry, outcome.seqno!).catch((error: Error) => this.host.log('warn', `snapshot at ${seqno}: ${error.message}`));
      })
      .catch((error: Error) => this.host.log('warn', `snapshot at ${seqno} failed: ${error.message}`))
      .finally(() => {
        this.snapshotInFlight = false;
      });
  }

  private onCommitAdvanced(seqno: number): void {
    this.store.compact(Math.min(seqno, this.store.version));
    this.host.ledgerCommit(seqno);
    for (const done of this.snapshotter?.committedUpTo(seqno) ?? []) {
      try {
        const receipt = this.receipt(this.consensus.viewOf(done.evidenceSeqno)!, done.evidenceSeqno);
        this.host.snapshotCommit?.(done.seqno, done.evidenceSeqno, JSON.stringify(receipt));
      } catch (error) {
        this.host.log('warn', `snapshot at ${done.seqno}: no receipt for its evidence (${(error as Error).message})`);
      }
    }
    this.metrics.commitSeqno = seqno;
    let kept = 0;
    for (const waiter of this.commitWaiters) {
      if (waiter.seqno <= seqno) waiter.resolve();
      else this.commitWaiters[kept++] = waiter;
    }
    this.commitWaiters.length = kept;
  }

  // ---- consensus plumbing ----------------------------------------------------------------------------

  /** Entries built while creating the service, before consensus exists (view 1). */
  private bootstrapping: Entry[] | undefined;
  /** The view of bootstrapped entries: 1 at genesis, the previous service's last view + 1 in recovery. */
  private bootstrapView = 1;
  private consensusImpl!: ReplicatedConsensus;

  /**
   * A committed entry's bytes read back from the ledger files, for a backup being caught up (consensus
   * keeps only recent entries in memory). The host's bytes are trusted only once their SHA-256 is the
   * write-set digest this node recorded for `seqno` (the digest its Merkle leaf commits to).
   */
  private async readCommittedEntry(seqno: number): Promise<Uint8Array> {
    if (seqno < this.history.firstSeqno) throw new Error(`entry ${seqno} is before this node's history (it started from a snapshot)`);
    const bytes = await this.host.ledgerRead!(seqno);
    if (bytes === undefined) throw new Error(`the ledger has no committed entry ${seqno}`);
    if (!equalBytes(sha256(bytes), this.history.writeSetDigest(seqno))) {
      throw new Error(`ledger entry ${seqno} read back from disk does not match its recorded digest`);
    }
    return bytes;
  }

  /** The genesis transaction and its signature (seqnos 1 and 2, view 1), then consensus over them. */
  private bootstrapGenesis(genesis: (tx: Tx) => void): void {
    this.bootstrapping = [];
    this.execute((tx) => genesis(tx));
    this.emitSignature();
    const entries = this.bootstrapping;
    this.bootstrapping = undefined;
    for (const e of entries) this.host.ledgerAppend(e.index, e.data, e.isSignature);
    this.host.ledgerFlush();
    // The two entries count as the durable log from here: if the node crashes before they reach the
    // disk, it recreates them from its sealed secrets and the genesis configuration, and nothing was
    // committed in between (the first commit is the signature consensus adds in view 2, after fsync).
    this.consensusImpl = this.createConsensus(entries, { term: 1, votedFor: undefined }, 0);
  }

  private createConsensus(entries: Entry[], hardState: HardState, commitSeqno: number): ReplicatedConsensus {
    const consensus = new ReplicatedConsensus({
      nodeId: this.nodeId,
      entries,
      hardState,
      commitIndex: commitSeqno,
      seed: Number.parseInt(this.nodeId.slice(0, 8), 16) ^ (Date.now() & 0x7fffffff),
      ...(this.options.raftLimits ? { limits: this.options.raftLimits } : {}),
      ...(this.options.inMemoryCommittedEntries !== undefined ? { inMemoryCommittedEntries: this.options.inMemoryCommittedEntries } : {}),
      hooks: {
        append: (e) => this.host.ledgerAppend(e.index, e.data, e.isSignature),
        ...(this.host.ledgerRead ? { readEntry: (seqno: number) => this.readCommittedEntry(seqno) } : {}),
        truncate: (seqno) => this.host.ledgerTruncate(seqno),
        flush: () => this.host.ledgerFlush(),
        writeHardState: (hs) => this.host.consensusStateWrite?.(jsonBytes({ term: hs.term, votedFor: hs.votedFor ?? null })) ?? Promise.resolve(),
        send: (message) => {
          this.sendFrame(message.to, { kind: 'raft', message });
        },
        appended: (appended) => this.applyReplicated(appended),
        truncated: (seqno) => this.rollbackTo(seqno),
        roleChanged: (role, term) => this.onRoleChanged(role, term),
        log: (level, message) => this.host.log(level, message),
        fatal: (message) => this.fatal(message),
      },
    });
    consensus.onCommit((seqno) => this.onCommitAdvanced(seqno));
    return consensus;
  }

  /** A node that is the only voter elects itself at once instead of waiting for a timeout. */
  private campaignIfAlone(): void {
    const configs = this.consensus.configurations();
    const latest = configs[configs.length - 1];
    if (configs.length === 1 && latest && latest.voters.length === 1 && latest.voters[0] === this.nodeId) {
      this.consensus.campaign();
      if (this.consensus.needsSignature) this.emitSignature();
    }
  }

  private proposalView(): number {
    return this.bootstrapping !== undefined ? this.bootstrapView : this.consensus.view;
  }

  private scheduleSignature(): void {
    if (this.signaturePending) return;
    this.signaturePending = true;
    queueMicrotask(() => {
      this.signaturePending = false;
      if (this.consensus.isPrimary() && this.consensus.needsSignature) this.emitSignature();
    });
  }

  /**
   * Backup: entries the primary replicated were appended to the consensus log; apply them to the store,
   * the Merkle tree and the history. They were decoded and authenticated when the message arrived
   * (checkIncomingEntries); here each is also checked against the state it extends: a signature must
   * sign the root of everything before it, and a change of the voting nodes must be what the entry says.
   */
  private applyReplicated(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.store.version) continue; // this node's own proposal, applied when executed
      if (e.index !== this.store.version + 1) return this.fatal(`consensus appended seqno ${e.index} after ${this.store.version}`);
      let entry = this.decoded.get(e.data);
      if (!entry) {
        try {
          entry = this.decodeChecked(e);
        } catch (error) {
          return this.fatal(`replicated entry ${e.term}.${e.index}: ${(error as Error).message}`);
        }
      }
      const signatureRaw = entry.maps.find((m) => m.name === Tables.signatures)?.writes.find(([k]) => equalBytes(k, UNIT_KEY))?.[1];
      let signature: SignatureRecord | undefined;
      if (signatureRaw) {
        signature = parseJsonBytes<SignatureRecord>(signatureRaw);
        const root = this.tree.root();
        if (signature.seqno !== e.index || signature.view !== e.term || signature.root !== toHex(root)) {
          return this.fatal(`replicated signature ${e.term}.${e.index} does not sign this node's Merkle root`);
        }
      }
      const writeSetDigest = sha256(e.data);
      this.store.applyWrites(entry.seqno, entry.maps);
      this.tree.append(leafFromDigests(writeSetDigest, entry.commitEvidenceDigest, entry.claimsDigest));
      this.history.record(entry.seqno, writeSetDigest, entry.claimsDigest);
      if (signature) {
        const cose = entry.maps.find((m) => m.name === Tables.coseSignatures)?.writes.find(([k]) => equalBytes(k, UNIT_KEY))?.[1];
        this.history.recordSignature({
          seqno: entry.seqno,
          view: entry.view,
          root: new Uint8Array(Buffer.from(signature.root, 'hex')),
          signature: new Uint8Array(Buffer.from(signature.sig, 'base64')),
          nodeId: signature.node,
          nodeCertPem: signature.cert,
          ...(cose ? { coseSignature: new Uint8Array(Buffer.from(parseJsonBytes<string>(cose), 'base64')) } : {}),
        });
      }
      if (entry.maps.some((m) => m.name === Tables.nodesInfo)) {
        const now = this.trustedNodes();
        const changed = !sameList(now, this.trusted);
        if (changed !== (e.configuration !== undefined) || (e.configuration && !sameList([...e.configuration].sort(), now))) {
          return this.fatal(`replicated entry ${e.term}.${e.index} changes the voting nodes differently from what it declares`);
        }
        this.trusted = now;
        this.announcePeers();
      } else if (e.configuration !== undefined) {
        return this.fatal(`replicated entry ${e.term}.${e.index} declares a configuration but writes no node`);
      }
      for (const listener of this.writeListeners) listener(entry.maps);
    }
  }

  /**
   * Governance asked the node to act (CCF's trigger_* actions write public:ccf.internal.gov_triggers):
   * `snapshot` makes the primary snapshot at its next signature. `ledger_rekey` and
   * `recovery_shares_refresh` are recorded, and acted on by the recovery module when it handles them.
   */
  private onGovernanceTrigger(): void {
    if (this.store.get(Tables.govTriggers, utf8('snapshot')) !== undefined && this.consensus.isPrimary()) {
      this.snapshotter?.forceAtNextSignature();
    }
  }

  /** Undoes every entry after `seqno` (a rollback by consensus, or a refused proposal). */
  private rollbackTo(seqno: number): void {
    if (seqno >= this.store.version) return;
    this.store.rollback(seqno);
    this.tree.truncate(seqno + 1);
    this.history.truncate(seqno);
    this.snapshotter?.rollback(seqno);
    this.host.snapshotDiscardAfter?.(seqno);
    this.unsignedCount = 0;
    this.unsignedSinceMs = undefined;
    const now = this.trustedNodes();
    if (!sameList(now, this.trusted)) {
      this.trusted = now;
      this.announcePeers();
    }
    for (const listener of this.writeListeners) listener([{ name: Tables.nodesInfo }, { name: 'public:ccf.gov.modules' }, { name: 'public:ccf.gov.endpoints' }]);
  }

  /** Decodes a replicated entry with the ledger secret and checks it is the entry it claims to be. */
  private decodeChecked(e: Entry): DecodedEntry {
    const entry = decodeEntry(e.data, this.ledgerSecret);
    if (!entry.authenticated) throw new Error('not authenticated by the ledger secret');
    if (entry.seqno !== e.index || entry.view !== e.term) throw new Error(`its header says ${entry.view}.${entry.seqno}`);
    if (!equalBytes(this.ledgerSecret.commitEvidenceDigest(entry.view, entry.seqno), entry.commitEvidenceDigest)) {
      throw new Error('commit evidence digest does not match the ledger secret');
    }
    return entry;
  }

  /** Decodes every entry of an incoming AppendEntries; one bad entry drops the whole message. */
  private checkIncomingEntries(entries: readonly Entry[], from: string): boolean {
    for (const e of entries) {
      if (e.index <= this.consensus.commitSeqno || this.decoded.has(e.data)) continue;
      try {
        this.decoded.set(e.data, this.decodeChecked(e));
      } catch (error) {
        this.host.log('error', `peer ${from.slice(0, 12)}: dropped AppendEntries, entry ${e.term}.${e.index}: ${(error as Error).message}`);
        return false;
      }
    }
    return true;
  }

  private async serveForwarded(from: string, id: number, request: RequestMessage): Promise<void> {
    let response: ResponseMessage;
    if (!this.forwardHandler) {
      response = { status: 503, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'ServiceUnavailable', message: 'This node serves no forwarded requests.' } }) };
    } else {
      response = await this.forwardHandler({ ...request, headers: { ...request.headers, 'x-synod-forwarded-by': from } });
    }
    this.sendFrame(from, { kind: 'forward-response', id, response });
  }

  private sendFrame(to: string, frame: Parameters<typeof encodeFrame>[0]): boolean {
    if (!this.host.peerSend) return false;
    return this.host.peerSend(to, encodeFrame(frame));
  }

  /** Tells the host where the other nodes listen for node-to-node traffic. */
  private announcePeers(): void {
    if (!this.host.peersChanged) return;
    const known = this.nodeInfos();
    const peers = new Map<string, string>(known.size === 0 ? this.bootstrapPeers : []);
    for (const [id, info] of known) {
      if (id === this.nodeId || (info.status !== 'Trusted' && info.status !== 'Retired')) continue;
      const address = info.node_to_node_interface?.published_address;
      if (address) peers.set(id, address);
    }
    this.host.peersChanged(peers);
  }

  private nodeInfos(): Map<string, NodeInfo> {
    const out = new Map<string, NodeInfo>();
    this.store.forEachCommitted(Tables.nodesInfo, (key, value) => {
      try {
        out.set(fromUtf8(key), parseJsonBytes<NodeInfo>(value));
      } catch {
        // A record this node cannot parse names no peer.
      }
    });
    return out;
  }

  private trustedNodes(): string[] {
    return trustedNodesOf(this.store);
  }

  private fatal(message: string): never {
    this.host.log('error', `FATAL ${message}`);
    this.consensus?.stop();
    if (this.host.fatal) this.host.fatal(message);
    throw new Error(message);
  }

  // ---- disaster recovery (node/enclave/recovery.ts, governance/recovery) ----------------------------

  /** The service's ledger secrets with the seqno each starts at, oldest first (for recovery shares). */
  ledgerSecretRanges(): LedgerSecretRange[] {
    return this.ledgerSecret instanceof LedgerSecretChain ? this.ledgerSecret.ranges() : [{ startSeqno: 1, key: this.ledgerSecret.exportKey() }];
  }

  /**
   * Starts a new service from a previous service's ledger (CCF's Recover start): a new identity, the
   * previous history replayed public-only and continued in a new view, in status Recovering, until the
   * members' recovery shares restore the private state (governance/recovery). `previous.ledger` is the
   * previous ledger as the host read it (hostile input); the node's own data folder must be empty.
   */
  static async startRecovery(init: EnclaveInit, previous: { ledger: LedgerReadMessage; serviceCertPem?: string }): Promise<Enclave> {
    const { host } = init;
    if (init.sealed || init.ledger.entries.length > 0) {
      throw new Error('recovery starts in an empty data folder; this one holds a ledger or sealed secrets (restart it normally)');
    }
    const fresh = await createSecrets(init.addresses);
    const store = new Store();
    const tree = new MerkleTree();
    const history = new TransactionHistory();
    const entries: Entry[] = [];
    const replayed = replayPublicLedger(previous.ledger, {
      store, tree, history, log: host.log.bind(host),
      ...(previous.serviceCertPem !== undefined ? { previousServiceCertPem: previous.serviceCertPem } : {}),
      onEntry: (entry, bytes, isSignature) => entries.push({ term: entry.view, index: entry.seqno, isSignature, data: bytes }),
    });
    const secrets: EnclaveSecrets = { ...fresh, ledgerSecretStartSeqno: replayed.lastSeqno + 1 };
    const enclave = new Enclave(secrets, host, init.options, { store, tree, history }, { entries: [], hardState: { term: 0, votedFor: undefined }, commitSeqno: 0 });
    enclave.durableSeqno = replayed.lastSeqno;
    enclave.bootstrapView = replayed.lastView + 1;
    enclave.bootstrapping = [];
    const endorsement = await endorsePreviousIdentity(secrets, replayed.previousServiceCertPem);
    enclave.execute(recoveryTransaction(secrets, init.addresses, replayed.previousServiceCertPem, init.genesis?.nodeEvidence, endorsement));
    enclave.emitSignature();
    const all = [...entries, ...enclave.bootstrapping];
    enclave.bootstrapping = undefined;
    for (const e of all) host.ledgerAppend(e.index, e.data, e.isSignature);
    host.ledgerFlush();
    enclave.consensusImpl = enclave.createConsensus(all, { term: enclave.bootstrapView, votedFor: undefined }, 0);
    await host.sealedWrite(seal(secrets, init.sealingKey));
    const chain = enclave.ledgerSecret as LedgerSecretChain;
    attachRecoverySession(enclave, {
      chain, previousEntries: replayed.entries, previousLastSeqno: replayed.lastSeqno,
      previousServiceCertPem: replayed.previousServiceCertPem, restored: false,
    }, (ranges) => {
      const resealed: EnclaveSecrets = { ...secrets, previousLedgerSecrets: ranges.slice(0, -1) };
      host.sealedWrite(seal(resealed, init.sealingKey)).catch((error: Error) => host.log('error', `recovery: resealing failed: ${error.message}`));
      host.log('info', `recovery: private state of seqnos 1..${replayed.lastSeqno} restored; the service is open`);
    });
    host.log('info', `recovering the service of ${replayed.lastSeqno} entries (view ${replayed.lastView}) as node ${enclave.nodeId}; waiting for members`);
    enclave.campaignIfAlone();
    return enclave;
  }
}

/** The genesis configuration with this node's attestation, when the host can produce one. */
async function withEvidence(init: EnclaveInit, secrets: EnclaveSecrets): Promise<GenesisConfig> {
  const genesis = init.genesis!;
  if (genesis.nodeEvidence || !init.produceEvidence) return genesis;
  return { ...genesis, nodeEvidence: await init.produceEvidence(secrets.nodeKey.publicKeyDer) };
}

/** The voting nodes: every node whose status is Trusted, sorted by id. */
function trustedNodesOf(store: Store): string[] {
  const ids: string[] = [];
  store.forEachCommitted(Tables.nodesInfo, (key, value) => {
    try {
      if (parseJsonBytes<NodeInfo>(value).status === 'Trusted') ids.push(fromUtf8(key));
    } catch {
      // Not a node record this node can read: not a voter.
    }
  });
  return ids.sort();
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The hard state the host kept: hostile input; anything malformed is ignored (with a warning). */
function parseHardState(raw: Uint8Array | undefined, lastView: number, host: HostPort): HardState {
  const fallback: HardState = { term: lastView, votedFor: undefined };
  if (!raw) return fallback;
  try {
    const parsed = parseJsonBytes<{ term: unknown; votedFor: unknown }>(raw);
    if (!Number.isSafeInteger(parsed.term) || (parsed.term as number) < 0) throw new Error('term is not a non-negative integer');
    if (parsed.votedFor !== null && (typeof parsed.votedFor !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.votedFor))) {
      throw new Error('votedFor is not a node id');
    }
    return { term: parsed.term as number, votedFor: (parsed.votedFor as string | null) ?? undefined };
  } catch (error) {
    host.log('warn', `consensus state file ignored: ${(error as Error).message}`);
    return fallback;
  }
}
