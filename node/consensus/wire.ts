// The node-to-node frame codec. A frame is one WebSocket message between two nodes of the service: a
// Raft message, or a client request a backup forwards to the primary, or the primary's answer to it.
//
// Frames are CBOR (cborg). Encoding takes the typed value and writes only the fields this module knows.
// Decoding runs on the enclave side over hostile bytes (the peer channel authenticates the sender, not
// what it says): it walks cborg's token stream against a fixed schema instead of building a generic
// object first, so a declared length is checked against its bound before anything is read, nesting
// cannot go deeper than the schema, and the first unexpected token stops the walk. Every problem is a
// WireError whose message names the field (`message.entries[3].data: expected bytes`).
//
// Byte strings (entry data, bodies, certificates) come out as plain Uint8Arrays holding one copy of
// their bytes (cborg slices them out of the frame), so a decoded entry does not keep the whole frame,
// or a pooled socket buffer, alive.

import { encode, Tokenizer, Type, type Token } from 'cborg';
import type { RequestMessage, ResponseMessage } from '../boundary.ts';
import { defaultRaftLimits, type RaftLimits } from './raft/limits.ts';
import type { Entry, Message, NodeId } from './raft/types.ts';
import { messageProblem } from './raft/validate.ts';

export type PeerFrame =
  | { kind: 'raft'; message: Message }
  | { kind: 'forward'; id: number; request: RequestMessage }
  | { kind: 'forward-response'; id: number; response: ResponseMessage };

export class WireError extends Error {
  readonly code = 'MalformedFrame';
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** Every bound of a decoded frame; units in the names. */
export const wireLimits = {
  /** One frame (also the WebSocket maxPayload of the peer channel). */
  frameBytesMax: 64 * 1024 * 1024,
  /** Characters of a node id (the Raft core's own bound). */
  nodeIdLengthMax: defaultRaftLimits.nodeIdLengthMax,
  /** Entries in one AppendEntries (the Raft core's bound on an incoming append). */
  entriesPerAppendMax: defaultRaftLimits.entriesPerIncomingAppendMax,
  /** Node ids in the configuration of a reconfiguration entry. */
  votersPerConfigurationMax: defaultRaftLimits.votersPerConfigurationMax,
  /** Characters of an HTTP method. */
  methodLengthMax: 32,
  /** Characters of a request path, and of its query string. */
  pathLengthMax: 64 * 1024,
  /** Headers of a forwarded request or of its response. */
  headersCountMax: 1024,
  /** Characters of a header name. */
  headerNameLengthMax: 1024,
  /** Characters of a header value. */
  headerValueLengthMax: 64 * 1024,
  /** Bytes of a DER client certificate. */
  certificateBytesMax: 64 * 1024,
  /** An HTTP status code lies in [statusMin, statusMax]. */
  statusMin: 100,
  statusMax: 599,
} as const;

// The Raft core's shape checks run with the wire's bounds.
const raftLimitsForWire: RaftLimits = {
  ...defaultRaftLimits,
  nodeIdLengthMax: wireLimits.nodeIdLengthMax,
  entriesPerIncomingAppendMax: wireLimits.entriesPerAppendMax,
  votersPerConfigurationMax: wireLimits.votersPerConfigurationMax,
};

// ---------------------------------------------------------------------------------------------------
// Encoding: pick exactly the known fields (a caller's extra properties never reach the wire), leave out
// absent optional ones.

function encodeEntry(e: Entry): Record<string, unknown> {
  const out: Record<string, unknown> = { term: e.term, index: e.index, isSignature: e.isSignature, data: e.data };
  if (e.configuration !== undefined) out.configuration = [...e.configuration];
  return out;
}

function encodeMessage(m: Message): Record<string, unknown> {
  const head = { type: m.type, from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'append':
      return { ...head, prevIndex: m.prevIndex, prevTerm: m.prevTerm, commit: m.commit, entries: m.entries.map(encodeEntry) };
    case 'append-response':
      return m.success
        ? { ...head, success: true, matchIndex: m.matchIndex, commit: m.commit }
        : { ...head, success: false, rejectedIndex: m.rejectedIndex, hintIndex: m.hintIndex, hintTerm: m.hintTerm, commit: m.commit };
    case 'vote':
      return { ...head, preVote: m.preVote, lastSignatureIndex: m.lastSignatureIndex, lastSignatureTerm: m.lastSignatureTerm, transfer: m.transfer };
    case 'vote-response':
      return { ...head, preVote: m.preVote, granted: m.granted };
    case 'timeout-now':
      return head;
    default:
      throw new WireError(`cannot encode raft message of type ${String((m as { type?: unknown }).type)}`);
  }
}

/** Sets a record's own property, even one named `__proto__` (which plain assignment would not create). */
function setOwn(record: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
  else record[name] = value;
}

/**
 * Headers as a string → string record. Node hands repeated `set-cookie` headers over as an array, and an
 * app may set a number: such values are written as the single string HTTP would carry.
 */
function encodeHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers) as [string, unknown][]) {
    if (typeof value === 'string') setOwn(out, name, value);
    else if (Array.isArray(value)) setOwn(out, name, value.map(String).join(', '));
    else if (value !== undefined && value !== null) setOwn(out, name, String(value));
  }
  return out;
}

