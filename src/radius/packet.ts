import { hash, timingSafeEqual } from 'node:crypto';
import { radiusLib, type AttributeTuple } from './radius-lib.js';

/**
 * RADIUS packets as bytes: checking their structure and authenticators, decoding
 * attributes, and building responses. Pure (no sockets, no clock), but for a memo
 * of HMAC keys.
 */

/** RFC 2865 §3, RFC 2866 §3, RFC 5176 §3. */
export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoaRequest: 43,
  CoaAck: 44,
  CoaNak: 45,
} as const;

/** The names the `radius` package uses for each code. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'Access-Request',
  2: 'Access-Accept',
  3: 'Access-Reject',
  4: 'Accounting-Request',
  5: 'Accounting-Response',
  11: 'Access-Challenge',
  12: 'Status-Server',
  40: 'Disconnect-Request',
  41: 'Disconnect-ACK',
  42: 'Disconnect-NAK',
  43: 'CoA-Request',
  44: 'CoA-ACK',
  45: 'CoA-NAK',
};

export const HEADER = 20;
const AUTH_OFFSET = 4;
/** RFC 2865 §3: a packet is at most 4096 bytes. */
export const MAX_LENGTH = 4096;
const ATTR_MESSAGE_AUTHENTICATOR = 80;
const ATTR_PROXY_STATE = 33;

/** Why a packet was dropped; each reason is counted. */
export type DropReason =
  | 'unknown_client'
  | 'too_short'
  | 'too_long'
  | 'bad_length'
  | 'bad_attribute'
  | 'unexpected_code'
  | 'bad_authenticator'
  | 'bad_message_authenticator'
  | 'missing_message_authenticator'
  | 'undecodable'
  /** Accounting that cannot be recorded (no Acct-Session-Id, no MAC): not answered, so the NAS keeps it. */
  | 'unusable_accounting'
  /** radius.max_in_flight requests were already waiting (for a slow store): the NAS retries. */
  | 'overload'
  /** An EAP response whose Identifier is not the one the conversation waits for, or that came while the previous one is worked on (RFC 3748 §4.1: silently discarded). */
  | 'eap_out_of_order';

/** The structure of a well-formed packet: header fields and where each attribute is. */
export interface ScannedPacket {
  readonly code: number;
  readonly identifier: number;
  readonly length: number;
  readonly authenticator: Buffer;
  /** Byte offset of the Message-Authenticator's value, or -1 when absent. */
  readonly messageAuthenticatorAt: number;
  /** Values of Proxy-State attributes, to copy into the response (RFC 2865 §5.33). */
  readonly proxyStates: readonly Buffer[];
}

export type ScanResult = { ok: true; packet: ScannedPacket } | { ok: false; reason: DropReason };

/**
 * Checks the header and walks the attributes without trusting any length field.
 * RFC 2865 §3: octets beyond the Length field are padding and ignored; a packet
 * shorter than its Length field is silently discarded.
 */
export function scanPacket(raw: Buffer): ScanResult {
  if (raw.length < HEADER) return { ok: false, reason: 'too_short' };
  if (raw.length > MAX_LENGTH) return { ok: false, reason: 'too_long' };
  const length = raw.readUInt16BE(2);
  if (length < HEADER || length > MAX_LENGTH || length > raw.length) return { ok: false, reason: 'bad_length' };
  let messageAuthenticatorAt = -1;
  const proxyStates: Buffer[] = [];
  for (let at = HEADER; at < length; ) {
    if (at + 2 > length) return { ok: false, reason: 'bad_attribute' };
    const type = raw[at]!;
    const len = raw[at + 1]!;
    if (len < 2 || at + len > length) return { ok: false, reason: 'bad_attribute' };
    if (type === ATTR_MESSAGE_AUTHENTICATOR) {
      // RFC 3579 §3.2: exactly 18 octets, at most once.
      if (len !== 18 || messageAuthenticatorAt !== -1) return { ok: false, reason: 'bad_attribute' };
      messageAuthenticatorAt = at + 2;
    } else if (type === ATTR_PROXY_STATE) {
      proxyStates.push(Buffer.from(raw.subarray(at + 2, at + len)));
    }
    at += len;
  }
  return {
    ok: true,
    packet: {
      code: raw[0]!,
      identifier: raw[1]!,
      length,
      authenticator: copyOf(raw, AUTH_OFFSET, HEADER),
      messageAuthenticatorAt,
      proxyStates,
    },
  };
}

