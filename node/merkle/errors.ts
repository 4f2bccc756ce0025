// Errors raised by node/merkle. Each has a stable `code`. They signal inputs the tree cannot serve (an
// index outside the tree, a malformed proof step, a corrupt serialized tree); a proof that simply does
// not verify is not an error (`verifyProof` returns false).

export type MerkleErrorCode =
  | 'MERKLE_INVALID_LEAF'
  | 'MERKLE_INDEX_OUT_OF_RANGE'
  | 'MERKLE_SIZE_OUT_OF_RANGE'
  | 'MERKLE_INVALID_PROOF'
  | 'MERKLE_BAD_SERIALIZATION'
  | 'MERKLE_CAPACITY_EXCEEDED';

export class MerkleError extends Error {
  readonly code: MerkleErrorCode;
  constructor(code: MerkleErrorCode, message: string) {
    super(message);
    this.name = 'MerkleError';
    this.code = code;
  }
}
