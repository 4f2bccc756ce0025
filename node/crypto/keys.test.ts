import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { X509Certificate, createHash, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { fromHex, sha256, toHex } from './hash.ts';
import {
  curveOfPublicKey,
  digestSigner,
  generateKeyPair,
  keyPairFromPrivateKeyPem,
  publicKeyDerToPem,
  publicKeyPemToDer,
  signData,
  signDigest,
  verifyData,
  verifyDigest,
  type Curve,
} from './keys.ts';
import { CryptoError } from './errors.ts';
import { CCF_CONFORMANCE } from '../../test/helpers/conformance.ts';

const CONFORMANCE = CCF_CONFORMANCE;
const CURVES: Curve[] = ['P-256', 'P-384'];
// Key generation costs a few milliseconds; share one pair per curve across tests.
const PAIRS = { 'P-256': generateKeyPair('P-256'), 'P-384': generateKeyPair('P-384') };
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof CryptoError ? error.code : `not a CryptoError: ${String(error)}`;
  }
  return undefined;
}

describe('generateKeyPair', () => {
  it.each(CURVES)('produces PKCS#8 / SPKI keys on %s whose DER matches the PEM', (curve) => {
    const pair = PAIRS[curve];
    expect(pair.curve).toBe(curve);
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(publicKeyPemToDer(pair.publicKeyPem)).toEqual(pair.publicKeyDer);
    expect(publicKeyDerToPem(pair.publicKeyDer)).toBe(pair.publicKeyPem);
    expect(curveOfPublicKey(pair.publicKeyDer)).toBe(curve);
    expect(keyPairFromPrivateKeyPem(pair.privateKeyPem)).toEqual(pair);
  });

  it('gives distinct keys on each call', () => {
    expect(generateKeyPair('P-256').publicKeyPem).not.toBe(generateKeyPair('P-256').publicKeyPem);
  });

  it('rejects other curves with a stable code', () => {
    expect(codeOf(() => generateKeyPair('P-521' as Curve))).toBe('CRYPTO_UNSUPPORTED_CURVE');
  });

  it("reads CCF's SEC 1 member keys (with an EC PARAMETERS block)", () => {
    const common = `${CONFORMANCE}/services/eol_service/common`;
    const pair = keyPairFromPrivateKeyPem(readFileSync(`${common}/member0_privk.pem`, 'utf8'));
    const cert = new X509Certificate(readFileSync(`${common}/member0_cert.pem`));
    expect(pair.curve).toBe('P-384');
    expect(pair.publicKeyDer).toEqual(
      new Uint8Array(cert.publicKey.export({ format: 'der', type: 'spki' })),
    );
  });
});