/** A copy of raw[start, end): one Buffer (Buffer.from of a subarray makes two). */
function copyOf(raw: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  raw.copy(out, 0, start, end);
  return out;
}

/** Equal lengths and equal bytes, compared in constant time. */
export function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** MD5's block: HMAC pads the key to it (RFC 2104). */
const MD5_BLOCK = 64;
const MD5_LENGTH = 16;
const ZERO_AUTHENTICATOR = Buffer.alloc(16);

/** A secret's HMAC keys: the secret padded to a block, XOR 0x36 (inner) and 0x5c (outer). */
interface HmacPads {
  readonly inner: Buffer;
  readonly outer: Buffer;
}

/**
 * Each shared secret's HMAC pads, made once. Secrets come from the config, so this stays
 * small; it is emptied if it ever grows past HMAC_PADS_MAX all the same.
 */
const hmacPads = new Map<string, HmacPads>();
const HMAC_PADS_MAX = 4096;

function padsOf(secret: string): HmacPads {
  let pads = hmacPads.get(secret);
  if (!pads) {
    if (hmacPads.size >= HMAC_PADS_MAX) hmacPads.clear();
    // Not Buffer.from(secret): that would leave the secret in Node's shared buffer pool.
    const bytes = Buffer.alloc(Buffer.byteLength(secret, 'utf8'));
    bytes.write(secret, 0, 'utf8');
    const key = bytes.length > MD5_BLOCK ? hash('md5', bytes, 'buffer') : bytes;
    const inner = Buffer.alloc(MD5_BLOCK, 0x36);
    const outer = Buffer.alloc(MD5_BLOCK, 0x5c);
    for (let i = 0; i < key.length; i++) {
      inner[i]! ^= key[i]!;
      outer[i]! ^= key[i]!;
    }
    bytes.fill(0);
    pads = { inner, outer };
    hmacPads.set(secret, pads);
  }
  return pads;
}

/**
 * HMAC-MD5 of `data` keyed with the secret (RFC 2104: MD5(K^opad, MD5(K^ipad, data))),
 * written into `target` at `at`. Two one-shot MD5s instead of createHmac: each Hmac
 * object holds a weak handle that V8 processes at every young-generation collection,
 * and two per Access-Request made that 2 of a scavenge's 6.7 ms (bench:radius with
 * --trace-gc-nvp: heap.external_weak_global_handles). Digests come back as latin1
 * strings ('binary' is Node's other name for it), which allocate no ArrayBuffer either.
 * `data` may overlap `target`: it is copied before anything is written.
 */
function hmacMd5Into(secret: string, data: Buffer, length: number, target: Buffer, at: number): void {
  const work = scratchFor(length);
  data.copy(work, MD5_BLOCK, 0, length);
  hmacOfWork(secret, work, length, target, at);
}

/**
 * Where HMACs are computed: one buffer for the process (JavaScript runs one thing at a
 * time), the inner or outer pad followed by the data. A buffer per HMAC was a tenth of
 * what a Message-Authenticator cost (bench:radius-cpu). Larger data gets its own.
 */
const hmacScratch = Buffer.alloc(MD5_BLOCK + MAX_LENGTH);

function scratchFor(dataLength: number): Buffer {
  return dataLength <= MAX_LENGTH ? hmacScratch : Buffer.alloc(MD5_BLOCK + Math.max(dataLength, MD5_LENGTH));
}

/**
 * hmacScratch's first `n` octets, as a view made once per length: crypto.hash takes
 * a view, and a new one at each of a request's four MD5s (and the answer's) was a
 * quarter of what a MAC authentication allocated (bench:radius-cpu, heap sampling),
 * each young-generation GC pause the sooner.
 */
const scratchHeads: Array<Buffer | undefined> = new Array<Buffer | undefined>(hmacScratch.length + 1).fill(undefined);

function head(work: Buffer, n: number): Buffer {
  if (work !== hmacScratch) return work.subarray(0, n);
  return (scratchHeads[n] ??= hmacScratch.subarray(0, n));
}

/**
 * The HMAC of the `length` octets of data in `work` after its first block (RFC 2104:
 * MD5(K^opad, MD5(K^ipad, data))), written into `target` at `at`; `target` may be the
 * data's own buffer. The pads are the secret's bytes XOR a constant: zeroed in `work`
 * again before this returns, so that not even a heap dump holds them between packets.
 */
