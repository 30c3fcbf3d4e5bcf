/**
 * EAP packets (RFC 3748 §4) and how they travel in RADIUS (RFC 3579 §3.1): pure
 * functions on bytes, no state.
 */
import { HEADER as RADIUS_HEADER, MAX_LENGTH as RADIUS_MAX_LENGTH } from '../packet.js';

/** RFC 3748 §4. */
export const EapCode = { Request: 1, Response: 2, Success: 3, Failure: 4 } as const;

/** The method types this server knows (RFC 3748 §5, IANA "EAP Method Types"). */
export const EapType = { Identity: 1, Notification: 2, Nak: 3, Md5: 4, Tls: 13, Ttls: 21, Peap: 25, MsChapV2: 26 } as const;

export interface EapPacket {
  readonly code: number;
  readonly identifier: number;
  /** Requests and responses only. */
  readonly type?: number;
  /** What follows the type (requests and responses), nothing for Success and Failure. */
  readonly data: Buffer;
}

/** RADIUS attribute 79 (RFC 3579 §3.1) and 24 (RFC 2865 §5.24). */
export const ATTR_EAP_MESSAGE = 79;
export const ATTR_STATE = 24;
/** An attribute's value holds at most 253 octets (RFC 2865 §5). */
const MAX_ATTRIBUTE_VALUE = 253;

/**
 * Reads one EAP packet from the concatenated EAP-Message values. The EAP Length must
 * equal what arrived: RFC 3579 §3.1 puts exactly one EAP packet in a RADIUS packet, so
 * anything shorter or longer is malformed, not padding.
 */
export function parseEap(bytes: Buffer): { ok: true; packet: EapPacket } | { ok: false; problem: string } {
  if (bytes.length < 4) return { ok: false, problem: `an EAP packet of ${bytes.length} octets, shorter than its 4-octet header` };
  const code = bytes[0]!;
  const identifier = bytes[1]!;
  const length = bytes.readUInt16BE(2);
  if (length !== bytes.length) return { ok: false, problem: `EAP Length says ${length} octets but ${bytes.length} arrived` };
  if (code === EapCode.Success || code === EapCode.Failure) {
    if (length !== 4) return { ok: false, problem: 'an EAP Success or Failure longer than 4 octets' };
    return { ok: true, packet: { code, identifier, data: Buffer.alloc(0) } };
  }
  if (code !== EapCode.Request && code !== EapCode.Response) return { ok: false, problem: `unknown EAP code ${code}` };
  if (length < 5) return { ok: false, problem: 'an EAP Request or Response without a Type' };
  return { ok: true, packet: { code, identifier, type: bytes[4]!, data: bytes.subarray(5) } };
}

/** An EAP packet's bytes: Success and Failure without a type, requests with one. */
export function encodeEap(code: number, identifier: number, type?: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const withType = type !== undefined;
  const length = 4 + (withType ? 1 + data.length : 0);
  const out = Buffer.allocUnsafe(length);
  out[0] = code;
  out[1] = identifier & 0xff;
  out.writeUInt16BE(length, 2);
  if (withType) {
    out[4] = type;
    data.copy(out, 5);
  }
  return out;
}

/** The EAP-Message attributes (type and length octets included) that carry `eap`, split at 253 octets. */
export function eapMessageAttributes(eap: Buffer): Buffer[] {
  const attributes: Buffer[] = [];
  for (let at = 0; at < eap.length; at += MAX_ATTRIBUTE_VALUE) {
    const part = eap.subarray(at, at + MAX_ATTRIBUTE_VALUE);
    const attribute = Buffer.allocUnsafe(2 + part.length);
    attribute[0] = ATTR_EAP_MESSAGE;
    attribute[1] = 2 + part.length;
    part.copy(attribute, 2);
    attributes.push(attribute);
  }
  return attributes;
}

