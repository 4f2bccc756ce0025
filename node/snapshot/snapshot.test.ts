// Snapshots: round trip of random KV states, the Merkle tree in CCF's form, tamper detection, private
// data encrypted, evidence and committed files accepted by the client's independent verifier, resuming
// from a snapshot plus the later ledger entries, and CCF's own snapshots read and verified.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifySnapshot as clientVerifySnapshot, splitSnapshot as clientSplitSnapshot } from '../../client/src/ledger/snapshot.ts';
import { Tables, UNIT_KEY } from '../enclave/tables.ts';
import { Store } from '../kv/index.ts';
import { decodeEntry, leafForEntry, LedgerSecret } from '../ledger/index.ts';
import { MerkleTree } from '../merkle/tree.ts';
import { sha256, toHex } from '../crypto/hash.ts';
import {
  completeSnapshotFile,
  decodeMapState,
  deserializeSnapshot,
  encodeMapState,
  parseCcfTree,
  serializeCcfTree,
  serializeSnapshot,
  serializeSnapshotInSteps,
  snapshotEvidenceWrite,
  snapshotFileName,
  SNAPSHOT_EVIDENCE_MAP,
  SnapshotError,
  splitSnapshotFile,
  verifySnapshotFile,
} from './index.ts';
import { chainIdentity, TestChain } from './test-chain.ts';

const utf8 = new TextEncoder();
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const secret = new LedgerSecret(new Uint8Array(32).fill(7));
const CONFORMANCE = '/work/shared/conformance/ccf/services';
const yieldNow = () => new Promise((r) => setImmediate(r));

function leaves(n: number, seed: number): MerkleTree {
  const tree = new MerkleTree();
  for (let i = 1; i < n; i++) tree.append(sha256(utf8.encode(`leaf ${seed} ${i}`)));
  return tree;
}

/** A store brought to `version` by random transactions over a few public and private maps. */
const storeArbitrary = fc
  .array(
    fc.array(
      fc.record({
        map: fc.constantFrom('public:app.a', 'public:ccf.gov.x', 'app.secret', 'records', 'public:z'),
        key: fc.uint8Array({ maxLength: 12 }),
        value: fc.option(fc.uint8Array({ maxLength: 40 }), { freq: 4 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((txs) => {
    const store = new Store();
    for (const writes of txs) {
      const tx = store.begin();
      for (const w of writes) {
        if (w.value === null) tx.map(w.map).delete(w.key);
        else tx.map(w.map).set(w.key, w.value);
      }
      const result = store.commit(tx);
      if (!result.ok) throw new Error('unexpected conflict');
    }
    // A snapshot is taken at a seqno; make sure there is at least one.
    if (store.version === 0) {
      const tx = store.begin();
      tx.map('public:app.a').set(new Uint8Array([0]), new Uint8Array([1]));
      store.commit(tx);
    }
    return store;
  });

function mapsOf(store: Store) {
  return store.snapshot().maps.map((m) => ({ name: m.name, entries: m.entries.map(([k, v, ver]) => [toHex(k), toHex(v), ver]) }));
}

function flip(bytes: Uint8Array, index: number, mask = 1): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= mask;
  return copy;
}

describe('map state and tree encodings', () => {
  it('map state round-trips, padded to 8 bytes with zeros', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 30 }), fc.integer({ min: 1, max: 1000 })), {
        selector: ([k]) => toHex(k),
        maxLength: 10,
      }), (entries) => {
        const sorted = [...entries].sort((a, b) => Buffer.compare(a[0], b[0]));
        const raw = encodeMapState(sorted);
        expect(raw.byteLength % 8).toBe(0);
        const back = decodeMapState(raw, 'm', 1000);
        expect(back.map(([k, v, ver]) => [toHex(k), toHex(v), ver])).toEqual(sorted.map(([k, v, ver]) => [toHex(k), toHex(v), ver]));
      }),
    );
  });

  it('map state refuses non-zero padding, short values, duplicates and versions past the map', () => {
    const raw = encodeMapState([[new Uint8Array([1]), new Uint8Array([2]), 5]]);
    expect(() => decodeMapState(flip(raw, 10), 'm', 9)).toThrow(/padding/);
    expect(() => decodeMapState(raw, 'm', 4)).toThrow(/version 5/);
    expect(() => decodeMapState(raw.subarray(0, raw.length - 8), 'm', 9)).toThrow(SnapshotError);
    const twice = new Uint8Array([...raw, ...raw]);
    expect(() => decodeMapState(twice, 'm', 9)).toThrow(/twice/);
    const short = raw.slice();
    new DataView(short.buffer).setBigUint64(16, 7n, true); // value size below its 8-byte version
    expect(() => decodeMapState(short, 'm', 9)).toThrow(/no room/);
  });

  it('the tree in merklecpp form restores every later root and proof', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 300 }), fc.integer({ min: 0, max: 300 }), (size, fromPick) => {
        const tree = leaves(size, size);
        const to = size - 1;
        const from = fromPick % size;
        const parsed = parseCcfTree(serializeCcfTree(tree, to, from));
        expect(parsed.from).toBe(from);
        expect(parsed.to).toBe(to);
        expect(toHex(parsed.tree.root())).toBe(toHex(tree.root()));
        expect(parsed.tree.proof(to)).toEqual(tree.proof(to));
        const next = sha256(utf8.encode('next'));
        parsed.tree.append(next);
        tree.append(next);
        expect(toHex(parsed.tree.root())).toBe(toHex(tree.root()));
      }),
      { numRuns: 60 },
    );
  });

  it('the tree parser refuses wrong lengths and counts', () => {
    const bytes = serializeCcfTree(leaves(11, 1), 10, 5);
    expect(() => parseCcfTree(bytes.subarray(0, bytes.length - 1))).toThrow(SnapshotError);
    expect(() => parseCcfTree(new Uint8Array([...bytes, 0]))).toThrow(SnapshotError);
    const zero = bytes.slice();
    zero.fill(0, 0, 8);
    expect(() => parseCcfTree(zero)).toThrow(SnapshotError);
    const huge = bytes.slice();
    huge[0] = 0x7f;
    expect(() => parseCcfTree(huge)).toThrow(SnapshotError);
  });
});