function hmacOfWork(secret: string, work: Buffer, length: number, target: Buffer, at: number): void {
  const { inner, outer } = padsOf(secret);
  inner.copy(work, 0);
  const innerDigest = hash('md5', head(work, MD5_BLOCK + length), 'binary');
  outer.copy(work, 0);
  work.write(innerDigest, MD5_BLOCK, 'latin1');
  const digest = hash('md5', head(work, MD5_BLOCK + MD5_LENGTH), 'binary');
  work.fill(0, 0, MD5_BLOCK);
  target.write(digest, at, 'latin1');
}

/**
 * MD5(Code+Identifier+Length+Authenticator+Attributes+Secret) of a packet's first
 * `length` octets, with `headerAuthenticator` in the authenticator field when given:
 * the Request Authenticator of Accounting, CoA and Disconnect requests (zeros there;
 * RFC 2866 §3, RFC 5176 §3.5) and the Response Authenticator of an answer (the
 * request's; RFC 2865 §3). As latin1 text, in one call (one-shot crypto.hash, no Hash
 * object per packet), over a copy in hmacScratch: the secret is written there after the
 * packet and zeroed again before this returns, never into the packet's own buffer.
 */
function md5WithSecret(data: Buffer, length: number, secret: string, headerAuthenticator?: Buffer): string {
  const secretLength = Buffer.byteLength(secret, 'utf8');
  const work = length + secretLength <= hmacScratch.length ? hmacScratch : Buffer.alloc(length + secretLength);
  data.copy(work, 0, 0, length);
  headerAuthenticator?.copy(work, AUTH_OFFSET);
  work.write(secret, length, 'utf8');
  const digest = hash('md5', head(work, length + secretLength), 'binary');
  work.fill(0, length, length + secretLength);
  return digest;
}

/** md5WithSecret as a Buffer. */
export function authenticatorMd5(raw: Buffer, length: number, secret: string, headerAuthenticator?: Buffer): Buffer {
  return Buffer.from(md5WithSecret(raw, length, secret, headerAuthenticator), 'latin1');
}

/**
 * RFC 3579 §3.2 / RFC 5176 §3.5: HMAC-MD5 keyed with the secret over the packet
 * with the Message-Authenticator's value zeroed. `headerAuthenticator` replaces the
 * packet's authenticator field first (the request's for a response; zeros for
 * Accounting, CoA and Disconnect requests).
 */
export function messageAuthenticator(raw: Buffer, length: number, at: number, secret: string, headerAuthenticator?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(MD5_LENGTH);
  messageAuthenticatorInto(raw, length, at, secret, headerAuthenticator, out);
  return out;
}

/** messageAuthenticator, written into `out` (16 octets); the packet is copied once, into the HMAC's own buffer. */
function messageAuthenticatorInto(raw: Buffer, length: number, at: number, secret: string, headerAuthenticator: Buffer | undefined, out: Buffer): void {
  const work = scratchFor(length);
  raw.copy(work, MD5_BLOCK, 0, length);
  work.fill(0, MD5_BLOCK + at, MD5_BLOCK + at + 16);
  if (headerAuthenticator) headerAuthenticator.copy(work, MD5_BLOCK + AUTH_OFFSET);
  hmacOfWork(secret, work, length, out, 0);
}

/** Where a request's expected Message-Authenticator is computed, to be compared. */
const expectedMa = Buffer.alloc(MD5_LENGTH);

/** Checks a present Message-Authenticator in a request, in constant time. */
export function verifyMessageAuthenticator(raw: Buffer, packet: ScannedPacket, secret: string): boolean {
  if (packet.messageAuthenticatorAt === -1) return false;
  const zeroAuthenticator = packet.code === Code.AccessRequest || packet.code === Code.StatusServer ? undefined : ZERO_AUTHENTICATOR;
  messageAuthenticatorInto(raw, packet.length, packet.messageAuthenticatorAt, secret, zeroAuthenticator, expectedMa);
  return equalAt(expectedMa, raw, packet.messageAuthenticatorAt);
}

/**
 * Whether raw[at, at + expected.length) holds `expected`, in constant time: every octet is
 * compared, whatever differs (timingSafeEqual wants a view of raw, an allocation per request).
 */
function equalAt(expected: Buffer, raw: Buffer, at: number): boolean {
  if (at < 0 || at + expected.length > raw.length) return false;
  let differ = 0;
  for (let i = 0; i < expected.length; i++) differ |= expected[i]! ^ raw[at + i]!;
  return differ === 0;
}

/**
 * RFC 2866 §3 / RFC 5176 §3.5: the Request Authenticator of Accounting, CoA and
 * Disconnect requests is MD5(Code+Identifier+Length+16 zero octets+Attributes+Secret).
 */
