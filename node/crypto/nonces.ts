// ECDSA nonces prepared ahead, off the event loop.
//
// An ECDSA signature's one costly step is R = k·G for a fresh secret nonce k (~0.7 ms for P-384 through
// OpenSSL on the benchmark machine); it does not depend on the key or on the message. The primary makes
// two signatures per signature transaction (the node key over the root, the service key's COSE_Sign1),
// about a hundred transactions a second under load: ~15% of its event loop. A NoncePool has a worker
// thread draw k from the OS CSPRNG and compute x(k·G), and hands the pairs out one at a time; the
// signer does only the cheap s = k⁻¹(e + r·d). Each pair is used once and wiped when taken. When the pool
// is empty (start-up, a burst), the signer computes k·G itself, so nothing ever waits for the worker.
//
// The worker is this process's own thread: the nonces never leave the process, as the keys do not.

import { randomBytes, type ECDH } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface Nonce {
  k: bigint;
  /** x(k·G) mod n. */
  r: bigint;
}

export interface NonceSource {
  /** A fresh nonce, or undefined when none is ready (the caller computes one itself). */
  take(): Nonce | undefined;
}

/**
 * One nonce: k uniform in [1, n) (drawn 128 bits wider than n, so the bias is below 2⁻¹²⁸) and
 * r = x(k·G) mod n, with OpenSSL doing k·G through an ECDH object on the curve. The worker below does
 * the same in plain JavaScript; keep the two in step.
 */
export function drawNonce(ecdh: ECDH, n: bigint, size: number): Nonce {
  const k = (bytesToBigInt(randomBytes(size + 16)) % (n - 1n)) + 1n;
  ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(size * 2, '0'), 'hex'));
  const kG = ecdh.getPublicKey(); // 0x04 ‖ x ‖ y
  return { k, r: bytesToBigInt(kG.subarray(1, 1 + size)) % n };
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.byteLength === 0 ? 0n : BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

/** How the worker computes pairs (drawNonce's twin): plain JavaScript, as a worker does not share the parent's TS loader. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createECDH, randomBytes } = require('node:crypto');
const ecdh = createECDH(workerData.opensslCurve);
const n = BigInt(workerData.order);
const size = workerData.size;
parentPort.on('message', (count) => {
  const out = new Uint8Array(count * 2 * size);
  for (let i = 0; i < count; i++) {
    for (;;) {
      const k = (BigInt('0x' + randomBytes(size + 16).toString('hex')) % (n - 1n)) + 1n;
      const kBytes = Buffer.from(k.toString(16).padStart(size * 2, '0'), 'hex');
      ecdh.setPrivateKey(kBytes);
      const x = ecdh.getPublicKey().subarray(1, 1 + size);
      if (BigInt('0x' + x.toString('hex')) % n === 0n) continue;
      out.set(kBytes, i * 2 * size);
      out.set(x, i * 2 * size + size);
      kBytes.fill(0);
      break;
    }
  }
  parentPort.postMessage(out, [out.buffer]);
});
`;

export interface NoncePoolOptions {
  /** OpenSSL's curve name: secp384r1 or prime256v1. */
  opensslCurve: 'secp384r1' | 'prime256v1';
  order: bigint;
  /** Bytes of a scalar (48 for P-384). */
  size: number;
  /** Pairs asked for at once. */
  batch?: number;
  /** Ask for more when fewer than this many are left. */
  lowWater?: number;
}

export class NoncePool implements NonceSource {
  readonly #size: number;
  readonly #order: bigint;
  readonly #batch: number;
  readonly #lowWater: number;
  readonly #worker: Worker;
  readonly #batches: Uint8Array[] = [];
  #offset = 0;
  #available = 0;
  #requested = false;
  #failed = false;

  constructor(options: NoncePoolOptions) {
    this.#size = options.size;
    this.#order = options.order;
    this.#batch = options.batch ?? 128;
    this.#lowWater = options.lowWater ?? 64;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { opensslCurve: options.opensslCurve, order: options.order.toString(), size: options.size },
    });
    this.#worker.unref(); // a pool never keeps a process alive
    this.#worker.on('message', (bytes: Uint8Array) => {
      this.#requested = false;
      this.#batches.push(bytes);
      this.#available += bytes.byteLength / (2 * this.#size);
      this.#refill();
    });
    this.#worker.on('error', () => {
      this.#failed = true; // signers compute their own nonces from now on
    });
    this.#refill();
  }

  /** Nonces ready to be taken. */
  get available(): number {
    return this.#available;
  }

  take(): Nonce | undefined {
    const head = this.#batches[0];
    if (head === undefined) {
      this.#refill();
      return undefined;
    }
    const size = this.#size;
    const kBytes = head.subarray(this.#offset, this.#offset + size);
    const xBytes = head.subarray(this.#offset + size, this.#offset + 2 * size);
    const nonce = { k: bytesToBigInt(kBytes), r: bytesToBigInt(xBytes) % this.#order };
    kBytes.fill(0);
    this.#offset += 2 * size;
    this.#available--;
    if (this.#offset >= head.byteLength) {
      this.#batches.shift();
      this.#offset = 0;
    }
    this.#refill();
    return nonce;
  }

  /** Stops the worker; take() then only drains what is left. */
  async close(): Promise<void> {
    this.#failed = true;
    await this.#worker.terminate();
  }

  #refill(): void {
    if (this.#failed || this.#requested || this.#available >= this.#lowWater) return;
    this.#requested = true;
    this.#worker.postMessage(this.#batch);
  }
}
