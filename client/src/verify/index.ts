// Receipt verification: the part of the client an auditor reads on its own. Depends only on
// @noble/hashes, @noble/curves, cborg and @peculiar/asn1-*; nothing here touches node:* or node/.
export { verifyReceipt, type JsonReceipt, type VerifiedReceipt, type VerifyReceiptOptions } from './receipt.ts';
export { verifyCoseReceipt, VDS_CCF_LEDGER_SHA256 } from './cose-receipt.ts';
export { ReceiptVerifier, type BatchResult, type ReceiptVerifierOptions } from './verifier.ts';
export { type ServiceCertOptions } from './trust.ts';
export { decodeCoseSign1, verifyCoseSign1, sigStructure, type CoseSign1 } from './cose.ts';
export { leafDigest, foldPath, parseCommitEvidence, type PathStep, type CommitEvidence } from './merkle.ts';
export { parseCertificate, parsePublicKey, publicKeyId, isSignedByKey, type ParsedCertificate, type PublicKey } from './x509.ts';
export { verifyEcdsa, type Curve } from './ecdsa.ts';