describe('serializeSnapshot / deserializeSnapshot', () => {
  it('round-trips random KV states: the same maps, versions and tree', () => {
    fc.assert(
      fc.property(storeArbitrary, fc.integer({ min: 1, max: 5 }), (store, view) => {
        const seqno = store.version;
        const tree = leaves(seqno + 1, seqno);
        const bytes = serializeSnapshot({ store, seqno, view, tree, secret, requireSignature: false });
        const restored = deserializeSnapshot(bytes, secret, { requireSignature: false });
        expect(restored.seqno).toBe(seqno);
        expect(restored.view).toBe(view);
        expect(restored.store.version).toBe(seqno);
        const withoutTree = mapsOf(restored.store).filter((m) => m.name !== Tables.tree);
        expect(withoutTree).toEqual(mapsOf(store));
        expect(toHex(restored.tree.root())).toBe(toHex(tree.root()));
        expect(toHex(restored.tree.root(seqno))).toBe(toHex(tree.root(seqno)));
        expect(restored.tree.proof(seqno)).toEqual(tree.proof(seqno));
        expect(toHex(restored.hashAtSnapshot)).toBe(toHex(tree.leaf(seqno)));
        expect(toHex(restored.digest)).toBe(toHex(sha256(bytes)));
        // Deterministic: the same state gives the same bytes.
        expect(toHex(serializeSnapshot({ store, seqno, view, tree, secret, requireSignature: false }))).toBe(toHex(bytes));
      }),
      { numRuns: 80 },
    );
  });

  it('in steps (pausing every few bytes) gives the same bytes, and writes made during the pauses do not reach it', async () => {
    await fc.assert(
      fc.asyncProperty(storeArbitrary, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 300 }), async (store, view, stepBytes) => {
        const seqno = store.version;
        const tree = leaves(seqno + 1, seqno);
        const expected = toHex(serializeSnapshot({ store, seqno, view, tree, secret, requireSignature: false }));
        let pauses = 0;
        const stepped = await serializeSnapshotInSteps({ store, seqno, view, tree, secret, requireSignature: false }, async () => {
          pauses++;
          // The node goes on meanwhile: new transactions and leaves.
          const tx = store.begin();
          tx.map('records').set(utf8.encode(`during ${pauses}`), utf8.encode('later'));
          tx.map('public:app.a').delete(new Uint8Array([0]));
          store.commit(tx);
          tree.append(sha256(utf8.encode(`later ${pauses}`)));
        }, stepBytes);
        expect(pauses).toBeGreaterThan(0);
        expect(toHex(stepped)).toBe(expected);
      }),
      { numRuns: 40 },
    );
  });

  it('keeps the view history as CCF does and gives consensus its view starts back', () => {
    const store = new Store();
    for (let i = 0; i < 30; i++) store.applyWrites(i + 1, [{ name: 'public:m', writes: [[new Uint8Array([i]), new Uint8Array([i])]], removes: [] }]);
    const views = [{ view: 2, startSeqno: 1 }, { view: 4, startSeqno: 10 }, { view: 5, startSeqno: 25 }, { view: 7, startSeqno: 31 }];
    const bytes = serializeSnapshot({ store, seqno: 30, view: 5, tree: leaves(31, 0), secret, views, requireSignature: false });
    const restored = deserializeSnapshot(bytes, secret, { requireSignature: false });
    expect(restored.viewHistory).toEqual([1, 1, 10, 10, 25]);
    expect(restored.views).toEqual(views.slice(0, 3));
    expect(restored.view).toBe(5);
    expect(() => serializeSnapshot({ store, seqno: 30, view: 4, tree: leaves(31, 0), secret, views, requireSignature: false })).toThrow(/view 5/);
    // Raft's shape of the same history gives the same bytes.
    const terms = views.map(({ view, startSeqno }) => ({ term: view, index: startSeqno }));
    expect(toHex(serializeSnapshot({ store, seqno: 30, view: 5, tree: leaves(31, 0), secret, views: terms, requireSignature: false }))).toBe(toHex(bytes));
  });

  it('carries extra maps, and hands back the signature as the history records it', async () => {
    const chain = new TestChain(await chainIdentity());
    chain.put('records', 'a', '1');
    const seqno = chain.sign();
    const extra = [{ name: 'public:node.local', entries: [[utf8.encode('x'), utf8.encode('y'), seqno] as [Uint8Array, Uint8Array, number]] }];
    const bytes = serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views, extra });
    const restored = deserializeSnapshot(bytes, chain.secret);
    expect(text(restored.store.get('public:node.local', utf8.encode('x')))).toBe('y');
    const recorded = chain.history.lastSignature()!;
    expect(restored.signatureInfo).toMatchObject({ seqno: recorded.seqno, view: recorded.view, nodeId: recorded.nodeId, nodeCertPem: recorded.nodeCertPem });
    expect(toHex(restored.signatureInfo!.root)).toBe(toHex(recorded.root));
    expect(toHex(restored.signatureInfo!.signature)).toBe(toHex(recorded.signature));
    expect(() => serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views,
      extra: [{ name: 'records', entries: [] }] })).toThrow(/also in the store/);
    expect(() => serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views,
      extra: [{ name: 'x', entries: [[utf8.encode('k'), utf8.encode('v'), seqno + 1]] }] })).toThrow(/outside/);
    // A tree that is not the one the signature signed is refused.
    const other = leaves(seqno + 1, 99);
    expect(() => serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: other, secret: chain.secret, views: chain.views })).toThrow(/root/);
  });

  it('refuses to snapshot anything but the current state with the signature leaf appended', () => {
    const store = new Store();
    store.applyWrites(1, [{ name: 'public:m', writes: [[new Uint8Array([1]), new Uint8Array([1])]], removes: [] }]);
    expect(() => serializeSnapshot({ store, seqno: 1, view: 1, tree: leaves(3, 0), secret, requireSignature: false })).toThrow(/leaves/);
    expect(() => serializeSnapshot({ store, seqno: 2, view: 1, tree: leaves(3, 0), secret, requireSignature: false })).toThrow(/store is at 1/);
    expect(() => serializeSnapshot({ store, seqno: 1, view: 1, tree: leaves(2, 0), secret })).toThrow(/signature/);
  });

  it('keeps private data encrypted: no private key or value appears in the bytes', () => {
    const store = new Store();
    store.applyWrites(1, [
      { name: 'records', writes: [[utf8.encode('private-key-QX7'), utf8.encode('private-value-ZK9')]], removes: [] },
      { name: 'public:records', writes: [[utf8.encode('public-key-PB1'), utf8.encode('public-value-PV2')]], removes: [] },
    ]);
    const bytes = Buffer.from(serializeSnapshot({ store, seqno: 1, view: 1, tree: leaves(2, 0), secret, requireSignature: false }));
    expect(bytes.includes('public-value-PV2')).toBe(true);
    expect(bytes.includes('private-value-ZK9')).toBe(false);
    expect(bytes.includes('private-key-QX7')).toBe(false);
    expect(bytes.includes('records')).toBe(true); // the public map's name
    const restored = deserializeSnapshot(bytes, secret, { requireSignature: false });
    expect(text(restored.store.get('records', utf8.encode('private-key-QX7')))).toBe('private-value-ZK9');
    // Without the secret, only the public domain can be read.
    const publicOnly = deserializeSnapshot(bytes, undefined, { publicOnly: true, requireSignature: false });
    expect(publicOnly.authenticated).toBe(false);
    expect(publicOnly.store.get('records', utf8.encode('private-key-QX7'))).toBeUndefined();
    expect(() => deserializeSnapshot(bytes, undefined)).toThrow(/publicOnly/);
    // Another ledger secret does not open it.
    expect(() => deserializeSnapshot(bytes, new LedgerSecret(new Uint8Array(32).fill(8)), { requireSignature: false })).toThrow(SnapshotError);
  });

  it('refuses every single flipped bit or byte, and every truncation', async () => {
    const chain = new TestChain(await chainIdentity());
    chain.put('records', 'k', 'secret value');
    chain.put('public:records', 'p', 'public value');
    const seqno = chain.sign();
    const bytes = serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views });
    expect(deserializeSnapshot(bytes, chain.secret).seqno).toBe(seqno);
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80]) {
        let refused = false;
        try {
          deserializeSnapshot(flip(bytes, i, mask), chain.secret);
        } catch (error) {
          refused = error instanceof SnapshotError;
          if (!refused) throw error;
        }
        if (!refused) throw new Error(`flipping byte ${i} with ${mask} was accepted`);
      }
      if (i % 256 === 0) await yieldNow();
    }
    for (const cut of [0, 7, 8, 40, bytes.length - 1]) expect(() => deserializeSnapshot(bytes.subarray(0, cut), chain.secret)).toThrow(SnapshotError);
    expect(() => deserializeSnapshot(new Uint8Array([...bytes, 0]), chain.secret)).toThrow(SnapshotError);
  });
});

