// Test helper: a small signed ledger built from the node's own primitives exactly as the enclave builds
// one (KV commit → encoded entry → Merkle leaf → history; signature transactions signing the root with
// the node key and writing CCF's signature record), so snapshot tests get real receipts without
// depending on the enclave's start-up path.

import { createEndorsedCertificate, createSelfSignedCertificate, nodeIdFromPublicKeyDer } from '../crypto/certs.ts';
import { sha256, toHex } from '../crypto/hash.ts';
import { digestSigner, generateKeyPair } from '../crypto/keys.ts';
import { jsonReceipt, TransactionHistory, type JsonReceipt } from '../enclave/history.ts';
import { Tables, UNIT_KEY, jsonBytes, type SignatureRecord } from '../enclave/tables.ts';
import { Store, type Tx } from '../kv/index.ts';
import { encodeEntry, leafFromDigests, LedgerSecret } from '../ledger/index.ts';
import { MerkleTree } from '../merkle/tree.ts';
import { serializeCcfTree } from './ccf-tree.ts';
import type { ViewStart } from './format.ts';

const ZERO = new Uint8Array(32);
const utf8 = new TextEncoder();

export interface ChainIdentity {
  serviceCertPem: string;
  nodeCertPem: string;
  nodeKeyPem: string;
  nodeId: string;
  ledgerSecret: Uint8Array;
}

export async function chainIdentity(): Promise<ChainIdentity> {
  const serviceKey = generateKeyPair('P-384');
  const serviceCertPem = await createSelfSignedCertificate(serviceKey, { commonName: 'Test Service', validityDays: 30 });
  const nodeKey = generateKeyPair('P-384');
  const nodeCertPem = await createEndorsedCertificate(nodeKey.publicKeyPem, { keyPair: serviceKey, certPem: serviceCertPem }, {
    commonName: 'Test Node',
    ipAddresses: ['127.0.0.1'],
    dnsNames: ['localhost'],
    validityDays: 30,
  });
  return {
    serviceCertPem,
    nodeCertPem,
    nodeKeyPem: nodeKey.privateKeyPem,
    nodeId: nodeIdFromPublicKeyDer(nodeKey.publicKeyDer),
    ledgerSecret: new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff),
  };
}

export class TestChain {
  readonly store = new Store();
  readonly tree = new MerkleTree();
  readonly history = new TransactionHistory();
  readonly secret: LedgerSecret;
  /** entries[seqno - 1] */
  readonly entries: Uint8Array[] = [];
  readonly views: ViewStart[];
  readonly #sign: (digest: Uint8Array) => Uint8Array;

  /** `writeTree`: signatures also write `public:ccf.internal.tree`, as CCF's do. */
  constructor(readonly id: ChainIdentity, readonly view = 3, readonly writeTree = false) {
    this.secret = new LedgerSecret(id.ledgerSecret);
    this.#sign = digestSigner(id.nodeKeyPem);
    this.views = [{ view: 2, startSeqno: 1 }, { view, startSeqno: 1 }];
  }

  execute(body: (tx: Tx) => void, claims: Uint8Array = ZERO): number {
    const tx = this.store.begin();
    body(tx);
    const result = this.store.commit(tx);
    if (!result.ok || result.seqno === undefined) throw new Error('test chain: nothing committed');
    this.#append(result.seqno, result.maps, result.maxConflictVersion, claims);
    return result.seqno;
  }

  put(map: string, key: string, value: string): number {
    return this.execute((tx) => tx.map(map).set(utf8.encode(key), utf8.encode(value)));
  }

  remove(map: string, key: string): number {
    return this.execute((tx) => {
      tx.map(map).delete(utf8.encode(key));
      tx.map('public:test.removes').set(utf8.encode(key), new Uint8Array([1]));
    });
  }

  sign(): number {
    const seqno = this.store.version + 1;
    const root = this.tree.root();
    const signature = this.#sign(root);
    const record: SignatureRecord = {
      commit_seqno: seqno - 1, commit_view: this.view, node: this.id.nodeId, root: toHex(root), seqno,
      sig: Buffer.from(signature).toString('base64'), view: this.view, cert: this.id.nodeCertPem,
    };
    const tree = this.writeTree ? serializeCcfTree(this.tree, seqno - 1) : undefined;
    const at = this.execute((tx) => {
      tx.map(Tables.signatures).set(UNIT_KEY, jsonBytes(record));
      if (tree) tx.map(Tables.tree).set(UNIT_KEY, tree);
    });
    this.history.recordSignature({ seqno, view: this.view, root, signature, nodeId: this.id.nodeId, nodeCertPem: this.id.nodeCertPem });
    return at;
  }

  receipt(seqno: number): JsonReceipt {
    const receipt = jsonReceipt(seqno, this.history, this.tree, this.secret.commitEvidence(this.view, seqno));
    if (!receipt) throw new Error(`test chain: no signature covers ${seqno}`);
    return receipt;
  }

  #append(seqno: number, maps: Parameters<typeof encodeEntry>[0]['maps'], maxConflictVersion: number, claimsDigest: Uint8Array): void {
    const commitEvidenceDigest = this.secret.commitEvidenceDigest(this.view, seqno);
    const bytes = encodeEntry({ seqno, view: this.view, claimsDigest, commitEvidenceDigest, maxConflictVersion, maps }, this.secret);
    const wsd = sha256(bytes);
    this.tree.append(leafFromDigests(wsd, commitEvidenceDigest, claimsDigest));
    this.history.record(seqno, wsd, claimsDigest);
    this.entries.push(bytes);
  }
}
