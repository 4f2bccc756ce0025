// CCF's logging sample API as a JS bundle (paths relative to /app):
//   POST /log/private  {"id": <number>, "msg": <string>, "record_claim"?: <bool>}  -> true; stored in the
//        private map "records"; with record_claim, the receipt's claims digest is SHA-256(msg) (CCF's
//        ccf.rpc.setClaimsDigest), so the receipt proves the message itself
//   GET  /log/private?id=<n>                              -> {"msg": ...}, or 404 ResourceNotFound
//   GET  /log/private/historical?id=<n>, header x-ms-ccf-transaction-id: <view>.<seqno>
//        -> {"msg": ...} as that transaction wrote it ("mode": "historical": the node reads the entry back)
//   GET  /log/private/historical_receipt?id=<n>, same header -> {"msg": ..., "receipt": <CCF receipt>}
//   POST/GET /log/public[/historical[_receipt]]: the same in the public map "public:records"
// Same maps and key layout as the native app (node/apps/logging.ts): the key is the id as a u64
// little-endian, the value the message as UTF-8. Either app reads what the other wrote.

const PRIVATE_MAP = 'records';
const PUBLIC_MAP = 'public:records';
const MSG_BYTES_MAX = 1024 * 1024;

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
