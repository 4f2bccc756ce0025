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
const SERVICE_CONFIG = 'public:ccf.gov.service.config';
const UNIT_KEY = new Uint8Array(8).buffer;

function checkInteger(value, field, min, max) {
  if (!Number.isInteger(value)) throw new Error(`${field} must be an integer`);
  if (min !== undefined && value < min) throw new Error(`${field} must be at least ${min}`);
  if (max !== undefined && value > max) throw new Error(`${field} must be at most ${max}`);
}

function checkHex(value, field, bytes) {
  checkNonEmptyString(value, field);
  if (!/^[0-9a-fA-F]+$/.test(value) || value.length % 2 !== 0) throw new Error(`${field} must be hex`);
  if (bytes !== undefined && value.length !== 2 * bytes) throw new Error(`${field} must be ${bytes} bytes (${2 * bytes} hex characters)`);
}

function checkCertBundle(value, field) {
  checkNonEmptyString(value, field);
  if (!ccf.crypto.isValidX509CertBundle(value)) throw new Error(`${field} must be a valid X509 certificate (bundle) in PEM format`);
}

const enc = (text) => ccf.strToBuf(text);
const json = (value) => ccf.jsonCompatibleToBuf(value);
const parse = (buf) => ccf.bufToJsonCompatible(buf);

function readSingleton(table, what) {
  const raw = ccf.kv[table].get(UNIT_KEY);
  if (raw === undefined) throw new Error(`${what} could not be found`);
  return parse(raw);
}

// Changing what nodes may join changes what other Open proposals mean: drop them (as CCF does).
function dropOtherOpenProposals(proposalId) {
  const infos = ccf.kv['public:ccf.gov.proposals_info'];
  const drop = [];
  infos.forEach((value, key) => {
    if (ccf.bufToStr(key) === proposalId) return;
    const info = parse(value);
    if (info.state === 'Open') drop.push([key, info]);
  });
  for (const [key, info] of drop) {
    info.state = 'Dropped';
    infos.set(key, json(info));
  }
}

function activeRecoveryMemberCount() {
  let count = 0;
  ccf.kv['public:ccf.gov.members.encryption_public_keys'].forEach((_, id) => {
    const raw = ccf.kv['public:ccf.gov.members.info'].get(id);
    if (raw !== undefined && parse(raw).status === 'Active') count += 1;
  });
  return count;
}

// set_recovery_threshold and set_service_configuration: CCF's rules for the service configuration.
function updateServiceConfig(changes) {
  const config = readSingleton(SERVICE_CONFIG, 'the service configuration');
  const service = readSingleton(SERVICE_INFO, 'the service information');
  if (changes.recovery_threshold !== undefined) {
    if (service.status === 'WaitingForRecoveryShares') throw new Error(`Cannot set recovery threshold if service is ${service.status}`);
    if (service.status === 'Open' && changes.recovery_threshold > activeRecoveryMemberCount()) {
      throw new Error(`Cannot set recovery threshold to ${changes.recovery_threshold}: recovery threshold would be greater than the number of recovery members ${activeRecoveryMemberCount()}`);
    }
  }
  if (changes.reconfiguration_type !== undefined && changes.reconfiguration_type !== config.reconfiguration_type) {
    const from = config.reconfiguration_type;
    if (!((from === undefined || from === 'OneTransaction') && changes.reconfiguration_type === 'TwoTransaction')) {
      throw new Error(`Cannot change reconfiguration type from ${from} to ${changes.reconfiguration_type}.`);
    }
    config.reconfiguration_type = changes.reconfiguration_type;
  }
  let refreshShares = false;
  if (changes.recovery_threshold !== undefined && changes.recovery_threshold !== config.recovery_threshold) {
    config.recovery_threshold = changes.recovery_threshold;
    refreshShares = true;
  }
  if (changes.recent_cose_proposals_window_size !== undefined) config.recent_cose_proposals_window_size = changes.recent_cose_proposals_window_size;
  ccf.kv[SERVICE_CONFIG].set(UNIT_KEY, json(config));
  if (refreshShares) synod.hostAction('trigger_recovery_shares_refresh', {});
}

function updateNodeInfo(nodeId, update) {
  const nodes = ccf.kv['public:ccf.gov.nodes.info'];
  const raw = nodes.get(enc(nodeId));
  if (raw === undefined) throw new Error(`No such node: ${nodeId}`);
  const info = parse(raw);
  update(info);
  nodes.set(enc(nodeId), json(info));
}

