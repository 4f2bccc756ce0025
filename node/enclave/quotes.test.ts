import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { produceVirtualNodeEvidence } from '../attestation/node-evidence.ts';
import { RpcError } from '../errors.ts';
import { Store } from '../kv/index.ts';
import type { Enclave } from './enclave.ts';
import { quotesApp, selfQuote, trustedQuotes } from './quotes.ts';
import { Tables, jsonBytes, utf8 } from './tables.ts';

const keyDer = () => new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }));

function enclaveWith(nodeId: string, nodes: Record<string, unknown>): Enclave {
  const store = new Store();
  const tx = store.begin();
  for (const [id, info] of Object.entries(nodes)) tx.map(Tables.nodesInfo).set(utf8(id), jsonBytes(info));
  store.commit(tx);
  return { nodeId, store } as unknown as Enclave;
}

describe('quotes endpoints', () => {
  const a = produceVirtualNodeEvidence(keyDer());
  const b = produceVirtualNodeEvidence(keyDer());

  it('serve the quotes of Trusted nodes only, with the measurement from code_digest or else the report', () => {
    const enclave = enclaveWith('a', {
      a: { status: 'Trusted', quote_info: a.quoteInfo, code_digest: a.measurement },
      b: { status: 'Trusted', quote_info: b.quoteInfo },
      c: { status: 'Pending', quote_info: b.quoteInfo },
      d: { status: 'Trusted' },
    });
    expect(trustedQuotes(enclave)).toEqual([
      { node_id: 'a', raw: a.quoteInfo.quote, endorsements: '', format: 'Insecure_Virtual', measurement: a.measurement },
      { node_id: 'b', raw: b.quoteInfo.quote, endorsements: '', format: 'Insecure_Virtual', measurement: b.measurement },
    ]);
    expect(selfQuote(enclave)).toEqual(trustedQuotes(enclave)[0]);
  });

  it('answer 404 for the own quote when there is none, unless the node supplies it', () => {
    const enclave = enclaveWith('x', {});
    expect(() => selfQuote(enclave)).toThrow(RpcError);
    try {
      selfQuote(enclave);
    } catch (error) {
      expect(error).toMatchObject({ code: 'ResourceNotFound', status: 404 });
    }
    expect(selfQuote(enclave, { ownQuoteInfo: () => a.quoteInfo })).toMatchObject({ node_id: 'x', measurement: a.measurement });
  });

  it('are no_auth, readonly and served before the service opens', () => {
    const app = quotesApp(enclaveWith('a', {}));
    expect(app.endpoints.map((e) => e.path)).toEqual(['/node/quotes/self', '/node/quotes', '/node/attestations/self', '/node/attestations']);
    for (const endpoint of app.endpoints) expect(endpoint).toMatchObject({ method: 'GET', authn: ['no_auth'], mode: 'readonly', beforeOpen: true });
  });
});
