// Disaster recovery, the node's side (CCF: "Disaster recovery" — public recovery, then private recovery
// once members submit enough recovery shares).
//
// 1. Public replay: a node started from the previous service's ledger files, without its ledger secret,
//    reads every entry's public domain. Integrity is checked as far as public data allows, and that is
//    all of it up to the last signature: each Merkle leaf commits to the SHA-256 of the whole entry
//    (ciphertext and GCM tag included) and to its commit-evidence digest, so recomputing every signed
//    root and verifying the last signature (by a node the ledger records, endorsed by the previous
//    service identity) authenticates every byte before it. Entries after the last signature were never
//    committed and are dropped. Only the GCM tags cannot be checked until the secret is recovered.
// 2. The recovering service continues the same history (seqnos go on, in a new view) under a new
//    service identity and a ledger secret of its own; entries of the previous service stay encrypted
//    under the previous secret. LedgerSecretChain picks the secret by seqno, so one object encrypts,
//    decrypts and derives commit evidence for the whole ledger.
// 3. Private restore: once the members' shares unwrap the previous ledger secrets, every previous entry
//    is decrypted (and now its tag checked), its private writes replayed in order, and the private maps
//    installed in the live store with their original versions. Nothing private is written to the ledger
//    again: a restarted node decrypts the previous entries itself with the chain it unsealed.

