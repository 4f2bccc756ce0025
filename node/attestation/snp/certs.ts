// Moved to client/src/attestation/snp (pure verification, shared with the client's offline verifier).
export * from '../../../client/src/attestation/snp/certs.ts';
