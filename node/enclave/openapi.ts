// OpenAPI 3.0 description generated from the registered endpoints, served at /app/api as CCF does.

import type { Endpoint } from './frontend.ts';
import { SYNOD_VERSION } from './builtins.ts';

export function openApiDocument(endpoints: readonly Endpoint[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const endpoint of endpoints) {
    const operation: Record<string, unknown> = {
      summary: endpoint.summary ?? '',
      'x-synod-authn-policies': endpoint.authn,
      'x-synod-mode': endpoint.mode,
      responses: { default: { description: 'Error: {"error": {"code", "message"}}' }, '200': { description: 'OK' } },
      ...(endpoint.openapi ?? {}),
    };
    const parameters = [...endpoint.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1], in: 'path', required: true, schema: { type: 'string' },
    }));
    if (parameters.length > 0) operation.parameters = parameters;
    (paths[endpoint.path] ??= {})[endpoint.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Synod service', version: SYNOD_VERSION },
    servers: [],
    paths,
  };
}
