// Limits for node/attestation, kept together (TIGER_STYLE: put a limit on everything).
//
// These belong in node/limits.ts once that file exists; they live here because this folder may not
// edit files outside itself. Everything measured is hostile input (evidence from a joining node,
// responses from a key distribution server, blobs from the kernel), so every size is bounded.

// A PEM bundle of VCEK + ASK + ARK is about 6.5 KiB; leave room for a longer chain but no more.
export const endorsementsBytesMax = 64 * 1024;
// AMD's certificates are 1.3–1.7 KiB of DER.
export const certificateBytesMax = 16 * 1024;
// VCEK, ASK, ARK: exactly three, as CCF expects.
export const endorsementCertificateCount = 3;
// The virtual report is three short fields of JSON.
export const virtualReportBytesMax = 4 * 1024;
// configfs-tsm auxblob: a GUID table plus a few DER certificates.
export const auxblobBytesMax = 64 * 1024;
export const auxblobEntriesMax = 16;
// Responses from AMD KDS, THIM or a host-provided file.
export const endorsementsResponseBytesMax = 64 * 1024;
export const endorsementsFetchTimeoutMs = 10_000;
export const endorsementsCacheEntriesMax = 64;
// A trusted-value list from governance (measurements, host data).
export const trustedValuesMax = 4096;
// Endorsement chains whose signatures were verified against the pinned roots, remembered by digest.
export const verifiedChainCacheEntriesMax = 64;
