import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCa, issueServerCertificate } from '../../../src/pki/ca.js';
import { certificateSerial, normaliseSerial, serialBytes, serialFromBytes } from '../../../src/pki/serial.js';

describe('normaliseSerial', () => {
  it('gives one spelling for every way a serial is written', () => {
    for (const spelling of ['00A1B2', 'a1b2', 'A1:B2', '00:a1:b2', '0xA1B2', ' a1 b2 ', '0000a1b2']) expect(normaliseSerial(spelling), spelling).toBe('a1b2');
    expect(normaliseSerial('00')).toBe('0');
    expect(normaliseSerial('0f')).toBe('f');
  });

  it('refuses what is not a serial', () => {
    for (const bad of ['', '  ', 'xyz', '12-34', 'a'.repeat(43), '0x']) expect(() => normaliseSerial(bad), bad).toThrow(RangeError);
  });

  it('agrees with node:crypto and with the DER content octets a CRL or OCSP carries', () => {
    const ca = createCa({ commonName: 'serial test CA' });
    const cert = issueServerCertificate(ca, { names: ['radius.example.org'] });
    const x509 = new X509Certificate(cert.certPem);
    expect(certificateSerial(cert.certPem)).toBe(x509.serialNumber.toLowerCase().replace(/^0+/, ''));
    expect(serialFromBytes(serialBytes(certificateSerial(x509)))).toBe(certificateSerial(x509));
    // X.690 §8.3.2: a 00 octet goes in front when the top bit is set, and only then.
    expect(serialBytes('ff01').toString('hex')).toBe('00ff01');
    expect(serialBytes('7f01').toString('hex')).toBe('7f01');
    expect(serialBytes('abc').toString('hex')).toBe('0abc');
  });
});
