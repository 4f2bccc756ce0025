// Tampering with copies of a real ledger (acme_containing_service: chunks 1-2, 3-13, 14-20 committed
// and an open 21) — each change must be detected, and located at the entry it touched.
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditCheck, type AuditReport, type LedgerEntry, auditLedger, parseChunk, parseEntry } from '../../src/index.ts';
import { bytesToUtf8, utf8ToBytes } from '../../src/verify/encoding.ts';
import { serviceCertPem, serviceDir } from '../helpers/conformance.ts';
import { rewriteEntry, serializeChunk } from '../helpers/ledger-writer.ts';
import { derToPem, pemToDer } from '../../src/verify/encoding.ts';
import { issueCert, testKey } from '../helpers/service.ts';
import { parseCertificate } from '../../src/index.ts';

const SERVICE = 'acme_containing_service';
const CERT = serviceCertPem(SERVICE);
const dirs: string[] = [];

function copyLedger(service = SERVICE): string {
  const dir = mkdtempSync(join(tmpdir(), 'synod-tamper-'));
  dirs.push(dir);
  const source = join(serviceDir(service), 'ledger');
  for (const name of readdirSync(source)) writeFileSync(join(dir, name), readFileSync(join(source, name)));
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Located {
  offset: number;
  length: number;
  entry: LedgerEntry;
}

function entriesOf(file: string): Located[] {
  const bytes = new Uint8Array(readFileSync(file));
  const complete = /-\d+/.test(file);
  return parseChunk(bytes, complete).entries.map((x) => ({ ...x, entry: parseEntry(bytes.subarray(x.offset, x.offset + x.length), x.offset) }));
}

/** Rewrites a chunk file from a list of entry byte strings (its table rebuilt to stay well-formed). */
function writeChunk(file: string, entries: Uint8Array[]): void {
  writeFileSync(file, serializeChunk(entries, /-\d+/.test(file)));
}

function editEntry(dir: string, name: string, seqno: number, edit: (maps: LedgerEntry['publicDomain']['maps']) => void): Located {
  const file = join(dir, name);
  const entries = entriesOf(file);
  const target = entries.find((e) => e.entry.seqno === seqno)!;
  writeChunk(file, entries.map((e) => (e === target ? rewriteEntry(e.entry, (d) => edit(d.maps)) : e.entry.bytes)));
  return target;
}

function setValue(maps: LedgerEntry['publicDomain']['maps'], table: string, value: Uint8Array): void {
  const m = maps.get(table)!;
  maps.set(table, { ...m, writes: [[m.writes[0]![0], value]] });
}

function valueOf(dir: string, name: string, seqno: number, table: string): Uint8Array {
  return entriesOf(join(dir, name)).find((e) => e.entry.seqno === seqno)!.entry.publicDomain.maps.get(table)!.writes[0]![1];
}

async function audit(dir: string): Promise<AuditReport> {
  return auditLedger(dir, { serviceCert: CERT });
}

const SIGNATURES = 'public:ccf.internal.signatures';
const COSE = 'public:ccf.internal.cose_signatures';

describe('tampered copies of a real ledger', () => {
  it('the untouched copy audits clean (control)', async () => {
    expect((await audit(copyLedger())).ok).toBe(true);
  });

  it('random single-byte flips in committed chunks are detected, at or after the touched entry', async () => {
    let seed = 0x5eed;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const names = ['ledger_1-2.committed', 'ledger_3-13.committed', 'ledger_14-20.committed'];
    for (let trial = 0; trial < 30; trial++) {
      const dir = copyLedger();
      const name = names[Math.floor(random() * names.length)]!;
      const file = join(dir, name);
      const bytes = new Uint8Array(readFileSync(file));
      const entries = entriesOf(file);
      const position = Math.floor(random() * bytes.length);
      bytes[position]! ^= 1 << Math.floor(random() * 8);
      writeFileSync(file, bytes);
      const failure = (await audit(dir)).failure;
      const context = `trial ${trial}: flipped byte ${position} of ${name}`;
      expect(failure, context).toBeDefined();
      const touched = entries.find((e) => position >= e.offset && position < e.offset + e.length);
      if (!touched) {
        // The chunk header or the entry table.
        expect(failure, context).toMatchObject({ file: name, check: AuditCheck.chunkStructure });
        continue;
      }
      const atEntry = failure!.file === name && failure!.offset === touched.offset && failure!.seqno === touched.entry.seqno;
      const range = /seqnos (\d+)\.\.(\d+)/.exec(failure!.message);
      const coveredByRoot = failure!.check === AuditCheck.merkleRoot && range !== null && Number(range[1]) <= touched.entry.seqno && touched.entry.seqno <= Number(range[2]);
      const structural = failure!.file === name && failure!.check === AuditCheck.chunkStructure;
      expect(atEntry || coveredByRoot || structural, `${context} → ${JSON.stringify(failure)}`).toBe(true);
    }
  });

  it('an entry removed (entry table rewritten to match) is reported where it is missing', async () => {
    const dir = copyLedger();
    const file = join(dir, 'ledger_3-13.committed');
    const entries = entriesOf(file);
    const removed = entries.find((e) => e.entry.seqno === 7)!;
    writeChunk(file, entries.filter((e) => e !== removed).map((e) => e.entry.bytes));
    const { failure } = await audit(dir);
    expect(failure).toMatchObject({ file: 'ledger_3-13.committed', offset: removed.offset, seqno: 8, check: AuditCheck.seqnoSequence });
    expect(failure!.message).toContain('expected 7');
  });

  it("an entry's bytes cut out (entry table left as it was) breaks the chunk structure", async () => {
    const dir = copyLedger();
    const file = join(dir, 'ledger_3-13.committed');
    const bytes = new Uint8Array(readFileSync(file));
    const removed = entriesOf(file).find((e) => e.entry.seqno === 7)!;
    writeFileSync(file, new Uint8Array([...bytes.subarray(0, removed.offset), ...bytes.subarray(removed.offset + removed.length)]));
    expect((await audit(dir)).failure).toMatchObject({ file: 'ledger_3-13.committed', check: AuditCheck.chunkStructure });
  });

  it('two entries swapped are reported at the first of them', async () => {
    const dir = copyLedger();
    const file = join(dir, 'ledger_3-13.committed');
    const entries = entriesOf(file);
    const i = entries.findIndex((e) => e.entry.seqno === 9);
    const order = entries.map((e) => e.entry.bytes);
    [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
    writeChunk(file, order);
    expect((await audit(dir)).failure).toMatchObject({ file: 'ledger_3-13.committed', offset: entries[i]!.offset, seqno: 10, check: AuditCheck.seqnoSequence });
  });

  it('a truncated committed chunk, a chunk cut short at an entry boundary, a truncated open chunk', async () => {
    const cut = copyLedger();
    const f1 = join(cut, 'ledger_14-20.committed');
    writeFileSync(f1, readFileSync(f1).subarray(0, -100));
    expect((await audit(cut)).failure).toMatchObject({ file: 'ledger_14-20.committed', check: AuditCheck.chunkStructure });

    const short = copyLedger();
    const f2 = join(short, 'ledger_14-20.committed');
    const entries = entriesOf(f2);
    writeChunk(f2, entries.slice(0, -1).map((e) => e.entry.bytes));
    expect((await audit(short)).failure).toMatchObject({ file: 'ledger_14-20.committed', seqno: 19, check: AuditCheck.chunkEnd });

    const open = copyLedger();
    const f3 = join(open, 'ledger_21');
    writeFileSync(f3, readFileSync(f3).subarray(0, -10));
    expect((await audit(open)).failure).toMatchObject({ file: 'ledger_21', check: AuditCheck.chunkStructure });
  });

  it('a ledger without any signature transaction is not vouched for', async () => {
    const dir = copyLedger();
    const entries = entriesOf(join(dir, 'ledger_1-2.committed'));
    for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
    writeFileSync(join(dir, 'ledger_1'), serializeChunk([entries[0]!.entry.bytes], false));
    const report = await audit(dir);
    expect(report.failure).toMatchObject({ file: 'ledger_1', check: AuditCheck.noSignature });
    expect(report.counts).toMatchObject({ entries: 1, signatures: 0, unsignedTail: 1 });
  });

  it('a missing chunk file is reported as a gap', async () => {
    const dir = copyLedger();
    unlinkSync(join(dir, 'ledger_3-13.committed'));
    expect((await audit(dir)).failure).toMatchObject({ check: AuditCheck.ledgerFiles });
  });
});

describe('replaced signatures', () => {
  it("a signature record from another service's ledger", async () => {
    const dir = copyLedger();
    const foreign = valueOf(join(serviceDir('cose_flipflop_service'), 'ledger'), 'ledger_1-14.committed', 14, SIGNATURES);
    const target = editEntry(dir, 'ledger_3-13.committed', 13, (maps) => setValue(maps, SIGNATURES, foreign));
    expect((await audit(dir)).failure).toMatchObject({ file: 'ledger_3-13.committed', offset: target.offset, seqno: 13, check: AuditCheck.merkleRoot });
  });

  it('a record from another service with the right root and seqno: its node is unknown here', async () => {
    const dir = copyLedger();
    const own = JSON.parse(bytesToUtf8(valueOf(dir, 'ledger_3-13.committed', 13, SIGNATURES)));
    const foreign = JSON.parse(bytesToUtf8(valueOf(join(serviceDir('cose_flipflop_service'), 'ledger'), 'ledger_1-14.committed', 14, SIGNATURES)));
    const forged = { ...foreign, root: own.root, seqno: own.seqno, view: own.view };
    editEntry(dir, 'ledger_3-13.committed', 13, (maps) => setValue(maps, SIGNATURES, utf8ToBytes(JSON.stringify(forged))));
    expect((await audit(dir)).failure).toMatchObject({ seqno: 13, check: AuditCheck.nodeCertificate });
  });

  it("the node's signature from another signature transaction", async () => {
    const dir = copyLedger();
    const own = JSON.parse(bytesToUtf8(valueOf(dir, 'ledger_3-13.committed', 13, SIGNATURES)));
    const other = JSON.parse(bytesToUtf8(valueOf(dir, 'ledger_3-13.committed', 8, SIGNATURES)));
    expect(other.node).toBe(own.node);
    editEntry(dir, 'ledger_3-13.committed', 13, (maps) => setValue(maps, SIGNATURES, utf8ToBytes(JSON.stringify({ ...own, sig: other.sig }))));
    expect((await audit(dir)).failure).toMatchObject({ seqno: 13, check: AuditCheck.nodeSignature });
  });

  it('a node certificate for the right key, issued by someone else than the service', async () => {
    const dir = copyLedger();
    const own = JSON.parse(bytesToUtf8(valueOf(dir, 'ledger_3-13.committed', 13, SIGNATURES)));
    const nodePoint = parseCertificate(own.cert).publicKey.point;
    const rogue = testKey(404);
    const subject = { ...rogue, point: nodePoint };
    const cert = issueCert({ subject, subjectName: 'CCF Node', issuer: rogue, issuerName: 'CCF Service', serial: 1, ca: false });
    expect(derToPem(pemToDer(cert))).toBe(cert);
    editEntry(dir, 'ledger_3-13.committed', 13, (maps) => setValue(maps, SIGNATURES, utf8ToBytes(JSON.stringify({ ...own, cert }))));
    expect((await audit(dir)).failure).toMatchObject({ seqno: 13, check: AuditCheck.nodeEndorsement });
  });

  it('a COSE signature from another transaction of the same service', async () => {
    const dir = copyLedger();
    const other = valueOf(dir, 'ledger_3-13.committed', 8, COSE);
    editEntry(dir, 'ledger_3-13.committed', 13, (maps) => setValue(maps, COSE, other));
    const { failure } = await audit(dir);
    expect(failure).toMatchObject({ seqno: 13, check: AuditCheck.coseSignature });
    expect(failure!.message).toContain('ccf.v1 txid 2.8');
  });

  it('a COSE signature from another service', async () => {
    const dir = copyLedger();
    const foreign = valueOf(join(serviceDir('double_sealed_service'), 'ledger'), 'ledger_1-2.committed', 2, COSE);
    editEntry(dir, 'ledger_3-13.committed', 13, (maps) => setValue(maps, COSE, foreign));
    const { failure } = await audit(dir);
    expect(failure).toMatchObject({ seqno: 13, check: AuditCheck.coseSignature });
    expect(failure!.message).toContain('is not the service key in effect');
  });
});