export function verifyRequestAuthenticator(raw: Buffer, packet: ScannedPacket, secret: string): boolean {
  return equal(authenticatorMd5(raw, packet.length, secret, ZERO_AUTHENTICATOR), packet.authenticator);
}

/**
 * Decoded attributes by dictionary name, as the `radius` package decodes them without the
 * secret (repeated attributes become arrays; vendors merge under Vendor-Specific; hidden
 * ones such as User-Password are null), or undefined when the package cannot decode them.
 *
 * The package's decode was a sixth of a MAC authentication's CPU (bench:radius-cpu), yet
 * a NAS sends the same few kinds of attribute again and again. So each attribute type's
 * form is learnt from the package once (decodedForm): text is read as UTF-8 here, and
 * each value of an enumerated or address type (the same NAS-IP-Address and Service-Type
 * in every request) is learnt once per exact bytes; a packet holding anything else (a
 * Vendor-Specific, a tagged or a date attribute) is decoded by the package whole, as before.
 */
export function decodeAttributes(raw: Buffer, length: number): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (let at = HEADER; at < length; ) {
    const type = raw[at]!;
    const len = raw[at + 1]!;
    // scanPacket has checked every length; checked again, as this may be called on its own.
    if (len < 2 || at + len > length) return undefined;
    const form = forms[type] ?? decodedForm(raw, at, len);
    let value: unknown;
    if (form === undefined || form === LIBRARY) return decodeWithLibrary(raw, length);
    if (form === SKIP) {
      at += len;
      continue;
    }
    if (form.how === 'octets') value = raw.subarray(at + 2, at + len);
    else if (form.how === 'utf8') value = raw.toString('utf8', at + 2, at + len);
    else if (form.how === 'hidden') value = null;
    else {
      const key = raw.toString('latin1', at, at + len);
      value = memoValues.get(key);
      if (value === undefined) {
        value = decodeOne(raw, at, len)?.value;
        if (typeof value !== 'string' && typeof value !== 'number') return decodeWithLibrary(raw, length);
        if (memoValues.size >= MEMO_VALUES_MAX) memoValues.clear();
        memoValues.set(key, value);
      }
    }
    const name = form.name;
    const earlier = out[name];
    if (earlier === undefined) out[name] = value;
    else if (Array.isArray(earlier)) earlier.push(value);
    else out[name] = [earlier, value];
    at += len;
  }
  return out;
}

function decodeWithLibrary(raw: Buffer, length: number): Record<string, unknown> | undefined {
  try {
    return radiusLib.decode_without_secret({ packet: raw.subarray(0, length) }).attributes;
  } catch {
    return undefined;
  }
}

/**
 * How the package decodes an attribute type, whatever its value: `octets` (its bytes),
 * `utf8` (its bytes as UTF-8 text: User-Name, Calling-Station-Id), `hidden` (null without
 * the secret: User-Password), `text` (another string or a number that depends only on its
 * bytes, an enumerated value or an address: remembered per value); SKIP for a type no dictionary names
 * (left out); LIBRARY for everything else (a Vendor-Specific, a tagged or date type).
 */
type DecodedForm = { readonly name: string; readonly how: 'octets' | 'utf8' | 'hidden' | 'text' } | typeof SKIP | typeof LIBRARY;
const SKIP = 'skip';
const LIBRARY = 'library';
let forms: Array<DecodedForm | undefined> = new Array(256);
/** Decoded text and number values by their attribute's exact bytes (type, length, value). */
const memoValues = new Map<string, unknown>();
const MEMO_VALUES_MAX = 50_000;

/** Forgets what decodedForm learnt: the dictionaries changed (dictionary.ts). */
export function forgetDecodedForms(): void {
  forms = new Array(256);
  memoValues.clear();
}

/**
 * Learns the form of the attribute at `at` from the package: decodes it alone, then a
 * value whose first octet is 0, which a tagged type (RFC 2868) would read as a tag.
 * Undefined when the package cannot decode this value (nothing is learnt).
 */
