// The HTTPS frontend (fastify): terminates TLS on the node certificate, bounds what a client may send
// (body size, header size, request rate), and hands every request to the enclave as a RequestMessage.
// Routing, authentication and handlers live in the enclave; errors raised here use the same error body.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TLSSocket } from 'node:tls';
import type { RequestMessage, ResponseMessage, TlsIdentityMessage } from '../boundary.ts';
import { limits } from '../limits.ts';

export interface ServerOptions {
  identity: TlsIdentityMessage;
  host: string;
  port: number;
  requestsPerSecondPerClientMax: number;
  /** The enclave's frontend: most answers are immediate, historical queries wait for a ledger read. */
  handle: (request: RequestMessage) => ResponseMessage | Promise<ResponseMessage>;
}

const peerCertificates = new WeakMap<object, Uint8Array | null>();

/** DER of the client's certificate, read once per TLS connection. */
function clientCertificate(request: FastifyRequest): Uint8Array | undefined {
  const socket = request.raw.socket as TLSSocket;
  let der = peerCertificates.get(socket);
  if (der === undefined) {
    const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : undefined;
    der = cert && cert.raw ? new Uint8Array(cert.raw) : null;
    peerCertificates.set(socket, der);
  }
  return der ?? undefined;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export async function startServer(options: ServerOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({
    https: {
      key: options.identity.nodeKeyPem,
      cert: options.identity.nodeCertPem,
      requestCert: true,
      rejectUnauthorized: false, // certificates are checked per endpoint against the governance maps
      maxHeaderSize: limits.requestHeaderBytesMax,
    } as never,
    bodyLimit: limits.requestBodyBytesMax,
    logger: false,
    return503OnClosing: true,
  });
  await app.register(rateLimit, {
    max: options.requestsPerSecondPerClientMax,
    timeWindow: 1000,
    addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': true },
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_req, context) => ({
      statusCode: 429,
      error: { code: 'TooManyRequests', message: `More than ${context.max} requests per second from this client; retry after ${context.after}.` },
    }),
  });
  // An oversized body is refused before it is parsed. Its bytes are still read and dropped (up to a
  // bound) so that the client, which is usually still writing, receives the 413 instead of a reset.
  app.addHook('onRequest', (request, reply, done) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (!(declared > limits.requestBodyBytesMax)) return done();
    const answer = (): void => {
      reply.code(413).header('content-type', 'application/json').send(errorBody('RequestBodyTooLarge',
        `The request body is ${declared} bytes; this node accepts at most ${limits.requestBodyBytesMax}.`));
    };
    if (declared > limits.requestBodyDrainBytesMax) {
      reply.header('connection', 'close');
      answer();
      return;
    }
    request.raw.on('end', answer);
    request.raw.resume();
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    const code = status === 413 ? 'RequestBodyTooLarge' : status === 429 ? 'TooManyRequests' : status >= 500 ? 'InternalError' : 'InvalidInput';
    reply.code(status).header('content-type', 'application/json').send(errorBody(code, error.message));
  });
  const send = (reply: FastifyReply, response: ResponseMessage): FastifyReply => reply.code(response.status).headers(response.headers).send(
    typeof response.body === 'string' ? response.body : Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength),
  );
  // Synchronous answers are sent at once; a promise is returned to fastify, which waits for it.
  const route = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined => {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const body = request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
    const clientCertDer = clientCertificate(request);
    const message: RequestMessage = {
      method: request.method,
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      headers: request.headers as Record<string, string>,
      body,
      ...(clientCertDer ? { clientCertDer } : {}),
    };
    const response = options.handle(message);
    if (response instanceof Promise) return response.then((answer) => send(reply, answer));
    send(reply, response);
    return undefined;
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/*', handler: route });
  app.route({ method: ['GET', 'POST'], url: '/', handler: route });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { app, port };
}
