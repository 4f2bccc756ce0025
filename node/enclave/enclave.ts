// The enclave: the node's trusted state machine. It owns the keys, the ledger secret, the KV store, the
// Merkle tree and the consensus seam. Requests run here in KV transactions; each committed write set
// becomes a ledger entry (private domain encrypted), a Merkle leaf, and an append through consensus.
// Every `signatureTxCount` transactions or `signatureDelayMs` milliseconds it emits a signature
// transaction over the Merkle root: the only commit points (CCF's rule).

import type { HostPort, LedgerReadMessage, TlsIdentityMessage } from '../boundary.ts';
import { sha256, toHex } from '../crypto/hash.ts';
import { digestSigner } from '../crypto/keys.ts';
import { nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { SingleNodeConsensus } from '../consensus/single.ts';
import type { Consensus, ReplicatedEntry } from '../consensus/seam.ts';
import { decodeEntry, encodeEntry, leafFromDigests, LedgerSecret, type DecodedEntry } from '../ledger/index.ts';
import { Store, type Tx } from '../kv/index.ts';
import { MerkleTree } from '../merkle/tree.ts';
import { limits } from '../limits.ts';
import { RpcError } from '../errors.ts';
import { coseReceipt, coseSigner, signRoot, type CoseSigner } from './cose.ts';
import { jsonReceipt, TransactionHistory, type JsonReceipt } from './history.ts';
import { Tables, UNIT_KEY, jsonBytes, type SignatureRecord } from './tables.ts';
import { seal, unseal, type EnclaveSecrets } from './sealing.ts';
import { createSecrets, genesisTransaction, type GenesisConfig, type NodeAddresses } from './genesis.ts';
import { replayLedger } from './replay.ts';
import { Metrics } from './metrics.ts';

const ZERO_DIGEST = new Uint8Array(32);

export type TxStatus = 'Unknown' | 'Pending' | 'Committed' | 'Invalid';

export interface EnclaveOptions {
  signatureTxCount: number;
  signatureDelayMs: number;
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
  addresses: NodeAddresses;
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
  readonly consensus: Consensus;
  private readonly ledgerSecret: LedgerSecret;
  private readonly cose: CoseSigner;
  private readonly signRootDigest: (digest: Uint8Array) => Uint8Array;
  private unsignedCount = 0;
  private unsignedSinceMs: number | undefined;
  private nowMs = 0;
  private durableSeqno = 0;
  private readonly commitWaiters: Array<{ seqno: number; resolve: () => void }> = [];
  private readonly writeListeners: Array<(maps: readonly { name: string }[]) => void> = [];

  private constructor(
    private readonly secrets: EnclaveSecrets,
    private readonly host: HostPort,
    private readonly options: EnclaveOptions,
    state: ReplayedState,
    consensusState: { view: number; lastSeqno: number; commitSeqno: number; views: Array<{ view: number; startSeqno: number }> },
  ) {
    this.store = state.store;
    this.tree = state.tree;
    this.history = state.history;
    this.nodeId = nodeIdFromPublicKeyDer(secrets.nodeKey.publicKeyDer);
    this.ledgerSecret = new LedgerSecret(secrets.ledgerSecret);
    this.signRootDigest = digestSigner(secrets.nodeKey.privateKeyPem);
    this.cose = coseSigner(secrets.serviceKey.privateKeyPem, secrets.serviceKey.publicKeyDer, secrets.serviceKey.curve);
    const log = {
      append: (entry: ReplicatedEntry) => host.ledgerAppend(entry.seqno, entry.bytes, entry.isSignature),
      flush: () => host.ledgerFlush(),
    };
    this.consensus = new SingleNodeConsensus(this.nodeId, log, consensusState);
    this.consensus.onCommit((seqno) => this.onCommitAdvanced(seqno));
  }

  /**
   * Starts the enclave. Its secrets come unsealed from the blob the host kept (hostile input: the blob is
   * authenticated), or are created fresh for a new service and handed to the host only sealed. The ledger
   * is hostile input too: replay checks every entry (framing, GCM tag, commit evidence, Merkle root, node
   * signature) before any of it is trusted.
   */
  static async start(init: EnclaveInit): Promise<Enclave> {
    const { host, ledger } = init;
    let secrets: EnclaveSecrets;
    let genesis: ((tx: Tx) => void) | undefined;
    if (init.sealed) {
      secrets = unseal(init.sealed, init.sealingKey);
      // Sealed, but the genesis transaction never reached the disk (a crash in between): create it again.
      if (ledger.entries.length === 0 && init.genesis) genesis = genesisTransaction(init.genesis, secrets, init.addresses);
    } else {
      if (ledger.entries.length > 0) {
        throw new Error('the data folder holds a ledger but no sealed secrets: this node cannot decrypt it. ' +
          'Restore the sealed secrets, or recover the service with the members\' recovery shares.');
      }
      if (!init.genesis) throw new Error('the data folder is empty and no genesis configuration was given');
      secrets = await createSecrets(init.addresses);
      await host.sealedWrite(seal(secrets, init.sealingKey));
      genesis = genesisTransaction(init.genesis, secrets, init.addresses);
    }
    const nodeId = nodeIdFromPublicKeyDer(secrets.nodeKey.publicKeyDer);
    const secret = new LedgerSecret(secrets.ledgerSecret);
    const store = new Store();
    const tree = new MerkleTree();
    const history = new TransactionHistory();
    const replayed = replayLedger(ledger, { secret, store, tree, history, nodeId, log: host.log.bind(host) });
    if (replayed.truncateTo !== undefined) {
      host.log('warn', `ledger: cutting ${replayed.droppedEntries} uncommitted entr${replayed.droppedEntries === 1 ? 'y' : 'ies'} ` +
        `after seqno ${replayed.truncateTo}, the last good entry: ${replayed.reason}`);
      await host.ledgerTruncate(replayed.truncateTo);
    }
    const lastSeqno = replayed.lastSeqno;
    const view = replayed.lastView + 1;
    const enclave = new Enclave(secrets, host, init.options, { store, tree, history }, {
      view,
      lastSeqno,
      commitSeqno: lastSeqno,
      views: replayed.views,
    });
    enclave.durableSeqno = lastSeqno;
    if (lastSeqno === 0) {
      if (!genesis) throw new Error('the ledger is empty but this node\'s secrets are sealed: its genesis was lost');
      enclave.execute((tx) => genesis(tx));
      enclave.emitSignature();
      host.log('info', `service created: node ${nodeId} is primary in view ${view}`);
    } else {
      // A node that (re)starts as primary signs at once, so everything it replayed is committed in its view.
      enclave.emitSignature();
      host.log('info', `restarted from ledger at seqno ${lastSeqno}; node ${nodeId} is primary in view ${view}`);
    }
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

  /**
   * Runs `body` in a KV transaction with optimistic concurrency: on a conflict the body runs again, up to
   * `transactionRetriesMax` times, then the request fails with 503. `keep` decides from the body's result
   * whether its writes apply (CCF applies writes only for 2xx responses).
   */
  execute<T>(body: (tx: Tx) => T, keep: (value: T) => boolean = () => true, claimsDigest?: () => Uint8Array | undefined): TxOutcome<T> {
    if (this.history.lastSeqno - this.durableSeqno > limits.ledgerPendingEntriesMax) throw new RpcError('Backpressure');
    for (let attempt = 0; attempt <= limits.transactionRetriesMax; attempt++) {
      const tx = this.store.begin();
      const value = body(tx);
      if (!keep(value)) return { value };
      const result = this.store.commit(tx);
      if (!result.ok) {
        this.metrics.conflicts++;
        continue;
      }
      if (result.seqno === undefined) return { value };
      const view = this.consensus.view;
      this.appendEntry(result.seqno, view, result.maps, result.maxConflictVersion, claimsDigest?.() ?? ZERO_DIGEST, false);
      this.afterAppend();
      for (const listener of this.writeListeners) listener(result.maps);
      return { value, txid: `${view}.${result.seqno}`, seqno: result.seqno };
    }
    throw new RpcError('TransactionConflict');
  }

  /** Calls `listener` with the maps written by every transaction this node executes and appends. */
  onMapsWritten(listener: (maps: readonly { name: string }[]) => void): void {
    this.writeListeners.push(listener);
  }

  /** Host → enclave: time advanced (untrusted; only liveness depends on it). */
  tick(nowMs: number): void {
    if (!Number.isFinite(nowMs)) return;
    this.nowMs = Math.max(this.nowMs, nowMs);
    if (this.unsignedSinceMs === undefined) this.unsignedSinceMs = this.unsignedCount > 0 ? this.nowMs : undefined;
    if (this.unsignedCount > 0 && this.unsignedSinceMs !== undefined && this.nowMs - this.unsignedSinceMs >= this.options.signatureDelayMs) {
      this.emitSignature();
    }
  }

  /** Host → enclave: the local ledger is durable up to `seqno`. */
  onLedgerDurable(seqno: number): void {
    if (!Number.isInteger(seqno) || seqno <= this.durableSeqno || seqno > this.history.lastSeqno) return;
    this.durableSeqno = seqno;
    this.consensus.onLocalDurable(seqno);
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
  ): void {
    const commitEvidenceDigest = this.ledgerSecret.commitEvidenceDigest(view, seqno);
    const bytes = encodeEntry({ seqno, view, claimsDigest, commitEvidenceDigest, maxConflictVersion, maps }, this.ledgerSecret);
    const writeSetDigest = sha256(bytes);
    this.tree.append(leafFromDigests(writeSetDigest, commitEvidenceDigest, claimsDigest));
    this.history.record(seqno, writeSetDigest, claimsDigest);
    this.consensus.replicate([{ seqno, view, bytes, isSignature }]);
    this.metrics.transactions++;
    this.metrics.ledgerBytes += bytes.length;
  }

  private afterAppend(): void {
    this.unsignedCount++;
    if (this.unsignedSinceMs === undefined) this.unsignedSinceMs = this.nowMs;
    if (this.unsignedCount >= this.options.signatureTxCount) this.emitSignature();
  }

  /** Signs the root over leaves 0..s-1 as the transaction at seqno s (CCF's signature transaction). */
  emitSignature(): void {
    const seqno = this.store.version + 1;
    const view = this.consensus.view;
    if (this.tree.size !== seqno) throw new Error(`signature: tree has ${this.tree.size} leaves, expected ${seqno}`);
    const root = this.tree.root();
    const signature = this.signRootDigest(root);
    const coseSignature = signRoot(this.cose, root, `${view}.${seqno}`, Math.floor(this.nowMs / 1000));
    const commitSeqno = this.consensus.commitSeqno;
    const record: SignatureRecord = {
      commit_seqno: commitSeqno,
      commit_view: this.consensus.viewOf(commitSeqno) ?? 0,
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
    this.appendEntry(seqno, view, result.maps, result.maxConflictVersion, ZERO_DIGEST, true);
    this.unsignedCount = 0;
    this.unsignedSinceMs = undefined;
    this.metrics.signatures++;
  }

  private onCommitAdvanced(seqno: number): void {
    this.store.compact(seqno);
    this.host.ledgerCommit(seqno);
    this.metrics.commitSeqno = seqno;
    let kept = 0;
    for (const waiter of this.commitWaiters) {
      if (waiter.seqno <= seqno) waiter.resolve();
      else this.commitWaiters[kept++] = waiter;
    }
    this.commitWaiters.length = kept;
  }
}