function decodedForm(raw: Buffer, at: number, len: number): DecodedForm | undefined {
  const type = raw[at]!;
  const one = decodeOne(raw, at, len);
  if (one === undefined) return undefined;
  let form: DecodedForm;
  if (one.name === undefined) form = SKIP;
  else {
    let how: 'octets' | 'utf8' | 'hidden' | 'text' | undefined =
      Buffer.isBuffer(one.value) ? 'octets' : one.value === null ? 'hidden' : typeof one.value === 'string' || typeof one.value === 'number' ? 'text' : undefined;
    // Text read as UTF-8 comes back as the probe's own characters; an integer, an address or a date would not.
    if (how === 'text' && decodeOne(Buffer.from([type, 6, 0x61, 0x31, 0x62, 0x32]), 0, 6)?.value === 'a1b2') how = 'utf8';
    const tagged = Array.isArray(decodeOne(Buffer.from([type, 7, 0, 0, 0, 0, 1]), 0, 7)?.value);
    form = how === undefined || tagged ? LIBRARY : { name: one.name, how };
  }
  forms[type] = form;
  return form;
}

/** One attribute decoded alone by the package: its name (undefined when no dictionary has it) and value; undefined when it cannot be decoded. */
function decodeOne(raw: Buffer, at: number, len: number): { name: string | undefined; value: unknown } | undefined {
  const packet = Buffer.alloc(HEADER + len);
  packet[0] = Code.AccessRequest;
  packet.writeUInt16BE(HEADER + len, 2);
  raw.copy(packet, HEADER, at, at + len);
  const attributes = decodeWithLibrary(packet, packet.length);
  if (attributes === undefined) return undefined;
  const name = Object.keys(attributes)[0];
  return { name, value: name === undefined ? undefined : attributes[name] };
}

export interface ResponseSpec {
  readonly code: number;
  readonly request: ScannedPacket;
  readonly secret: string;
  readonly attributes: readonly AttributeTuple[];
  /** Attributes already encoded (type, length, value), after `attributes`: EAP-Message, State, MS-MPPE keys. */
  readonly raw?: readonly Buffer[];
}

/**
 * Builds a response. For Access-Accept, -Reject and -Challenge, Message-Authenticator
 * is the FIRST attribute (BlastRADIUS mitigation, draft-ietf-radext-deprecating-radius),
 * computed with the request's authenticator in the header; then the Response
 * Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret) (RFC 2865 §3).
 * Proxy-State attributes of the request are copied last, in order (RFC 2865 §5.33).
 * Throws when the response would exceed 4096 octets (the library silently truncated it).
 */
export function encodeResponse(spec: ResponseSpec): Buffer {
  if (!CODE_NAMES[spec.code]) throw new Error(`unknown response code ${spec.code}`);
  const withMa = spec.code === Code.AccessAccept || spec.code === Code.AccessReject || spec.code === Code.AccessChallenge;
  const attributes = encodeAttributes(spec);
  let length = HEADER + (withMa ? 18 : 0);
  for (const a of attributes) length += a.length;
  if (spec.raw) for (const a of spec.raw) length += a.length;
  for (const p of spec.request.proxyStates) length += 2 + p.length;
  // RFC 2865 §3: at most 4096 octets. Refuse rather than send a truncated packet.
  if (length > MAX_LENGTH) throw new Error(`${codeName(spec.code)} would be ${length} octets, over the RADIUS maximum of ${MAX_LENGTH}`);
  // One buffer, written in place (every answer pays for this): zero-filled, so the
  // Message-Authenticator's value is zeros while it is computed over the packet. From
  // Node's shared pool (allocUnsafe) rather than an ArrayBuffer of its own, which each
  // young-generation GC would sweep.
  const packet = Buffer.allocUnsafe(length).fill(0);
  packet[0] = spec.code;
  packet[1] = spec.request.identifier;
  packet.writeUInt16BE(length, 2);
  spec.request.authenticator.copy(packet, AUTH_OFFSET);
  let at = HEADER;
  if (withMa) {
    packet[at] = ATTR_MESSAGE_AUTHENTICATOR;
    packet[at + 1] = 18;
    at += 18;
  }
  for (const a of attributes) at += a.copy(packet, at);
  if (spec.raw) for (const a of spec.raw) at += a.copy(packet, at);
  // Proxy-State is opaque octets: copied byte for byte, never through the library.
  for (const p of spec.request.proxyStates) {
    packet[at] = ATTR_PROXY_STATE;
    packet[at + 1] = 2 + p.length;
    at += 2 + p.copy(packet, at + 2);
  }
  if (withMa) hmacMd5Into(spec.secret, packet, length, packet, HEADER + 2);
  packet.write(md5WithSecret(packet, length, spec.secret), AUTH_OFFSET, 'latin1');
  return packet;
}

