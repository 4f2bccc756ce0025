// Offline reading of CCF ledger chunk files. Parsing is pure (bytes in, structures out); only
// files.ts touches the filesystem.
export { parseChunk, parseChunkName, type ChunkName, type ParsedChunk, type EntryExtent } from './chunk.ts';
export {
  parseEntry,
  parsePublicDomain,
  writeSetDigest,
  entryLeaf,
  EntryType,
  type LedgerEntry,
  type PublicDomain,
  type MapChanges,
} from './entry.ts';
export { IncrementalMerkleTree } from './merkle-tree.ts';
export { listLedgerFiles, readLedgerFile, type LedgerFile, type LedgerDirectory } from './files.ts';
export { Tables } from './tables.ts';
export { verifySnapshot, splitSnapshot, parseSnapshotName, type VerifiedSnapshot, type SnapshotName } from './snapshot.ts';
