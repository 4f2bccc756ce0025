// Test helpers: members registered in a Store, signing governance requests with the client library.
import { Store, type Tx } from '../node/kv/index.ts';
import { createIdentity, idFromCertificate } from '../node/crypto/certs.ts';
import { loadIdentity } from '../client/src/client/identity.ts';
import { signCoseRequest, type CoseRequestHeaders } from '../client/src/client/cose-sign.ts';
import { jsonBytes, utf8 } from '../node/enclave/tables.ts';
import { GovTables } from './tables.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentities } from '../node/sandbox/main.ts';
import { startNode, type NodeProcess } from '../node/sandbox/supervisor.ts';
import { HttpsClient, type HttpResponse } from '../test/helpers/https.ts';

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

// ---- a real node for end-to-end governance tests ------------------------------------------------

export interface GovAnswer {
  status: number;
  body: any;
  txid?: string;
}

/** Governance requests over one HTTPS connection (any node of a service). */
export interface GovRequests {
  get(path: string): Promise<GovAnswer>;
  /** A signed governance POST (api-version added). */
  post(member: TestMember, path: string, payload: object | Uint8Array, msgType: string, options?: { proposalId?: string; createdAt?: number }): Promise<GovAnswer>;
  propose(member: TestMember, proposal: object): Promise<GovAnswer>;
  vote(member: TestMember, proposalId: string, yes?: boolean): Promise<GovAnswer>;
  withdraw(member: TestMember, proposalId: string): Promise<GovAnswer>;
  /** state-digests:update then :ack (retried until the node has a signature to ack). */
  ack(member: TestMember): Promise<void>;
}