function frameValue(frame: PeerFrame): Record<string, unknown> {
  switch (frame.kind) {
    case 'raft':
      return { kind: 'raft', message: encodeMessage(frame.message) };
    case 'forward': {
      const r = frame.request;
      const request: Record<string, unknown> = { method: r.method, path: r.path, query: r.query, headers: encodeHeaders(r.headers), body: r.body };
      if (r.clientCertDer !== undefined) request.clientCertDer = r.clientCertDer;
      return { kind: 'forward', id: frame.id, request };
    }
    case 'forward-response': {
      const r = frame.response;
      return { kind: 'forward-response', id: frame.id, response: { status: r.status, headers: encodeHeaders(r.headers), body: r.body } };
    }
    default:
      throw new WireError(`cannot encode frame of kind ${String((frame as { kind?: unknown }).kind)}`);
  }
}

/**
 * The CBOR bytes of a frame. The frame is trusted (built by this node); a value its peer would refuse
 * (a header too long, a frame beyond frameBytesMax) is still encoded, and refused there.
 */
export function encodeFrame(frame: PeerFrame): Uint8Array {
  return encode(frameValue(frame));
}

// ---------------------------------------------------------------------------------------------------
// Decoding.

const decodeOptions = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
};

class Reader {
  private readonly tokens: InstanceType<typeof Tokenizer>;
  constructor(input: Uint8Array) {
    this.tokens = new Tokenizer(input, decodeOptions);
  }

  get done(): boolean {
    return this.tokens.done();
  }

  next(path: string): Token {
    if (this.tokens.done()) throw new WireError(`${path}: frame ends early`);
    try {
      return this.tokens.next();
    } catch (error) {
      throw new WireError(`${path}: ${(error as Error).message}`);
    }
  }

  /** A definite-length map header; returns its number of pairs. */
  map(path: string, pairsMax: number): number {
    const t = this.next(path);
    if (!Type.equals(t.type, Type.map)) throw new WireError(`${path}: expected a map, got ${describe(t)}`);
    const n = t.value as number;
    if (n > pairsMax) throw new WireError(`${path}: ${n} fields, at most ${pairsMax} expected`);
    return n;
  }

  /** A definite-length array header; returns its length. */
  array(path: string, lengthMax: number): number {
    const t = this.next(path);
    if (!Type.equals(t.type, Type.array)) throw new WireError(`${path}: expected an array, got ${describe(t)}`);
    const n = t.value as number;
    if (n > lengthMax) throw new WireError(`${path}: ${n} items, at most ${lengthMax} allowed`);
    return n;
  }

  string(path: string, lengthMax: number): string {
    const t = this.next(path);
    if (!Type.equals(t.type, Type.string)) throw new WireError(`${path}: expected a string, got ${describe(t)}`);
    const s = t.value as string;
    if (s.length > lengthMax) throw new WireError(`${path}: longer than ${lengthMax} characters`);
    return s;
  }

  index(path: string): number {
    const t = this.next(path);
    if (!Type.equals(t.type, Type.uint)) throw new WireError(`${path}: expected a non-negative integer, got ${describe(t)}`);
    const v = t.value as number;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new WireError(`${path}: not a safe integer`);
    return v;
  }

  boolean(path: string): boolean {
    const t = this.next(path);
    if (Type.equals(t.type, Type.true)) return true;
    if (Type.equals(t.type, Type.false)) return false;
    throw new WireError(`${path}: expected a boolean, got ${describe(t)}`);
  }

  bytes(path: string, lengthMax: number): Uint8Array {
    const t = this.next(path);
    if (!Type.equals(t.type, Type.bytes)) throw new WireError(`${path}: expected bytes, got ${describe(t)}`);
    const b = t.value as Uint8Array;
    if (b.length > lengthMax) throw new WireError(`${path}: longer than ${lengthMax} bytes`);
    return b;
  }

  bytesOrString(path: string): Uint8Array | string {
    const t = this.next(path);
    if (Type.equals(t.type, Type.bytes)) return t.value as Uint8Array;
    if (Type.equals(t.type, Type.string)) return t.value as string;
    throw new WireError(`${path}: expected bytes or a string, got ${describe(t)}`);
  }