describe('evidence, committed files and resuming', () => {
  for (const writeTree of [false, true]) {
    it(`a committed file verifies (ours and the client's), and store + tree resume from it${writeTree ? ' (signatures write the tree)' : ''}`, async () => {
      const id = await chainIdentity();
      const chain = new TestChain(id, 3, writeTree);
      for (let i = 0; i < 7; i++) chain.put(i % 2 ? 'records' : 'public:records', `k${i}`, `v${i}`);
      chain.remove('records', 'k1');
      chain.sign();
      chain.put('records', 'k9', 'v9');
      const seqno = chain.sign();

      // At the signature: serialise, then the evidence transaction carrying the digest as its claims.
      const entry = serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views });
      let claims: Uint8Array | undefined;
      const evidenceSeqno = chain.execute((tx) => {
        claims = snapshotEvidenceWrite(tx, entry, seqno);
      }, sha256(entry));
      expect(toHex(claims!)).toBe(toHex(sha256(entry)));
      expect(JSON.parse(text(chain.store.get(SNAPSHOT_EVIDENCE_MAP, UNIT_KEY))!)).toEqual({ hash: toHex(sha256(entry)), version: seqno });
      chain.put('public:records', 'after', 'evidence');
      chain.sign(); // covers the evidence: its receipt exists once this commits
      const receipt = chain.receipt(evidenceSeqno);
      const file = completeSnapshotFile(entry, receipt);
      const name = snapshotFileName(seqno, evidenceSeqno);

      const ours = verifySnapshotFile(file, id.serviceCertPem, { name });
      expect(ours).toMatchObject({ seqno, evidenceSeqno, evidenceView: chain.view, nodeId: id.nodeId });
      const client = clientVerifySnapshot(file, { serviceCert: id.serviceCertPem, name });
      expect(client.version).toBe(seqno);
      expect(client.receipt.seqno).toBe(evidenceSeqno);
      expect(clientSplitSnapshot(file).entry).toEqual(entry);
      expect(() => verifySnapshotFile(file, id.serviceCertPem, { name: snapshotFileName(seqno, evidenceSeqno + 1) })).toThrow(/does not name/);
      const other = await chainIdentity();
      expect(() => verifySnapshotFile(file, other.serviceCertPem)).toThrow(/not endorsed/);
      expect(() => clientVerifySnapshot(file, { serviceCert: other.serviceCertPem })).toThrow();

      // Resume: restore at seqno, then apply the ledger entries after it.
      const restored = deserializeSnapshot(ours.entry, chain.secret);
      expect(restored.signature?.seqno).toBe(seqno);
      expect(restored.signatureInfo?.nodeId).toBe(id.nodeId);
      expect(restored.view).toBe(chain.view);
      for (let s = seqno + 1; s <= chain.store.version; s++) {
        const bytes = chain.entries[s - 1]!;
        const decoded = decodeEntry(bytes, chain.secret);
        restored.store.applyWrites(s, decoded.maps.map(({ name: n, writes, removes }) => ({ name: n, writes, removes })));
        restored.tree.append(leafForEntry(bytes, decoded));
      }
      expect(toHex(restored.tree.root())).toBe(toHex(chain.tree.root()));
      expect(restored.tree.proof(evidenceSeqno, chain.tree.size - 1)).toEqual(chain.tree.proof(evidenceSeqno, chain.tree.size - 1));
      const expected = mapsOf(chain.store);
      const actual = mapsOf(restored.store).filter((m) => writeTree || m.name !== Tables.tree);
      expect(actual).toEqual(expected);
      expect(text(restored.store.get('records', utf8.encode('k9')))).toBe('v9');
      expect(restored.store.get('records', utf8.encode('k1'))).toBeUndefined();
    });
  }

  it('refuses altered committed files: any flipped bit in the entry, and altered receipts', async () => {
    const id = await chainIdentity();
    const chain = new TestChain(id);
    chain.put('records', 'k', 'v');
    const seqno = chain.sign();
    const entry = serializeSnapshot({ store: chain.store, seqno, view: chain.view, tree: chain.tree, secret: chain.secret, views: chain.views });
    const evidenceSeqno = chain.execute((tx) => void snapshotEvidenceWrite(tx, entry, seqno), sha256(entry));
    chain.sign();
    const file = completeSnapshotFile(entry, chain.receipt(evidenceSeqno));
    expect(verifySnapshotFile(file, id.serviceCertPem).seqno).toBe(seqno);
    let accepted = 0;
    const certEnd = Buffer.from(file).indexOf('-----END CERTIFICATE', entry.length);
    for (let i = 0; i < file.length; i++) {
      // Every byte of the entry; in the receipt, a sample (each byte costs a signature check), and every
      // byte of the certificate's last line (its base64 padding bits must not be malleable).
      if (i >= entry.length && i % 7 !== 0 && (i < certEnd - 80 || i > certEnd)) continue;
      try {
        verifySnapshotFile(flip(file, i), id.serviceCertPem);
        accepted++;
      } catch (error) {
        if (!(error instanceof SnapshotError) && !(error instanceof Error && /LEDGER|Merkle|MERKLE/.test(String((error as { code?: string }).code)))) throw error;
      }
      if (i % 64 === 0) await yieldNow();
    }
    expect(accepted).toBe(0);
    expect(() => verifySnapshotFile(entry, id.serviceCertPem)).toThrow(/never committed/);
    expect(() => splitSnapshotFile(new Uint8Array([...entry, ...utf8.encode('{"cert": ')]))).toThrow(/not a JSON receipt/);
    // The receipt of another transaction does not vouch for this snapshot.
    const wrong = completeSnapshotFile(entry, chain.receipt(seqno - 1));
    expect(() => verifySnapshotFile(wrong, id.serviceCertPem)).toThrow(SnapshotError);
    // Evidence must be written for the entry's own seqno.
    expect(() => chain.execute((tx) => void snapshotEvidenceWrite(tx, entry, seqno + 1))).toThrow(/not \d+/);
  });
});

