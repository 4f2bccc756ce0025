// node/ledger: CCF's ledger entry format, the ledger secret (AES-256-GCM, commit evidence), Merkle
// leaves of entries, and the chunk file layout. Pure: no I/O (the host side is node/host/ledger).

export * from './errors.ts';
export * from './secret.ts';
export * from './entry.ts';
export * from './digest.ts';
export * from './chunk.ts';
