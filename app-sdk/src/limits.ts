// Bounds the polyfill enforces, kept together and equal to what a Synod node enforces on apps
// (node/js/limits.ts, node/kv/limits.ts), so that a unit test fails where the node would.

export const polyfillLimits = {
  /** `ccf.kv[name]`: names are 1 to this many characters. */
  mapNameLengthMax: 256,
  kvKeyBytesMax: 64 * 1024,
  kvValueBytesMax: 1024 * 1024,
  /** ArrayBuffers handed to ccf.crypto. */
  cryptoInputBytesMax: 16 * 1024 * 1024,
  rsaKeyBitsMin: 1024,
  rsaKeyBitsMax: 4096,
  certificatesPerBundleMax: 16,
  claimsDigestBytes: 32,
  responseBodyBytesMax: 16 * 1024 * 1024,
  responseHeadersMax: 64,
} as const;
