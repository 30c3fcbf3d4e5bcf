/**
 * What CRLs and OCSP answers say about the CA that signs them, read once from its
 * certificate: its name exactly as encoded there (RFC 5280 §5.1.2.3: a CRL's issuer
 * must match the certificates' issuer), its public key bits (RFC 6960 §4.1.1 hashes
 * them into CertID and §4.2.2.3 into the responder's KeyHash), and its key identifier.
 */
import type { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, type Name } from '@peculiar/asn1-x509';

export interface CaFacts {
  readonly name: Name;
  /** DER of the CA's subject Name. */
  readonly nameDer: Buffer;
  /** The subjectPublicKey BIT STRING's bits (no unused-bits octet). */
  readonly publicKeyBits: Buffer;
  /** The CA's subjectKeyIdentifier (what issued certificates carry as authorityKeyIdentifier). */
  readonly keyIdentifier: Buffer;
}

export function caFacts(ca: X509Certificate, keyIdentifier: Buffer): CaFacts {
  const cert = AsnConvert.parse(ca.raw, Certificate);
  const name = cert.tbsCertificate.subject;
  return {
    name,
    nameDer: Buffer.from(AsnConvert.serialize(name)),
    publicKeyBits: Buffer.from(cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey),
    keyIdentifier,
  };
}

/** sha256WithRSAEncryption (RFC 4055 §5), parameters NULL as RFC 4055 §5 requires. */
export const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
/** DER of NULL: the algorithm parameters above. */
export const DER_NULL = new Uint8Array([0x05, 0x00]).buffer;
