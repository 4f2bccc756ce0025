// Offline audit of a CCF ledger directory with nothing but the service certificate: reads every
// chunk, checks its structure, rebuilds the Merkle tree entry by entry, verifies every signature
// transaction (root, node signature, node endorsement, COSE signature), follows node and service
// identities across recoveries and collects the governance history. On the first check that does
// not hold, the audit stops and reports that point precisely (file, byte offset, seqno, check).
import { LedgerFormatError, SynodClientError, UsageError, UsageErrorCode } from '../errors.ts';
import { type ParsedChunk, parseChunk } from '../ledger/chunk.ts';
import { type LedgerEntry, type MapChanges, entryLeaf, parseEntry } from '../ledger/entry.ts';
import { type LedgerDirectory, type LedgerFile, listLedgerFiles, readLedgerFile } from '../ledger/files.ts';
import { Tables, keyText, valueObject, valuePem } from '../ledger/tables.ts';
import { type ServiceCertOptions, loadServiceCerts } from '../verify/trust.ts';
import type { ParsedCertificate } from '../verify/x509.ts';
import { applyGovernanceTables } from './governance.ts';
import { applyIdentityTables, resolveIdentityChain } from './identities.ts';
import { type AuditFailure, type AuditProgress, type AuditReport, AuditCheck, CheckFailed } from './report.ts';
import { checkSignatureEntry, isSignatureEntry } from './signatures.ts';
import { AuditState, type EntryLocation } from './state.ts';

export interface AuditOptions extends ServiceCertOptions {
  onProgress?: (progress: AuditProgress) => void;
}

/** Audits the ledger in `dir`. Resolves with a report; rejects only for I/O or usage errors. */
export async function auditLedger(dir: string, options: AuditOptions): Promise<AuditReport> {
  if (!options || (options.serviceCert === undefined && options.serviceCerts === undefined)) {
    throw new UsageError(UsageErrorCode.invalidArgument, 'auditLedger needs serviceCert (or serviceCerts)');
  }
  let trusted: ParsedCertificate[];
  try {
    trusted = loadServiceCerts(options);
  } catch (e) {
    throw new UsageError(UsageErrorCode.invalidArgument, (e as Error).message);
  }
  const state = new AuditState();
  const report = emptyReport(dir);
  let directory: LedgerDirectory;
  try {
    directory = await listLedgerFiles(dir);
  } catch (e) {
    if (!(e instanceof LedgerFormatError)) throw e;
    return finish(report, state, { file: dir, offset: 0, seqno: undefined, check: AuditCheck.ledgerFiles, message: e.message });
  }
  report.ignoredFiles = directory.ignored;
  let bytesDone = 0;
  for (const [i, file] of directory.files.entries()) {
    const bytes = await readLedgerFile(file);
    const failure = auditFile(state, file, bytes);
    bytesDone += file.sizeBytes;
    state.counts.files++;
    options.onProgress?.({ file: file.name, filesDone: i + 1, filesTotal: directory.files.length, bytesDone, bytesTotal: directory.totalBytes, seqno: state.nextSeqno });
    if (failure) return finish(report, state, failure);
  }
  if (!state.lastSignature) {
    const first = directory.files[0]!;
    return finish(report, state, { file: first.name, offset: 8, seqno: 1, check: AuditCheck.noSignature, message: 'the ledger holds no signature transaction: none of it is signed' });
  }
  const chain = resolveIdentityChain(state, trusted);
  report.serviceIdentities = chain.records;
  const failure = chain.failure && { file: chain.failure.at.file, offset: chain.failure.at.offset, seqno: chain.failure.at.seqno, check: chain.failure.check, message: chain.failure.message };
  return finish(report, state, failure);
}

/** Audits one chunk file; returns the first failure in it, if any. */
function auditFile(state: AuditState, file: LedgerFile, bytes: Uint8Array): AuditFailure | undefined {
  const at = (offset: number, seqno: number | undefined, check: AuditCheck, message: string): AuditFailure => ({ file: file.name, offset, seqno, check, message });
  let chunk: ParsedChunk;
  try {
    chunk = parseChunk(bytes, file.complete);
  } catch (e) {
    if (!(e instanceof LedgerFormatError)) throw e;
    return at(e.offset ?? 0, undefined, AuditCheck.chunkStructure, e.message);
  }
  let last: { entry: LedgerEntry; signature: boolean; offset: number } | undefined;
  for (const extent of chunk.entries) {
    const expected = state.nextSeqno ?? file.firstSeqno;
    let entry: LedgerEntry;
    try {
      entry = parseEntry(bytes.subarray(extent.offset, extent.offset + extent.length), extent.offset);
    } catch (e) {
      if (!(e instanceof LedgerFormatError)) throw e;
      return at(extent.offset, expected, AuditCheck.entryFormat, e.message);
    }
    const loc: EntryLocation = { file: file.name, offset: extent.offset, seqno: entry.seqno, view: entry.view };
    try {
      checkSequence(state, file, entry, expected);
      const signature = auditEntry(state, entry, loc);
      last = { entry, signature, offset: extent.offset };
    } catch (e) {
      if (e instanceof CheckFailed) return at(extent.offset, entry.seqno, e.check, e.message);
      if (e instanceof SynodClientError) return at(extent.offset, entry.seqno, AuditCheck.tableValue, e.message);
      throw e;
    }
  }
  if (chunk.trailingBytes > 0) {
    const offset = bytes.length - chunk.trailingBytes;
    return at(offset, state.nextSeqno, AuditCheck.chunkStructure, `open chunk ends with ${chunk.trailingBytes} bytes that are not a whole entry`);
  }
  return checkChunkEnd(file, last, at);
}

