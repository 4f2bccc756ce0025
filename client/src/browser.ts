// Public API of @synod/client for browsers (and any runtime without node:*): the HTTP client over
// fetch, identities and COSE-signed requests, receipt verification, and pure ledger parsing with
// private-domain decryption (WebCrypto). No module reachable from here imports node:* (a test checks).
export * from './errors.ts';
export * from './verify/index.ts';
export * from './client/index.ts';
export * from './gov/index.ts';
export { parseChunk, parseChunkName, type ChunkName, type ParsedChunk, type EntryExtent } from './ledger/chunk.ts';
export { parseEntry, parsePublicDomain, writeSetDigest, entryLeaf, EntryType, type LedgerEntry, type PublicDomain, type MapChanges } from './ledger/entry.ts';
export { IncrementalMerkleTree } from './ledger/merkle-tree.ts';
export { Tables } from './ledger/tables.ts';
export { importLedgerSecret, decryptPrivateDomain, parsePrivateDomain, LEDGER_SECRET_BYTES } from './ledger/private-domain.ts';
