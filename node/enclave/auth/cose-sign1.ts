// COSE_Sign1-signed requests (RFC 9052 §4.2), CCF's `user_cose_sign1` and `member_cose_sign1` policies
// (src/endpoints/authentication/cose_auth.cpp). The request body is
//   tag 18 [protected: bstr .cbor {1 alg, 4 kid, …}, unprotected: {…}, payload: bstr, signature: bstr]
// with content-type application/cose. kid is the signer's ID (hex SHA-256 of its certificate DER) as a
// byte string; the certificate is looked up in public:ccf.gov.users.certs or members.certs, and the
// signature is checked over Sig_structure ["Signature1", protected, h'', payload]. Protected header
// fields CCF reads: users `ccf.msg.type`, `ccf.msg.created_at`; members `ccf.gov.msg.type`,
// `ccf.gov.msg.proposal_id` and the required `ccf.gov.msg.created_at`.
//
// Stricter than CCF: the algorithm must fit the certificate's curve (ES256 ↔ P-256, ES384 ↔ P-384),
// protected header labels may not repeat, indefinite lengths and detached payloads are refused.

import { X509Certificate, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { decode, encode } from 'cborg';
import { Tables, utf8 } from '../tables.ts';
import { type Refusal, quote, refuse } from './errors.ts';
import { strictUtf8Decode } from './encoding.ts';
import type { KvReader } from './jwt-keys.ts';
import { authLimits } from './limits.ts';

export type CoseSignerRole = 'user' | 'member';

export const COSE_CONTENT_TYPE = 'application/cose';
const TAG_COSE_SIGN1_BYTE = 0xd2; // CBOR major type 6 (tag), value 18, in the initial byte
const HEADER_ALG = 1;
const HEADER_KID = 4;
const ALGORITHMS = new Map<number, { hash: 'sha256' | 'sha384'; curve: string; signatureBytes: number; name: string }>([
  [-7, { hash: 'sha256', curve: 'prime256v1', signatureBytes: 64, name: 'ES256' }],
  [-35, { hash: 'sha384', curve: 'secp384r1', signatureBytes: 96, name: 'ES384' }],
]);
const ID_HEX = /^[0-9a-f]{64}$/;

/** The protected header fields CCF exposes, by their CCF names. */
export interface CoseProtectedHeader {
  alg: number;
  /** The signer's ID, decoded from the kid byte string. */
  kid: string;
  'ccf.msg.type'?: string;
  'ccf.msg.created_at'?: number;
  'ccf.gov.msg.type'?: string;
  'ccf.gov.msg.proposal_id'?: string;
  'ccf.gov.msg.created_at'?: number;
}

export interface CoseIdentity {
  /** The signed payload: what the signer meant as the request body. */
  content: Uint8Array;
  protectedHeader: CoseProtectedHeader;
}

export type CoseOutcome = { ok: true; id: string; cose: CoseIdentity } | Refusal;

const HEADER_FIELDS: Record<CoseSignerRole, { text: string[]; times: string[]; requiredTime?: string }> = {
  user: { text: ['ccf.msg.type'], times: ['ccf.msg.created_at'] },
  member: { text: ['ccf.gov.msg.type', 'ccf.gov.msg.proposal_id'], times: ['ccf.gov.msg.created_at'], requiredTime: 'ccf.gov.msg.created_at' },
};

/** Authenticates a COSE_Sign1 request body as signed by a registered user or member. */
export function authenticateCoseSign1(kv: KvReader, role: CoseSignerRole, contentType: string | undefined, body: Uint8Array): CoseOutcome {
  if (contentType === undefined) return refuse('CoseWrongContentType', `missing content-type header; expected ${COSE_CONTENT_TYPE}`);
  const mediaType = String(contentType).split(';')[0]!.trim().toLowerCase();
  if (mediaType !== COSE_CONTENT_TYPE) return refuse('CoseWrongContentType', `content-type is ${quote(contentType)}, expected ${COSE_CONTENT_TYPE}`);
  if (body.length > authLimits.coseSign1BytesMax) return refuse('CoseTooLarge', `the COSE_Sign1 body is larger than ${authLimits.coseSign1BytesMax} bytes`);
  const envelope = decodeEnvelope(body);
  if (!envelope.ok) return envelope;
  const header = decodeProtectedHeader(envelope.protectedBytes, role);
  if (!header.ok) return header;
  const { alg, kid } = header.value;
  const table = role === 'user' ? Tables.userCerts : Tables.memberCerts;
  const certPem = kv.get(table, utf8(kid));
  if (certPem === undefined) return refuse('CoseUnknownSigner', `kid ${kid} is not a registered ${role}`);
  const key = certificateKey(certPem);
  const algorithm = ALGORITHMS.get(alg)!;
  if (!key || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== algorithm.curve) {
    return refuse('CoseBadSignature', `alg ${algorithm.name} does not fit ${role} ${kid}'s certificate key`);
  }
  const toBeSigned = encode(['Signature1', envelope.protectedBytes, new Uint8Array(0), envelope.payload]);
  const valid = envelope.signature.length === algorithm.signatureBytes &&
    nodeVerify(algorithm.hash, toBeSigned, { key, dsaEncoding: 'ieee-p1363' }, envelope.signature);
  if (!valid) return refuse('CoseBadSignature', `the COSE_Sign1 signature does not verify with ${role} ${kid}'s certificate`);
  return { ok: true, id: kid, cose: { content: envelope.payload, protectedHeader: header.value } };
}

interface Envelope {
  ok: true;
  protectedBytes: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
}

function decodeEnvelope(body: Uint8Array): Envelope | Refusal {
  if (body.length === 0 || body[0] !== TAG_COSE_SIGN1_BYTE) return refuse('CoseMalformed', 'the body is not a tagged COSE_Sign1 (CBOR tag 18)');
  let item: unknown;
  try {
    item = decode(body.subarray(1), { useMaps: true, rejectDuplicateMapKeys: true, allowIndefinite: false, allowUndefined: false });
  } catch (error) {
    // Includes a RangeError from absurd nesting in the unprotected header: malformed, not a crash.
    return refuse('CoseMalformed', `the body is not valid CBOR: ${(error as Error).message}`);
  }
  if (!Array.isArray(item) || item.length !== 4) return refuse('CoseMalformed', 'a COSE_Sign1 is an array of 4 items');
  const [protectedBytes, unprotected, payload, signature] = item as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) return refuse('CoseMalformed', 'the protected header must be a byte string');
  if (!(unprotected instanceof Map)) return refuse('CoseMalformed', 'the unprotected header must be a map');
  if (payload === null) return refuse('CoseMalformed', 'the payload is detached; a signed request carries it attached');
  if (!(payload instanceof Uint8Array)) return refuse('CoseMalformed', 'the payload must be a byte string');
  if (!(signature instanceof Uint8Array)) return refuse('CoseMalformed', 'the signature must be a byte string');
  return { ok: true, protectedBytes: protectedBytes.slice(), payload: payload.slice(), signature: signature.slice() };
}

