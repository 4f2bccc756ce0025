// `synod gov recovery-share`: the CLI shell over recovery.ts, loaded by gov-commands.ts's slot. The
// member's identity signs; its encryption private key (--member-enc-key, default
// <workspace>/sandbox_common/<member-name>_enc_privk.pem, as CCF's sandbox names it) decrypts the share.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, UsageErrorCode } from '../errors.ts';
import type { GovDeps, GovOutput } from '../cli/gov-commands.ts';
import type { CreateGovernanceClientOptions } from './node.ts';
import { submitRecoveryShare } from './recovery.ts';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(UsageErrorCode.io, `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

export async function recoveryShareCommand(args: string[], out: GovOutput, deps: GovDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      server: { type: 'string' }, url: { type: 'string' }, workspace: { type: 'string' },
      'service-cert': { type: 'string', multiple: true }, 'member-name': { type: 'string' },
      'member-cert': { type: 'string' }, 'member-key': { type: 'string' }, 'member-enc-key': { type: 'string' },
      'timeout-ms': { type: 'string' }, json: { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new UsageError(UsageErrorCode.invalidArgument, 'gov recovery-share takes no positional arguments');
  const common = join(values.workspace ?? 'workspace', 'sandbox_common');
  const name = values['member-name'] ?? 'member0';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new UsageError(UsageErrorCode.invalidArgument, '--member-name must be a short name such as member1');
  const certs = values['service-cert'] ?? [join(common, 'service_cert.pem')];
  if (certs.length !== 1) throw new UsageError(UsageErrorCode.invalidArgument, 'give one --service-cert to connect with');
  const raw = values['timeout-ms'];
  if (raw !== undefined && !/^[1-9]\d{0,8}$/.test(raw)) throw new UsageError(UsageErrorCode.invalidArgument, '--timeout-ms must be a positive integer');
  const env = deps.env ?? process.env;
  const options: CreateGovernanceClientOptions = {
    url: values.server ?? values.url ?? env.SYNOD_URL ?? 'https://127.0.0.1:8000',
    serviceCert: readText(certs[0]!, 'service certificate'),
    member: {
      certPem: readText(values['member-cert'] ?? join(common, `${name}_cert.pem`), 'member certificate'),
      keyPem: readText(values['member-key'] ?? join(common, `${name}_privk.pem`), 'member private key'),
    },
    ...(raw !== undefined ? { requestTimeoutMs: Number(raw) } : {}),
  };
  const encryptionKeyPem = readText(values['member-enc-key'] ?? join(common, `${name}_enc_privk.pem`), 'member encryption private key');
  const factory = deps.connect ?? (await import('./node.ts')).createGovernanceClient;
  const gov = factory(options);
  try {
    const result = await submitRecoveryShare(gov, encryptionKeyPem);
    out.stdout(values.json ? JSON.stringify({ ok: true, ...result }) : `recovery share of member ${result.memberId.slice(0, 16)}… submitted: ${result.message}`);
    return 0;
  } finally {
    gov.close();
  }
}
