// The HTTP client, browser-safe: SynodClient, identities and signers, COSE-signed requests, the
// transport interface and the fetch transport. The Node transport (node:https) is in node.ts.
export {
  SynodClient,
  checkTxid,
  certificateId,
  type SynodClientOptions,
  type AuthMode,
  type TxStatus,
  type CallOptions,
  type WaitOptions,
  type ReceiptOptions,
  type Receipt,
} from './client.ts';
export { loadIdentity, scalarSigner, webCryptoSigner, type Identity, type IdentityInput, type Role, type Signer } from './identity.ts';
export { parsePrivateKeyPem, type EcPrivateKey } from './private-key.ts';
export {
  signCoseRequest,
  protectedHeaderFor,
  governanceHeadersForPath,
  COSE_CONTENT_TYPE,
  GOV_MESSAGE_TYPES,
  GovHeader,
  UserHeader,
  type CoseRequestHeaders,
} from './cose-sign.ts';
export { type SynodResponse, type RequestBody, TXID_HEADER } from './response.ts';
export { type Transport, type TransportFactory, type TransportOptions, type TransportRequest, type TransportResponse } from './transport.ts';
export { FetchTransport, fetchTransport } from './transport-fetch.ts';
export { backoffDelayMs, systemClock, type Clock, type BackoffOptions } from './backoff.ts';
export { clientLimits } from './limits.ts';