describe('signDigest / verifyDigest', () => {
  it.each(CURVES)('round-trips on %s and rejects a changed digest, signature or key', (curve) => {
    const pair = PAIRS[curve];
    const other = generateKeyPair(curve);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(31), (digest, bit) => {
        const signature = signDigest(pair.privateKeyPem, digest);
        expect(signature[0]).toBe(0x30); // DER SEQUENCE
        expect(verifyDigest(pair.publicKeyPem, digest, signature)).toBe(true);
        expect(verifyDigest(pair.publicKeyDer, digest, signature)).toBe(true);
        const changed = digest.slice();
        changed[bit] = changed[bit]! ^ 0x01;
        expect(verifyDigest(pair.publicKeyPem, changed, signature)).toBe(false);
        const broken = signature.slice();
        broken[broken.length - 1] = broken[broken.length - 1]! ^ 0x01;
        expect(verifyDigest(pair.publicKeyPem, digest, broken)).toBe(false);
        expect(verifyDigest(other.publicKeyPem, digest, signature)).toBe(false);
      }),
      { numRuns: 8 },
    );
  });

  it.each(CURVES)('on %s: noble over H(m) verifies in OpenSSL, and OpenSSL over m verifies here', (curve) => {
    const pair = PAIRS[curve];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (message) => {
        const ours = signDigest(pair.privateKeyPem, sha256(message));
        expect(nodeVerify('sha256', message, pair.publicKeyPem, ours)).toBe(true);
        const theirs = new Uint8Array(nodeSign('sha256', message, pair.privateKeyPem));
        expect(verifyDigest(pair.publicKeyPem, sha256(message), theirs)).toBe(true);
      }),
      { numRuns: 8 },
    );
  });

  it.each(CURVES)('on %s accepts high-S signatures, as OpenSSL (and so CCF) does', (curve) => {
    const pair = PAIRS[curve];
    const noble = curve === 'P-256' ? p256 : p384;
    const order = noble.Point.Fn.ORDER;
    const digest = sha256(ascii('high-S'));
    const low = noble.Signature.fromBytes(signDigest(pair.privateKeyPem, digest), 'der');
    const flipped = new noble.Signature(low.r, order - low.s);
    const high = (low.hasHighS() ? low : flipped).toBytes('der');
    expect(noble.Signature.fromBytes(high, 'der').hasHighS()).toBe(true);
    expect(verifyDigest(pair.publicKeyPem, digest, high)).toBe(true);
    // The same bytes against the same digest, as OpenSSL sees them: also valid.
    const message = ascii('high-S');
    expect(nodeVerify('sha256', message, pair.publicKeyPem, high)).toBe(true);
  });

  it('returns false, never throws, on malformed signatures and keys', () => {
    const pair = PAIRS['P-384'];
    const digest = sha256(ascii('m'));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (garbage) => {
        expect(verifyDigest(pair.publicKeyPem, digest, garbage)).toBe(false);
        expect(verifyDigest(garbage, digest, signDigest(pair.privateKeyPem, digest))).toBe(false);
      }),
      { numRuns: 30 },
    );
    const signature = signDigest(pair.privateKeyPem, digest);
    expect(verifyDigest(pair.publicKeyPem, digest, signature.subarray(0, signature.length - 1))).toBe(false);
    expect(verifyDigest('not a key', digest, signature)).toBe(false);
    expect(verifyDigest(pair.publicKeyPem, digest.subarray(0, 31), signature)).toBe(false);
    // Trailing bytes after the DER SEQUENCE are not a valid encoding.
    const trailing = new Uint8Array([...signature, 0]);
    expect(verifyDigest(pair.publicKeyPem, digest, trailing)).toBe(false);
  });

  it('digestSigner signs repeatedly with one parsed key, with the same checks as signDigest', () => {
    const pair = PAIRS['P-384'];
    const sign = digestSigner(pair.privateKeyPem);
    const first = sha256(ascii('root 1'));
    const second = sha256(ascii('root 2'));
    expect(verifyDigest(pair.publicKeyPem, first, sign(first))).toBe(true);
    expect(verifyDigest(pair.publicKeyDer, second, sign(second))).toBe(true);
    expect(verifyDigest(pair.publicKeyDer, second, sign(first))).toBe(false);
    expect(codeOf(() => sign(new Uint8Array(20)))).toBe('CRYPTO_INVALID_DIGEST');
    expect(codeOf(() => digestSigner('not a key'))).toBe('CRYPTO_INVALID_KEY');
  });

  it('digestSigner (OpenSSL for k·G) signs what both noble and OpenSSL accept, on both curves and digest sizes', () => {
    // OpenSSL verifies hash-then-sign: sign the message's hash as a digest, then let node:crypto hash the
    // message and verify. P-256 with a SHA-384 digest exercises the truncation to the order's bit length.
    const hashName = (bytes: number): string => (bytes === 32 ? 'sha256' : 'sha384');
    for (const curve of CURVES) {
      const pair = PAIRS[curve];
      const sign = digestSigner(pair.privateKeyPem);
      for (const bytes of [32, 48]) {
        const seen = new Set<string>();
        for (let i = 0; i < 25; i++) {
          const message = ascii(`message ${curve} ${bytes} ${i}`);
          const digest = new Uint8Array(createHash(hashName(bytes)).update(message).digest());
          const signature = sign(digest);
          seen.add(toHex(signature));
          expect(verifyDigest(pair.publicKeyDer, digest, signature), `${curve} ${bytes} ${i}`).toBe(true);
          expect(nodeVerify(hashName(bytes), message, pair.publicKeyPem, signature), `${curve} ${bytes} ${i}`).toBe(true);
          // A different digest does not verify.
          const other = digest.slice();
          other[i % other.length]! ^= 1;
          expect(verifyDigest(pair.publicKeyDer, other, signature)).toBe(false);
        }
        expect(seen.size).toBe(25); // fresh nonces: no two signatures alike
      }
    }
    // The same digest twice: two different, both valid signatures (random nonces).
    const sign = digestSigner(PAIRS['P-384'].privateKeyPem);
    const digest = sha256(ascii('twice'));
    const [a, b] = [sign(digest), sign(digest)];
    expect(toHex(a)).not.toBe(toHex(b));
    expect(verifyDigest(PAIRS['P-384'].publicKeyPem, digest, a) && verifyDigest(PAIRS['P-384'].publicKeyPem, digest, b)).toBe(true);
  });

  it('keeps keys apart when verifying against many of them (parsed keys are cached)', () => {
    const digest = sha256(ascii('which key?'));
    const pairs = [PAIRS['P-256'], PAIRS['P-384'], generateKeyPair('P-256'), generateKeyPair('P-384')];
    const signatures = pairs.map((pair) => signDigest(pair.privateKeyPem, digest));
    pairs.forEach((pair, i) => {
      signatures.forEach((signature, j) => {
        expect(verifyDigest(pair.publicKeyPem, digest, signature)).toBe(i === j);
        expect(verifyDigest(pair.publicKeyDer, digest, signature)).toBe(i === j);
      });
    });
  });

  it('accepts 48-byte (SHA-384) digests and rejects other lengths when signing', () => {
    const pair = PAIRS['P-384'];
    const digest = new Uint8Array(48).fill(7);
    expect(verifyDigest(pair.publicKeyPem, digest, signDigest(pair.privateKeyPem, digest))).toBe(true);
    expect(codeOf(() => signDigest(pair.privateKeyPem, new Uint8Array(31)))).toBe('CRYPTO_INVALID_DIGEST');
    expect(codeOf(() => signDigest('garbage', new Uint8Array(32)))).toBe('CRYPTO_INVALID_KEY');
  });
});