export function govRequests(client: HttpsClient): GovRequests {
  const gov: GovRequests = {
    async get(path) {
      return answer(await client.get(`${path}${path.includes('?') ? '&' : '?'}api-version=2024-07-01`));
    },
    async post(member, path, payload, msgType, opts = {}) {
      const body = await member.sign(payload, { msgType, ...(opts.proposalId ? { proposalId: opts.proposalId } : {}), ...(opts.createdAt !== undefined ? { createdAt: opts.createdAt } : {}) });
      return answer(await client.post(`${path}?api-version=2024-07-01`, Buffer.from(body), { 'content-type': 'application/cose' }));
    },
    propose(member, proposal) {
      return gov.post(member, '/gov/members/proposals:create', proposal, 'proposal');
    },
    vote(member, proposalId, yes = true) {
      return gov.post(member, `/gov/members/proposals/${proposalId}/ballots/${member.id}:submit`, { ballot: `export function vote(proposal, proposerId) { return ${yes}; }` }, 'ballot', { proposalId });
    },
    withdraw(member, proposalId) {
      return gov.post(member, `/gov/members/proposals/${proposalId}:withdraw`, new Uint8Array(0), 'withdrawal', { proposalId });
    },
    async ack(member) {
      for (let attempt = 0; ; attempt++) {
        const update = await gov.post(member, `/gov/members/state-digests/${member.id}:update`, new Uint8Array(0), 'state_digest');
        if (update.status === 200) {
          const acked = await gov.post(member, `/gov/members/state-digests/${member.id}:ack`, { memberId: member.id, stateDigest: update.body.stateDigest }, 'ack');
          if (acked.status === 204) return;
          if (attempt > 20) throw new Error(`ack failed: ${acked.status} ${JSON.stringify(acked.body)}`);
        } else if (attempt > 20) throw new Error(`state digest update failed: ${update.status} ${JSON.stringify(update.body)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  return gov;
}

/** A member signing with its certificate and key (PEM). */
export function memberFromPem(certPem: string, privateKeyPem: string): TestMember {
  const identity = loadIdentity({ certPem, keyPem: privateKeyPem, role: 'member' });
  return {
    id: idFromCertificate(certPem),
    certPem,
    privateKeyPem,
    sign: (payload, headers) => signCoseRequest(identity, payload instanceof Uint8Array ? payload : jsonBytes(payload), headers),
  };
}

export interface GovTestNode extends GovRequests {
  workspace: string;
  common: string;
  dataDir: string;
  node: NodeProcess;
  url: string;
  serviceCert: string;
  /** Members of the sandbox_common folder, signing with their key files. */
  members: TestMember[];
  anonymous: HttpsClient;
  /** An HTTPS client presenting `user<i>`'s certificate. */
  user(i: number): HttpsClient;
  read(file: string): string;
  /** The last TxID the node executed (via /node/commit after it settles): unchanged if nothing was written. */
  lastTxid(): Promise<string>;
  stop(): Promise<void>;
}

function answer(res: HttpResponse): GovAnswer {
  const text = res.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  const txid = res.headers['x-ms-ccf-transaction-id'];
  return { status: res.status, body, ...(typeof txid === 'string' ? { txid } : {}) };
}

/** Starts one node whose genesis has `memberCount` Accepted members (the first `genesisMembers`) and users. */
export async function startGovTestNode(options: { members: number; genesisMembers?: number; users: number; genesisUsers?: number; open?: boolean }): Promise<GovTestNode> {
  const workspace = mkdtempSync(join(tmpdir(), 'synod-gov-'));
  const common = join(workspace, 'sandbox_common');
  const dataDir = join(workspace, 'node0');
  await createIdentities(common, options.members, options.users);
  const read = (file: string) => readFileSync(join(common, file), 'utf8');
  const genesisMembers = options.genesisMembers ?? options.members;
  const node = await startNode({
    dataDir,
    rpcAddress: '127.0.0.1:0',
    serviceCertFile: join(common, 'service_cert.pem'),
    signatureDelayMs: 5,
    genesis: {
      members: Array.from({ length: genesisMembers }, (_, i) => ({ certFile: join(common, `member${i}_cert.pem`), encryptionPublicKeyFile: join(common, `member${i}_enc_pubk.pem`) })),
      users: Array.from({ length: options.genesisUsers ?? options.users }, (_, i) => ({ certFile: join(common, `user${i}_cert.pem`) })),
      open: options.open ?? false,
    },
  });
  const url = `https://${node.status.rpcAddress}`;
  const serviceCert = read('service_cert.pem');
  const anonymous = new HttpsClient({ url, ca: serviceCert });
  const userClients: HttpsClient[] = [];
  const members = Array.from({ length: options.members }, (_, i) => memberFromPem(read(`member${i}_cert.pem`), read(`member${i}_privk.pem`)));
  const requests = govRequests(anonymous);
  const gov: GovTestNode = {
    workspace, common, dataDir, node, url, serviceCert, members, anonymous, read,
    ...requests,
    user(i) {
      const client = new HttpsClient({ url, ca: serviceCert, cert: read(`user${i}_cert.pem`), key: read(`user${i}_privk.pem`) });
      userClients.push(client);
      return client;
    },
    async lastTxid() {
      // The committed TxID once it stops moving: every earlier write signed and committed.
      // (The last signature is appended at most signatureDelayMs after a write; its commit follows when
      // the ledger is durable, which can take a while on a busy machine.)
      let last = '';
      for (let attempt = 0; attempt < 200; attempt++) {
        const txid = String((await anonymous.get('/node/commit')).json().transaction_id);
        const signed = Number((await anonymous.get('/node/state')).json().last_signed_seqno);
        if (txid === last && Number(txid.split('.')[1]) === signed) return txid;
        last = txid;
        await new Promise((r) => setTimeout(r, 40));
      }
      throw new Error(`the commit TxID kept moving (last ${last})`);
    },
    async stop() {
      anonymous.close();
      for (const c of userClients) c.close();
      await node.kill('SIGTERM');
      rmSync(workspace, { recursive: true, force: true });
    },
  };
  return gov;
}

/**
 * member[0] proposes `actions`, then the members vote in order while it is Open; throws unless every
 * request answers 200 and the proposal ends Accepted.
 */
export async function passProposal(gov: GovRequests, members: TestMember[], actions: object[]): Promise<void> {
  const created = await gov.propose(members[0]!, { actions });
  if (created.status !== 200) throw new Error(`proposal refused (${created.status}): ${JSON.stringify(created.body)}`);
  let state = created.body.proposalState;
  for (const member of members) {
    if (state !== 'Open') break;
    const voted = await gov.vote(member, created.body.proposalId);
    if (voted.status !== 200) throw new Error(`ballot refused (${voted.status}): ${JSON.stringify(voted.body)}`);
    state = voted.body.proposalState;
  }
  if (state !== 'Accepted') throw new Error(`proposal ended ${state}, not Accepted`);
}
