// Moved to client/src/attestation (pure verification, shared with the client's offline verifier).
export * from '../../client/src/attestation/platform.ts';
