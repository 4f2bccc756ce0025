// Which maps a JS app may touch, after CCF's capability table (src/js/permissions_checks.h and the
// "read_write_restrictions" page of CCF's docs), for the app execution contexts:
//
//   map name                          readwrite endpoint   readonly / historical endpoint
//   <name>, public:<name>             read-write           read-only
//   public:ccf.gov.*                  read-only            read-only
//   ccf.gov.*                         none                 none
//   ccf.internal.*, public:ccf.internal.*   none           none
//   any other ccf.* / public:ccf.*    none (reserved)      none (reserved)
//
// One deliberate difference from CCF: CCF lets apps read `public:ccf.internal.*`; Synod does not, since
// those maps (signatures, Merkle tree, node state) are the node's business and nothing an app should
// depend on. Change the one line below if that turns out to matter.

// Governance (the constitution's validate/resolve/apply and ballots, run by governance/) has its own
// modes, chosen by the host through InvokeHooks.executionMode, never by a bundle:
//   public:ccf.gov.*   read-write in governance (apply), read-only in governance-readonly
//   every other map    none (private maps, app maps, internal maps)

export type ExecutionMode = 'readwrite' | 'readonly' | 'historical' | 'governance' | 'governance-readonly';
export type Access = 'read-write' | 'read-only' | 'none';

export interface AccessDecision {
  access: Access;
  /** The rule that decided, quoted in the error an app gets when it oversteps. */
  rule: string;
}

const PUBLIC_PREFIX = 'public:';

export function mapAccess(mapName: string, mode: ExecutionMode): AccessDecision {
  const isPublic = mapName.startsWith(PUBLIC_PREFIX);
  const name = isPublic ? mapName.slice(PUBLIC_PREFIX.length) : mapName;
  if (mode === 'governance' || mode === 'governance-readonly') {
    if (!isPublic || !name.startsWith('ccf.gov.')) return { access: 'none', rule: 'governance may only access public governance maps (public:ccf.gov.*)' };
    if (mode === 'governance') return { access: 'read-write', rule: 'public governance maps are read-write when a proposal applies' };
    return { access: 'read-only', rule: 'public governance maps are read-only to validate, resolve and ballots' };
  }
  if (name.startsWith('ccf.internal.')) {
    return { access: 'none', rule: 'internal maps (ccf.internal.*) are not accessible to apps' };
  }
  if (name.startsWith('ccf.gov.')) {
    if (isPublic) return { access: 'read-only', rule: 'governance maps (public:ccf.gov.*) are read-only for apps' };
    return { access: 'none', rule: 'private governance maps (ccf.gov.*) are not accessible to apps' };
  }
  if (name.startsWith('ccf.')) {
    return { access: 'none', rule: 'the ccf. prefix is reserved; app maps may not use it' };
  }
  if (mode === 'readwrite') return { access: 'read-write', rule: 'app maps are read-write in readwrite endpoints' };
  return { access: 'read-only', rule: `app maps are read-only in ${mode} endpoints` };
}

export function canRead(access: Access): boolean {
  return access !== 'none';
}

export function canWrite(access: Access): boolean {
  return access === 'read-write';
}
