// CCF's logging sample API as a JS bundle (paths relative to /app):
//   POST /log/private  {"id": <number>, "msg": <string>}  -> true; stored in the private map "records"
//   GET  /log/private?id=<n>                              -> {"msg": ...}, or 404 ResourceNotFound
//   POST/GET /log/public: the same in the public map "public:records"
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
  const value = ccf.strToBuf(body.msg);
  if (value.byteLength > MSG_BYTES_MAX) return error(400, 'InvalidInput', `msg is longer than ${MSG_BYTES_MAX} bytes.`);
  ccf.kv[mapName].set(idKey(id), value);
  return { body: true };
}

function read(mapName, request) {
  const id = parseId(queryParam(request.query, 'id'));
  if (id === undefined) return error(400, 'InvalidInput', 'id must be a non-negative integer.');
  const value = ccf.kv[mapName].get(idKey(id));
  if (value === undefined) return error(404, 'ResourceNotFound', `No message with id ${id}.`);
  return { body: { msg: ccf.bufToStr(value) } };
}

export function post_private(request) {
  return write(PRIVATE_MAP, request);
}

export function get_private(request) {
  return read(PRIVATE_MAP, request);
}

export function post_public(request) {
  return write(PUBLIC_MAP, request);
}

export function get_public(request) {
  return read(PUBLIC_MAP, request);
}
