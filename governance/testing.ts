// Test helpers: members registered in a Store, signing governance requests with the client library.
import { Store, type Tx } from '../node/kv/index.ts';
import { createIdentity, idFromCertificate } from '../node/crypto/certs.ts';
import { loadIdentity } from '../client/src/client/identity.ts';
import { signCoseRequest, type CoseRequestHeaders } from '../client/src/client/cose-sign.ts';
import { jsonBytes, utf8 } from '../node/enclave/tables.ts';
import { GovTables } from './tables.ts';

export interface TestMember {
  id: string;
  certPem: string;
  privateKeyPem: string;
  sign(payload: Uint8Array | object, headers: CoseRequestHeaders): Promise<Uint8Array>;
}

export async function createMember(name: string, curve: 'P-256' | 'P-384' = 'P-384'): Promise<TestMember> {
  const id = await createIdentity(name, curve);
  const memberId = idFromCertificate(id.certPem);
  const client = loadIdentity({ certPem: id.certPem, keyPem: id.privateKeyPem, role: 'member' });
  return {
    id: memberId,
    certPem: id.certPem,
    privateKeyPem: id.privateKeyPem,
    sign: (payload, headers) => signCoseRequest(client, payload instanceof Uint8Array ? payload : jsonBytes(payload), headers, headers.createdAt ?? 1_700_000_000),
  };
}

export function registerMember(tx: Tx, member: TestMember, status: 'Active' | 'Accepted' = 'Active'): void {
  tx.map(GovTables.memberCerts).set(utf8(member.id), utf8(member.certPem));
  tx.map(GovTables.memberInfo).set(utf8(member.id), jsonBytes({ status }));
}

export function storeWith(setup: (tx: Tx) => void): Store {
  const store = new Store();
  const tx = store.begin();
  setup(tx);
  if (!store.commit(tx).ok) throw new Error('setup commit failed');
  return store;
}
