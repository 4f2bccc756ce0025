// CCF's logging sample API as a JS bundle (paths relative to /app):
//   POST /log/private  {"id": <number>, "msg": <string>, "record_claim"?: <bool>}  -> true; stored in the
//        private map "records"; with record_claim, the receipt's claims digest is SHA-256(msg) (CCF's
//        ccf.rpc.setClaimsDigest), so the receipt proves the message itself
//   GET  /log/private?id=<n>                              -> {"msg": ...}, or 404 ResourceNotFound
//   GET  /log/private/historical?id=<n>, header x-ms-ccf-transaction-id: <view>.<seqno>
//        -> {"msg": ...} as that transaction wrote it ("mode": "historical": the node reads the entry back)
//   GET  /log/private/historical_receipt?id=<n>, same header -> {"msg": ..., "receipt": <CCF receipt>}
//   GET  /log/private/historical/range?id=<n>&from_seqno=<s>&to_seqno=<e>  ("mode": "readonly")
//        -> {"entries": [{"seqno", "id", "msg"}, ...], "@nextLink"?: <path of the rest>}: every write of
//        that id in committed seqnos s..e (ccf.historical.getStateRange); 202 with retry-after while the
//        node fetches the entries, as CCF's logging app; at most RANGE_SEQNOS_MAX seqnos per answer
//   POST/GET /log/private/jwt: the same as /log/private, for callers with a JWT from an issuer the service
//        trusts (authn_policies ["jwt"], as CCF's logging app offers besides user certificates)
//   POST/GET /log/public[/historical[_receipt]|/historical/range|/jwt]: the same in the public map "public:records"
//   GET  /log/public/anonymous?id=<n>: GET /log/public without authentication ("no_auth"; public records are
//        in the ledger in plaintext anyway), for load generators that cannot present a client certificate
// Same maps and key layout as the native app (node/apps/logging.ts): the key is the id as a u64
// little-endian, the value the message as UTF-8. Either app reads what the other wrote.

const PRIVATE_MAP = 'records';
const PUBLIC_MAP = 'public:records';
const MSG_BYTES_MAX = 1024 * 1024;
const RANGE_SEQNOS_MAX = 100;
const RANGE_EXPIRY_SECONDS = 1800;

function error(statusCode, code, message) {
  return { statusCode, body: { error: { code, message } } };
}

// u64 little-endian of a safe integer, without BigInt (cheaper in QuickJS).
function idKey(id) {
  const key = new ArrayBuffer(8);
  const view = new DataView(key);
  view.setUint32(0, id % 0x100000000, true);
  view.setUint32(4, Math.floor(id / 0x100000000), true);
  return key;
}

// Regular expressions and splitting cost microseconds each in QuickJS; the common cases below avoid them.
function parseId(raw) {
  if (typeof raw === 'string') {
    const n = Number(raw);
    // Number() also accepts ' 1', '0x1', '1e3': require plain decimal digits, as the native app does.
    if (raw === String(n) || /^\d+$/.test(raw)) return parseId(n);
    return undefined;
  }
  return typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
}

const decode = (s) => decodeURIComponent(s.indexOf('+') < 0 ? s : s.replace(/\+/g, ' '));

