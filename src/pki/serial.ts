/**
 * Certificate serial numbers as the gateway stores and compares them: lower-case hex
 * without separators and without leading zeros ("0" for zero). Node's
 * X509Certificate.serialNumber gives upper-case hex of the INTEGER's content octets,
 * which keeps a 00 octet in front of a serial whose top bit is set (X.690 §8.3.2), and
 * OpenSSL prints colon-separated pairs; the same serial must compare equal in every
 * spelling, so everything that keeps or looks up a serial passes it through here.
 */
import { X509Certificate } from 'node:crypto';

// RFC 5280 §4.1.2.2: at most 20 octets; some CAs wrote one more (a leading 00), so
// 21 octets of hex are accepted and anything longer is not a serial of ours.
const MAX_HEX_DIGITS = 42;

/** The canonical form of a serial given as hex (any case, optional ':' or spaces between pairs, optional 0x). Throws RangeError for anything else. */
export function normaliseSerial(serial: string): string {
  const hex = serial.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (hex === '' || hex.length > MAX_HEX_DIGITS || !/^[0-9a-f]+$/.test(hex)) {
    throw new RangeError('not a certificate serial number (hexadecimal, at most 20 octets)');
  }
  const stripped = hex.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

/** The certificate's serial in canonical form (normaliseSerial). */
export function certificateSerial(certificate: string | Buffer | X509Certificate): string {
  const x509 = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  return normaliseSerial(x509.serialNumber);
}

/** The serial's INTEGER content octets (DER, X.690 §8.3.2: a 00 in front when the top bit is set), for CRLs and OCSP answers. */
export function serialBytes(serial: string): Buffer {
  const hex = normaliseSerial(serial);
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  const bytes = Buffer.from(even, 'hex');
  return bytes[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

/** The canonical serial of an INTEGER's content octets (as an OCSP request or a CRL carries them). */
export function serialFromBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new RangeError('an empty serial number');
  return normaliseSerial(Buffer.from(bytes).toString('hex'));
}
