/**
 * EAP packets (RFC 3748 §4) and how they travel in RADIUS (RFC 3579 §3.1): pure
 * functions on bytes, no state.
 */

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

/**
 * The EAP packet and State of an Access-Request, from its raw bytes (already checked
 * by scanPacket: every attribute length is within the packet). EAP-Message values
 * are concatenated in the order they came (RFC 3579 §3.1).
 */
export function eapOfRequest(raw: Buffer, length: number): { eap: Buffer | undefined; state: Buffer | undefined } {
  const parts: Buffer[] = [];
  let state: Buffer | undefined;
  for (let at = 20; at + 2 <= length; ) {
    const type = raw[at]!;
    const len = raw[at + 1]!;
    if (len < 2) break;
    if (type === ATTR_EAP_MESSAGE) parts.push(raw.subarray(at + 2, at + len));
    else if (type === ATTR_STATE && state === undefined) state = raw.subarray(at + 2, at + len);
    at += len;
  }
  return { eap: parts.length ? Buffer.concat(parts) : undefined, state };
}
