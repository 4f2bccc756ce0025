// Synod's default constitution, part 1 of 4: the actions. Written for Synod after the vocabulary of
// CCF's default constitution. Each action checks its arguments (validate) and has an effect (apply):
// either map writes done here, or a host action (synod.hostAction) — the node's own KV-effect function,
// for effects whose checks the node already implements (see README.md).

function checkType(value, type, field) {
  const ok = type === 'array' ? Array.isArray(value) : type === 'object' ? value !== null && typeof value === 'object' && !Array.isArray(value) : typeof value === type;
  if (!ok) throw new Error(`${field} must be of type ${type} but is of type ${value === null ? 'null' : typeof value}`);
}

function checkNonEmptyString(value, field) {
  checkType(value, 'string', field);
  if (value.length === 0) throw new Error(`${field} must not be empty`);
}

function checkPem(value, field) {
  checkNonEmptyString(value, field);
  if (!/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(value)) throw new Error(`${field} must be a PEM certificate`);
}

function checkId(value, field) {
  checkNonEmptyString(value, field);
  if (!/^[0-9a-f]{64}$/.test(value)) throw new Error(`${field} must be an ID (64 lower-case hex characters)`);
}

class Action {
  constructor(validate, apply) {
    this.validate = validate;
    this.apply = apply;
  }
}

const hostAction = (name) => (args) => synod.hostAction(name, args);

const SERVICE_INFO = 'public:ccf.gov.service.info';
const UNIT_KEY = new Uint8Array(8).buffer;

const actions = new Map([
  ['set_member', new Action((args) => {
    checkType(args, 'object', 'args');
    checkPem(args.cert, 'cert');
    if (args.encryption_pub_key !== undefined) checkNonEmptyString(args.encryption_pub_key, 'encryption_pub_key');
  }, hostAction('set_member'))],
  ['remove_member', new Action((args) => {
    checkType(args, 'object', 'args');
    if (args.member_id !== undefined) checkId(args.member_id, 'member_id');
    else checkPem(args.cert, 'cert');
  }, hostAction('remove_member'))],
  ['set_user', new Action((args) => {
    checkType(args, 'object', 'args');
    checkPem(args.cert, 'cert');
  }, hostAction('set_user'))],
  ['remove_user', new Action((args) => {
    checkType(args, 'object', 'args');
    checkId(args.user_id, 'user_id');
  }, hostAction('remove_user'))],
  ['set_constitution', new Action((args) => {
    checkType(args, 'object', 'args');
    checkNonEmptyString(args.constitution, 'constitution');
  }, hostAction('set_constitution'))],
  ['set_js_app', new Action((args) => {
    checkType(args, 'object', 'args');
    checkType(args.bundle, 'object', 'bundle');
    checkType(args.bundle.metadata, 'object', 'bundle.metadata');
    checkType(args.bundle.modules, 'array', 'bundle.modules');
  }, hostAction('set_js_app'))],
  ['remove_js_app', new Action(() => {}, hostAction('remove_js_app'))],
  ['set_js_runtime_options', new Action((args) => {
    checkType(args, 'object', 'args');
    for (const field of ['max_heap_bytes', 'max_stack_bytes', 'max_execution_time_ms', 'max_cached_interpreters']) {
      if (args[field] !== undefined) checkType(args[field], 'number', field);
    }
  }, hostAction('set_js_runtime_options'))],
  ['transition_service_to_open', new Action((args) => {
    if (args !== undefined && args !== null) checkType(args, 'object', 'args');
  }, () => {
    const map = ccf.kv[SERVICE_INFO];
    const raw = map.get(UNIT_KEY);
    if (raw === undefined) throw new Error('the service has no service info');
    const info = ccf.bufToJsonCompatible(raw);
    if (info.status === 'Open') throw new Error('the service is already Open');
    if (info.status !== 'Opening') throw new Error(`the service is ${info.status}; only an Opening service opens by this action here`);
    info.status = 'Open';
    map.set(UNIT_KEY, ccf.jsonCompatibleToBuf(info));
  })],
  ['set_jwt_issuer', new Action((args) => {
    checkType(args, 'object', 'args');
    checkNonEmptyString(args.issuer, 'issuer');
    if (args.auto_refresh !== undefined) checkType(args.auto_refresh, 'boolean', 'auto_refresh');
    if (args.jwks !== undefined) checkType(args.jwks, 'object', 'jwks');
  }, hostAction('set_jwt_issuer'))],
  ['remove_jwt_issuer', new Action((args) => {
    checkType(args, 'object', 'args');
    checkNonEmptyString(args.issuer, 'issuer');
  }, hostAction('remove_jwt_issuer'))],
]);
