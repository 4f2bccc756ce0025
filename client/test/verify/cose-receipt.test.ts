import { describe, expect, it } from 'vitest';
import { encode } from 'cborg';
import { ReceiptErrorCode, decodeCoseSign1, verifyCoseReceipt } from '../../src/index.ts';
import { bytesToHex, utf8ToBytes } from '../../src/verify/encoding.ts';
import { flipByte, outcome } from '../helpers/mutate.ts';
import {
  ccfProtectedHeader,
  coseReceipt,
  coseSign,
  issueCert,
  tagged18,
  testKey,
  testService,
  testTx,
  treePath,
  treeRoot,
} from '../helpers/service.ts';

const s = testService(21);
const txs = Array.from({ length: 13 }, (_, i) => testTx(5, 100 + i));

/** A receipt assembled from parts, so that tests can vary one part at a time. */
function assemble(opts: {
  protectedBytes?: Uint8Array;
  leaf?: unknown[];
  path?: unknown[];
  payload?: Uint8Array | null;
  signWith?: ReturnType<typeof testKey>;
  index?: number;
}): Uint8Array {
  const index = opts.index ?? 4;
  const t = txs[index]!;
  const leaves = txs.map((x) => x.leaf);
  const protectedBytes = opts.protectedBytes ?? ccfProtectedHeader(s.serviceKey, '5.120');
  const proof = encode(
    new Map<number, unknown>([
      [1, opts.leaf ?? [t.writeSetDigest, t.commitEvidence, t.claimsDigest]],
      [2, opts.path ?? treePath(leaves, index).map((p) => [p.left, p.hash])],
    ]),
  );
  const sig = coseSign(opts.signWith ?? s.serviceKey, protectedBytes, treeRoot(leaves));
  const unprotected = new Map<number, unknown>([[396, new Map<number, unknown>([[-1, [proof]]])]]);
  return tagged18(encode([protectedBytes, unprotected, opts.payload ?? null, sig]));
}