describe('CCF receipts (conformance data)', () => {
  const files = readdirSync(`${CONFORMANCE}/receipts`).filter((name) => name.endsWith('.json'));

  interface JsonReceipt {
    cert: string;
    node_id: string;
    signature: string;
    proof: Array<{ left?: string; right?: string }>;
    leaf_components: { write_set_digest: string; commit_evidence: string; claims_digest: string };
  }

  function rootOf(receipt: JsonReceipt): Uint8Array {
    const components = receipt.leaf_components;
    let current = sha256(
      fromHex(components.write_set_digest),
      sha256(ascii(components.commit_evidence)),
      fromHex(components.claims_digest),
    );
    for (const step of receipt.proof) {
      current =
        step.left !== undefined ? sha256(fromHex(step.left), current) : sha256(current, fromHex(step.right!));
    }
    return current;
  }

  it('has receipts to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s: the signature over the folded root verifies with the cert key', (file) => {
    const receipt = JSON.parse(readFileSync(`${CONFORMANCE}/receipts/${file}`, 'utf8')) as JsonReceipt;
    const cert = new X509Certificate(receipt.cert);
    const spki = new Uint8Array(cert.publicKey.export({ format: 'der', type: 'spki' }));
    const signature = new Uint8Array(Buffer.from(receipt.signature, 'base64'));
    const root = rootOf(receipt);
    expect(toHex(sha256(spki))).toBe(receipt.node_id);
    expect(verifyDigest(receipt.cert, root, signature)).toBe(true);
    expect(verifyDigest(spki, root, signature)).toBe(true);
    // Any change to what was signed must break it.
    const tampered = structuredClone(receipt);
    tampered.leaf_components.commit_evidence = tampered.leaf_components.commit_evidence.replace(/.$/, (c) =>
      c === '0' ? '1' : '0',
    );
    expect(verifyDigest(spki, rootOf(tampered), signature)).toBe(false);
    const swapped = structuredClone(receipt);
    const first = swapped.proof[0]!;
    swapped.proof[0] = first.left !== undefined ? { right: first.left } : { left: first.right! };
    expect(verifyDigest(spki, rootOf(swapped), signature)).toBe(false);
  });
});

describe('signData / verifyData', () => {
  const data = ascii('governance request body');

  it.each(
    CURVES.flatMap((curve) =>
      (['SHA-256', 'SHA-384'] as const).flatMap((hash) =>
        (['der', 'ieee-p1363'] as const).map((encoding) => ({ curve, hash, encoding })),
      ),
    ),
  )('round-trips with $curve, $hash, $encoding', ({ curve, hash, encoding }) => {
    const pair = PAIRS[curve];
    const signature = signData(pair.privateKeyPem, data, hash, encoding);
    if (encoding === 'ieee-p1363') expect(signature.byteLength).toBe(curve === 'P-256' ? 64 : 96);
    else expect(signature[0]).toBe(0x30);
    expect(verifyData(pair.publicKeyPem, data, signature, hash, encoding)).toBe(true);
    expect(verifyData(pair.publicKeyDer, data, signature, hash, encoding)).toBe(true);
    const otherHash = hash === 'SHA-256' ? 'SHA-384' : 'SHA-256';
    expect(verifyData(pair.publicKeyPem, data, signature, otherHash, encoding)).toBe(false);
    expect(verifyData(pair.publicKeyPem, ascii('other body'), signature, hash, encoding)).toBe(false);
    expect(verifyData(pair.publicKeyPem, data, new Uint8Array(3), hash, encoding)).toBe(false);
    expect(verifyData('nonsense', data, signature, hash, encoding)).toBe(false);
  });

  it('a SHA-256 DER data signature is a digest signature over SHA-256(data)', () => {
    const pair = PAIRS['P-384'];
    const signature = signData(pair.privateKeyPem, data, 'SHA-256', 'der');
    expect(verifyDigest(pair.publicKeyPem, sha256(data), signature)).toBe(true);
    const digestSignature = signDigest(pair.privateKeyPem, sha256(data));
    expect(verifyData(pair.publicKeyPem, data, digestSignature, 'SHA-256', 'der')).toBe(true);
  });
});