describe("CCF's own snapshots", () => {
  const files = ['expired_service', 'eol_service', 'sgx_service'].flatMap((service) => {
    const dir = join(CONFORMANCE, service, 'snapshots');
    return readdirSync(dir).map((name) => ({ service, name, path: join(dir, name) }));
  });

  it.each(files)('$service/$name: public domain, tree and signature check out; the evidence verifies', ({ service, name, path }) => {
    const file = new Uint8Array(readFileSync(path));
    const { entry, seqno } = splitSnapshotFile(file);
    const snapshot = deserializeSnapshot(entry, undefined, { publicOnly: true });
    expect(snapshot.seqno).toBe(seqno);
    expect(snapshot.tree.size).toBe(seqno + 1);
    // deserializeSnapshot checked the root over leaves [0, seqno) against the signature record and its
    // ECDSA signature; the stored tree re-encodes to the very bytes CCF wrote.
    const stored = snapshot.maps.find((m) => m.name === Tables.tree)!.entries[0]![1];
    const parsed = parseCcfTree(stored);
    expect(toHex(serializeCcfTree(parsed.tree, parsed.to, parsed.from))).toBe(toHex(stored));
    // Map states re-encode to the same length (CCF orders keys by its hash, we by bytes).
    const decoded = decodeEntry(entry);
    for (const raw of decoded.snapshot!.publicMaps) {
      const entries = snapshot.maps.find((m) => m.name === raw.name)!.entries;
      expect(encodeMapState(entries).byteLength).toBe(raw.raw.byteLength);
    }
    // Trust the current service identity, and the previous ones the service recorded in its own state.
    const trusted = [readFileSync(join(CONFORMANCE, service, 'common', 'service_cert.pem'), 'utf8')];
    for (const other of files.filter((f) => f.service === service)) {
      const state = deserializeSnapshot(splitSnapshotFile(new Uint8Array(readFileSync(other.path))).entry, undefined, { publicOnly: true });
      const previous = state.store.get('public:ccf.gov.service.previous_service_identity', UNIT_KEY);
      if (previous) trusted.push(JSON.parse(text(previous)!) as string);
    }
    const verified = verifySnapshotFile(file, trusted, { name });
    expect(verified.seqno).toBe(seqno);
    expect(verified.evidenceSeqno).toBe(seqno + 1);
  });
});

