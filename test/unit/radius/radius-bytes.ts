import { createHash, createHmac } from 'node:crypto';

/**
 * A tiny RADIUS encoder written for the tests, independent of src/radius and of the
 * `radius` package: packets are assembled byte by byte and signed with node:crypto
 * straight from the RFC formulas, so a test compares the gateway against the
 * specification and not against itself.
 */

/** RFC 2865 §5 / RFC 2866 §5 / RFC 2869 §5 attribute types used in the tests. */
export const A = {
  UserName: 1,
  UserPassword: 2,
  NasIpAddress: 4,
  ServiceType: 6,
  FramedIpAddress: 8,
  SessionTimeout: 27,
  CalledStationId: 30,
  CallingStationId: 31,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctSessionTime: 46,
  AcctTerminateCause: 49,
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  TunnelType: 64,
  TunnelMediumType: 65,
  MessageAuthenticator: 80,
  TunnelPrivateGroupId: 81,
} as const;

/** Acct-Status-Type values (RFC 2866 §5.1). */
export const Status = { Start: 1, Stop: 2, InterimUpdate: 3, AccountingOn: 7, AccountingOff: 8 } as const;

/** One attribute: type, length, value. Numbers are 32-bit integers; strings are UTF-8. */
export function attr(type: number, value: Buffer | string | number): Buffer {
  let v: Buffer;
  if (typeof value === 'number') {
    v = Buffer.alloc(4);
    v.writeUInt32BE(value);
  } else {
    v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  if (v.length > 253) throw new Error('attribute value too long');
  return Buffer.concat([Buffer.from([type, v.length + 2]), v]);
}

/** An IPv4 address attribute (Framed-IP-Address, NAS-IP-Address). */
export function ipAttr(type: number, ip: string): Buffer {
  return attr(type, Buffer.from(ip.split('.').map(Number)));
}

/** A Message-Authenticator placeholder (16 zero octets), filled in by a sign function. */
export function maPlaceholder(): Buffer {
  return attr(A.MessageAuthenticator, Buffer.alloc(16));
}

/** Header + attributes, with the Length field set to the real length. */
export function assemble(code: number, identifier: number, authenticator: Buffer, attributes: readonly Buffer[]): Buffer {
  const body = Buffer.concat(attributes);
  const header = Buffer.alloc(20);
  header[0] = code;
  header[1] = identifier;
  header.writeUInt16BE(20 + body.length, 2);
  authenticator.copy(header, 4);
  return Buffer.concat([header, body]);
}

export interface WalkedAttribute {
  readonly type: number;
  /** Offset of the attribute's type octet. */
  readonly at: number;
  readonly value: Buffer;
}

/** The attributes of a well-formed packet, in order (up to its Length field). */
export function walk(raw: Buffer): WalkedAttribute[] {
  const length = raw.readUInt16BE(2);
  const out: WalkedAttribute[] = [];
  for (let at = 20; at < length; ) {
    const len = raw[at + 1]!;
    if (len < 2) throw new Error(`attribute at ${at} has length ${len}`);
    out.push({ type: raw[at]!, at, value: Buffer.from(raw.subarray(at + 2, at + len)) });
    at += len;
  }
  return out;
}

function maValueOffset(raw: Buffer): number {
  const ma = walk(raw).find((a) => a.type === A.MessageAuthenticator);
  return ma ? ma.at + 2 : -1;
}

/** RFC 3579 §3.2: HMAC-MD5(secret, packet with the MA value zeroed and `headerAuth` in the header). */
export function hmacOver(raw: Buffer, secret: string, headerAuth: Buffer): Buffer {
  const copy = Buffer.from(raw.subarray(0, raw.readUInt16BE(2)));
  headerAuth.copy(copy, 4);
  const at = maValueOffset(copy);
  if (at >= 0) copy.fill(0, at, at + 16);
  return createHmac('md5', secret).update(copy).digest();
}

/** Fills in the Message-Authenticator of an Access-Request or Status-Server (random authenticator kept). */
export function signAccessRequest(raw: Buffer, secret: string): Buffer {
  const out = Buffer.from(raw);
  const at = maValueOffset(out);
  if (at < 0) throw new Error('no Message-Authenticator to sign');
  hmacOver(out, secret, out.subarray(4, 20)).copy(out, at);
  return out;
}

/**
 * RFC 2866 §3: Request Authenticator = MD5(Code+ID+Length+16 zero octets+Attributes+Secret).
 * A Message-Authenticator, if present, is computed first over the zeroed authenticator.
 */
export function signAccountingRequest(raw: Buffer, secret: string): Buffer {
  const out = Buffer.from(raw);
  out.fill(0, 4, 20);
  const at = maValueOffset(out);
  if (at >= 0) hmacOver(out, secret, Buffer.alloc(16)).copy(out, at);
  createHash('md5').update(out).update(secret).digest().copy(out, 4);
  return out;
}

/** RFC 2865 §3: the Response Authenticator a response must carry for this request authenticator. */
export function expectedResponseAuthenticator(response: Buffer, requestAuth: Buffer, secret: string): Buffer {
  const copy = Buffer.from(response.subarray(0, response.readUInt16BE(2)));
  requestAuth.copy(copy, 4);
  return createHash('md5').update(copy).update(secret).digest();
}

/** A fixed, recognisable 16-octet request authenticator. */
export function fixedAuthenticator(seed = 0x10): Buffer {
  return Buffer.from(Array.from({ length: 16 }, (_, i) => (seed + i * 7) & 0xff));
}

/** A signed MAC-authentication Access-Request, as a router sends it. */
export function macAuthRequest(options: {
  secret: string;
  identifier?: number;
  userName?: string;
  callingStationId?: string;
  withMa?: boolean;
  extra?: readonly Buffer[];
  authenticator?: Buffer;
}): Buffer {
  const attributes = [
    ...(options.withMa === false ? [] : [maPlaceholder()]),
    ...(options.userName !== undefined ? [attr(A.UserName, options.userName)] : []),
    ...(options.callingStationId !== undefined ? [attr(A.CallingStationId, options.callingStationId)] : []),
    ...(options.extra ?? []),
  ];
  const raw = assemble(1, options.identifier ?? 42, options.authenticator ?? fixedAuthenticator(), attributes);
  return options.withMa === false ? raw : signAccessRequest(raw, options.secret);
}
