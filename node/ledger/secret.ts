// The ledger secret, as CCF uses it: a 32-byte AES-256-GCM key (NIST SP 800-38D) that encrypts each
// entry's private domain, and the root of commit evidence. Commit evidence for TxID v.s is
// `ce:{v}.{s}:{hex HMAC-SHA256(commit_secret, "{v}.{s}")}` with
// commit_secret = HMAC-SHA256(ledger_secret, "Commit S"). It is revealed only after commit, so a receipt
// cannot be forged for an entry that was later rolled back.
//
// The raw key never leaves this object except through `exportKey`, which the enclave uses to share the
// secret with joining nodes and recovery shares (always encrypted on the way out).

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { hmacSha256, hmacSha256With, sha256, toHex } from '../crypto/hash.ts';
import { LedgerFormatError, invalidArgument } from './errors.ts';

export const LEDGER_SECRET_BYTES = 32;
export const GCM_TAG_BYTES = 16;
export const GCM_IV_BYTES = 12;
/** CCF's label is "Commit Secret Label", but it passes sizeof(a pointer) as the length: 8 bytes. */
const COMMIT_SECRET_LABEL = new TextEncoder().encode('Commit S');
/** Views use 31 bits of the IV; the top bit marks snapshots. */
export const VIEW_MAX = 2 ** 31 - 1;

export class LedgerSecret {
  readonly #key: Uint8Array;
  readonly #commitHmac: (data: Uint8Array) => Uint8Array;

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.byteLength !== LEDGER_SECRET_BYTES) {
      throw invalidArgument(`a ledger secret is ${LEDGER_SECRET_BYTES} bytes`);
    }
    this.#key = key.slice();
    this.#commitHmac = hmacSha256With(hmacSha256(this.#key, COMMIT_SECRET_LABEL));
  }

  /** `ce:{view}.{seqno}:{64 hex digits}` — the string whose SHA-256 is the entry's commit-evidence digest. */
  commitEvidence(view: number, seqno: number): string {
    checkTxId(view, seqno);
    const txId = `${view}.${seqno}`;
    return `ce:${txId}:${toHex(this.#commitHmac(new TextEncoder().encode(txId)))}`;
  }

  /** SHA-256 of `commitEvidence(view, seqno)`, as stored in the entry's public domain. */
  commitEvidenceDigest(view: number, seqno: number): Uint8Array {
    return sha256(new TextEncoder().encode(this.commitEvidence(view, seqno)));
  }

  /** AES-256-GCM; the ciphertext is as long as the plaintext. An empty plaintext still gets a tag. */
  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Uint8Array; tag: Uint8Array } {
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(aad);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    const ciphertext = tail.byteLength === 0 ? head : Buffer.concat([head, tail]);
    return { ciphertext: new Uint8Array(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength), tag: new Uint8Array(cipher.getAuthTag()) };
  }

  /**
   * `encrypt` writing the ciphertext into `target` at `offset`, pausing (yield) after every `stepBytes`
   * of plaintext: for multi-megabyte snapshots, so that the caller's event loop keeps turning.
   */
  *encryptInto(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, target: Uint8Array, offset: number, stepBytes: number): Generator<void, Uint8Array, void> {
    if (offset < 0 || offset + plaintext.byteLength > target.byteLength) throw invalidArgument('ciphertext does not fit its target');
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(aad);
    let at = offset;
    for (let done = 0; done < plaintext.byteLength; done += stepBytes) {
      const part = cipher.update(plaintext.subarray(done, Math.min(plaintext.byteLength, done + stepBytes)));
      target.set(part, at);
      at += part.byteLength;
      if (done + stepBytes < plaintext.byteLength) yield;
    }
    const tail = cipher.final();
    target.set(tail, at);
    at += tail.byteLength;
    if (at !== offset + plaintext.byteLength) throw new Error('ledger assertion failed: ciphertext length');
    return new Uint8Array(cipher.getAuthTag());
  }

  /** Inverse of `encrypt`; throws LEDGER_DECRYPT_FAILED if the tag does not verify. */
  decrypt(iv: Uint8Array, tag: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const head = decipher.update(ciphertext);
    let tail: Buffer;
    try {
      tail = decipher.final();
    } catch {
      head.fill(0);
      throw new LedgerFormatError(
        'LEDGER_DECRYPT_FAILED',
        'the entry does not authenticate under this ledger secret: it was altered, or another secret encrypted it',
      );
    }
    const plaintext = tail.byteLength === 0 ? head : Buffer.concat([head, tail]);
    return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  }

  /** A copy of the raw key, for sealing or sharing it encrypted. Handle with care. */
  exportKey(): Uint8Array {
    return this.#key.slice();
  }
}

function checkTxId(view: number, seqno: number): void {
  if (!Number.isSafeInteger(view) || view < 0 || view > VIEW_MAX) throw invalidArgument(`view ${view} is not in [0, 2^31)`);
  if (!Number.isSafeInteger(seqno) || seqno < 0) throw invalidArgument(`seqno ${seqno} is not a non-negative integer`);
}
