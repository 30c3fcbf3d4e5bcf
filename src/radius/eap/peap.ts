import { EapCode, EapType } from './eap-packet.js';

/**
 * What travels inside a PEAPv0 tunnel (draft-josefsson-pppext-eap-tls-eap-05 and
 * [MS-PEAP] §2.2): EAP packets without their 4-octet header (Code, Identifier,
 * Length), just the Type and its data, except EAP-TLV (type 33, the Extensions
 * method of [MS-PEAP]), which keeps its header. The Result TLV ([MS-PEAP] §2.2.8.1)
 * ends the inner conversation: the server says Success or Failure, the peer says the
 * same back. Pure.
 */
export const EAP_TLV = 33;
/** The Result TLV: the M (mandatory) bit with type 3, a 2-octet length, then the status. */
const RESULT_TLV_TYPE = 3;
const MANDATORY = 0x8000;
const TLV_TYPE_MASK = 0x3fff;
export const TlvResult = { Success: 1, Failure: 2 } as const;

/** One inner EAP packet as the server sends it inside the tunnel. */
export function innerRequest(type: number, data: Buffer, identifier: number): Buffer {
  if (type !== EAP_TLV) return Buffer.concat([Buffer.from([type]), data]);
  const out = Buffer.allocUnsafe(5 + data.length);
  out[0] = EapCode.Request;
  out[1] = identifier & 0xff;
  out.writeUInt16BE(out.length, 2);
  out[4] = EAP_TLV;
  data.copy(out, 5);
  return out;
}

/**
 * One inner EAP response as the peer sent it: EAP-TLV with its header (Code Response,
 * a Length that fits), anything else as Type and data.
 */
export function parseInnerResponse(bytes: Buffer): { ok: true; type: number; data: Buffer } | { ok: false; problem: string } {
  if (bytes.length === 0) return { ok: false, problem: 'an empty EAP packet inside the tunnel' };
  if (bytes.length >= 5 && bytes[0] === EapCode.Response && bytes[4] === EAP_TLV) {
    if (bytes.readUInt16BE(2) !== bytes.length) return { ok: false, problem: `an EAP-TLV inside the tunnel whose Length says ${bytes.readUInt16BE(2)} octets but ${bytes.length} arrived` };
    return { ok: true, type: EAP_TLV, data: bytes.subarray(5) };
  }
  return { ok: true, type: bytes[0]!, data: bytes.subarray(1) };
}

/** The type-data of an EAP-TLV packet holding one Result TLV. */
export function resultTlv(status: (typeof TlvResult)[keyof typeof TlvResult]): Buffer {
  const out = Buffer.alloc(6);
  out.writeUInt16BE(MANDATORY | RESULT_TLV_TYPE, 0);
  out.writeUInt16BE(2, 2);
  out.writeUInt16BE(status, 4);
  return out;
}

/**
 * The status of the Result TLV in a peer's EAP-TLV. Other TLVs are skipped unless
 * marked mandatory ([MS-PEAP] §2.2.8: an unknown mandatory TLV is refused).
 */
export function parseResultTlv(data: Buffer): { ok: true; status: number } | { ok: false; problem: string } {
  let status: number | undefined;
  for (let at = 0; at < data.length; ) {
    if (at + 4 > data.length) return { ok: false, problem: 'a TLV header cut short' };
    const head = data.readUInt16BE(at);
    const length = data.readUInt16BE(at + 2);
    if (at + 4 + length > data.length) return { ok: false, problem: `a TLV of type ${head & TLV_TYPE_MASK} whose length ${length} does not fit` };
    const type = head & TLV_TYPE_MASK;
    if (type === RESULT_TLV_TYPE && length === 2) status = data.readUInt16BE(at + 4);
    else if (head & MANDATORY) return { ok: false, problem: `an unknown mandatory TLV of type ${type}` };
    at += 4 + length;
  }
  return status === undefined ? { ok: false, problem: 'an EAP-TLV without a Result TLV' } : { ok: true, status };
}

/** The inner Identity request: the Type alone. */
export function innerIdentityRequest(): Buffer {
  return innerRequest(EapType.Identity, Buffer.alloc(0), 0);
}
