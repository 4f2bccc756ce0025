import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { amdHardwareId, amdIntegerExtension, amdProductName, oid, parseCertificate, splitPemBundle } from './certs.ts';
import { decodeOid, decodeTime, readNode, readRoot } from './der.ts';
import { parseSnpReport } from './report.ts';
import { der } from './test-chain.ts';
import { SNP_CONFORMANCE } from '../../../test/helpers/conformance.ts';
import { errorCodeOf } from '../test-helpers.ts';

const vectors = `${SNP_CONFORMANCE}/`;
const milanChain = readFileSync(`${vectors}milan-endorsements.pem`, 'utf8');
const [vcekDer, askDer, arkDer] = splitPemBundle(milanChain) as [Uint8Array, Uint8Array, Uint8Array];

const codeOf = (action: () => unknown): string => errorCodeOf(action, 'parsed');

describe('reading AMD certificates', () => {
  it('reads the Milan VCEK extensions: hardware ID, TCB levels, product name', () => {
    const vcek = parseCertificate(vcekDer);
    const report = parseSnpReport(new Uint8Array(readFileSync(`${vectors}milan-report.bin`)));
    expect(toHex(amdHardwareId(vcek)!)).toBe(toHex(report.chipId));
    const level = (n: number) => amdIntegerExtension(vcek, `${oid.amdTcbPrefix}${n}`);
    expect([level(1), level(2), level(3), level(8), level(9)]).toEqual([4, 0, 24, 219, null]);
    expect(amdProductName(vcek)).toBe('Milan-B0');
    expect(vcek.isCa).toBe(false);
    expect(vcek.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });

  it('agrees with OpenSSL on names, validity and keys', () => {
    for (const certificateDer of [vcekDer, askDer, arkDer]) {
      const ours = parseCertificate(certificateDer);
      const openssl = new X509Certificate(certificateDer);
      expect(ours.notBefore.getTime()).toBe(new Date(openssl.validFrom).getTime());
      expect(ours.notAfter.getTime()).toBe(new Date(openssl.validTo).getTime());
      expect(ours.isCa).toBe(openssl.ca);
      expect(Buffer.from(ours.spki)).toEqual(openssl.publicKey.export({ type: 'spki', format: 'der' }));
    }
  });

  it('never throws anything but an AttestationError on random or damaged DER (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(codeOf(() => parseCertificate(bytes))).toBe('SNP_ENDORSEMENTS_MALFORMED');
      }),
      { seed: 0xde5, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: vcekDer.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: vcekDer.length }), (at, value, keep) => {
        const damaged = new Uint8Array(vcekDer.subarray(0, keep));
        if (at < damaged.length) damaged[at] = value;
        expect(['parsed', 'SNP_ENDORSEMENTS_MALFORMED']).toContain(codeOf(() => parseCertificate(damaged)));
      }),
      { seed: 0xde6, numRuns: 500 },
    );
  });
});

describe('the DER reader', () => {
  it('refuses indefinite, non-minimal and overlong lengths, multi-byte tags and trailing bytes', () => {
    const cases = [
      Uint8Array.of(0x30, 0x80, 0x00, 0x00),
      Uint8Array.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5),
      Uint8Array.of(0x04, 0x82, 0x00, 0x81, ...new Uint8Array(0x81)),
      Uint8Array.of(0x04, 0x85, 1, 0, 0, 0, 0),
      Uint8Array.of(0x1f, 0x81, 0x01, 0x00),
      Uint8Array.of(0x04, 0x02, 0x00),
      Uint8Array.of(0x04, 0x00, 0x00),
      Uint8Array.of(0x04),
    ];
    for (const bytes of cases) expect(codeOf(() => readRoot(bytes)), toHex(bytes)).toBe('SNP_ENDORSEMENTS_MALFORMED');
    expect(readNode(Uint8Array.of(0x04, 0x81, 0x80, ...new Uint8Array(0x80)), 0, 0x83)).toEqual({ tag: 0x04, start: 0, contentStart: 3, end: 0x83 });
  });

  it('decodes object identifiers and refuses malformed ones', () => {
    for (const dotted of ['1.2.840.113549.1.1.10', '2.16.840.1.101.3.4.2.2', '1.3.6.1.4.1.3704.1.3.8', '2.999.1']) {
      const encoded = der.oid(dotted);
      expect(decodeOid(encoded, readRoot(encoded))).toBe(dotted);
    }
    for (const bad of [Uint8Array.of(0x06, 0x00), Uint8Array.of(0x06, 0x02, 0x2a, 0x86), Uint8Array.of(0x06, 0x03, 0x2a, 0x80, 0x01)]) {
      expect(codeOf(() => decodeOid(bad, readRoot(bad)))).toBe('SNP_ENDORSEMENTS_MALFORMED');
    }
  });

  it('decodes UTCTime and GeneralizedTime in UTC, and refuses impossible dates', () => {
    const time = (text: string, tagByte = 0x17) => {
      const bytes = Uint8Array.of(tagByte, text.length, ...Buffer.from(text));
      return decodeTime(bytes, readRoot(bytes), 'time');
    };
    expect(time('491231235959Z').toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(time('500101000000Z').toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(time('20500101000000Z', 0x18).toISOString()).toBe('2050-01-01T00:00:00.000Z');
    for (const bad of ['230230120000Z', '231301120000Z', '230101250000Z', '2301011200Z', '230101120000+0100']) {
      expect(codeOf(() => time(bad)), bad).toBe('SNP_ENDORSEMENTS_MALFORMED');
    }
  });
});
