// A miniature CCF-like service for tests: a service key and self-signed service certificate, node
// keys with certificates the service endorses, a naive Merkle tree, and JSON/COSE receipts signed
// the way CCF signs them. Everything is deterministic from a seed so failures replay.
import { p256, p384 } from '@noble/curves/nist.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { encode } from 'cborg';
import { buildCertificate, encodePublicKeyInfo } from '../../src/tools/x509-builder.ts';
import { bytesToBase64, bytesToHex, concatBytes, derToPem, utf8ToBytes } from '../../src/verify/encoding.ts';
import type { Curve } from '../../src/verify/ecdsa.ts';

export interface TestKey {
  curve: Curve;
  secret: Uint8Array;
  point: Uint8Array;
  spkiDer: Uint8Array;
  id: string; // hex SHA-256 of SPKI DER
}

/** Deterministic key from a seed number (test-only: never derive real keys like this). */
export function testKey(seed: number, curve: Curve = 'P-384'): TestKey {
  const c = curve === 'P-384' ? p384 : p256;
  const material = concatBytes(sha512(utf8ToBytes(`synod-test-key-${seed}-a`)), sha512(utf8ToBytes(`synod-test-key-${seed}-b`)));
  const secret = c.utils.randomSecretKey(material.subarray(0, c.lengths.seed));
  const point = c.getPublicKey(secret, false);
  const spkiDer = encodePublicKeyInfo(curve, point);
  return { curve, secret, point, spkiDer, id: bytesToHex(sha256(spkiDer)) };
}

export function signDigest(key: TestKey, digest: Uint8Array, format: 'der' | 'compact'): Uint8Array {
  const c = key.curve === 'P-384' ? p384 : p256;
  return c.sign(digest, key.secret, { prehash: false, format });
}

export function issueCert(opts: {
  subject: TestKey;
  subjectName: string;
  issuer: TestKey;
  issuerName: string;
  serial: number;
  ca: boolean;
  /** Write the Subject/AuthorityKeyIdentifier extensions (as CCF does); default true. */
  keyIds?: boolean;
}): string {
  const hash = opts.issuer.curve === 'P-384' ? 'SHA-384' : 'SHA-256';
  const der = buildCertificate({
    subjectCommonName: opts.subjectName,
    issuerCommonName: opts.issuerName,
    subjectPoint: opts.subject.point,
    subjectCurve: opts.subject.curve,
    serial: Uint8Array.of(0x01, opts.serial & 0xff, (opts.serial >> 8) & 0xff),
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2026-01-01T00:00:00Z'),
    isCertificateAuthority: opts.ca,
    subjectKeyId: opts.keyIds === false ? undefined : sha1(opts.subject.point),
    authorityKeyId: opts.keyIds === false ? undefined : sha1(opts.issuer.point),
    signatureHash: hash,
    sign: (tbs) => signDigest(opts.issuer, hash === 'SHA-384' ? sha384(tbs) : sha256(tbs), 'der'),
  });
  return derToPem(der);
}

/** Merkle tree levels, level 0 = leaves; an odd last node is promoted unchanged. */
export function treeLevels(leaves: Uint8Array[]): Uint8Array[][] {
  const levels = [leaves];
  while (levels[levels.length - 1]!.length > 1) {
    const prev = levels[levels.length - 1]!;
    const next: Uint8Array[] = [];
    for (let i = 0; i < prev.length; i += 2) next.push(i + 1 < prev.length ? sha256(concatBytes(prev[i]!, prev[i + 1]!)) : prev[i]!);
    levels.push(next);
  }
  return levels;
}

export function treeRoot(leaves: Uint8Array[]): Uint8Array {
  const levels = treeLevels(leaves);
  return levels[levels.length - 1]![0]!;
}

export function treePath(leaves: Uint8Array[], index: number): Array<{ left: boolean; hash: Uint8Array }> {
  const path: Array<{ left: boolean; hash: Uint8Array }> = [];
  let i = index;
  for (const level of treeLevels(leaves).slice(0, -1)) {
    if (i % 2 === 1) path.push({ left: true, hash: level[i - 1]! });
    else if (i + 1 < level.length) path.push({ left: false, hash: level[i + 1]! });
    i = Math.floor(i / 2);
  }
  return path;
}