function decodeProtectedHeader(bytes: Uint8Array, role: CoseSignerRole): { ok: true; value: CoseProtectedHeader } | Refusal {
  if (bytes.length > authLimits.coseProtectedHeaderBytesMax) {
    return refuse('CoseMalformed', `the protected header is larger than ${authLimits.coseProtectedHeaderBytesMax} bytes`);
  }
  let map: unknown;
  try {
    map = decode(bytes, { useMaps: true, rejectDuplicateMapKeys: true, allowIndefinite: false, allowUndefined: false });
  } catch (error) {
    return refuse('CoseMalformed', `the protected header is not valid CBOR: ${(error as Error).message}`);
  }
  if (!(map instanceof Map)) return refuse('CoseMalformed', 'the protected header must be a CBOR map');
  const alg = map.get(HEADER_ALG);
  if (alg === undefined) return refuse('CoseMalformed', 'missing alg (label 1) in the protected header');
  if (typeof alg !== 'number' || !ALGORITHMS.has(alg)) return refuse('CoseAlgorithmRefused', `alg ${quote(alg)} is not supported: use -7 (ES256) or -35 (ES384)`);
  const kidBytes = map.get(HEADER_KID);
  if (kidBytes === undefined) return refuse('CoseMissingKid', 'missing kid (label 4) in the protected header');
  if (!(kidBytes instanceof Uint8Array)) return refuse('CoseMissingKid', 'kid must be a byte string (the signer\'s ID in hex, as bytes)');
  const kid = strictUtf8Decode(kidBytes);
  if (kid === undefined || !ID_HEX.test(kid)) return refuse('CoseUnknownSigner', `kid ${quote(kid ?? '<not UTF-8>')} is not a ${role} ID (64 lower-case hex characters)`);
  const value: CoseProtectedHeader = { alg, kid };
  const fields = HEADER_FIELDS[role];
  for (const name of fields.text) {
    const field = map.get(name);
    if (field === undefined) continue;
    if (typeof field !== 'string') return refuse('CoseMalformed', `protected header ${name} must be a text string`);
    (value as unknown as Record<string, unknown>)[name] = field;
  }
  for (const name of fields.times) {
    const field = map.get(name);
    if (field === undefined) continue;
    if (typeof field !== 'number' || !Number.isSafeInteger(field) || field < 0) {
      return refuse('CoseMalformed', `protected header ${name} must be a non-negative integer (seconds)`);
    }
    (value as unknown as Record<string, unknown>)[name] = field;
  }
  if (fields.requiredTime && (value as unknown as Record<string, unknown>)[fields.requiredTime] === undefined) {
    return refuse('CoseMalformed', `missing ${fields.requiredTime} in the protected header`);
  }
  return { ok: true, value };
}

const certificateKeys = new Map<string, KeyObject>();

/**
 * The certificate's public key, cached by the stored PEM itself (not by the ID it is filed under), so
 * a changed registry entry can never be verified with a stale key. The registry lookup runs every time.
 */
function certificateKey(certPem: Uint8Array): KeyObject | undefined {
  const id = Buffer.from(certPem).toString('latin1');
  let key = certificateKeys.get(id);
  if (key) return key;
  try {
    key = new X509Certificate(Buffer.from(certPem)).publicKey;
  } catch {
    return undefined;
  }
  if (certificateKeys.size >= authLimits.publicKeyCacheEntriesMax) certificateKeys.delete(certificateKeys.keys().next().value!);
  certificateKeys.set(id, key);
  return key;
}
