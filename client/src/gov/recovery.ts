// A recovery member's part of disaster recovery (CCF: "Submitting recovery shares"): fetch the member's
// encrypted share from GET /gov/recovery/encrypted-shares/{memberId}, decrypt it with the member's
// encryption private key (RSA-OAEP with SHA-256, RFC 8017 §7.1: CCF's member_enc_privk.pem), and submit
// it signed (COSE_Sign1, ccf.gov.msg.type = recovery_share) to POST /gov/recovery/members/{memberId}:recover.
//
// The decrypted share exists only in this process's memory, on its way into the signed request over TLS
// to the service. WebCrypto only: this runs in browsers and in Node alike.

import { UsageError, UsageErrorCode } from '../errors.ts';
import type { GovernanceClient } from './client.ts';

export interface RecoveryShareSubmission {
  memberId: string;
  /** The service's answer, e.g. "2/3 recovery shares successfully submitted." */
  message: string;
  txid?: string;
}

function pemToDer(pem: string, label: string): Uint8Array<ArrayBuffer> {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!match) throw new UsageError(UsageErrorCode.invalidArgument, `the member encryption key must be a PEM "${label}" (PKCS#8), as member<i>_enc_privk.pem is`);
  const binary = atob(match[1]!.replace(/\s+/g, ''));
  const der = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
  return der;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Decrypts an encrypted recovery share with the member's RSA encryption private key (PKCS#8 PEM). */
export async function decryptRecoveryShare(encryptionPrivateKeyPem: string, encryptedShare: Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('pkcs8', pemToDer(encryptionPrivateKeyPem, 'PRIVATE KEY'), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, key, new Uint8Array(encryptedShare)));
  } catch {
    throw new UsageError(UsageErrorCode.invalidArgument, 'the encrypted share does not decrypt with this encryption key: is it this member\'s enc_privk?');
  }
}

/** The member's encrypted share (404 from the service when it holds none for this member). */
export async function fetchEncryptedShare(gov: GovernanceClient, memberId?: string): Promise<Uint8Array> {
  const id = memberId ?? gov.memberId;
  if (id === undefined || !/^[0-9a-f]{64}$/.test(id)) throw new UsageError(UsageErrorCode.invalidArgument, 'a member ID (64 hex digits) is needed to fetch a recovery share');
  const body = (await gov.client.get(gov.url(`/gov/recovery/encrypted-shares/${id}`))).json<{ encryptedShare?: unknown }>();
  if (typeof body?.encryptedShare !== 'string') throw new UsageError(UsageErrorCode.invalidArgument, 'the service did not answer {encryptedShare}');
  return base64ToBytes(body.encryptedShare);
}

/** Fetches, decrypts and submits this member's recovery share; answers the service's message. */
export async function submitRecoveryShare(gov: GovernanceClient, encryptionPrivateKeyPem: string): Promise<RecoveryShareSubmission> {
  const memberId = gov.memberId;
  if (memberId === undefined) throw new UsageError(UsageErrorCode.invalidArgument, 'submitting a recovery share is signed: give the governance client a member identity');
  const share = await decryptRecoveryShare(encryptionPrivateKeyPem, await fetchEncryptedShare(gov, memberId));
  const payload = new TextEncoder().encode(JSON.stringify({ share: bytesToBase64(share) }));
  share.fill(0);
  try {
    const res = await gov.client.post(gov.url(`/gov/recovery/members/${memberId}:recover`), payload);
    const message = res.json<{ message?: unknown }>()?.message;
    return { memberId, message: typeof message === 'string' ? message : '', ...(res.txid ? { txid: res.txid } : {}) };
  } finally {
    payload.fill(0);
  }
}
