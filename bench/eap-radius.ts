import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The RADIUS side of the benchmark's EAP peer, as pure functions over bytes (no socket):
 * an Access-Request carrying an EAP packet (RFC 3579), the checks of every answer, and
 * the MS-MPPE keys of an Access-Accept (RFC 2548). Written apart from src/ so that it
 * can catch the server's mistakes.
 */

export const Code = { AccessRequest: 1, AccessAccept: 2, AccessReject: 3, AccessChallenge: 11 } as const;

const ATTR = {
  UserName: 1,
  NasIpAddress: 4,
  ServiceType: 6,
  FramedMtu: 12,
  VendorSpecific: 26,
  State: 24,
  CallingStationId: 31,
  NasIdentifier: 32,
  NasPortType: 61,
  EapMessage: 79,
  MessageAuthenticator: 80,
} as const;
const MICROSOFT = 311;
const MS_MPPE_SEND_KEY = 16;
const MS_MPPE_RECV_KEY = 17;
/** RFC 2865 §5: an attribute holds at most 253 octets of value. */
const MAX_VALUE = 253;

function attribute(type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

/** What a NAS says about the device in every Access-Request of a conversation. */
export interface NasFields {
  userName: string;
  /** aa-bb-cc-dd-ee-ff, as the NAS writes the device's MAC. */
  callingStationId: string;
  nasIdentifier: string;
  /** The MTU the device's link carries (the server sizes its EAP fragments below it). */
  framedMtu: number;
}

/**
 * An Access-Request carrying `eap` in EAP-Message attributes of at most 253 octets, with
 * the State of the previous Access-Challenge echoed and a Message-Authenticator (RFC 3579
 * §3.2: required with EAP-Message). Returns the bytes and its Request Authenticator.
 */
export function accessRequest(identifier: number, secret: string, nas: NasFields, eap: Buffer, state?: Buffer): { bytes: Buffer; authenticator: Buffer } {
  const parts: Buffer[] = [
    attribute(ATTR.MessageAuthenticator, Buffer.alloc(16)),
    attribute(ATTR.UserName, Buffer.from(nas.userName)),
    attribute(ATTR.CallingStationId, Buffer.from(nas.callingStationId)),
    attribute(ATTR.NasIpAddress, Buffer.from([127, 0, 0, 1])),
    attribute(ATTR.NasIdentifier, Buffer.from(nas.nasIdentifier)),
    attribute(ATTR.NasPortType, Buffer.from([0, 0, 0, 19])), // Wireless-802.11
    attribute(ATTR.ServiceType, Buffer.from([0, 0, 0, 2])), // Framed
    attribute(ATTR.FramedMtu, u32(nas.framedMtu)),
  ];
  for (let at = 0; at < eap.length; at += MAX_VALUE) parts.push(attribute(ATTR.EapMessage, eap.subarray(at, at + MAX_VALUE)));
  if (state) parts.push(attribute(ATTR.State, state));
  const authenticator = randomBytes(16);
  const bytes = Buffer.concat([Buffer.from([Code.AccessRequest, identifier, 0, 0]), authenticator, ...parts]);
  bytes.writeUInt16BE(bytes.length, 2);
  // The Message-Authenticator is the first attribute, at offset 20 + 2.
  createHmac('md5', secret).update(bytes).digest().copy(bytes, 22);
  return { bytes, authenticator };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** An answer that passed its checks, with what the EAP peer needs from it. */
export interface Answer {
  code: number;
  identifier: number;
  /** The EAP-Message attributes, concatenated (RFC 3579 §3.1). */
  eap: Buffer;
  state?: Buffer;
  /** Encrypted MS-MPPE-Recv-Key / Send-Key values (salt first), if present. */
  mppeRecv?: Buffer;
  mppeSend?: Buffer;
}

/**
 * Checks an answer to the request whose authenticator is `requestAuthenticator`:
 * its length, its Response Authenticator (RFC 2865 §3) and its Message-Authenticator
 * (RFC 3579 §3.2, computed with the request's authenticator in the header), which every
 * answer carrying EAP must have. Returns the answer, or why it is wrong.
 */
export function checkAnswer(bytes: Buffer, requestAuthenticator: Buffer, secret: string): Answer | string {
  if (bytes.length < 20 || bytes.readUInt16BE(2) > bytes.length || bytes.readUInt16BE(2) < 20) return 'bad length';
  const packet = Buffer.from(bytes.subarray(0, bytes.readUInt16BE(2)));
  const responseAuthenticator = Buffer.from(packet.subarray(4, 20));
  requestAuthenticator.copy(packet, 4);
  const expected = createHash('md5').update(packet).update(secret).digest();
  if (!timingSafeEqual(expected, responseAuthenticator)) return 'bad Response Authenticator';

  const answer: Answer = { code: packet[0]!, identifier: packet[1]!, eap: Buffer.alloc(0) };
  const eap: Buffer[] = [];
  let messageAuthenticatorAt = -1;
  for (let at = 20; at < packet.length; ) {
    const type = packet[at]!;
    const length = packet[at + 1]!;
    if (length < 2 || at + length > packet.length) return 'bad attribute length';
    const value = packet.subarray(at + 2, at + length);
    if (type === ATTR.EapMessage) eap.push(value);
    else if (type === ATTR.State) answer.state = Buffer.from(value);
    else if (type === ATTR.MessageAuthenticator) {
      if (length !== 18 || messageAuthenticatorAt >= 0) return 'bad Message-Authenticator attribute';
      messageAuthenticatorAt = at + 2;
    } else if (type === ATTR.VendorSpecific && value.length >= 6 && value.readUInt32BE(0) === MICROSOFT) {
      // One or more vendor sub-attributes: type, length, value.
      for (let v = 4; v + 2 <= value.length; ) {
        const vType = value[v]!;
        const vLength = value[v + 1]!;
        if (vLength < 2 || v + vLength > value.length) return 'bad vendor attribute length';
        if (vType === MS_MPPE_RECV_KEY) answer.mppeRecv = Buffer.from(value.subarray(v + 2, v + vLength));
        if (vType === MS_MPPE_SEND_KEY) answer.mppeSend = Buffer.from(value.subarray(v + 2, v + vLength));
        v += vLength;
      }
    }
    at += length;
  }
  if (messageAuthenticatorAt < 0) return 'no Message-Authenticator';
  const received = Buffer.from(packet.subarray(messageAuthenticatorAt, messageAuthenticatorAt + 16));
  packet.fill(0, messageAuthenticatorAt, messageAuthenticatorAt + 16);
  if (!timingSafeEqual(createHmac('md5', secret).update(packet).digest(), received)) return 'bad Message-Authenticator';
  answer.eap = Buffer.concat(eap);
  return answer;
}

/**
 * Decrypts an MS-MPPE-Send-Key or -Recv-Key value (RFC 2548 §2.4.2/§2.4.3): a 2-octet
 * salt with its high bit set, then the key length octet, the key and padding, XORed 16
 * octets at a time with b1 = MD5(secret + Request Authenticator + salt),
 * bi = MD5(secret + c(i-1)). Returns the key, or why the value is wrong.
 */
export function decryptMppeKey(value: Buffer, secret: string, requestAuthenticator: Buffer): Buffer | string {
  if (value.length < 2 + 16 || (value.length - 2) % 16 !== 0) return 'bad MPPE key length';
  const salt = value.subarray(0, 2);
  if ((salt[0]! & 0x80) === 0) return 'MPPE salt without its high bit';
  const cipher = value.subarray(2);
  const plain = Buffer.alloc(cipher.length);
  let previous: Buffer = Buffer.concat([requestAuthenticator, salt]);
  for (let at = 0; at < cipher.length; at += 16) {
    const b = createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < 16; i++) plain[at + i] = cipher[at + i]! ^ b[i]!;
    previous = cipher.subarray(at, at + 16);
  }
  const length = plain[0]!;
  if (length + 1 > plain.length) return 'bad MPPE key length octet';
  return plain.subarray(1, 1 + length);
}
