// Reads a Synod node's ledger secret from its data folder, as an operator of the insecure `virtual`
// platform could: `<dataDir>/sealed_secrets.bin` is magic "SYNODSEAL1" ‖ IV (12) ‖ GCM tag (16) ‖
// AES-256-GCM ciphertext of JSON {ledgerSecret: base64, …}, AAD = the magic, under the 32-byte key in
// `<dataDir>/virtual_sealing.key` (node/enclave/sealing.ts). Re-implemented here on purpose: the
// client package never imports node/.
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAGIC = Buffer.from('SYNODSEAL1');

export function unsealLedgerSecret(dataDir: string): Uint8Array {
  const key = readFileSync(join(dataDir, 'virtual_sealing.key'));
  const blob = readFileSync(join(dataDir, 'sealed_secrets.bin'));
  if (key.length !== 32 || !blob.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a Synod virtual sealing folder');
  const iv = blob.subarray(MAGIC.length, MAGIC.length + 12);
  const tag = blob.subarray(MAGIC.length + 12, MAGIC.length + 28);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(MAGIC);
  decipher.setAuthTag(tag);
  const json = Buffer.concat([decipher.update(blob.subarray(MAGIC.length + 28)), decipher.final()]).toString('utf8');
  const secret = new Uint8Array(Buffer.from(JSON.parse(json).ledgerSecret as string, 'base64'));
  if (secret.length !== 32) throw new Error('the sealed ledger secret is not 32 bytes');
  return secret;
}