// A set of allowed values keyed by hex (measurements, host data): add and remove actions.
function trustAction(table, field, bytes, value) {
  return [
    new Action((args) => {
      checkType(args, 'object', 'args');
      checkHex(args[field], field, bytes);
    }, (args, proposalId) => {
      ccf.kv[table].set(enc(args[field].toLowerCase()), value(args));
      dropOtherOpenProposals(proposalId);
    }),
    new Action((args) => {
      checkType(args, 'object', 'args');
      checkHex(args[field], field, bytes);
    }, (args) => {
      ccf.kv[table].delete(enc(args[field].toLowerCase()));
    }),
  ];
}

const ALLOWED_TO_JOIN = () => json('AllowedToJoin');
const SET_MARKER = () => new ArrayBuffer(8);
const [addVirtualMeasurement, removeVirtualMeasurement] = trustAction('public:ccf.gov.nodes.virtual.measurements', 'measurement', undefined, ALLOWED_TO_JOIN);
const [addVirtualHostData, removeVirtualHostData] = trustAction('public:ccf.gov.nodes.virtual.host_data', 'host_data', undefined, SET_MARKER);
const [addSnpMeasurement, removeSnpMeasurement] = trustAction('public:ccf.gov.nodes.snp.measurements', 'measurement', 48, ALLOWED_TO_JOIN);
const [addSnpHostDataBase, removeSnpHostData] = trustAction('public:ccf.gov.nodes.snp.host_data', 'host_data', 32, (args) => json(args.security_policy ?? ''));
const addSnpHostData = new Action((args) => {
  addSnpHostDataBase.validate(args);
  if (args.security_policy !== undefined) checkType(args.security_policy, 'string', 'security_policy');
  if (args.security_policy) {
    const digest = new Uint8Array(ccf.crypto.digest('SHA-256', enc(args.security_policy)));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    if (hex !== args.host_data.toLowerCase()) throw new Error(`the SHA-256 of security_policy is ${hex}, not host_data ${args.host_data}`);
  }
}, addSnpHostDataBase.apply);

function checkCpuid(value) {
  checkNonEmptyString(value, 'cpuid');
  if (!/^[0-9a-f]{8}$/.test(value)) throw new Error('cpuid must be 8 lower-case hex characters');
}

const triggerAction = (name) => new Action((args) => {
  if (args !== undefined && args !== null) checkType(args, 'object', 'args');
}, () => synod.hostAction(name, {}));