describe('COSE receipts (CCF profile)', () => {
  it('every transaction of the tree verifies against the service certificate', () => {
    for (let i = 0; i < txs.length; i++) {
      const r = verifyCoseReceipt(coseReceipt(txs, i, s.serviceKey, '5.120'), { serviceCert: s.serviceCert });
      expect(r).toMatchObject({
        format: 'cose',
        txid: `5.${100 + i}`,
        signatureTxid: '5.120',
        root: bytesToHex(treeRoot(txs.map((t) => t.leaf))),
        serviceKeyId: s.serviceKey.id,
      });
    }
  });

  it('ES256 with a P-256 service key verifies too', () => {
    const key = testKey(31, 'P-256');
    const cert = issueCert({ subject: key, subjectName: 'S', issuer: key, issuerName: 'S', serial: 1, ca: true });
    expect(verifyCoseReceipt(coseReceipt(txs, 0, key), { serviceCert: cert }).serviceKeyId).toBe(key.id);
  });

  it('the kid selects among several trusted service certificates', () => {
    const other = testService(22);
    const receipt = coseReceipt(txs, 1, s.serviceKey);
    expect(verifyCoseReceipt(receipt, { serviceCerts: [other.serviceCert, s.serviceCert] }).txid).toBe('5.101');
    expect(outcome(() => verifyCoseReceipt(receipt, { serviceCert: other.serviceCert }))).toBe(ReceiptErrorCode.coseUnknownKid);
    expect(outcome(() => verifyCoseReceipt(receipt))).toBe(ReceiptErrorCode.noServiceCert);
  });

  it('a signature by another key under the service kid fails', () => {
    const forged = assemble({ signWith: testKey(23) });
    expect(outcome(() => verifyCoseReceipt(forged, { serviceCert: s.serviceCert }))).toBe(ReceiptErrorCode.badSignature);
  });

  it('claims are checked', () => {
    const claims = utf8ToBytes('claims!');
    const t = testTx(5, 104, claims);
    const withClaims = [...txs.slice(0, 4), t, ...txs.slice(5)];
    const receipt = coseReceipt(withClaims, 4, s.serviceKey);
    expect(verifyCoseReceipt(receipt, { serviceCert: s.serviceCert, claims }).txid).toBe('5.104');
    expect(outcome(() => verifyCoseReceipt(receipt, { serviceCert: s.serviceCert, claims: utf8ToBytes('x') }))).toBe(ReceiptErrorCode.claimsMismatch);
  });

  const header = (entries: Array<[unknown, unknown]>) => encode(new Map(entries));
  const kid = utf8ToBytes(s.serviceKey.id);
  const headerCases: Array<[string, Uint8Array, string]> = [
    ['alg missing', header([[4, kid], [395, 2]]), ReceiptErrorCode.coseBadHeader],
    ['alg RS256', header([[1, -257], [4, kid], [395, 2]]), ReceiptErrorCode.coseBadHeader],
    ['ES256 on a P-384 key', header([[1, -7], [4, kid], [395, 2]]), ReceiptErrorCode.badSignature],
    ['kid missing', header([[1, -35], [395, 2]]), ReceiptErrorCode.coseBadHeader],
    ['kid as text', header([[1, -35], [4, s.serviceKey.id], [395, 2]]), ReceiptErrorCode.coseBadHeader],
    ['vds missing', header([[1, -35], [4, kid]]), ReceiptErrorCode.coseBadHeader],
    ['vds = 1 (RFC 9162)', header([[1, -35], [4, kid], [395, 1]]), ReceiptErrorCode.coseBadHeader],
    ['ccf.v1 txid malformed', header([[1, -35], [4, kid], [395, 2], ['ccf.v1', new Map([['txid', '5-120']])]]), ReceiptErrorCode.coseBadHeader],
    ['CWT claims not a map', header([[1, -35], [4, kid], [395, 2], [15, 1]]), ReceiptErrorCode.coseBadHeader],
  ];
  it.each(headerCases)('protected header: %s', (_name, protectedBytes, code) => {
    expect(outcome(() => verifyCoseReceipt(assemble({ protectedBytes }), { serviceCert: s.serviceCert }))).toBe(code);
  });

  it('a minimal protected header (alg, kid, vds) is enough, as in CCF python', () => {
    const protectedBytes = header([[1, -35], [4, kid], [395, 2]]);
    expect(verifyCoseReceipt(assemble({ protectedBytes }), { serviceCert: s.serviceCert }).signatureTxid).toBeUndefined();
  });

  const t4 = txs[4]!;
  const structureCases: Array<[string, () => Uint8Array, string]> = [
    ['attached payload', () => assemble({ payload: new Uint8Array(32) }), ReceiptErrorCode.malformed],
    ['leaf of two elements', () => assemble({ leaf: [t4.writeSetDigest, t4.commitEvidence] }), ReceiptErrorCode.malformed],
    ['commit evidence as bytes', () => assemble({ leaf: [t4.writeSetDigest, utf8ToBytes(t4.commitEvidence), t4.claimsDigest] }), ReceiptErrorCode.malformed],
    ['bad commit evidence', () => assemble({ leaf: [t4.writeSetDigest, 'ce:5.104:zz', t4.claimsDigest] }), ReceiptErrorCode.badCommitEvidence],
    ['path step with int side', () => assemble({ path: [[1, new Uint8Array(32)]] }), ReceiptErrorCode.malformed],
    ['untagged', () => assemble({}).subarray(1), ReceiptErrorCode.malformed],
    ['not CBOR', () => utf8ToBytes('{"json": true}'), ReceiptErrorCode.malformed],
    ['trailing byte', () => new Uint8Array([...assemble({}), 0]), ReceiptErrorCode.malformed],
  ];
  it.each(structureCases)('structure: %s', (_name, make, code) => {
    expect(outcome(() => verifyCoseReceipt(make(), { serviceCert: s.serviceCert }))).toBe(code);
  });

  it('every byte of the receipt matters', () => {
    const receipt = coseReceipt(txs, 6, s.serviceKey);
    expect(outcome(() => verifyCoseReceipt(receipt, { serviceCert: s.serviceCert }))).toBe('ACCEPTED');
    const accepted: string[] = [];
    for (let i = 0; i < receipt.length; i++) {
      if (outcome(() => verifyCoseReceipt(flipByte(receipt, i), { serviceCert: s.serviceCert })) === 'ACCEPTED') accepted.push(`${i}`);
    }
    expect(accepted).toEqual([]);
  });

  it('swapping the side of any path step or removing it fails', () => {
    const leaves = txs.map((t) => t.leaf);
    const path = treePath(leaves, 9).map((p) => [p.left, p.hash]);
    expect(path.length).toBeGreaterThan(2);
    for (let k = 0; k < path.length; k++) {
      const swapped = path.map((p, j) => (j === k ? [!p[0], p[1]] : p));
      const removed = path.filter((_, j) => j !== k);
      for (const variant of [swapped, removed]) {
        const r = assemble({ index: 9, path: variant });
        expect(outcome(() => verifyCoseReceipt(r, { serviceCert: s.serviceCert }))).toBe(ReceiptErrorCode.badSignature);
      }
    }
  });

  it('decodes to the COSE_Sign1 layout CCF writes', () => {
    const m = decodeCoseSign1(coseReceipt(txs, 0, s.serviceKey, '5.120'));
    expect([...m.protectedHeader.keys()]).toEqual([1, 4, 395, 15, 'ccf.v1']);
    expect(m.payload).toBeNull();
    expect(m.signature.length).toBe(96);
  });
});