import { X509Certificate, createPublicKey, randomBytes } from 'node:crypto';
import type { LedgerReadMessage, StoredEntryMessage } from '../boundary.ts';
import { equalBytes, sha256 } from '../crypto/hash.ts';
import { certificatePublicKeyDer, createEndorsedCertificate, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { decodeEntry, leafFromDigests, LedgerSecret, LedgerFormatError, type DecodedEntry } from '../ledger/index.ts';
import type { Store } from '../kv/index.ts';
import type { StoreSnapshot } from '../kv/types.ts';
import { isPublicMap } from '../kv/store.ts';
import type { MerkleTree } from '../merkle/tree.ts';
import { LedgerCorruptError } from '../errors.ts';
import { checkSignature as checkReplayedSignature } from './replay.ts';
import type { TransactionHistory } from './history.ts';
import { Tables, UNIT_KEY, parseJsonBytes, type SignatureRecord } from './tables.ts';
import { issueRecoveryShares, type LedgerSecretRange } from '../../governance/recovery/shares.ts';
import { RecoveryTables } from '../../governance/recovery/tables.ts';
import { ENCRYPTED_LEDGER_SECRETS_TABLE, decryptSecretForNode, writeRekey, type EncryptedLedgerSecretsRecord } from '../../governance/recovery/rekey.ts';
import type { Enclave } from './enclave.ts';
import type { Tx } from '../kv/index.ts';
import type { EnclaveSecrets } from './sealing.ts';
import type { NodeAddresses } from './genesis.ts';
import { jsonBytes, utf8, type NodeInfo } from './tables.ts';
import { produceVirtualNodeEvidence, type NodeEvidence } from '../attestation/node-evidence.ts';
import { trustOwnEvidence } from '../attestation/trust-tables.ts';
import { clearSubmittedShares } from '../../governance/recovery/shares.ts';

export type { LedgerSecretRange };

// ---- ledger secrets by seqno ---------------------------------------------------------------------

/**
 * Several ledger secrets, each encrypting the entries from its start seqno on. A range whose key is not
 * known (the previous service's, before recovery) refuses to decrypt. Behaves as a LedgerSecret, so the
 * ledger codec, replay and the enclave use it unchanged.
 */
export class LedgerSecretChain extends LedgerSecret {
  /** `learnedAt`: the rekey transaction a range was learned from (valid while that entry stands). */
  #ranges: Array<{ startSeqno: number; secret: LedgerSecret | undefined; learnedAt?: number }>;
  #learner: { nodeId: string; privateKeyPem: string } | undefined;

  /** `latest` encrypts from `latestStartSeqno`; `previous` (oldest first) the seqnos before it. */
  constructor(latest: Uint8Array, latestStartSeqno: number, previous: readonly LedgerSecretRange[] = []) {
    super(latest);
    if (!Number.isSafeInteger(latestStartSeqno) || latestStartSeqno < 1) throw new Error('a ledger secret starts at a seqno ≥ 1');
    this.#ranges = [];
    if (latestStartSeqno > 1 && (previous.length === 0 || previous[0]!.startSeqno !== 1)) this.#ranges.push({ startSeqno: 1, secret: undefined });
    for (const p of previous) {
      const last = this.#ranges[this.#ranges.length - 1];
      if (last && p.startSeqno <= last.startSeqno) throw new Error('previous ledger secrets must be in seqno order');
      if (p.startSeqno >= latestStartSeqno) throw new Error('a previous ledger secret starts after the latest one');
      this.#ranges.push({ startSeqno: p.startSeqno, secret: new LedgerSecret(p.key) });
    }
    this.#ranges.push({ startSeqno: latestStartSeqno, secret: new LedgerSecret(latest) });
  }

  /** Installs recovered previous secrets (oldest first), replacing the unknown range before the latest. */
  installPrevious(previous: readonly LedgerSecretRange[]): void {
    const latest = this.#ranges[this.#ranges.length - 1]!;
    const next = new LedgerSecretChain(latest.secret!.exportKey(), latest.startSeqno, previous);
    this.#ranges = next.#ranges;
  }

  /**
   * Lets the chain learn rekeyed secrets (governance/recovery/rekey.ts) from the entries it encrypts and
   * authenticates, with this node's key: in seqno order, every node switches exactly after the rekey.
   */
  setLearner(nodeId: string, privateKeyPem: string): void {
    this.#learner = { nodeId, privateKeyPem };
  }

  /** Called with each authenticated public domain: drops a range learned from a replaced entry, learns a rekey. */
  #observe(seqno: number, publicDomain: Uint8Array): void {
    if (!this.#learner) return;
    const stale = this.#ranges.some((r) => r.learnedAt === seqno);
    const record = Buffer.from(publicDomain.buffer, publicDomain.byteOffset, publicDomain.byteLength).includes(REKEY_TABLE_BYTES)
      ? rekeyRecord(publicDomain, seqno) : undefined;
    if (!stale && !record) return;
    if (stale) this.#ranges = this.#ranges.filter((r) => r.learnedAt !== seqno);
    if (!record || record.start_seqno !== seqno + 1) return;
    const mine = record.encrypted_secrets[this.#learner.nodeId];
    if (!mine) return;
    const key = decryptSecretForNode(this.#learner.privateKeyPem, this.#learner.nodeId, record.start_seqno, mine);
    if (!key) return;
    this.#ranges = this.#ranges.filter((r) => r.startSeqno !== record.start_seqno);
    this.#ranges.push({ startSeqno: record.start_seqno, secret: new LedgerSecret(key), learnedAt: seqno });
    this.#ranges.sort((a, b) => a.startSeqno - b.startSeqno);
    key.fill(0);
  }

  /** Whether every range's secret is known. */
  get complete(): boolean {
    return this.#ranges.every((r) => r.secret !== undefined);
  }

  /** Known secrets with their start seqnos, oldest first (for sealing and recovery shares). */
  ranges(): LedgerSecretRange[] {
    return this.#ranges.filter((r) => r.secret).map((r) => ({ startSeqno: r.startSeqno, key: r.secret!.exportKey() }));
  }

  secretFor(seqno: number): LedgerSecret {
    let found: { startSeqno: number; secret: LedgerSecret | undefined } | undefined;
    for (const r of this.#ranges) if (r.startSeqno <= seqno) found = r;
    if (!found?.secret) {
      throw new LedgerFormatError('LEDGER_DECRYPT_FAILED', `entry ${seqno} was written by the previous service: its ledger secret is not recovered yet`);
    }
    return found.secret;
  }

  override commitEvidence(view: number, seqno: number): string {
    return this.secretFor(seqno).commitEvidence(view, seqno);
  }

  override commitEvidenceDigest(view: number, seqno: number): Uint8Array {
    return this.secretFor(seqno).commitEvidenceDigest(view, seqno);
  }

  override encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array } {
    const seqno = ivSeqno(iv);
    const out = this.secretFor(seqno).encrypt(iv, plaintext, aad);
    if (!isSnapshotIv(iv)) this.#observe(seqno, aad);
    return out;
  }

  override decrypt(iv: Uint8Array, tag: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
    const seqno = ivSeqno(iv);
    const out = this.secretFor(seqno).decrypt(iv, tag, ciphertext, aad);
    // Only what authenticated under the ledger secret is read.
    if (!isSnapshotIv(iv)) this.#observe(seqno, aad);
    return out;
  }
}

const REKEY_TABLE_BYTES = Buffer.from(ENCRYPTED_LEDGER_SECRETS_TABLE, 'utf8');

/** The view's top bit in the IV marks snapshots (node/ledger/entry.ts). */
function isSnapshotIv(iv: Uint8Array): boolean {
  return (iv[11]! & 0x80) !== 0;
}

/** The encrypted_ledger_secrets write in a public domain, by re-framing it as an entry without a private domain. */
function rekeyRecord(publicDomain: Uint8Array, seqno: number): EncryptedLedgerSecretsRecord | undefined {
  try {
    const size = 16 + 12 + 8 + publicDomain.length;
    const bytes = new Uint8Array(8 + size);
    const view = new DataView(bytes.buffer);
    bytes[0] = 1;
    view.setUint32(2, size % 2 ** 32, true);
    view.setUint16(6, Math.floor(size / 2 ** 32), true);
    view.setUint32(8 + 16, seqno % 2 ** 32, true);
    view.setUint32(8 + 16 + 4, Math.floor(seqno / 2 ** 32), true);
    view.setUint32(8 + 28, publicDomain.length % 2 ** 32, true);
    view.setUint32(8 + 32, Math.floor(publicDomain.length / 2 ** 32), true);
    bytes.set(publicDomain, 8 + 36);
    const entry = decodeEntry(bytes);
    const map = entry.publicMaps.find((m) => m.name === ENCRYPTED_LEDGER_SECRETS_TABLE);
    const value = map?.writes.find(([key]) => equalBytes(key, UNIT_KEY))?.[1];
    if (!value) return undefined;
    const record = parseJsonBytes<EncryptedLedgerSecretsRecord>(value);
    return Number.isSafeInteger(record.start_seqno) && typeof record.encrypted_secrets === 'object' && record.encrypted_secrets !== null ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The IV starts with the seqno, u64 little-endian (node/ledger/entry.ts). */
function ivSeqno(iv: Uint8Array): number {
  let seqno = 0;
  for (let i = 7; i >= 0; i--) seqno = seqno * 256 + iv[i]!;
  return seqno;
}

// ---- public replay of the previous ledger ----------------------------------------------------------

export interface PublicReplayContext {
  store: Store;
  tree: MerkleTree;
  history: TransactionHistory;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The previous service's certificate, if the operator gave it: the ledger must be that service's. */
  previousServiceCertPem?: string;
  /** Called for each accepted entry (up to the last signature), after it is applied. */
  onEntry?: (entry: DecodedEntry, bytes: Uint8Array, isSignature: boolean) => void;
}

export interface PublicReplayResult {
  /** The last signature's seqno: the recovered history ends there. */
  lastSeqno: number;
  lastView: number;
  /** Entries dropped after the last signature (never committed). */
  droppedEntries: number;
  /** The previous service's certificate, as its ledger records it. */
  previousServiceCertPem: string;
  /** The accepted entries' bytes, seqno 1..lastSeqno (for the private restore). */
  entries: Uint8Array[];
}

/** Replays the public domains of a previous service's ledger (hostile input) up to its last signature. */
export function replayPublicLedger(ledger: LedgerReadMessage, ctx: PublicReplayContext): PublicReplayResult {
  const decoded: Array<{ stored: StoredEntryMessage; entry: DecodedEntry; signature?: SignatureRecord }> = [];
  let previousView = 0;
  for (let index = 0; index < ledger.entries.length; index++) {
    const stored = ledger.entries[index]!;
    let entry: DecodedEntry;
    try {
      entry = decodeEntry(stored.bytes);
      if (entry.isSnapshot) throw new Error('a snapshot entry inside the ledger');
      if (entry.seqno !== index + 1) throw new Error(`expected seqno ${index + 1}, found ${entry.seqno}`);
      if (entry.view < previousView) throw new Error(`view went back from ${previousView} to ${entry.view}`);
    } catch (error) {
      // Damage inside signed history is refused; a damaged unsigned tail is dropped (as replay.ts does).
      const message = `recovery: previous ledger damaged at seqno ${index + 1} (${(error as Error).message})`;
      if (signatureAfter(ledger.entries, index)) throw new LedgerCorruptError(stored.file, stored.offset, message);
      ctx.log('warn', `${message}; keeping what is signed before it`);
      break;
    }
    previousView = entry.view;
    const raw = unitValue(entry, Tables.signatures);
    decoded.push({ stored, entry, ...(raw ? { signature: parseJsonBytes<SignatureRecord>(raw) } : {}) });
  }
  let lastSignature = -1;
  for (let i = decoded.length - 1; i >= 0 && lastSignature < 0; i--) if (decoded[i]!.signature) lastSignature = i;
  if (lastSignature < 0) throw new Error('recovery: the previous ledger holds no signature transaction: nothing of it was committed');
  const kept = decoded.slice(0, lastSignature + 1);
  const entries: Uint8Array[] = [];
  for (let i = 0; i < kept.length; i++) {
    const { stored, entry, signature } = kept[i]!;
    if (signature) checkSignature(stored, entry, signature, ctx, i === kept.length - 1);
    const writeSetDigest = sha256(stored.bytes);
    ctx.store.applyWrites(entry.seqno, entry.publicMaps);
    ctx.tree.append(leafFromDigests(writeSetDigest, entry.commitEvidenceDigest, entry.claimsDigest));
    ctx.history.record(entry.seqno, writeSetDigest, entry.claimsDigest);
    if (signature) {
      ctx.history.recordSignature({
        seqno: entry.seqno, view: entry.view, root: Buffer.from(signature.root, 'hex'),
        signature: new Uint8Array(Buffer.from(signature.sig, 'base64')), nodeId: signature.node, nodeCertPem: signature.cert,
      });
    }
    entries.push(stored.bytes);
    ctx.onEntry?.(entry, stored.bytes, signature !== undefined);
  }
  const service = ctx.store.get(Tables.serviceInfo, UNIT_KEY);
  const previousServiceCertPem = service ? parseJsonBytes<{ cert?: string }>(service).cert : undefined;
  if (!previousServiceCertPem) throw new Error('recovery: the previous ledger records no service certificate');
  const last = kept[kept.length - 1]!.entry;
  const dropped = ledger.entries.length - kept.length;
  if (dropped > 0) ctx.log('warn', `recovery: dropping ${dropped} uncommitted entr${dropped === 1 ? 'y' : 'ies'} after the last signature at seqno ${last.seqno}`);
  return { lastSeqno: last.seqno, lastView: last.view, droppedEntries: dropped, previousServiceCertPem, entries };
}

function signatureAfter(entries: readonly StoredEntryMessage[], index: number): boolean {
  for (let i = index + 1; i < entries.length; i++) {
    try {
      if (unitValue(decodeEntry(entries[i]!.bytes), Tables.signatures)) return true;
    } catch {
      // says nothing either way
    }
  }
  return false;
}

function checkSignature(stored: StoredEntryMessage, entry: DecodedEntry, signature: SignatureRecord, ctx: PublicReplayContext, verify: boolean): void {
  checkReplayedSignature(stored, entry, signature, ctx, verify, 'recovery: ');
  if (!verify) return;
  const fail = (detail: string): never => {
    throw new LedgerCorruptError(stored.file, stored.offset, `recovery: signature transaction at seqno ${entry.seqno}: ${detail}`);
  };
  // The signer was endorsed by the service the ledger names, and that is the one the operator expects.
  const service = ctx.store.get(Tables.serviceInfo, UNIT_KEY);
  const serviceCert = service ? parseJsonBytes<{ cert?: string }>(service).cert : undefined;
  if (!serviceCert) fail('the ledger records no service certificate');
  if (ctx.previousServiceCertPem !== undefined && !samePem(ctx.previousServiceCertPem, serviceCert!)) {
    fail('the ledger belongs to another service than the previous service certificate given');
  }
  let endorsed = false;
  try {
    endorsed = new X509Certificate(signature.cert).verify(createPublicKey(serviceCert!));
  } catch {
    endorsed = false;
  }
  if (!endorsed) fail('the signing node is not endorsed by the previous service identity');
}

function samePem(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}

function unitValue(entry: DecodedEntry, name: string): Uint8Array | undefined {
  const map = entry.publicMaps.find((m) => m.name === name);
  return map?.writes.find(([key]) => equalBytes(key, UNIT_KEY))?.[1];
}

// ---- private restore --------------------------------------------------------------------------------

export type PrivateState = Map<string, Map<string, [Uint8Array, Uint8Array, number]>>;

/**
 * Decrypts the previous entries (seqno 1..n, as replayPublicLedger kept them) with the recovered secrets
 * and replays their private writes. Every tag and commit-evidence digest is checked: a wrong secret
 * fails here, before anything is installed.
 */
export function restorePrivateState(entries: readonly Uint8Array[], secret: LedgerSecret): PrivateState {
  const state: PrivateState = new Map();
  for (let i = 0; i < entries.length; i++) {
    const entry = decodeEntry(entries[i]!, secret);
    if (!entry.authenticated || entry.seqno !== i + 1) throw new Error(`recovery: entry ${i + 1} does not authenticate under the recovered ledger secret`);
    if (!equalBytes(secret.commitEvidenceDigest(entry.view, entry.seqno), entry.commitEvidenceDigest)) {
      throw new Error(`recovery: entry ${entry.seqno}: commit evidence does not match the recovered ledger secret`);
    }
    for (const map of entry.privateMaps ?? []) {
      let m = state.get(map.name);
      if (!m) state.set(map.name, (m = new Map()));
      for (const [key, value] of map.writes) m.set(Buffer.from(key).toString('hex'), [key, value, entry.seqno]);
      for (const key of map.removes) m.delete(Buffer.from(key).toString('hex'));
    }
  }
  return state;
}

/** Installs restored private maps in the live store (public maps untouched; versions kept). */
export function installPrivateState(store: Store, state: PrivateState): void {
  const snapshot: StoreSnapshot = store.snapshot();
  const maps = snapshot.maps.filter((m) => isPublicMap(m.name) || !state.has(m.name));
  for (const [name, entries] of state) {
    if (isPublicMap(name) || entries.size === 0) continue;
    maps.push({ name, entries: [...entries.values()] });
  }
  maps.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  store.restore({ version: snapshot.version, maps });
}

// ---- the recovery session of a recovering node ------------------------------------------------------

/**
 * What a node started in recovery keeps until the members' shares arrive: its ledger secret chain (the
 * previous range unknown), the previous entries, and, between the share that completes recovery and
 * the commit of that transaction, what to install.
 */
export interface RecoverySession {
  chain: LedgerSecretChain;
  /** Previous service's entries, seqno 1..previousLastSeqno. */
  previousEntries: Uint8Array[];
  previousLastSeqno: number;
  previousServiceCertPem: string;
  pending?: { previous: LedgerSecretRange[]; state: PrivateState };
  /** Set once the private state is installed. */
  restored: boolean;
}

const sessions = new WeakMap<object, RecoverySession>();

export function recoverySessionOf(enclave: object): RecoverySession | undefined {
  return sessions.get(enclave);
}

/**
 * Binds a session to a recovering enclave: once the transaction that completes recovery applies (it
 * writes the new recovery shares), the recovered secrets join the chain, the private state is
 * installed, and `onRestored` runs (the enclave reseals its secrets with the chain).
 */
export function attachRecoverySession(enclave: Enclave, session: RecoverySession, onRestored: (ranges: LedgerSecretRange[]) => void): void {
  sessions.set(enclave, session);
  enclave.onMapsWritten((maps) => {
    if (!session.pending || !maps.some((m) => m.name === RecoveryTables.recoveryShares)) return;
    const { previous, state } = session.pending;
    session.pending = undefined;
    session.chain.installPrevious(previous);
    installPrivateState(enclave.store, state);
    session.restored = true;
    onRestored(session.chain.ranges());
  });
}

/**
 * Reissues recovery shares when governance asks (trigger_recovery_shares_refresh, trigger_ledger_rekey,
 * a member activated) or when what they depend on changes (recovery threshold, encryption keys,
 * members), on the primary of an Open service. `secrets` gives the service's ledger secrets.
 */
export function watchRecoveryShareRefresh(enclave: Enclave, secrets: () => LedgerSecretRange[], log: (level: 'info' | 'warn' | 'error', message: string) => void): void {
  const watched = new Set<string>([Tables.govTriggers, Tables.serviceConfig, Tables.memberEncryptionKeys, Tables.memberInfo]);
  const rekeyVersion = () => enclave.store.getVersion(Tables.govTriggers, utf8('ledger_rekey')) ?? 0;
  let rekeyHandled = rekeyVersion();
  let scheduled = false;
  enclave.onMapsWritten((maps) => {
    if (scheduled || !maps.some((m) => watched.has(m.name)) || !enclave.isPrimary()) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (!enclave.isPrimary()) return;
      const service = enclave.store.get(Tables.serviceInfo, UNIT_KEY);
      if (!service || parseJsonBytes<{ status?: string }>(service).status !== 'Open') return;
      try {
        if (rekeyVersion() > rekeyHandled) {
          rekeyHandled = rekeyVersion();
          const rekeyed = enclave.execute((tx) => {
            const nodes: Array<{ id: string; publicKeyDer: Uint8Array }> = [];
            tx.map(Tables.nodesInfo).forEach((value, key) => {
              const info = parseJsonBytes<{ status?: string; cert?: string }>(value);
              if (info.status === 'Trusted' && info.cert) nodes.push({ id: new TextDecoder().decode(key), publicKeyDer: certificatePublicKeyDer(info.cert) });
            });
            // The transaction's own seqno: the primary commits it next.
            writeRekey(tx, new Uint8Array(randomBytes(32)), enclave.store.version + 2, nodes);
          });
          log('info', `ledger rekeyed: a new ledger secret from seqno ${(rekeyed.seqno ?? 0) + 1}`);
        }
        const issued = enclave.execute((tx) => issueRecoveryShares(tx, secrets(), { includeAccepted: true }));
        log('info', `recovery: issued ${issued.value} recovery share(s)`);
      } catch (error) {
        log('warn', `recovery: shares not reissued: ${(error as Error).message}`);
      }
    });
  });
}

// ---- the recovering service's first transaction ---------------------------------------------------

/** Where a recovered service names the service it continues (CCF's table: the PEM as a JSON string). */
export const PREVIOUS_SERVICE_IDENTITY_TABLE = 'public:ccf.gov.service.previous_service_identity';
/** The previous service's public key in a certificate issued by the new service key (JSON string of PEM). */
export const PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_TABLE = 'public:ccf.internal.previous_service_identity_endorsement';

/**
 * The new identity endorsing the previous one: the previous service's public key, certified by the new
 * service key, so that what the previous service signed chains to the new service certificate.
 */
export async function endorsePreviousIdentity(secrets: EnclaveSecrets, previousServiceCertPem: string): Promise<string> {
  const previousKeyPem = new X509Certificate(previousServiceCertPem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return createEndorsedCertificate(previousKeyPem, { keyPair: secrets.serviceKey, certPem: secrets.serviceCertPem }, {
    commonName: 'Synod Service (previous identity)', validityDays: 3650,
  });
}

/**
 * The ledger secret an enclave uses for its secrets: a plain LedgerSecret for a service that never
 * recovered, a chain when its own secret starts after a previous service's entries.
 */
export function ledgerSecretOf(secrets: EnclaveSecrets): LedgerSecret {
  // One chain per secrets object: replay and the running enclave must share what replay learned.
  const known = chains.get(secrets);
  if (known) return known;
  const chain = new LedgerSecretChain(secrets.ledgerSecret, secrets.ledgerSecretStartSeqno ?? 1, secrets.previousLedgerSecrets ?? []);
  chain.setLearner(nodeIdFromPublicKeyDer(secrets.nodeKey.publicKeyDer), secrets.nodeKey.privateKeyPem);
  chains.set(secrets, chain);
  return chain;
}

const chains = new WeakMap<EnclaveSecrets, LedgerSecretChain>();

/**
 * The first transaction of a recovering service (CCF: the public recovery's service and node records):
 * the new identity, Recovering, endorsing the previous identity; the previous nodes retired; this node
 * trusted (its own attestation trusted, as at genesis).
 */
export function recoveryTransaction(secrets: EnclaveSecrets, addresses: NodeAddresses, previousServiceCertPem: string, nodeEvidence?: NodeEvidence, endorsementPem?: string): (tx: Tx) => void {
  return (tx) => {
    const service = tx.map(Tables.serviceInfo).get(UNIT_KEY);
    const previous = service === undefined ? {} : parseJsonBytes<Record<string, unknown>>(service);
    tx.map(Tables.serviceInfo).set(UNIT_KEY, jsonBytes({
      ...previous, cert: secrets.serviceCertPem, status: 'Recovering', previous_service_identity: previousServiceCertPem,
    }));
    const nodes = tx.map(Tables.nodesInfo);
    const retire: Array<[Uint8Array, Record<string, unknown>]> = [];
    nodes.forEach((value, key) => {
      const info = parseJsonBytes<Record<string, unknown>>(value);
      if (info.status !== 'Retired') retire.push([key, { ...info, status: 'Retired' }]);
    });
    for (const [key, info] of retire) nodes.set(key, jsonBytes(info));
    const nodeId = nodeIdFromPublicKeyDer(secrets.nodeKey.publicKeyDer);
    const evidence = nodeEvidence ?? produceVirtualNodeEvidence(secrets.nodeKey.publicKeyDer);
    const trusted = trustOwnEvidence(tx, evidence.evidence);
    const node: NodeInfo & { quote_info: NodeEvidence['quoteInfo'] } = {
      cert: secrets.nodeCertPem,
      quote_info: evidence.quoteInfo,
      code_digest: trusted.measurement,
      status: 'Trusted',
      rpc_interfaces: { primary_rpc_interface: { bind_address: addresses.bindAddress, published_address: addresses.publishedAddress } },
      ...(addresses.nodeToNode ? {
        node_to_node_interface: { bind_address: addresses.nodeToNode.bindAddress, published_address: addresses.nodeToNode.publishedAddress },
      } : {}),
    };
    nodes.set(utf8(nodeId), jsonBytes(node));
    tx.map(Tables.nodeEndorsedCerts).set(utf8(nodeId), utf8(secrets.nodeCertPem));
    tx.map(PREVIOUS_SERVICE_IDENTITY_TABLE).set(UNIT_KEY, jsonBytes(previousServiceCertPem));
    if (endorsementPem !== undefined) tx.map(PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_TABLE).set(UNIT_KEY, jsonBytes(endorsementPem));
    clearSubmittedShares(tx);
  };
}

/**
 * A receipt signed by a node of a previous service: its certificate chains to the previous identity, so
 * the receipt carries the new identity's endorsement of it (CCF's service_endorsements) and verifies
 * against the current service certificate.
 */
export function withServiceEndorsements<T extends { cert: string }>(receipt: T, enclave: { store: Store; serviceCertPem: string }): T & { service_endorsements?: string[] } {
  const raw = enclave.store.get(PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_TABLE, UNIT_KEY);
  if (raw === undefined) return receipt;
  try {
    if (new X509Certificate(receipt.cert).verify(new X509Certificate(enclave.serviceCertPem).publicKey)) return receipt;
  } catch {
    return receipt;
  }
  return { ...receipt, service_endorsements: [parseJsonBytes<string>(raw)] };
}
