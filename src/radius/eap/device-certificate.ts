import { X509Certificate } from 'node:crypto';
import { parseMac, type Mac } from '../../mac.js';
import { readOwnerUri } from '../../pki/owner-uri.js';
import { normaliseSerial } from '../../pki/serial.js';

/**
 * Whether a client certificate presented in EAP-TLS is one this gateway issued to a
 * device (pki/identity.ts): signed by our CA, valid now, a TLS client certificate,
 * and naming its device in the subjectAltName URI urn:enrollgate:device:<mac>. Its owner
 * is the SAN's urn:enrollgate:owner: URI (pki/owner-uri.ts), or the subject's CN in a
 * certificate issued before that URI existed (when every owner fitted in 64 characters).
 * Whether that device is still enrolled is for the caller (the store). Pure, but for
 * DeviceCertificateChecks' memory of certificates seen before.
 */
export type CertificateCheck =
  | { ok: true; mac: Mac; serial: string; user: string; notAfter: Date }
  | { ok: false; reason: CertificateProblem; serial?: string };

export type CertificateProblem = 'no_certificate' | 'foreign_ca' | 'expired' | 'not_yet_valid' | 'not_a_client_certificate' | 'no_device_name' | 'unreadable_owner';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DEVICE_URI = /(?:^|, )URI:urn:enrollgate:device:([0-9a-f:]{17})(?:,|$)/;

/** What the check finds in a certificate whatever the time: its signature, names and usage; its validity period, for `now` to be compared with. */
interface TimelessCheck {
  readonly serial: string;
  /** Not signed by our CA: refused before its dates are looked at. */
  readonly foreign: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The answer once the certificate is valid at the time of the check. */
  readonly valid: CertificateCheck;
}

function readDeviceCertificate(cert: X509Certificate, ca: X509Certificate): TimelessCheck {
  const serial = normaliseSerial(cert.serialNumber);
  // Both: the issuer's name matches and its key verifies the signature.
  const foreign = !cert.checkIssued(ca) || !cert.verify(ca.publicKey);
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  return { serial, foreign, notBefore, notAfter, valid: foreign ? { ok: false, reason: 'foreign_ca', serial } : readDevice(cert, serial, notAfter) };
}

function readDevice(cert: X509Certificate, serial: string, notAfter: Date): CertificateCheck {
  if (cert.ca || (cert.keyUsage !== undefined && !cert.keyUsage.includes(CLIENT_AUTH))) return { ok: false, reason: 'not_a_client_certificate', serial };
  const match = DEVICE_URI.exec(cert.subjectAltName ?? '');
  const mac = parseMac(match?.[1]);
  if (!mac) return { ok: false, reason: 'no_device_name', serial };
  const owner = readOwnerUri(cert.subjectAltName);
  if (owner === 'unreadable') return { ok: false, reason: 'unreadable_owner', serial };
  return { ok: true, mac, serial, user: owner === 'absent' ? commonName(cert.subject) : owner.owner, notAfter };
}

function atTime(c: TimelessCheck, now: Date): CertificateCheck {
  if (c.foreign) return c.valid;
  if (!(now >= c.notBefore)) return { ok: false, reason: 'not_yet_valid', serial: c.serial };
  if (!(now <= c.notAfter)) return { ok: false, reason: 'expired', serial: c.serial };
  return c.valid;
}

/**
 * The check of device certificates as the peer sent them (DER), remembering by their
 * exact bytes what does not depend on the time. A device comes back often (every
 * reconnection and roam is a handshake, resumed or not); parsing its certificate and
 * checking our CA's signature on it again gives the same answer for the same bytes and
 * the same CA, and cost 0.2 ms of a RADIUS worker per handshake (parsing 0.15 ms, our
 * RSA-3072 CA's signature 0.05 ms; Node 20, OpenSSL 3.0). The validity period is compared
 * with `now` at every check, and everything the store says (revocation,
 * enrollment, block list, session) is the caller's to ask every time. One per CA: the CA is
 * the gateway's for as long as the process runs. Bounded, the oldest forgotten first.
 */
export class DeviceCertificateChecks {
  /** By the certificate's bytes (as a latin1 string: one character an octet, compared whole). */
  private readonly known = new Map<string, TimelessCheck>();

  constructor(
    private readonly ca: X509Certificate,
    private readonly max = 4096,
  ) {}

  check(der: Buffer | undefined, now: Date): CertificateCheck {
    if (!der || der.length === 0) return { ok: false, reason: 'no_certificate' };
    const key = der.toString('latin1');
    let known = this.known.get(key);
    if (!known) {
      known = readDeviceCertificate(new X509Certificate(der), this.ca);
      if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value!);
      this.known.set(key, known);
    }
    return atTime(known, now);
  }

  /** Certificates remembered (tests). */
  get size(): number {
    return this.known.size;
  }
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