/** One raw attribute (type, length, value). */
export function rawAttribute(type: number, value: Buffer): Buffer {
  if (value.length > MAX_ATTRIBUTE_VALUE) throw new RangeError(`attribute ${type}: ${value.length} octets is over the RADIUS maximum of ${MAX_ATTRIBUTE_VALUE}`);
  const attribute = Buffer.allocUnsafe(2 + value.length);
  attribute[0] = type;
  attribute[1] = 2 + value.length;
  value.copy(attribute, 2);
  return attribute;
}

/** RFC 2865 §5.1 and §5.31. */
const ATTR_USER_NAME = 1;
const ATTR_CALLING_STATION_ID = 31;

/** What the EAP side reads of an Access-Request: nothing else of it matters to 802.1X. */
export interface EapRequestAttributes {
  /** The EAP-Message values joined in the order they came (RFC 3579 §3.1); undefined without any. */
  readonly eap: Buffer | undefined;
  /** The first State (RFC 2865 §5.24): the conversation it continues. */
  readonly state: Buffer | undefined;
  /** The first User-Name and Calling-Station-Id, as UTF-8 text. */
  readonly userName: string | undefined;
  readonly station: string | undefined;
}

/**
 * The attributes 802.1X needs from an Access-Request, read straight from its bytes up to
 * its Length: EAP-Message, State, User-Name and Calling-Station-Id. Decoding every
 * attribute with the radius package's dictionary took about 3 % of a RADIUS worker's busy
 * time under EAP-TLS load (bench:eap), for two strings. The server has checked the
 * attributes' layout already (packet.ts scanPacket); it is checked again here so that
 * this stands on its own: a layout that does not add up is a problem, never a guess.
 */
export function readEapRequest(raw: Buffer, length: number): { ok: true; attributes: EapRequestAttributes } | { ok: false; problem: string } {
  if (length < RADIUS_HEADER || length > raw.length) return { ok: false, problem: `a RADIUS Length of ${length} for ${raw.length} octets` };
  if (length > RADIUS_MAX_LENGTH) return { ok: false, problem: `a RADIUS packet of ${length} octets, over the maximum of ${RADIUS_MAX_LENGTH}` };
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let state: Buffer | undefined;
  let userName: string | undefined;
  let station: string | undefined;
  for (let at = RADIUS_HEADER; at < length; ) {
    if (at + 2 > length) return { ok: false, problem: `an attribute cut short at octet ${at}` };
    const type = raw[at]!;
    const len = raw[at + 1]!;
    if (len < 2) return { ok: false, problem: `attribute ${type} at octet ${at} has a length of ${len}, below its own 2 octets` };
    if (at + len > length) return { ok: false, problem: `attribute ${type} at octet ${at} runs ${at + len - length} octets past the packet` };
    if (type === ATTR_EAP_MESSAGE) {
      const value = raw.subarray(at + 2, at + len);
      if (first === undefined) first = value;
      else (more ??= [first]).push(value);
    } else if (type === ATTR_STATE) state ??= raw.subarray(at + 2, at + len);
    else if (type === ATTR_USER_NAME) userName ??= raw.toString('utf8', at + 2, at + len);
    else if (type === ATTR_CALLING_STATION_ID) station ??= raw.toString('utf8', at + 2, at + len);
    at += len;
  }
  // One attribute (an EAP packet of up to 253 octets) is read in place; more are joined.
  return { ok: true, attributes: { eap: more ? Buffer.concat(more) : first, state, userName, station } };
}

/** Whether an Access-Request carries EAP (an EAP-Message attribute): then it is 802.1X's (RFC 3579 §3.1). */
export function carriesEap(raw: Buffer, length: number): boolean {
  for (let at = RADIUS_HEADER; at + 2 <= length; ) {
    if (raw[at] === ATTR_EAP_MESSAGE) return true;
    const len = raw[at + 1]!;
    if (len < 2) return false;
    at += len;
  }
  return false;
}
