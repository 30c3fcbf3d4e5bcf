/**
 * OCSP (RFC 6960) as bytes in and bytes out: reading a request, deciding which of its
 * certificates are the gateway CA's, and building the signed answer. Pure but for the
 * signature, which OpenSSL computes with the CA's key (node:crypto).
 *
 * The CA signs its answers itself (RFC 6960 §4.2.2.2, the first case): its key is
 * online anyway, since it issues device identities, so a delegated responder
 * certificate would protect nothing and would be one more certificate for clients
 * to check and for the gateway to renew.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  KeyHash,
} from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, CRLReason, Extension } from '@peculiar/asn1-x509';
import { DER_NULL, SHA256_WITH_RSA, type CaFacts } from './ca-facts.js';
import type { CrlReasonCode } from './revocation-reasons.js';
import { serialFromBytes } from './serial.js';

/** The largest OCSP request read (a request for one certificate is ~100 bytes; clients batch a few). */
export const MAX_OCSP_REQUEST_BYTES = 8 * 1024;
/** Certificates answered in one request; more is a malformed request. */
export const MAX_OCSP_CERTIFICATES = 20;
// RFC 8954 §2.1: a responder must accept nonces of 16 to 32 octets and must not
// accept more than 128; shorter ones are echoed too (OpenSSL's own are 16).
const MAX_NONCE_OCTETS = 128;

/** The hash algorithms a CertID may use (RFC 6960 §4.1.1 names SHA-1; RFC 5019 clients use it, others SHA-256). */
const CERT_ID_HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** The request could not be read: answer malformedRequest (RFC 6960 §2.3). */
export class MalformedOcspRequest extends Error {}

/** One certificate asked about. */
export interface OcspQuestion {
  readonly certId: CertID;
  /** Canonical serial, when the CertID names the gateway's CA (issuer name and key hashes match); else undefined (the answer is unknown). */
  readonly serial?: string;
}

export interface ParsedOcspRequest {
  readonly questions: readonly OcspQuestion[];
  /** The request's nonce extension (RFC 8954), echoed as it came. */
  readonly nonce?: Extension;
}

/** Reads a DER OCSPRequest; throws MalformedOcspRequest for anything that is not one. */
export function parseOcspRequest(der: Uint8Array, ca: CaFacts): ParsedOcspRequest {
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(der, OCSPRequest);
  } catch (cause) {
    throw new MalformedOcspRequest('not a DER OCSPRequest', { cause });
  }
  const list = request.tbsRequest.requestList;
  if (list.length === 0 || list.length > MAX_OCSP_CERTIFICATES) throw new MalformedOcspRequest(`asks about ${list.length} certificates (1 to ${MAX_OCSP_CERTIFICATES})`);
  const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  if (nonce) {
    let value: OctetString;
    try {
      value = AsnConvert.parse(nonce.extnValue, OctetString);
    } catch (cause) {
      throw new MalformedOcspRequest('a nonce that is not an OCTET STRING', { cause });
    }
    if (value.byteLength < 1 || value.byteLength > MAX_NONCE_OCTETS) throw new MalformedOcspRequest(`a nonce of ${value.byteLength} octets (1 to ${MAX_NONCE_OCTETS})`);
  }
  const questions = list.map((r) => {
    const serial = isOurs(r.reqCert, ca) ? serialOf(r.reqCert) : undefined;
    return { certId: r.reqCert, ...(serial !== undefined ? { serial } : {}) };
  });
  return { questions, ...(nonce ? { nonce } : {}) };
}

/** What the gateway knows of one certificate. */
export type OcspStatus = { readonly kind: 'good' } | { readonly kind: 'revoked'; readonly at: Date; readonly reason: CrlReasonCode } | { readonly kind: 'unknown' };

export interface OcspAnswer {
  readonly certId: CertID;
  readonly status: OcspStatus;
}

/** The signed, successful answer (DER OCSPResponse with a BasicOCSPResponse). */
export function buildOcspResponse(
  ca: CaFacts,
  key: KeyObject,
  o: { readonly answers: readonly OcspAnswer[]; readonly producedAt: Date; readonly nextUpdate: Date; readonly nonce?: Extension },
): Buffer {
  const producedAt = wholeSeconds(o.producedAt);
  const data = new ResponseData({
    // RFC 6960 §4.2.2.3: byKey, the SHA-1 of the CA's public key bits.
    responderID: new ResponderID({ byKey: new KeyHash(createHash('sha1').update(ca.publicKeyBits).digest()) }),
    producedAt,
    responses: o.answers.map(
      (a) =>
        new SingleResponse({
          certID: a.certId,
          certStatus: certStatus(a.status),
          thisUpdate: producedAt,
          // No nextUpdate on unknown: there is nothing a client should cache about it.
          ...(a.status.kind === 'unknown' ? {} : { nextUpdate: wholeSeconds(o.nextUpdate) }),
        }),
    ),
    ...(o.nonce ? { responseExtensions: [o.nonce] } : {}),
  });
  const tbs = Buffer.from(AsnConvert.serialize(data));
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: DER_NULL }),
    signature: toArrayBuffer(sign('sha256', tbs, key)),
  });
  return Buffer.from(
    AsnConvert.serialize(
      new OCSPResponse({
        responseStatus: OCSPResponseStatus.successful,
        responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
      }),
    ),
  );
}

/** An unsigned error answer (RFC 6960 §4.2.1: no responseBytes), such as malformedRequest or internalError. */
export function ocspErrorResponse(status: OCSPResponseStatus.malformedRequest | OCSPResponseStatus.internalError | OCSPResponseStatus.tryLater): Buffer {
  return Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })));
}

export { OCSPResponseStatus };

function certStatus(status: OcspStatus): CertStatus {
  switch (status.kind) {
    case 'good':
      return new CertStatus({ good: null });
    case 'unknown':
      return new CertStatus({ unknown: null });
    case 'revoked':
      return new CertStatus({
        revoked: new RevokedInfo({
          revocationTime: wholeSeconds(status.at),
          // RFC 5280 §5.3.1: unspecified is left out, as on the CRL.
          ...(status.reason === 0 ? {} : { revocationReason: new CRLReason(status.reason) }),
        }),
      });
  }
}

/** RFC 6960 §4.1.1: the CertID names the issuer by the hashes of its name and key, in the request's algorithm. */
function isOurs(id: CertID, ca: CaFacts): boolean {
  const algorithm = CERT_ID_HASHES[id.hashAlgorithm.algorithm];
  if (algorithm === undefined) return false;
  const nameHash = createHash(algorithm).update(ca.nameDer).digest();
  const keyHash = createHash(algorithm).update(ca.publicKeyBits).digest();
  return nameHash.equals(Buffer.from(id.issuerNameHash.buffer)) && keyHash.equals(Buffer.from(id.issuerKeyHash.buffer));
}

function serialOf(id: CertID): string | undefined {
  try {
    return serialFromBytes(new Uint8Array(id.serialNumber));
  } catch {
    // Empty or longer than any serial: not a certificate of ours.
    return undefined;
  }
}

/** GeneralizedTime in DER has no fractional seconds here (RFC 5280 §4.1.2.5.2 for certificates; OpenSSL prints them oddly). */
function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