export interface TestTx {
  writeSetDigest: Uint8Array;
  commitEvidence: string;
  claimsDigest: Uint8Array;
  leaf: Uint8Array;
}

export function testTx(view: number, seqno: number, claims?: Uint8Array): TestTx {
  const writeSetDigest = sha256(utf8ToBytes(`write set ${seqno}`));
  const commitEvidence = `ce:${view}.${seqno}:${bytesToHex(sha256(utf8ToBytes(`secret ${seqno}`)))}`;
  const claimsDigest = claims ? sha256(claims) : new Uint8Array(32);
  const leaf = sha256(concatBytes(writeSetDigest, sha256(utf8ToBytes(commitEvidence)), claimsDigest));
  return { writeSetDigest, commitEvidence, claimsDigest, leaf };
}

/** A service: key, certificate, one endorsed node. */
export function testService(seed: number) {
  const serviceKey = testKey(seed * 10 + 1);
  const nodeKey = testKey(seed * 10 + 2);
  const serviceCert = issueCert({ subject: serviceKey, subjectName: 'CCF Service', issuer: serviceKey, issuerName: 'CCF Service', serial: seed, ca: true });
  const nodeCert = issueCert({ subject: nodeKey, subjectName: 'CCF Node', issuer: serviceKey, issuerName: 'CCF Service', serial: seed + 1, ca: false });
  return { serviceKey, nodeKey, serviceCert, nodeCert };
}

export function jsonReceipt(txs: TestTx[], index: number, nodeKey: TestKey, nodeCert: string) {
  const leaves = txs.map((t) => t.leaf);
  const root = treeRoot(leaves);
  const t = txs[index]!;
  return {
    cert: nodeCert,
    leaf_components: {
      claims_digest: bytesToHex(t.claimsDigest),
      commit_evidence: t.commitEvidence,
      write_set_digest: bytesToHex(t.writeSetDigest),
    },
    node_id: nodeKey.id,
    proof: treePath(leaves, index).map((s) => (s.left ? { left: bytesToHex(s.hash) } : { right: bytesToHex(s.hash) })),
    signature: bytesToBase64(signDigest(nodeKey, root, 'der')),
  };
}

/** Protected header laid out as CCF writes it: alg, kid, vds, CWT claims, ccf.v1. */
export function ccfProtectedHeader(serviceKey: TestKey, signatureTxid: string): Uint8Array {
  return encode(
    new Map<unknown, unknown>([
      [1, serviceKey.curve === 'P-384' ? -35 : -7],
      [4, utf8ToBytes(serviceKey.id)],
      [395, 2],
      [15, new Map<unknown, unknown>([[6, 1761669641], [1, 'service.example.com'], [2, 'ledger.signature']])],
      ['ccf.v1', new Map([['txid', signatureTxid]])],
    ]),
    { mapSorter: () => 0 }, // keep CCF's insertion order rather than sorting keys canonically
  );
}

export function coseSign(serviceKey: TestKey, protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const toBeSigned = encode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  const digest = serviceKey.curve === 'P-384' ? sha384(toBeSigned) : sha256(toBeSigned);
  return signDigest(serviceKey, digest, 'compact');
}

/** COSE receipt for txs[index], signed by the service key over the root of all txs. */
export function coseReceipt(txs: TestTx[], index: number, serviceKey: TestKey, signatureTxid = '2.99'): Uint8Array {
  const leaves = txs.map((t) => t.leaf);
  const root = treeRoot(leaves);
  const t = txs[index]!;
  const protectedBytes = ccfProtectedHeader(serviceKey, signatureTxid);
  const proof = encode(
    new Map<number, unknown>([
      [1, [t.writeSetDigest, t.commitEvidence, t.claimsDigest]],
      [2, treePath(leaves, index).map((s) => [s.left, s.hash])],
    ]),
  );
  const unprotected = new Map<number, unknown>([[396, new Map<number, unknown>([[-1, [proof]]])]]);
  const sig = coseSign(serviceKey, protectedBytes, root);
  return tagged18(encode([protectedBytes, unprotected, null, sig]));
}

/** Prefixes CBOR tag 18 (COSE_Sign1): major type 6, value 18, one byte 0xd2. */
export function tagged18(encodedArray: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(0xd2), encodedArray);
}
