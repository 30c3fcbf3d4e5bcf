/**
 * Builds the gateway CA's certificate revocation list (RFC 5280 §5): a v2 CRL with
 * thisUpdate, nextUpdate, a CRL number and the CA's key identifier, one entry per
 * revoked certificate with its reason. Pure: entries and times in, signed DER out;
 * the signature is computed by OpenSSL (node:crypto) with the CA's key.
 */
import { sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  CertificateList,
  CRLNumber,
  CRLReason,
  Extension,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  KeyIdentifier,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
} from '@peculiar/asn1-x509';
import { DER_NULL, SHA256_WITH_RSA, type CaFacts } from './ca-facts.js';
import { CRL_REASON, type RevokedCertificateEntry } from './revocation-reasons.js';
import { serialBytes } from './serial.js';

export interface CrlContents {
  readonly entries: readonly RevokedCertificateEntry[];
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** RFC 5280 §5.2.3: increases with every CRL the CA issues. */
  readonly number: number;
}

/** The signed CRL (DER). */
export function buildCrl(ca: CaFacts, key: KeyObject, contents: CrlContents): Buffer {
  const algorithm = new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: DER_NULL });
  const revoked = [...contents.entries]
    .sort((a, b) => a.serial.localeCompare(b.serial))
    .map(
      (e) =>
        new RevokedCertificate({
          userCertificate: toArrayBuffer(serialBytes(e.serial)),
          revocationDate: new Time(new Date(e.revokedAt)),
          // RFC 5280 §5.3.1: the reasonCode unspecified SHOULD be absent.
          ...(e.reason === CRL_REASON.unspecified ? {} : { crlEntryExtensions: [extension(id_ce_cRLReasons, new CRLReason(e.reason))] }),
        }),
    );
  const tbs = new TBSCertList({
    // RFC 5280 §5.1.2.1: v2, because the CRL has extensions.
    version: Version.v2,
    signature: algorithm,
    issuer: ca.name,
    thisUpdate: new Time(contents.thisUpdate),
    nextUpdate: new Time(contents.nextUpdate),
    // RFC 5280 §5.1.2.6: an empty list is left out, not encoded as an empty SEQUENCE.
    ...(revoked.length > 0 ? { revokedCertificates: revoked } : {}),
    crlExtensions: [
      // RFC 5280 §5.2.1 (MUST) and §5.2.3 (MUST): which key signed it, and its number.
      extension(id_ce_authorityKeyIdentifier, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(ca.keyIdentifier) })),
      extension(id_ce_cRLNumber, new CRLNumber(contents.number)),
    ],
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const list = new CertificateList({
    tbsCertList: tbs,
    signatureAlgorithm: algorithm,
    signature: toArrayBuffer(sign('sha256', tbsDer, key)),
  });
  return Buffer.from(AsnConvert.serialize(list));
}

function extension(id: string, value: object): Extension {
  return new Extension({ extnID: id, critical: false, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