const actions = new Map([
  // Members and users are written here, in order with the other actions (a later action of the same
  // proposal sees them), as CCF's constitution does; IDs are the SHA-256 of the certificate (ccf.pemToId).
  ['set_member', new Action((args) => {
    checkType(args, 'object', 'args');
    checkPem(args.cert, 'cert');
    if (args.encryption_pub_key !== undefined) checkNonEmptyString(args.encryption_pub_key, 'encryption_pub_key');
    if (args.recovery_role !== undefined && !['NonParticipant', 'Participant', 'Owner'].includes(args.recovery_role)) {
      throw new Error('recovery_role must be NonParticipant, Participant or Owner');
    }
  }, (args) => {
    const id = enc(ccf.pemToId(args.cert));
    ccf.kv['public:ccf.gov.members.certs'].set(id, enc(args.cert));
    const keys = ccf.kv['public:ccf.gov.members.encryption_public_keys'];
    if (args.encryption_pub_key !== undefined) keys.set(id, enc(args.encryption_pub_key));
    else keys.delete(id);
    const infos = ccf.kv['public:ccf.gov.members.info'];
    const previous = infos.get(id);
    const info = { status: previous === undefined ? 'Accepted' : parse(previous).status, member_data: args.member_data ?? null };
    if (args.recovery_role !== undefined) info.recovery_role = args.recovery_role;
    infos.set(id, json(info));
  })],
  ['remove_member', new Action((args) => {
    checkType(args, 'object', 'args');
    if (args.member_id !== undefined) checkId(args.member_id, 'member_id');
    else checkPem(args.cert, 'cert');
  }, (args) => {
    const id = enc(args.member_id !== undefined ? args.member_id : ccf.pemToId(args.cert));
    const raw = ccf.kv['public:ccf.gov.members.info'].get(id);
    if (raw === undefined) return;
    // An Open service keeps at least recovery_threshold Active recovery members.
    const service = readSingleton(SERVICE_INFO, 'the service information');
    if (service.status === 'Open' && parse(raw).status === 'Active' && ccf.kv['public:ccf.gov.members.encryption_public_keys'].has(id)) {
      const threshold = readSingleton(SERVICE_CONFIG, 'the service configuration').recovery_threshold;
      const remaining = activeRecoveryMemberCount() - 1;
      if (remaining < threshold) throw new Error(`Number of active recovery members (${remaining}) would be less than recovery threshold (${threshold})`);
    }
    for (const table of ['certs', 'info', 'encryption_public_keys', 'acks']) ccf.kv[`public:ccf.gov.members.${table}`].delete(id);
  })],
  ['set_user', new Action((args) => {
    checkType(args, 'object', 'args');
    checkPem(args.cert, 'cert');
  }, (args) => {
    const id = enc(ccf.pemToId(args.cert));
    ccf.kv['public:ccf.gov.users.certs'].set(id, enc(args.cert));
    ccf.kv['public:ccf.gov.users.info'].set(id, json({ user_data: args.user_data ?? null }));
  })],
  ['remove_user', new Action((args) => {
    checkType(args, 'object', 'args');
    checkId(args.user_id, 'user_id');
  }, (args) => {
    ccf.kv['public:ccf.gov.users.certs'].delete(enc(args.user_id));
    ccf.kv['public:ccf.gov.users.info'].delete(enc(args.user_id));
  })],
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
    // CCF requires next_service_identity; Synod accepts its absence (the service has one identity).
    for (const field of ['next_service_identity', 'previous_service_identity']) {
      if (args && args[field] !== undefined) checkCertBundle(args[field], field);
    }
  }, (args) => {
    const map = ccf.kv[SERVICE_INFO];
    const raw = map.get(UNIT_KEY);
    if (raw === undefined) throw new Error('the service has no service info');
    const info = ccf.bufToJsonCompatible(raw);
    if (info.status === 'Open') throw new Error('the service is already Open');
    if (args && args.next_service_identity !== undefined && args.next_service_identity.trim() !== String(info.cert).trim()) {
      throw new Error('next_service_identity is not the certificate of this service');
    }
    // A recovered service opens through the node (recovery shares, new identity): a host action.
    if (info.status === 'Recovering') return synod.hostAction('transition_service_to_open', args || {});
    if (info.status !== 'Opening') throw new Error(`the service is ${info.status}; it cannot be opened now`);
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
  ['set_jwt_public_signing_keys', new Action((args) => {
    checkType(args, 'object', 'args');
    checkNonEmptyString(args.issuer, 'issuer');
    checkType(args.jwks, 'object', 'jwks');
    checkType(args.jwks.keys, 'array', 'jwks.keys');
  }, hostAction('set_jwt_public_signing_keys'))],
  ['set_member_data', new Action((args) => {
    checkType(args, 'object', 'args');
    checkId(args.member_id, 'member_id');
  }, (args) => {
    const infos = ccf.kv['public:ccf.gov.members.info'];
    const raw = infos.get(enc(args.member_id));
    if (raw === undefined) throw new Error(`Member ${args.member_id} does not exist`);
    const info = parse(raw);
    info.member_data = args.member_data;
    infos.set(enc(args.member_id), json(info));
  })],
  ['set_user_data', new Action((args) => {
    checkType(args, 'object', 'args');
    checkId(args.user_id, 'user_id');
  }, (args) => {
    if (!ccf.kv['public:ccf.gov.users.certs'].has(enc(args.user_id))) throw new Error(`User ${args.user_id} does not exist`);
    ccf.kv['public:ccf.gov.users.info'].set(enc(args.user_id), json({ user_data: args.user_data ?? null }));
  })],
  ['transition_node_to_trusted', new Action((args) => {
    checkType(args, 'object', 'args');
    checkId(args.node_id, 'node_id');
    if (args.valid_from !== undefined) checkType(args.valid_from, 'string', 'valid_from');
    if (args.validity_period_days !== undefined) checkInteger(args.validity_period_days, 'validity_period_days', 1);
  }, (args) => {
    updateNodeInfo(args.node_id, (info) => {
      if (info.status === 'Retired') throw new Error(`Node ${args.node_id} is Retired`);
      info.status = 'Trusted';
    });
  })],
  ['remove_node', new Action((args) => {
    checkType(args, 'object', 'args');
    checkId(args.node_id, 'node_id');
  }, (args) => {
    const nodes = ccf.kv['public:ccf.gov.nodes.info'];
    const raw = nodes.get(enc(args.node_id));
    if (raw === undefined) return;
    const info = parse(raw);
    if (info.status === 'Pending') {
      nodes.delete(enc(args.node_id));
      return;
    }
    info.status = 'Retired';
    nodes.set(enc(args.node_id), json(info));
  })],
  ['set_node_data', new Action((args) => {
    checkType(args, 'object', 'args');
    checkId(args.node_id, 'node_id');
  }, (args) => updateNodeInfo(args.node_id, (info) => {
    info.node_data = args.node_data;
  }))],
  ['add_virtual_measurement', addVirtualMeasurement],
  ['remove_virtual_measurement', removeVirtualMeasurement],
  ['add_virtual_host_data', addVirtualHostData],
  ['remove_virtual_host_data', removeVirtualHostData],
  ['add_snp_measurement', addSnpMeasurement],
  ['remove_snp_measurement', removeSnpMeasurement],
  ['add_snp_host_data', addSnpHostData],
  ['remove_snp_host_data', removeSnpHostData],
  ['set_snp_minimum_tcb_version', new Action((args) => {
    checkType(args, 'object', 'args');
    checkCpuid(args.cpuid);
    checkType(args.tcb_version, 'object', 'tcb_version');
    for (const field of ['boot_loader', 'tee', 'snp', 'microcode']) checkInteger(args.tcb_version[field], `tcb_version.${field}`, 0, 255);
  }, (args, proposalId) => {
    ccf.kv['public:ccf.gov.nodes.snp.tcb_versions'].set(enc(args.cpuid), json(args.tcb_version));
    dropOtherOpenProposals(proposalId);
  })],
  ['remove_snp_minimum_tcb_version', new Action((args) => {
    checkType(args, 'object', 'args');
    checkCpuid(args.cpuid);
  }, (args) => ccf.kv['public:ccf.gov.nodes.snp.tcb_versions'].delete(enc(args.cpuid)))],
  ['set_recovery_threshold', new Action((args) => {
    checkType(args, 'object', 'args');
    checkInteger(args.recovery_threshold, 'recovery_threshold', 1, 254);
  }, (args) => updateServiceConfig({ recovery_threshold: args.recovery_threshold }))],
  ['set_service_configuration', new Action((args) => {
    checkType(args, 'object', 'args');
    for (const key of Object.keys(args)) {
      if (!['reconfiguration_type', 'recovery_threshold', 'recent_cose_proposals_window_size'].includes(key)) throw new Error(`Cannot change ${key} via set_service_configuration.`);
    }
    if (args.reconfiguration_type !== undefined) checkType(args.reconfiguration_type, 'string', 'reconfiguration_type');
    if (args.recovery_threshold !== undefined) checkInteger(args.recovery_threshold, 'recovery_threshold', 1, 254);
    if (args.recent_cose_proposals_window_size !== undefined) checkInteger(args.recent_cose_proposals_window_size, 'recent_cose_proposals_window_size', 1, 10000);
  }, (args) => updateServiceConfig(args))],
  ['set_service_recent_cose_proposals_window_size', new Action((args) => {
    checkType(args, 'object', 'args');
    checkInteger(args.proposal_window_size, 'proposal_window_size', 1, 10000);
  }, (args) => updateServiceConfig({ recent_cose_proposals_window_size: args.proposal_window_size }))],
  ['trigger_ledger_rekey', triggerAction('trigger_ledger_rekey')],
  ['trigger_recovery_shares_refresh', triggerAction('trigger_recovery_shares_refresh')],
  ['trigger_snapshot', triggerAction('trigger_snapshot')],
  ['set_ca_cert_bundle', new Action((args) => {
    checkType(args, 'object', 'args');
    checkNonEmptyString(args.name, 'name');
    checkCertBundle(args.cert_bundle, 'cert_bundle');
  }, (args) => ccf.kv['public:ccf.gov.tls.ca_cert_bundles'].set(enc(args.name), json(args.cert_bundle)))],
  ['remove_ca_cert_bundle', new Action((args) => {
    checkType(args, 'object', 'args');
    checkNonEmptyString(args.name, 'name');
  }, (args) => ccf.kv['public:ccf.gov.tls.ca_cert_bundles'].delete(enc(args.name)))],
]);
