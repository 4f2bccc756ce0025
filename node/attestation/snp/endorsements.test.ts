import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VerifyOptions } from '../platform.ts';
import { derToPem, splitPemBundle } from './certs.ts';
import { createEndorsementsProvider, kdsVcekUrl, type FetchLike } from './endorsements.ts';
import { parseSnpReport } from './report.ts';
import { editReport } from './test-chain.ts';
import { verifySnpReport } from './verify.ts';
import { SNP_CONFORMANCE } from '../../../test/helpers/conformance.ts';

const vectors = `${SNP_CONFORMANCE}/`;
const milanBytes = new Uint8Array(readFileSync(`${vectors}milan-report.bin`));
const milan = parseSnpReport(milanBytes);
const genoa = parseSnpReport(new Uint8Array(readFileSync(`${vectors}genoa-report.bin`)));
const v2 = parseSnpReport(new Uint8Array(readFileSync(`${vectors}v2_format_milan-report.bin`)));
const milanChain = readFileSync(`${vectors}milan-endorsements.pem`, 'utf8');
const genoaChain = readFileSync(`${vectors}genoa-endorsements.pem`, 'utf8');
const open: VerifyOptions = { expectedReportData: 'any', trustedMeasurements: 'any', trustedHostData: 'any', minimumTcb: 'any', now: new Date('2026-06-01T00:00:00Z') };
const milanKdsVcek =
  'https://kds.test/vcek/v1/Milan/4ffb5cb4fd594f3fee6528fc3fb10370bb38abe89dcd5ba2cf0ab6a11df2ca282add516bef45a890a8c9f9732bdca68f9f3f16c42e846030a800295dbeb19ba5?blSPL=4&teeSPL=0&snpSPL=24&ucodeSPL=219';

/** A fake network: answers from a table and records what was asked. */
function fakeFetch(routes: Record<string, () => Response>) {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, headers: init.headers });
    const route = routes[url];
    return route === undefined ? new Response('not found', { status: 404 }) : route();
  };
  return { fetch, calls };
}

function kdsRoutes(chainPem: string, vcekUrl: string, chainUrl: string): Record<string, () => Response> {
  const [vcek, ask, ark] = splitPemBundle(chainPem) as [Uint8Array, Uint8Array, Uint8Array];
  return {
    [vcekUrl]: () => new Response(Buffer.from(vcek), { headers: { 'content-type': 'application/pkix-cert' } }),
    [chainUrl]: () => new Response(derToPem(ask) + derToPem(ark)),
  };
}

describe('AMD KDS', () => {
  it('asks for the VCEK by hardware ID and TCB, and the chain by product; the result verifies', async () => {
    const { fetch, calls } = fakeFetch(kdsRoutes(milanChain, milanKdsVcek, 'https://kds.test/vcek/v1/Milan/cert_chain'));
    const provider = createEndorsementsProvider({ source: { kind: 'amd-kds', baseUrl: 'https://kds.test' }, fetch });
    const bundle = await provider.get(milan);
    expect(calls.map((call) => call.url).sort()).toEqual([milanKdsVcek, 'https://kds.test/vcek/v1/Milan/cert_chain'].sort());
    expect(verifySnpReport(milanBytes, bundle, open).product).toBe('Milan');
  });

  it('caches answers: a second request for the same report does not fetch again', async () => {
    const { fetch, calls } = fakeFetch(kdsRoutes(milanChain, milanKdsVcek, 'https://kds.test/vcek/v1/Milan/cert_chain'));
    const provider = createEndorsementsProvider({ source: { kind: 'amd-kds', baseUrl: 'https://kds.test' }, fetch });
    const [first, second] = await Promise.all([provider.get(milan), provider.get(milan)]);
    expect(await provider.get(milan)).toBe(first);
    expect(second).toBe(first);
    expect(calls).toHaveLength(2);
  });

  it('does not cache failures', async () => {
    let up = false;
    const routes = kdsRoutes(milanChain, milanKdsVcek, 'https://kds.test/vcek/v1/Milan/cert_chain');
    const fetch: FetchLike = async (url) => (up ? routes[url]!() : new Response('busy', { status: 503 }));
    const provider = createEndorsementsProvider({ source: { kind: 'amd-kds', baseUrl: 'https://kds.test' }, fetch });
    await expect(provider.get(milan)).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_UNAVAILABLE' });
    up = true;
    expect(verifySnpReport(milanBytes, await provider.get(milan), open).product).toBe('Milan');
  });

  it('uses the Genoa product path for Genoa reports', async () => {
    const genoaVcek = kdsVcekUrl('https://kds.test', 'Genoa', genoa);
    expect(genoaVcek).toContain('/vcek/v1/Genoa/b1e24a27');
    expect(genoaVcek).toContain('blSPL=10&teeSPL=0&snpSPL=23&ucodeSPL=84');
    const { fetch } = fakeFetch(kdsRoutes(genoaChain, genoaVcek, 'https://kds.test/vcek/v1/Genoa/cert_chain'));
    const provider = createEndorsementsProvider({ source: { kind: 'amd-kds', baseUrl: 'https://kds.test' }, fetch });
    expect(splitPemBundle(await provider.get(genoa))).toHaveLength(3);
  });

  it('addresses Turin by the 8-byte hardware ID and adds the FMC level', () => {
    const turin = parseSnpReport(editReport(milanBytes, { cpuid: { family: 0x1a, model: 0x02, stepping: 0 }, reportedTcb: { tcb: { fmc: 1, bootloader: 1, tee: 1, snp: 4, microcode: 81 }, product: 'Turin' } }));
    expect(kdsVcekUrl('https://kds.test', 'Turin', turin)).toBe('https://kds.test/vcek/v1/Turin/4ffb5cb4fd594f3f?blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81&fmcSPL=1');
  });

  it('needs the product configured for version 2 reports, which carry no CPUID', async () => {
    const { fetch, calls } = fakeFetch({});
    await expect(createEndorsementsProvider({ source: { kind: 'amd-kds' }, fetch }).get(v2)).rejects.toMatchObject({ code: 'ATTESTATION_INVALID_ARGUMENT' });
    await expect(createEndorsementsProvider({ source: { kind: 'amd-kds' }, fetch, product: 'Milan' }).get(v2)).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_UNAVAILABLE' });
    expect(calls[0]!.url).toMatch(/^https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Milan\/dc7e37cc.*blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115$/);
  });

  it('bounds responses and reports network failures as unavailable', async () => {
    const huge = () => new Response(new Uint8Array(70 * 1024));
    const big = createEndorsementsProvider({ source: { kind: 'amd-kds', baseUrl: 'https://kds.test' }, fetch: fakeFetch({ [milanKdsVcek]: huge, 'https://kds.test/vcek/v1/Milan/cert_chain': huge }).fetch });
    await expect(big.get(milan)).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_UNAVAILABLE' });
    const down = createEndorsementsProvider({ source: { kind: 'amd-kds' }, fetch: async () => Promise.reject(new TypeError('fetch failed')) });
    await expect(down.get(milan)).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_UNAVAILABLE' });
  });
});