function queryParam(query, name) {
  if (query.startsWith(name + '=') && query.indexOf('&') < 0 && query.indexOf('%') < 0 && query.indexOf('+') < 0) {
    return query.slice(name.length + 1);
  }
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (decode(eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : decode(part.slice(eq + 1));
  }
  return undefined;
}

function write(mapName, request) {
  let body;
  try {
    body = request.body.json();
  } catch {
    return error(400, 'InvalidInput', 'The request body is not valid JSON.');
  }
  if (body === null || typeof body !== 'object') return error(400, 'InvalidInput', 'Expected a JSON object {"id", "msg"}.');
  const id = parseId(body.id);
  if (id === undefined) return error(400, 'InvalidInput', 'id must be a non-negative integer.');
  if (typeof body.msg !== 'string') return error(400, 'InvalidInput', 'msg must be a string.');
  if (body.record_claim !== undefined && typeof body.record_claim !== 'boolean') {
    return error(400, 'InvalidInput', 'record_claim must be a boolean.');
  }
  const value = ccf.strToBuf(body.msg);
  if (value.byteLength > MSG_BYTES_MAX) return error(400, 'InvalidInput', `msg is longer than ${MSG_BYTES_MAX} bytes.`);
  ccf.kv[mapName].set(idKey(id), value);
  if (body.record_claim) ccf.rpc.setClaimsDigest(ccf.crypto.digest('SHA-256', value));
  return { body: true };
}

// `kv` is ccf.kv (the current state) or ccf.historicalState.kv (what one past transaction wrote).
function read(kv, mapName, request) {
  const id = parseId(queryParam(request.query, 'id'));
  if (id === undefined) return error(400, 'InvalidInput', 'id must be a non-negative integer.');
  const value = kv[mapName].get(idKey(id));
  if (value === undefined) return error(404, 'ResourceNotFound', `No message with id ${id}.`);
  return { body: { msg: ccf.bufToStr(value) } };
}

function readHistorical(mapName, request, withReceipt) {
  const result = read(ccf.historicalState.kv, mapName, request);
  if (withReceipt && result.statusCode === undefined) result.body.receipt = ccf.historicalState.receipt;
  return result;
}

export function post_private(request) {
  return write(PRIVATE_MAP, request);
}

export function get_private(request) {
  return read(ccf.kv, PRIVATE_MAP, request);
}

export function get_historical_private(request) {
  return readHistorical(PRIVATE_MAP, request, false);
}

export function get_historical_private_with_receipt(request) {
  return readHistorical(PRIVATE_MAP, request, true);
}

export function post_public(request) {
  return write(PUBLIC_MAP, request);
}

export function get_public(request) {
  return read(ccf.kv, PUBLIC_MAP, request);
}

export function get_historical_public(request) {
  return readHistorical(PUBLIC_MAP, request, false);
}

export function get_historical_public_with_receipt(request) {
  return readHistorical(PUBLIC_MAP, request, true);
}

// A handle per (map, id, range), so that concurrent clients asking for different ranges do not keep
// restarting each other's fetches (a handle holds one range at a time).
function rangeHandle(path, id, from, to) {
  let h = 2166136261;
  const text = `${path}|${id}|${from}|${to}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

function readRange(mapName, request) {
  const id = parseId(queryParam(request.query, 'id'));
  if (id === undefined) return error(400, 'InvalidInput', 'id must be a non-negative integer.');
  const from = parseId(queryParam(request.query, 'from_seqno'));
  const to = parseId(queryParam(request.query, 'to_seqno'));
  if (from === undefined || from < 1 || to === undefined || to < from) {
    return error(400, 'InvalidInput', 'from_seqno and to_seqno must be integers with 1 <= from_seqno <= to_seqno.');
  }
  const committed = ccf.consensus.getLastCommittedTxId().seqno;
  if (to > committed) {
    return error(400, 'InvalidInput', `Only committed seqnos can be queried: to_seqno ${to} is above the commit seqno ${committed}.`);
  }
  const end = Math.min(to, from + RANGE_SEQNOS_MAX - 1);
  const states = ccf.historical.getStateRange(rangeHandle(request.route, id, from, end), from, end, RANGE_EXPIRY_SECONDS);
  if (states === null) {
    return { statusCode: 202, headers: { 'retry-after': '1' }, body: `Historical transactions from ${from} to ${end} are not yet available, fetching now` };
  }
  const entries = [];
  for (const state of states) {
    const value = state.kv[mapName].get(idKey(id));
    if (value !== undefined) {
      const seqno = Number(state.transactionId.slice(state.transactionId.indexOf('.') + 1));
      entries.push({ seqno, id, msg: ccf.bufToStr(value) });
    }
  }
  const body = { entries };
  if (end < to) body['@nextLink'] = `${request.path}?id=${id}&from_seqno=${end + 1}&to_seqno=${to}`;
  return { body };
}

export function get_historical_range_private(request) {
  return readRange(PRIVATE_MAP, request);
}

export function get_historical_range_public(request) {
  return readRange(PUBLIC_MAP, request);
}
