import type { X509Certificate } from 'node:crypto';
import { parseMac, type Mac } from '../../mac.js';
import { readOwnerUri } from '../../pki/owner-uri.js';
import { normaliseSerial } from '../../pki/serial.js';

/**
 * Whether a client certificate presented in EAP-TLS is one this gateway issued to a
 * device (pki/identity.ts): signed by our CA, valid now, a TLS client certificate,
 * and naming its device in the subjectAltName URI urn:enrollgate:device:<mac>. Its owner
 * is the SAN's urn:enrollgate:owner: URI (pki/owner-uri.ts), or the subject's CN in a
 * certificate issued before that URI existed (when every owner fitted in 64 characters).
 * Whether that device is still enrolled is for the caller (the store). Pure.
 */
export type CertificateCheck =
  | { ok: true; mac: Mac; serial: string; user: string; notAfter: Date }
  | { ok: false; reason: CertificateProblem; serial?: string };

export type CertificateProblem = 'no_certificate' | 'foreign_ca' | 'expired' | 'not_yet_valid' | 'not_a_client_certificate' | 'no_device_name' | 'unreadable_owner';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DEVICE_URI = /(?:^|, )URI:urn:enrollgate:device:([0-9a-f:]{17})(?:,|$)/;

export function checkDeviceCertificate(cert: X509Certificate | undefined, ca: X509Certificate, now: Date): CertificateCheck {
  if (!cert) return { ok: false, reason: 'no_certificate' };
  const serial = normaliseSerial(cert.serialNumber);
  // Both: the issuer's name matches and its key verifies the signature.
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return { ok: false, reason: 'foreign_ca', serial };
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (!(now >= notBefore)) return { ok: false, reason: 'not_yet_valid', serial };
  if (!(now <= notAfter)) return { ok: false, reason: 'expired', serial };
  if (cert.ca || (cert.keyUsage !== undefined && !cert.keyUsage.includes(CLIENT_AUTH))) return { ok: false, reason: 'not_a_client_certificate', serial };
  const match = DEVICE_URI.exec(cert.subjectAltName ?? '');
  const mac = parseMac(match?.[1]);
  if (!mac) return { ok: false, reason: 'no_device_name', serial };
  const owner = readOwnerUri(cert.subjectAltName);
  if (owner === 'unreadable') return { ok: false, reason: 'unreadable_owner', serial };
  return { ok: true, mac, serial, user: owner === 'absent' ? commonName(cert.subject) : owner.owner, notAfter };
}

/**
 * The subject's CN as issued (the owner's user name, in certificates without an owner URI). Node prints it escaped as RFC 2253
 * says (a backslash before , + " \ < > ; and a leading # or space or a trailing one) and a
 * control character as \XX; read as printed, "DOMAIN\jo" or "Smith, John" would not be the owner.
 */
function commonName(subject: string): string {
  const printed = /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1] ?? '';
  return printed.replace(/\\(?:([0-9A-Fa-f]{2})|(.))/g, (_m, hex: string | undefined, char: string | undefined) => (hex !== undefined ? String.fromCharCode(parseInt(hex, 16)) : char!));
}
