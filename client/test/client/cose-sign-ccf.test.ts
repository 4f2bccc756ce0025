// Conformance with CCF's own client: every COSE_Sign1 governance request recorded in the real CCF
// ledgers (public:ccf.gov.cose_history, written by CCF's python client for its members) is re-signed
// here with the same member key, payload and header values. Where CCF's client encoded the header
// deterministically (RFC 8949 §4.2.1 key order, as its current client does: the newest ledger,
// acme_containing_service, holds only such requests), ours must be the very same bytes. Older
// requests list the labels in the order the client inserted them (created_at, type, proposal_id,
// or type, proposal_id, created_at); the service reads headers by label, so it accepts any order:
// there the decoded headers must be equal. Our
// signature must verify with the member's certificate as CCF's does. (ECDSA signatures themselves
// differ: they are randomized.)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GovHeader,
  type CoseSign1,
  certificateId,
  decodeCoseSign1,
  loadIdentity,
  parseChunk,
  parseEntry,
  signCoseRequest,
  verifyCoseSign1,
} from '../../src/index.ts';
import { encodeCbor } from '../../src/verify/cose.ts';
import { base64ToBytes, bytesToHex, bytesToUtf8 } from '../../src/verify/encoding.ts';
import { serviceDir, serviceNames } from '../helpers/conformance.ts';

interface Recorded {
  service: string;
  seqno: number;
  message: CoseSign1;
}

function recordedRequests(service: string): Recorded[] {
  const dir = join(serviceDir(service), 'ledger');
  const out: Recorded[] = [];
  for (const name of readdirSync(dir).filter((n) => n.startsWith('ledger_')).sort((a, b) => Number(a.split(/[_-]/)[1]) - Number(b.split(/[_-]/)[1]))) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    for (const extent of parseChunk(bytes, /-\d+/.test(name)).entries) {
      const entry = parseEntry(bytes.subarray(extent.offset, extent.offset + extent.length), extent.offset);
      for (const [, value] of entry.publicDomain.maps.get('public:ccf.gov.cose_history')?.writes ?? []) {
        out.push({ service, seqno: entry.seqno, message: decodeCoseSign1(base64ToBytes(JSON.parse(bytesToUtf8(value)) as string)) });
      }
    }
  }
  return out;
}

function membersOf(service: string): Map<string, { certPem: string; keyPem: string }> {
  const common = join(serviceDir(service), 'common');
  const members = new Map<string, { certPem: string; keyPem: string }>();
  for (const name of readdirSync(common).filter((n) => /^member\d+_cert\.pem$/.test(n))) {
    const certPem = readFileSync(join(common, name), 'utf8');
    members.set(certificateId(certPem), { certPem, keyPem: readFileSync(join(common, name.replace('_cert', '_privk')), 'utf8') });
  }
  return members;
}

describe('COSE-signed requests match CCF’s client byte for byte (protected header)', () => {
  const recorded = serviceNames().flatMap(recordedRequests);

  it('the real ledgers hold governance requests of several types to compare with', () => {
    const types = new Set(recorded.map((r) => r.message.protectedHeader.get(GovHeader.msgType)));
    expect(recorded.length).toBeGreaterThan(5);
    expect(types.has('proposal') && types.has('ballot')).toBe(true);
  });

  it('re-signing each with the member key gives the same protected header bytes and a valid signature', async () => {
    let compared = 0;
    let identical = 0;
    const unsorted: string[] = [];
    for (const { service, seqno, message } of recorded) {
      // A macrotask turn per request keeps the worker answering vitest's RPC on a loaded machine.
      await new Promise((resolve) => setImmediate(resolve));
      const members = membersOf(service);
      const kid = bytesToUtf8(message.protectedHeader.get(4) as Uint8Array);
      const member = members.get(kid);
      expect(member, `${service} seqno ${seqno}: kid ${kid} is a member with a key on file`).toBeDefined();
      const identity = loadIdentity({ ...member!, role: 'member' });
      expect(verifyCoseSign1(message, identity.cert.publicKey), `${service} ${seqno}: CCF's own signature`).toBe(true);
      const h = message.protectedHeader;
      const headers = {
        msgType: h.get(GovHeader.msgType) as string,
        createdAt: h.get(GovHeader.createdAt) as number,
        ...(h.has(GovHeader.proposalId) ? { proposalId: h.get(GovHeader.proposalId) as string } : {}),
      };
      const ours = decodeCoseSign1(await signCoseRequest(identity, message.payload ?? new Uint8Array(0), headers));
      const what = `${service} seqno ${seqno} (${headers.msgType})`;
      if (bytesToHex(encodeCbor(h)) === bytesToHex(message.protectedBytes)) {
        expect(bytesToHex(ours.protectedBytes), what).toBe(bytesToHex(message.protectedBytes));
        identical++;
      } else {
        expect([...ours.protectedHeader.entries()], what).toEqual(expect.arrayContaining([...h.entries()]));
        expect(ours.protectedHeader.size, what).toBe(h.size);
        unsorted.push(what);
      }
      expect(ours.payload).toEqual(message.payload);
      expect(ours.unprotectedHeader.size).toBe(message.unprotectedHeader.size);
      expect(verifyCoseSign1(ours, identity.cert.publicKey)).toBe(true);
      compared++;
    }
    expect(compared).toBe(recorded.length);
    // Every request of the newest ledger, made by CCF's current client, is compared byte for byte.
    const newest = recorded.filter((r) => r.service === 'acme_containing_service').length;
    expect(newest).toBeGreaterThan(0);
    expect(unsorted.filter((u) => u.startsWith('acme_containing_service'))).toEqual([]);
    expect(identical).toBeGreaterThanOrEqual(newest);
  });
});