describe('hostile input', () => {
  const ccf = new Uint8Array(readFileSync(join(CONFORMANCE, 'expired_service', 'snapshots', 'snapshot_61_62.committed')));
  const { entry } = splitSnapshotFile(ccf);

  it('unauthenticated parsing of altered CCF snapshots fails only with SnapshotError', async () => {
    // publicOnly skips the GCM tag, so the parsers themselves meet the damage.
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), async (flips) => {
        const bytes = entry.slice();
        for (const [at, mask] of flips) bytes[at % bytes.length]! ^= mask;
        try {
          deserializeSnapshot(bytes, undefined, { publicOnly: true });
        } catch (error) {
          if (!(error instanceof SnapshotError)) throw error;
          refused++;
        }
        await yieldNow();
      }),
      { numRuns: 200 },
    );
    // Most of the entry is map values (a 50 KB constitution), which nothing checks without the tag.
    expect(refused).toBeGreaterThan(10);
  });

  it('malformed receipts fail only with SnapshotError', () => {
    const base = JSON.parse(new TextDecoder().decode(ccf.subarray(entry.length))) as Record<string, unknown>;
    const variants: unknown[] = [
      null, [], 'x', 1, {},
      { ...base, proof: 'x' }, { ...base, proof: [{}] }, { ...base, proof: [{ left: 'zz' }] }, { ...base, proof: [{ left: 'ab', right: 'cd' }] },
      { ...base, proof: new Array(100).fill({ left: '00'.repeat(32) }) },
      { ...base, leaf_components: null }, { ...base, leaf_components: { ...(base.leaf_components as object), commit_evidence: 'ce:1' } },
      { ...base, leaf_components: { ...(base.leaf_components as object), claims_digest: 'AB'.repeat(32) } },
      { ...base, cert: 5 }, { ...base, cert: 'not a pem' }, { ...base, signature: '***' }, { ...base, signature: '' },
      { ...base, node_id: '00' }, { ...base, service_endorsements: 'x' }, { ...base, service_endorsements: [7] },
      { ...base, service_endorsements: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] },
    ];
    const cert = readFileSync(join(CONFORMANCE, 'expired_service', 'common', 'service_cert.pem'), 'utf8');
    expect(verifySnapshotFile(ccf, cert).seqno).toBe(61);
    for (const receipt of variants) {
      const file = new Uint8Array([...entry, ...utf8.encode(JSON.stringify(receipt))]);
      expect(() => verifySnapshotFile(file, cert), JSON.stringify(receipt)?.slice(0, 80)).toThrow(SnapshotError);
    }
  });
});
