// Ledger rekey (CCF's trigger_ledger_rekey): a fresh ledger secret encrypts the ledger from the seqno after
// the rekey transaction. That transaction writes the new secret to public:ccf.internal.encrypted_ledger_secrets,
// encrypted to every trusted node's key (ECIES: ephemeral ECDH on the node key's curve, HKDF-SHA256 with
// RFC 5869, AES-256-GCM), so every node — and every node replaying the ledger — learns it exactly when it
// reaches that transaction (LedgerSecretChain in node/enclave/recovery.ts). Nobody else can read it: the
// ledger holds it only encrypted to node keys, and the members' recovery shares are reissued to cover it.

import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';
import type { Tx } from '../../node/kv/index.ts';
import { UNIT_KEY, jsonBytes, utf8 } from '../../node/enclave/tables.ts';

export const ENCRYPTED_LEDGER_SECRETS_TABLE = 'public:ccf.internal.encrypted_ledger_secrets';

export interface EncryptedLedgerSecretsRecord {
  /** The first seqno the new secret encrypts: the rekey transaction's seqno + 1. */
  start_seqno: number;
  /** Node ID → the secret encrypted to that node's key. */
  encrypted_secrets: Record<string, { ephemeral_public_key: string; sealed: string }>;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

function wrappingKey(shared: Uint8Array, ephemeralSpki: Uint8Array, nodeId: string, startSeqno: number): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeralSpki, utf8(`synod ledger secret v1 ${nodeId} ${startSeqno}`), 32));
}

export function encryptSecretForNode(nodePublicKeyDer: Uint8Array, nodeId: string, startSeqno: number, secret: Uint8Array): { ephemeral_public_key: string; sealed: string } {
  const nodeKey = createPublicKey({ key: Buffer.from(nodePublicKeyDer), format: 'der', type: 'spki' });
  const namedCurve = nodeKey.asymmetricKeyDetails?.namedCurve;
  if (nodeKey.asymmetricKeyType !== 'ec' || !namedCurve) throw new Error('node keys are EC keys');
  const ephemeral = generateKeyPairSync('ec', { namedCurve });
  const ephemeralSpki = new Uint8Array(ephemeral.publicKey.export({ type: 'spki', format: 'der' }));
  const key = wrappingKey(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: nodeKey }), ephemeralSpki, nodeId, startSeqno);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
  key.fill(0);
  return { ephemeral_public_key: Buffer.from(ephemeralSpki).toString('base64'), sealed: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64') };
}

/** This node's copy of the secret, or undefined when it does not open (not for this node, altered). */
export function decryptSecretForNode(nodePrivateKeyPem: string, nodeId: string, startSeqno: number, item: { ephemeral_public_key: string; sealed: string }): Uint8Array | undefined {
  try {
    const ephemeralSpki = new Uint8Array(Buffer.from(item.ephemeral_public_key, 'base64'));
    const publicKey = createPublicKey({ key: Buffer.from(ephemeralSpki), format: 'der', type: 'spki' });
    const key = wrappingKey(diffieHellman({ privateKey: createPrivateKey(nodePrivateKeyPem), publicKey }), ephemeralSpki, nodeId, startSeqno);
    const sealed = Buffer.from(item.sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const secret = new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]));
    key.fill(0);
    return secret.length === 32 ? secret : undefined;
  } catch {
    return undefined;
  }
}

/** The rekey transaction's write: `secret` from `startSeqno` on, for each trusted node. */
export function writeRekey(tx: Tx, secret: Uint8Array, startSeqno: number, nodes: ReadonlyArray<{ id: string; publicKeyDer: Uint8Array }>): void {
  if (nodes.length === 0) throw new Error('a rekey needs at least one trusted node');
  const record: EncryptedLedgerSecretsRecord = {
    start_seqno: startSeqno,
    encrypted_secrets: Object.fromEntries(nodes.map((n) => [n.id, encryptSecretForNode(n.publicKeyDer, n.id, startSeqno, secret)])),
  };
  tx.map(ENCRYPTED_LEDGER_SECRETS_TABLE).set(UNIT_KEY, jsonBytes(record));
}
