import { isIP } from 'node:net';
import { authenticatorMd5, Code, equal, messageAuthenticator, scanPacket } from './packet.js';

/**
 * RFC 5176 Disconnect and CoA requests, built by us (the Dynamic Authorization
 * Client) for a router, and the router's ACK/NAK checked on raw bytes. Pure: no
 * sockets, no state, no clock. The `radius` package is not used here: it computes
 * Message-Authenticator before zeroing the authenticator (docs/dependencies.md) and
 * compares digests as strings.
 */

const HEADER = 20;
const AUTH_OFFSET = 4;
const MAX_LENGTH = 4096;

/** RFC 2865 §5, RFC 3162, RFC 3579, RFC 5176 §3.5 attribute types used here. */
const ATTR = {
  NasIpAddress: 4,
  SessionTimeout: 27,
  CallingStationId: 31,
  AcctSessionId: 44,
  VendorSpecific: 26,
  MessageAuthenticator: 80,
  ErrorCause: 101,
} as const;

/** Cisco's IANA enterprise number and its Cisco-AVPair sub-attribute. */
const VENDOR_CISCO = 9;
const CISCO_AVPAIR = 1;

export type DynamicAuthorizationKind = 'coa' | 'disconnect';

const REQUEST_CODE: Readonly<Record<DynamicAuthorizationKind, number>> = { coa: Code.CoaRequest, disconnect: Code.DisconnectRequest };
const ACK_CODE: Readonly<Record<number, number>> = { [Code.CoaRequest]: Code.CoaAck, [Code.DisconnectRequest]: Code.DisconnectAck };
const NAK_CODE: Readonly<Record<number, number>> = { [Code.CoaRequest]: Code.CoaNak, [Code.DisconnectRequest]: Code.DisconnectNak };

/** RFC 5176 §3.5 Error-Cause values, for logs. */
export const ERROR_CAUSES: Readonly<Record<number, string>> = {
  201: 'Residual-Session-Context-Removed',
  202: 'Invalid-EAP-Packet',
  401: 'Unsupported-Attribute',
  402: 'Missing-Attribute',
  403: 'NAS-Identification-Mismatch',
  404: 'Invalid-Request',
  405: 'Unsupported-Service',
  406: 'Unsupported-Extension',
  407: 'Invalid-Attribute-Value',
  501: 'Administratively-Prohibited',
  502: 'Request-Not-Routable',
  503: 'Session-Context-Not-Found',
  504: 'Session-Context-Not-Removable',
  505: 'Other-Proxy-Processing-Error',
  506: 'Resources-Unavailable',
  507: 'Request-Initiated',
  508: 'Multiple-Session-Selection-Unsupported',
};

function attribute(type: number, value: Buffer): Buffer {
  if (value.length < 1 || value.length > 253) throw new Error(`attribute ${type}: a value of ${value.length} octets does not fit (1–253)`);
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

function text(type: number, value: string): Buffer {
  return attribute(type, Buffer.from(value, 'utf8'));
}

/** Which session on the router a request is about (RFC 5176 §3: NAS and session identification attributes). */
export interface SessionSelector {
  /** Calling-Station-Id, e.g. AA-BB-CC-DD-EE-FF. */
  readonly callingStationId: string;
  /** Acct-Session-Id, when the router's accounting told us. */
  readonly acctSessionId?: string;
  /** The router's own NAS-IP-Address (IPv4) from its accounting. */
  readonly nasIp?: string;
}

/**
 * The identification attributes. RFC 5176 §3: NAS-IP-Address is only sent as the
 * router itself reported it, since a mismatch is NAKed (403 NAS-Identification-Mismatch).
 */
export function selectorAttributes(s: SessionSelector): Buffer[] {
  const out: Buffer[] = [];
  if (s.nasIp && isIP(s.nasIp) === 4) out.push(attribute(ATTR.NasIpAddress, Buffer.from(s.nasIp.split('.').map(Number))));
  out.push(text(ATTR.CallingStationId, s.callingStationId));
  if (s.acctSessionId) out.push(text(ATTR.AcctSessionId, s.acctSessionId));
  return out;
}

/** Session-Timeout (RFC 2865 §5.27), whole seconds. */
export function sessionTimeoutAttribute(seconds: number): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(seconds))));
  return attribute(ATTR.SessionTimeout, v);
}

/** A Cisco-AVPair (Vendor-Specific, vendor 9, sub-type 1, string; RFC 2865 §5.26 layout). */
export function ciscoAvPair(value: string): Buffer {
  const v = Buffer.from(value, 'utf8');
  if (v.length > 247) throw new Error('Cisco-AVPair value too long');
  const vsa = Buffer.alloc(6 + v.length);
  vsa.writeUInt32BE(VENDOR_CISCO, 0);
  vsa[4] = CISCO_AVPAIR;
  vsa[5] = v.length + 2;
  v.copy(vsa, 6);
  return attribute(ATTR.VendorSpecific, vsa);
}

