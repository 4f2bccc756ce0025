// The private domain of a ledger entry (DESIGN.md "Ledger entry"): AES-256-GCM (NIST SP 800-38D)
// under the ledger secret, with IV = the entry's 12 IV bytes (seqno u64 LE ‖ view u32), AAD = the
// serialized public domain, and the 16-byte tag from the entry header. CCF computes the tag even
// when the private domain is empty, so with the secret every entry's public domain is authenticated
// too. Decrypted, the private domain holds maps in the public domain's per-map layout, with no
// header. WebCrypto (crypto.subtle) does the AES, so this runs in Node and in browsers alike.
import { UsageError, UsageErrorCode } from '../errors.ts';
import { concatBytes } from '../verify/encoding.ts';
import { ByteReader } from './bytes.ts';
import { readMapChanges, type LedgerEntry, type MapChanges } from './entry.ts';

export const LEDGER_SECRET_BYTES = 32;
const GCM_TAG_BITS = 128;
const PUBLIC_PREFIX = 'public:';

/** Imports a 32-byte ledger secret as a non-extractable AES-GCM decryption key. */
export async function importLedgerSecret(secret: Uint8Array): Promise<CryptoKey> {
  if (!(secret instanceof Uint8Array) || secret.length !== LEDGER_SECRET_BYTES) {
    throw new UsageError(UsageErrorCode.invalidArgument, `a ledger secret is ${LEDGER_SECRET_BYTES} bytes`);
  }
  return crypto.subtle.importKey('raw', secret as BufferSource, { name: 'AES-GCM' }, false, ['decrypt']);
}

/**
 * The plaintext private domain of `entry` (empty when it has none), or undefined when the GCM tag
 * does not verify: the entry was altered (ciphertext, tag, IV or public domain), or another secret
 * encrypted it. GCM cannot tell which byte changed, only that the entry is not as written.
 */
export async function decryptPrivateDomain(entry: LedgerEntry, key: CryptoKey): Promise<Uint8Array | undefined> {
  const bytesOf = (v: unknown, length?: number): boolean => v instanceof Uint8Array && (length === undefined || v.length === length);
  if (!entry || !bytesOf(entry.iv, 12) || !bytesOf(entry.gcmTag, 16) || !bytesOf(entry.publicDomainBytes) || !bytesOf(entry.privateDomain)) {
    throw new UsageError(UsageErrorCode.invalidArgument, 'decryptPrivateDomain needs a parsed ledger entry (parseEntry)');
  }
  if ((key as CryptoKey | undefined)?.algorithm?.name !== 'AES-GCM') {
    throw new UsageError(UsageErrorCode.invalidArgument, 'decryptPrivateDomain needs the key from importLedgerSecret');
  }
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: entry.iv as BufferSource, additionalData: entry.publicDomainBytes as BufferSource, tagLength: GCM_TAG_BITS },
      key,
      concatBytes(entry.privateDomain, entry.gcmTag) as BufferSource,
    );
    return new Uint8Array(plaintext);
  } catch (e) {
    if ((e as Error)?.name === 'OperationError') return undefined;
    throw e;
  }
}

/** Parses a decrypted private domain into its maps; `base` offsets error positions. */
export function parsePrivateDomain(bytes: Uint8Array, base = 0): Map<string, MapChanges> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('a private domain must be bytes');
  const r = new ByteReader(bytes, base);
  const maps = new Map<string, MapChanges>();
  while (r.remaining > 0) {
    const nameStart = r.position;
    const name = new TextDecoder().decode(r.sized('private map name'));
    if (maps.has(name)) throw r.fail(`private map ${name} appears twice`, nameStart);
    // A public map in the encrypted domain would be a writer that mixed up the two domains.
    if (name.startsWith(PUBLIC_PREFIX)) throw r.fail(`map ${name} is public but was written in the private domain`, nameStart);
    maps.set(name, readMapChanges(r, name));
  }
  return maps;
}
