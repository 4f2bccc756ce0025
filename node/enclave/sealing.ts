// Sealing: the enclave's long-lived secrets (node key, service key, ledger secret) encrypted under a
// platform sealing key before the host stores them, so a node restarted with its data folder resumes
// with the same identity and can decrypt its own ledger.
//
// On SEV-SNP the sealing key is derived by the secure processor from the measurement; on the `virtual`
// platform it is a random key kept in a file beside the data folder — honestly insecure: anyone with the
// folder can unseal. Disaster recovery by members' shares (governance) does not depend on sealing.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyPair } from '../crypto/keys.ts';

export interface EnclaveSecrets {
  nodeKey: KeyPair;
  nodeCertPem: string;
  serviceKey: KeyPair;
  serviceCertPem: string;
  ledgerSecret: Uint8Array;
  /** Set for a node that joined an existing service: its ledger may be empty until it catches up. */
  joined?: boolean;
  /** A recovered service: the seqno `ledgerSecret` encrypts from (default 1). */
  ledgerSecretStartSeqno?: number;
  /** A recovered service: the previous services' ledger secrets, oldest first (node/enclave/recovery.ts). */
  previousLedgerSecrets?: Array<{ startSeqno: number; key: Uint8Array }>;
}

const MAGIC = new TextEncoder().encode('SYNODSEAL1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(secrets: EnclaveSecrets, sealingKey: Uint8Array): Uint8Array {
  assertKey(sealingKey);
  const plaintext = Buffer.from(JSON.stringify({
    nodeKey: secrets.nodeKey,
    nodeCertPem: secrets.nodeCertPem,
    serviceKey: secrets.serviceKey,
    serviceCertPem: secrets.serviceCertPem,
    ledgerSecret: Buffer.from(secrets.ledgerSecret).toString('base64'),
    joined: secrets.joined === true,
    ...(secrets.ledgerSecretStartSeqno !== undefined ? { ledgerSecretStartSeqno: secrets.ledgerSecretStartSeqno } : {}),
    ...(secrets.previousLedgerSecrets ? {
      previousLedgerSecrets: secrets.previousLedgerSecrets.map((p) => ({ startSeqno: p.startSeqno, key: Buffer.from(p.key).toString('base64') })),
    } : {}),
  }, (key, value) => (key === 'publicKeyDer' ? Buffer.from(value as Uint8Array).toString('base64') : value)));
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
  cipher.setAAD(MAGIC);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), ciphertext]);
}

/** Unseals a blob the host read from disk; anything altered or foreign is refused. */
export function unseal(blob: Uint8Array, sealingKey: Uint8Array): EnclaveSecrets {
  assertKey(sealingKey);
  const header = MAGIC.length + IV_BYTES + TAG_BYTES;
  if (blob.length <= header || !Buffer.from(blob.subarray(0, MAGIC.length)).equals(Buffer.from(MAGIC))) {
    throw new Error('sealed secrets: not a Synod sealed blob');
  }
  const iv = blob.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
  const tag = blob.subarray(MAGIC.length + IV_BYTES, header);
  const decipher = createDecipheriv('aes-256-gcm', sealingKey, iv);
  decipher.setAAD(MAGIC);
  decipher.setAuthTag(tag);
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(blob.subarray(header)), decipher.final()]);
  } catch {
    throw new Error('sealed secrets: authentication failed (wrong sealing key or altered file)');
  }
  const raw = JSON.parse(plaintext.toString('utf8'));
  plaintext.fill(0);
  const toKeyPair = (k: KeyPair & { publicKeyDer: string }): KeyPair => ({
    ...k,
    publicKeyDer: new Uint8Array(Buffer.from(k.publicKeyDer, 'base64')),
  });
  const ledgerSecret = new Uint8Array(Buffer.from(raw.ledgerSecret, 'base64'));
  if (ledgerSecret.length !== 32) throw new Error('sealed secrets: ledger secret is not 32 bytes');
  return {
    nodeKey: toKeyPair(raw.nodeKey),
    nodeCertPem: raw.nodeCertPem,
    serviceKey: toKeyPair(raw.serviceKey),
    serviceCertPem: raw.serviceCertPem,
    ledgerSecret,
    ...(raw.joined === true ? { joined: true } : {}),
    ...(Number.isSafeInteger(raw.ledgerSecretStartSeqno) && raw.ledgerSecretStartSeqno > 1 ? { ledgerSecretStartSeqno: raw.ledgerSecretStartSeqno as number } : {}),
    ...(Array.isArray(raw.previousLedgerSecrets) ? {
      previousLedgerSecrets: (raw.previousLedgerSecrets as Array<{ startSeqno: number; key: string }>).map((p) => {
        const key = new Uint8Array(Buffer.from(String(p.key), 'base64'));
        if (key.length !== 32 || !Number.isSafeInteger(p.startSeqno) || p.startSeqno < 1) throw new Error('sealed secrets: a previous ledger secret is malformed');
        return { startSeqno: p.startSeqno, key };
      }),
    } : {}),
  };
}

function assertKey(key: Uint8Array): void {
  if (key.length !== 32) throw new Error('sealing key must be 32 bytes');
}