/** Cisco WLC (AireOS, 9800): re-run authentication for the session with its last method (the device gets our Accept now). */
export function ciscoReauthenticate(): Buffer[] {
  return [ciscoAvPair('subscriber:command=reauthenticate'), ciscoAvPair('subscriber:reauthenticate-type=last')];
}

export interface DynamicAuthorizationRequestSpec {
  readonly kind: DynamicAuthorizationKind;
  readonly identifier: number;
  readonly secret: string;
  /** Encoded attributes, in order (selectorAttributes, ciscoReauthenticate, …). */
  readonly attributes: readonly Buffer[];
  /** Add a Message-Authenticator (RFC 5176 §3.5 allows it; default true). */
  readonly messageAuthenticator?: boolean;
}

/**
 * A Disconnect-Request or CoA-Request. RFC 5176 §3.5: with the authenticator field
 * zeroed, Message-Authenticator = HMAC-MD5(secret, packet with its value zeroed);
 * then Request Authenticator = MD5(Code+Identifier+Length+16 zero octets+Attributes+Secret).
 */
export function encodeDynamicAuthorizationRequest(spec: DynamicAuthorizationRequestSpec): Buffer {
  if (!Number.isInteger(spec.identifier) || spec.identifier < 0 || spec.identifier > 255) throw new Error(`identifier ${spec.identifier} is not an octet`);
  const withMa = spec.messageAuthenticator ?? true;
  const packet = Buffer.concat([
    Buffer.alloc(HEADER),
    ...(withMa ? [attribute(ATTR.MessageAuthenticator, Buffer.alloc(16))] : []),
    ...spec.attributes,
  ]);
  if (packet.length > MAX_LENGTH) throw new Error(`request would be ${packet.length} octets, over the RADIUS maximum of ${MAX_LENGTH}`);
  packet[0] = REQUEST_CODE[spec.kind];
  packet[1] = spec.identifier;
  packet.writeUInt16BE(packet.length, 2);
  if (withMa) {
    const at = HEADER + 2;
    messageAuthenticator(packet, packet.length, at, spec.secret).copy(packet, at);
  }
  // The authenticator field is still zeros here.
  authenticatorMd5(packet, packet.length, spec.secret).copy(packet, AUTH_OFFSET);
  return packet;
}

/** What the router answered. */
export type DynamicAuthorizationReply = { readonly result: 'ack' } | { readonly result: 'nak'; readonly errorCause?: number };

/** Why a datagram is not the answer to a request. */
export type ReplyProblem = 'malformed' | 'other_identifier' | 'unexpected_code' | 'bad_authenticator' | 'bad_message_authenticator';

export type ReplyCheck = { ok: true; reply: DynamicAuthorizationReply } | { ok: false; problem: ReplyProblem };

/**
 * Checks a datagram against the request it may answer: its identifier, an ACK or NAK
 * code for that request, Response Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret)
 * and, when present, Message-Authenticator computed with the request's authenticator
 * in the header; all compared in constant time. Error-Cause (RFC 5176 §3.5) is read from a NAK.
 */
export function checkDynamicAuthorizationReply(raw: Buffer, request: Buffer, secret: string): ReplyCheck {
  const scan = scanPacket(raw);
  if (!scan.ok) return { ok: false, problem: 'malformed' };
  const p = scan.packet;
  if (p.identifier !== request[1]) return { ok: false, problem: 'other_identifier' };
  const requestCode = request[0]!;
  if (p.code !== ACK_CODE[requestCode] && p.code !== NAK_CODE[requestCode]) return { ok: false, problem: 'unexpected_code' };
  const requestAuthenticator = request.subarray(AUTH_OFFSET, HEADER);
  if (!equal(authenticatorMd5(raw, p.length, secret, requestAuthenticator), p.authenticator)) return { ok: false, problem: 'bad_authenticator' };
  if (p.messageAuthenticatorAt >= 0) {
    const ma = messageAuthenticator(raw, p.length, p.messageAuthenticatorAt, secret, Buffer.from(requestAuthenticator));
    if (!equal(ma, raw.subarray(p.messageAuthenticatorAt, p.messageAuthenticatorAt + 16))) {
      return { ok: false, problem: 'bad_message_authenticator' };
    }
  }
  if (p.code === ACK_CODE[requestCode]) return { ok: true, reply: { result: 'ack' } };
  const errorCause = findErrorCause(raw, p.length);
  return { ok: true, reply: errorCause === undefined ? { result: 'nak' } : { result: 'nak', errorCause } };
}

/** The first Error-Cause (type 101, a 4-octet integer) of a well-formed packet. */
function findErrorCause(raw: Buffer, length: number): number | undefined {
  for (let at = HEADER; at + 2 <= length; at += raw[at + 1]!) {
    if (raw[at] === ATTR.ErrorCause && raw[at + 1] === 6) return raw.readUInt32BE(at + 2);
  }
  return undefined;
}