describe('other sources', () => {
  it('reads Azure\'s certificate cache by chip ID and TCB', async () => {
    const url = `https://cache.test/SevSnpVM/certificates/${'4ffb5cb4fd594f3fee6528fc3fb10370bb38abe89dcd5ba2cf0ab6a11df2ca282add516bef45a890a8c9f9732bdca68f9f3f16c42e846030a800295dbeb19ba5'}/db18000000000004?api-version=2020-10-15-preview`;
    const { fetch } = fakeFetch({ [url]: () => new Response(milanChain) });
    const provider = createEndorsementsProvider({ source: { kind: 'azure-cache', baseUrl: 'https://cache.test' }, fetch });
    expect(verifySnpReport(milanBytes, await provider.get(milan), open).product).toBe('Milan');
  });

  it('reads THIM JSON with the Metadata header', async () => {
    const [vcek, ask, ark] = splitPemBundle(milanChain).map(derToPem);
    const body = JSON.stringify({ vcekCert: vcek, certificateChain: ask! + ark!, tcbm: 'DB18000000000004', cacheControl: '86400' });
    const { fetch, calls } = fakeFetch({ 'http://thim.test/cert': () => new Response(body) });
    const provider = createEndorsementsProvider({ source: { kind: 'thim', url: 'http://thim.test/cert' }, fetch });
    expect(verifySnpReport(milanBytes, await provider.get(milan), open).product).toBe('Milan');
    expect(calls[0]!.headers).toEqual({ Metadata: 'true' });
    const broken = createEndorsementsProvider({ source: { kind: 'thim', url: 'http://thim.test/cert' }, fetch: fakeFetch({ 'http://thim.test/cert': () => new Response('{"vcekCert": 1}') }).fetch });
    await expect(broken.get(milan)).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_MALFORMED' });
  });

  it('reads a host-provided file as PEM, THIM JSON, or base64 THIM JSON', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'synod-endorsements-'));
    try {
      const [vcek, ask, ark] = splitPemBundle(milanChain).map(derToPem);
      const json = JSON.stringify({ vcekCert: vcek, certificateChain: ask! + ark!, tcbm: 'DB18000000000004', cacheControl: '86400' });
      const files = { 'chain.pem': milanChain, 'thim.json': json, 'aci.b64': Buffer.from(json).toString('base64') };
      for (const [name, content] of Object.entries(files)) {
        writeFileSync(join(directory, name), content);
        const provider = createEndorsementsProvider({ source: { kind: 'file', path: join(directory, name) } });
        expect(verifySnpReport(milanBytes, await provider.get(milan), open).product, name).toBe('Milan');
      }
      writeFileSync(join(directory, 'junk'), '<html>no</html>');
      await expect(createEndorsementsProvider({ source: { kind: 'file', path: join(directory, 'junk') } }).get(milan)).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_MALFORMED' });
      await expect(createEndorsementsProvider({ source: { kind: 'file', path: join(directory, 'missing') } }).get(milan)).rejects.toMatchObject({ code: 'SNP_ENDORSEMENTS_UNAVAILABLE' });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('refuses an unknown source kind', () => {
    expect(() => createEndorsementsProvider({ source: { kind: 'ftp' } as unknown as { kind: 'thim' } })).toThrow(expect.objectContaining({ code: 'ATTESTATION_INVALID_ARGUMENT' }));
  });
});
