// Checks the tree against real CCF receipts (conformance/ccf/receipts): the leaf is
// H(write_set_digest ‖ H(commit_evidence) ‖ claims_digest), the proof folds with our ordering, and the
// folded root is what the node signed (ECDSA P-384 over the root as a prehashed SHA-256 digest). The
// signature check uses node:crypto directly so this test stands apart from node/crypto.

import { p384 } from '@noble/curves/nist.js';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldProof, MerkleTree, type ProofStep } from './tree.ts';
import { CCF_CONFORMANCE } from '../../test/helpers/conformance.ts';

const RECEIPTS_DIR = `${CCF_CONFORMANCE}/receipts`;

interface CcfReceipt {
  cert: string;
  signature: string;
  node_id: string;
  proof: Array<{ left?: string; right?: string }>;
  leaf_components: { write_set_digest: string; commit_evidence: string; claims_digest: string };
}

const sha256 = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function load(name: string): { receipt: CcfReceipt; seqno: number; leaf: Uint8Array; proof: ProofStep[] } {
  const receipt = JSON.parse(readFileSync(`${RECEIPTS_DIR}/${name}`, 'utf8')) as CcfReceipt;
  const components = receipt.leaf_components;
  const leaf = sha256(
    Buffer.concat([
      fromHex(components.write_set_digest),
      sha256(components.commit_evidence),
      fromHex(components.claims_digest),
    ]),
  );
  const proof = receipt.proof.map((step): ProofStep =>
    step.left !== undefined ? { left: fromHex(step.left) } : { right: fromHex(step.right!) },
  );
  const seqno = Number(/^ce:\d+\.(\d+):/.exec(components.commit_evidence)![1]);
  return { receipt, seqno, leaf, proof };
}

/** ECDSA P-384 verification where the 32-byte root itself is the digest (no further hashing). */
function verifyPrehashed(certPem: string, digest: Uint8Array, derSignature: Uint8Array): boolean {
  // node:crypto's verify always hashes its input for EC keys, so the prehashed check goes through noble.
  // OpenSSL (CCF) does not normalise S, so high-S signatures must be accepted.
  const jwk = new X509Certificate(certPem).publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return p384.verify(derSignature, digest, point, { prehash: false, format: 'der', lowS: false });
}

describe('real CCF receipts', () => {
  for (const name of ['doc-verify-tx-2.643.json', 'doc-audit-receipt.json']) {
    it(`${name}: the proof folds to the root the node signed`, () => {
      const { receipt, leaf, proof } = load(name);
      const root = foldProof(leaf, proof);
      const signature = new Uint8Array(Buffer.from(receipt.signature, 'base64'));
      expect(verifyPrehashed(receipt.cert, root, signature)).toBe(true);
      // The opposite ordering convention must not verify: that is what pins left/right down.
      const mirrored = proof.map((s): ProofStep => ('left' in s ? { right: s.left } : { left: s.right }));
      expect(verifyPrehashed(receipt.cert, foldProof(leaf, mirrored), signature)).toBe(false);
      // node_id is the hex SHA-256 of the certificate's SPKI DER.
      const spki = new X509Certificate(receipt.cert).publicKey.export({ format: 'der', type: 'spki' });
      expect(hex(sha256(spki))).toBe(receipt.node_id);
    });
  }

  for (const name of ['doc-verify-tx-2.643.json', 'doc-audit-receipt.json']) {
    it(`${name}: our tree produces the same proof shape for that seqno at some signature size`, () => {
      const { seqno, leaf, proof } = load(name);
      const directions = proof.map((s) => ('left' in s ? 'L' : 'R')).join('');
      const tree = new MerkleTree();
      for (let n = 1; n < seqno; n++) tree.append(sha256(`filler ${n}`));
      tree.append(leaf);
      let matchingSize: number | undefined;
      for (let size = seqno + 1; size <= 2 * seqno + 2 && matchingSize === undefined; size++) {
        if (size > tree.size) tree.append(sha256(`filler ${size - 1}`));
        const ours = tree.proof(seqno, size).map((s) => ('left' in s ? 'L' : 'R')).join('');
        if (ours === directions) matchingSize = size;
      }
      expect(matchingSize).toBeDefined();
      // Independent fold with plain SHA-256: left → H(sibling ‖ current), right → H(current ‖ sibling).
      const expected = proof.reduce(
        (cur, s) => sha256(Buffer.concat('left' in s ? [s.left, cur] : [cur, s.right])),
        leaf,
      );
      expect(hex(foldProof(leaf, proof))).toBe(hex(expected));
    });
  }
});