  /**
   * A map whose keys are field names; `field` reads the value of each key it knows and returns false for
   * an unknown one. Returns the names seen, for the caller's required/extra checks.
   */
  record(path: string, fieldsMax: number, field: (name: string, fieldPath: string) => boolean): Set<string> {
    const n = this.map(path, fieldsMax);
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const name = this.string(`${path} key`, 64);
      if (seen.has(name)) throw new WireError(`${path}.${name}: repeated field`);
      seen.add(name);
      if (!field(name, `${path}.${name}`)) throw new WireError(`${path}.${name}: unknown field`);
    }
    return seen;
  }
}

function describe(t: Token): string {
  return t.type.name;
}

/** Checks that a record holds exactly `required` plus any of `optional`. */
function exactFields(path: string, seen: Set<string>, required: readonly string[], optional: readonly string[] = []): void {
  for (const name of required) if (!seen.has(name)) throw new WireError(`${path}.${name}: missing field`);
  if (seen.size === required.length) return;
  for (const name of seen) {
    if (!required.includes(name) && !optional.includes(name)) throw new WireError(`${path}.${name}: field not allowed here`);
  }
}

function nodeId(r: Reader, path: string): NodeId {
  const id = r.string(path, wireLimits.nodeIdLengthMax);
  if (id.length === 0) throw new WireError(`${path}: empty node id`);
  return id;
}

const entryFields = ['term', 'index', 'isSignature', 'data'] as const;

function readEntry(r: Reader, path: string): Entry {
  const e: { term?: number; index?: number; isSignature?: boolean; configuration?: NodeId[]; data?: Uint8Array } = {};
  const seen = r.record(path, 5, (name, p) => {
    switch (name) {
      case 'term': e.term = r.index(p); return true;
      case 'index': e.index = r.index(p); return true;
      case 'isSignature': e.isSignature = r.boolean(p); return true;
      case 'data': e.data = r.bytes(p, wireLimits.frameBytesMax); return true;
      case 'configuration': {
        const n = r.array(p, wireLimits.votersPerConfigurationMax);
        const voters: NodeId[] = [];
        for (let i = 0; i < n; i++) voters.push(nodeId(r, `${p}[${i}]`));
        e.configuration = voters;
        return true;
      }
      default: return false;
    }
  });
  exactFields(path, seen, entryFields, ['configuration']);
  return e as Entry;
}

// The fields of each Raft message type, beyond type/from/to/term.
const messageFields: Record<string, readonly string[]> = {
  append: ['prevIndex', 'prevTerm', 'commit', 'entries'],
  'append-response:true': ['success', 'matchIndex', 'commit'],
  'append-response:false': ['success', 'rejectedIndex', 'hintIndex', 'hintTerm', 'commit'],
  vote: ['preVote', 'lastSignatureIndex', 'lastSignatureTerm', 'transfer'],
  'vote-response': ['preVote', 'granted'],
  'timeout-now': [],
};
const messageHead = ['type', 'from', 'to', 'term'] as const;
const messageFieldsMax = 9;

function readMessage(r: Reader, path: string): Message {
  const m: Record<string, unknown> = {};
  const seen = r.record(path, messageFieldsMax, (name, p) => {
    switch (name) {
      case 'type': m.type = r.string(p, 32); return true;
      case 'from':
      case 'to': m[name] = nodeId(r, p); return true;
      case 'term':
      case 'prevIndex':
      case 'prevTerm':
      case 'commit':
      case 'matchIndex':
      case 'rejectedIndex':
      case 'hintIndex':
      case 'hintTerm':
      case 'lastSignatureIndex':
      case 'lastSignatureTerm': m[name] = r.index(p); return true;
      case 'success':
      case 'preVote':
      case 'transfer':
      case 'granted': m[name] = r.boolean(p); return true;
      case 'entries': {
        const n = r.array(p, wireLimits.entriesPerAppendMax);
        const entries: Entry[] = new Array<Entry>(n);
        for (let i = 0; i < n; i++) entries[i] = readEntry(r, `${p}[${i}]`);
        m.entries = entries;
        return true;
      }
      default: return false;
    }
  });
  if (!seen.has('type')) throw new WireError(`${path}.type: missing field`);
  const key = m.type === 'append-response' ? `append-response:${String(m.success ?? 'missing')}` : String(m.type);
  const fields = Object.hasOwn(messageFields, key) ? messageFields[key] : undefined;
  if (fields === undefined) {
    if (m.type === 'append-response') {
      throw new WireError(`${path}.success: ${m.success === undefined ? 'missing field' : 'expected a boolean'}`);
    }
    throw new WireError(`${path}.type: unknown raft message type ${JSON.stringify(m.type)}`);
  }
  exactFields(path, seen, [...messageHead, ...fields]);
  const problem = messageProblem(m, raftLimitsForWire);
  if (problem !== undefined) throw new WireError(`${path}: ${problem}`);
  return m as unknown as Message;
}