/** Seqnos follow one another from the first file's start, views never decrease, files hold their range. */
function checkSequence(state: AuditState, file: LedgerFile, entry: LedgerEntry, expected: number): void {
  if (entry.seqno !== expected) {
    throw new CheckFailed(AuditCheck.seqnoSequence, `entry has seqno ${entry.seqno}, expected ${expected}`);
  }
  if (state.nextSeqno === undefined && entry.seqno !== 1) {
    throw new CheckFailed(AuditCheck.seqnoSequence, `the ledger starts at seqno ${entry.seqno}; auditing from a snapshot is not supported, seqno 1 is needed`);
  }
  if (file.lastSeqno !== undefined && entry.seqno > file.lastSeqno) {
    throw new CheckFailed(AuditCheck.seqnoSequence, `entry ${entry.seqno} lies beyond the range of ${file.name}`);
  }
  if (entry.view < state.lastView) {
    throw new CheckFailed(AuditCheck.seqnoSequence, `view ${entry.view} follows view ${state.lastView}: views never decrease`);
  }
}

/** Applies one entry to the state; returns whether it was a signature transaction. */
function auditEntry(state: AuditState, entry: LedgerEntry, loc: EntryLocation): boolean {
  const maps = entry.publicDomain.maps;
  applyNodeTables(state, maps);
  applyIdentityTables(state, maps, loc);
  applyGovernanceTables(state, maps, loc);
  const signature = isSignatureEntry(maps);
  if (signature) checkSignatureEntry(state, maps, loc);
  // The entry's own leaf comes after its signature check: a signature signs the leaves before it.
  state.tree.append(entryLeaf(entry));
  state.nextSeqno = entry.seqno + 1;
  state.lastView = entry.view;
  state.views.add(entry.view);
  state.counts.entries++;
  return signature;
}

function applyNodeTables(state: AuditState, maps: Map<string, MapChanges>): void {
  for (const [key, value] of maps.get(Tables.nodesInfo)?.writes ?? []) {
    const info = valueObject(value, Tables.nodesInfo);
    const node = state.node(keyText(key));
    node.status = typeof info.status === 'string' ? info.status : undefined;
    if (typeof info.cert === 'string') node.infoCertPem = info.cert;
  }
  for (const [key, value] of maps.get(Tables.endorsedNodeCerts)?.writes ?? []) {
    state.node(keyText(key)).endorsedCertPem = valuePem(value, Tables.endorsedNodeCerts);
  }
}

/** A complete chunk ends exactly at its named last seqno, and on a signature. */
function checkChunkEnd(
  file: LedgerFile,
  last: { entry: LedgerEntry; signature: boolean; offset: number } | undefined,
  at: (offset: number, seqno: number | undefined, check: AuditCheck, message: string) => AuditFailure,
): AuditFailure | undefined {
  if (!file.complete) return undefined;
  if (!last) return at(8, file.firstSeqno, AuditCheck.chunkEnd, `${file.name} holds no entries`);
  if (last.entry.seqno !== file.lastSeqno) {
    return at(last.offset, last.entry.seqno, AuditCheck.chunkEnd, `${file.name} ends at seqno ${last.entry.seqno}, not ${file.lastSeqno}`);
  }
  if (!last.signature) {
    return at(last.offset, last.entry.seqno, AuditCheck.chunkEnd, `${file.name} does not end on a signature transaction`);
  }
  return undefined;
}

function emptyReport(dir: string): AuditReport {
  return {
    ok: false,
    ledgerDir: dir,
    firstSeqno: undefined,
    lastSeqno: undefined,
    lastSignedTxid: undefined,
    counts: new AuditState().counts,
    serviceIdentities: [],
    proposals: [],
    ignoredFiles: [],
    failure: undefined,
  };
}

function finish(report: AuditReport, state: AuditState, failure: AuditFailure | undefined): AuditReport {
  const counts = state.counts;
  counts.views = state.views.size;
  counts.nodes = state.nodes.size;
  counts.members = state.members.size;
  counts.users = state.users.size;
  counts.proposals = state.proposals.size;
  counts.serviceIdentities = state.identities.length;
  const lastSeqno = state.nextSeqno === undefined ? undefined : state.nextSeqno - 1;
  counts.unsignedTail = lastSeqno === undefined ? 0 : lastSeqno - (state.lastSignature?.seqno ?? 0);
  return {
    ...report,
    ok: failure === undefined,
    firstSeqno: lastSeqno === undefined ? undefined : 1,
    lastSeqno,
    lastSignedTxid: state.lastSignature ? `${state.lastSignature.view}.${state.lastSignature.seqno}` : undefined,
    counts,
    proposals: [...state.proposals.values()],
    failure,
  };
}
