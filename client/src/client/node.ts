// The client in Node: SynodClient over node:https, pinned to the service certificate.
//   const client = createClient({ url, serviceCert, identity: { certPem, keyPem } });
import { SynodClient, type SynodClientOptions } from './client.ts';
import { nodeHttpsTransport } from './transport-node.ts';

export { NodeHttpsTransport, nodeHttpsTransport } from './transport-node.ts';

/** A SynodClient whose transport is node:https (options.transport, if given, still wins). */
export function createClient(options: Omit<SynodClientOptions, 'transport'> & { transport?: SynodClientOptions['transport'] }): SynodClient {
  return new SynodClient({ ...options, transport: options.transport ?? nodeHttpsTransport });
}