function readHeaders(r: Reader, path: string): Record<string, string> {
  const n = r.map(path, wireLimits.headersCountMax);
  const headers: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const name = r.string(`${path} name`, wireLimits.headerNameLengthMax);
    if (Object.hasOwn(headers, name)) throw new WireError(`${path}[${JSON.stringify(name)}]: repeated header`);
    setOwn(headers, name, r.string(`${path}[${JSON.stringify(name.slice(0, 64))}]`, wireLimits.headerValueLengthMax));
  }
  return headers;
}

function readRequest(r: Reader, path: string): RequestMessage {
  const q: Partial<RequestMessage> = {};
  const seen = r.record(path, 6, (name, p) => {
    switch (name) {
      case 'method': q.method = r.string(p, wireLimits.methodLengthMax); return true;
      case 'path': q.path = r.string(p, wireLimits.pathLengthMax); return true;
      case 'query': q.query = r.string(p, wireLimits.pathLengthMax); return true;
      case 'headers': q.headers = readHeaders(r, p); return true;
      case 'body': q.body = r.bytes(p, wireLimits.frameBytesMax); return true;
      case 'clientCertDer': q.clientCertDer = r.bytes(p, wireLimits.certificateBytesMax); return true;
      default: return false;
    }
  });
  exactFields(path, seen, ['method', 'path', 'query', 'headers', 'body'], ['clientCertDer']);
  return q as RequestMessage;
}

function readResponse(r: Reader, path: string): ResponseMessage {
  const s: Partial<ResponseMessage> = {};
  const seen = r.record(path, 3, (name, p) => {
    switch (name) {
      case 'status': {
        const status = r.index(p);
        if (status < wireLimits.statusMin || status > wireLimits.statusMax) throw new WireError(`${p}: ${status} is not an HTTP status`);
        s.status = status;
        return true;
      }
      case 'headers': s.headers = readHeaders(r, p); return true;
      case 'body': s.body = r.bytesOrString(p); return true;
      default: return false;
    }
  });
  exactFields(path, seen, ['status', 'headers', 'body']);
  return s as ResponseMessage;
}

const frameFields: Record<PeerFrame['kind'], readonly string[]> = {
  raft: ['kind', 'message'],
  forward: ['kind', 'id', 'request'],
  'forward-response': ['kind', 'id', 'response'],
};

/** The frame in `bytes`, checked field by field. Throws only WireError. */
export function decodeFrame(bytes: Uint8Array): PeerFrame {
  try {
    return decodeUnchecked(bytes);
  } catch (error) {
    if (error instanceof WireError) throw error;
    // A cborg failure outside the reader's wrapping, or an exhausted stack: still a malformed frame.
    throw new WireError(`frame: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function decodeUnchecked(bytes: Uint8Array): PeerFrame {
  if (!(bytes instanceof Uint8Array)) throw new WireError('frame: not bytes');
  if (bytes.length > wireLimits.frameBytesMax) throw new WireError(`frame: ${bytes.length} bytes, at most ${wireLimits.frameBytesMax} allowed`);
  // A plain Uint8Array view, so cborg's slices of byte strings are copies (a Buffer's would be views).
  const r = new Reader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const f: { kind?: string; id?: number; message?: Message; request?: RequestMessage; response?: ResponseMessage } = {};
  const seen = r.record('frame', 3, (name, p) => {
    switch (name) {
      case 'kind': f.kind = r.string(p, 32); return true;
      case 'id': f.id = r.index(p); return true;
      case 'message': f.message = readMessage(r, p); return true;
      case 'request': f.request = readRequest(r, p); return true;
      case 'response': f.response = readResponse(r, p); return true;
      default: return false;
    }
  });
  if (!r.done) throw new WireError('frame: trailing bytes after the frame');
  if (!seen.has('kind')) throw new WireError('frame.kind: missing field');
  const kind = f.kind as PeerFrame['kind'];
  if (!Object.hasOwn(frameFields, kind)) throw new WireError(`frame.kind: unknown kind ${JSON.stringify(f.kind)}`);
  exactFields('frame', seen, frameFields[kind]);
  switch (kind) {
    case 'raft':
      return { kind, message: f.message! };
    case 'forward':
      return { kind, id: f.id!, request: f.request! };
    case 'forward-response':
      return { kind, id: f.id!, response: f.response! };
  }
}