/**
 * One attribute's bytes, by dictionary name. Each attribute is encoded in its own call:
 * within one call the `radius` package keeps the "tagged" flag of the previous attribute
 * for Buffer values, so an octets attribute after a tagged one (Proxy-State after
 * Tunnel-Private-Group-Id) gained a stray tag octet. A fresh tuple each time, because
 * the library mutates what it is given.
 */
function encodeAttributes(spec: ResponseSpec): readonly Buffer[] {
  const known = encodedLists.get(spec.attributes);
  if (known) return known;
  const encoded = spec.attributes.map((a) => encodeAttribute(a, spec));
  if (spec.attributes.every((a) => memoKey(a) !== undefined)) encodedLists.set(spec.attributes, encoded);
  return encoded;
}

/**
 * Encoded attribute lists by identity: policy.ts hands out the same list for every
 * answer of a kind (a NAS's accept in one second, its reject), so most answers need
 * no per-attribute lookup at all. Only lists none of whose values depend on the
 * secret or the authenticator.
 */
const encodedLists = new WeakMap<readonly AttributeTuple[], readonly Buffer[]>();

function encodeAttribute(tuple: AttributeTuple, spec: ResponseSpec): Buffer {
  const key = memoKey(tuple);
  const known = key === undefined ? undefined : encodedAttributes.get(key);
  if (known) return known;
  const bytes = encodeAttributeWithLibrary(tuple, spec);
  if (key !== undefined) {
    if (encodedAttributes.size >= MEMO_LIMIT) encodedAttributes.clear();
    encodedAttributes.set(key, bytes);
  }
  return bytes;
}

/**
 * Encoded attributes by their tuple. Answers repeat the same few attributes (a VLAN,
 * a role, Session-Timeouts that change once a second), and the library's encode costs
 * a packet checksum each call: bench/radius.ts showed it at an eighth of the CPU.
 * Never for attributes whose encoding depends on the secret or the authenticator.
 */
const encodedAttributes = new Map<string, Buffer>();
const MEMO_LIMIT = 20_000;
const SECRET_DEPENDENT = /^(User-Password|Tunnel-Password|MS-MPPE-|MS-CHAP-MPPE-Keys|Ascend-Send-Secret)/;

function memoKey(tuple: AttributeTuple): string | undefined {
  const [name, ...values] = tuple;
  if (typeof name !== 'string' || SECRET_DEPENDENT.test(name)) return undefined;
  let key = name;
  for (const v of values) {
    if (typeof v === 'string') key += `\u0000s${v}`;
    else if (typeof v === 'number') key += `\u0000n${v}`;
    else if (Array.isArray(v)) {
      // A vendor-specific attribute: [[sub-name, value], ...] of strings and numbers only.
      for (const sub of v) {
        if (!Array.isArray(sub) || sub.some((x) => typeof x !== 'string' && typeof x !== 'number')) return undefined;
        if (sub.some((x) => typeof x === 'string' && SECRET_DEPENDENT.test(x))) return undefined;
        key += `\u0000v${JSON.stringify(sub)}`;
      }
    } else return undefined;
  }
  return key;
}

function encodeAttributeWithLibrary(tuple: AttributeTuple, spec: ResponseSpec): Buffer {
  // The real secret and request authenticator: encrypted attributes (RFC 2868 salt, MS-MPPE keys) depend on them.
  let encoded: Buffer;
  try {
    encoded = radiusLib.encode({
      code: 'Access-Accept',
      secret: spec.secret,
      authenticator: spec.request.authenticator,
      attributes: [[...tuple] as AttributeTuple],
      add_message_authenticator: false,
    });
  } catch (err) {
    // The library fails on a value too long for the Length octet with a bare RangeError
    // ("Received 256"); RFC 2865 §5: a value holds at most 253 octets (252 after an RFC 2868 tag).
    const value = tuple[tuple.length - 1];
    const octets = typeof value === 'string' ? Buffer.byteLength(value) : Buffer.isBuffer(value) ? value.length : undefined;
    const max = tuple.length > 2 ? 252 : 253;
    const why = err instanceof RangeError && octets !== undefined && octets > max ? `its ${octets}-octet value is over the RADIUS maximum of ${max} octets${max === 252 ? ' after the tag' : ''}` : (err as Error).message;
    throw new Error(`${codeName(spec.code)}: cannot encode ${String(tuple[0])}: ${why}`, { cause: err });
  }
  return Buffer.from(encoded.subarray(HEADER));
}

/** The name of a code, for logs. */
export function codeName(code: number): string {
  return CODE_NAMES[code] ?? `code-${code}`;
}
