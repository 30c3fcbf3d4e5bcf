import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateDer, createCa, type CertificateAuthority } from '../../../src/pki/ca.js';
import { issueDeviceIdentity, pkcs12WithoutPassword, type DeviceIdentity } from '../../../src/pki/identity.js';
import { buildPasspointProfile, type PasspointCredential, type PasspointProvider } from '../../../src/profiles/passpoint.js';
import { parsePasspointDownload, PasspointRefused } from '../../helpers/passpoint-parser.js';

/**
 * The Passpoint builder, its output read by test/helpers/passpoint-parser.ts, which applies
 * AOSP's installer rules (ConfigParser's MIME envelope, PpsMoParser's PPS MO tree, the
 * validate() rules of HomeSp, Credential and PasspointConfiguration); openssl opens the
 * PKCS#12 with the empty password Android uses.
 */

const TYPE = 'application/x-wifi-config';
const provider: PasspointProvider = { fqdn: 'wifi.example.org', friendlyName: 'Example <Corp> & Co Wi-Fi', realm: 'example.org', roamingConsortiumOis: ['5A03BA0000', '001bc5'] };

let ca: CertificateAuthority;
let identity: DeviceIdentity;
let credential: PasspointCredential;
const work = mkdtempSync(join(tmpdir(), 'passpoint-unit-'));

beforeAll(async () => {
  ca = createCa({ commonName: 'enrollgate Passpoint test CA' });
  identity = await issueDeviceIdentity(ca, { user: 'employee', mac: '3c:22:fb:00:00:10' });
  credential = { caDer: certificateDer(ca.certPem), clientPkcs12: pkcs12WithoutPassword(identity.p12, identity.password), clientCertificate: identity.certificatePem };
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The decoded MIME message of a body, and a body made again from an edited one. */
const mime = (body: string) => Buffer.from(body.replace(/\s/g, ''), 'base64').toString('latin1');
const body = (message: string) => Buffer.from(message, 'latin1').toString('base64');

describe('buildPasspointProfile', () => {
  it('passes the AOSP-rule parser (ConfigParser MIME envelope, PpsMoParser PPS MO, HomeSp and Credential validate) with the configured provider and the device certificate', () => {
    const file = parsePasspointDownload(TYPE, buildPasspointProfile(provider, credential));
    expect(file.homeSp).toEqual({ fqdn: 'wifi.example.org', friendlyName: 'Example <Corp> & Co Wi-Fi', roamingConsortiumOis: [0x5a03ba0000n, 0x001bc5n] });
    expect(file.credential.realm).toBe('example.org');
    expect(file.credential.certType).toBe('x509v3');
    expect(file.credential.fingerprint).toEqual(createHash('sha256').update(new X509Certificate(identity.certificatePem).raw).digest());
    expect(file.caDer).toEqual(certificateDer(ca.certPem));
    // The chain holds the device certificate and the CA, nothing else.
    expect(file.chain.map((d) => new X509Certificate(d).subject).sort()).toEqual([new X509Certificate(ca.certPem).subject, new X509Certificate(identity.certificatePem).subject].sort());
  });

  it('writes the MIME envelope of RFC 2045/2046 as source.android.com "Passpoint R1" gives it: two headers, three base64 parts, a closing boundary, base64 lines of 76', () => {
    const text = buildPasspointProfile(provider, credential);
    expect(text.split('\r\n').slice(0, -1).every((l) => l.length <= 76 && /^[A-Za-z0-9+/=]+$/.test(l))).toBe(true);
    const message = mime(text);
    const [head] = message.split('\r\n\r\n');
    expect(head).toMatch(/^Content-Type: multipart\/mixed; boundary=[A-Za-z0-9-]+\r\nContent-Transfer-Encoding: base64$/);
    expect(message.match(/^Content-Type: application\/[a-z0-9-]+$/gm)).toEqual(['Content-Type: application/x-passpoint-profile', 'Content-Type: application/x-x509-ca-cert', 'Content-Type: application/x-pkcs12']);
    expect(message.trimEnd()).toMatch(/\r\n--enrollgate-[0-9a-f]+--$/);
  });

  it('carries a PKCS#12 that openssl opens with an empty password, whose client certificate has the CertSHA256Fingerprint of the PPS MO', () => {
    const file = parsePasspointDownload(TYPE, buildPasspointProfile(provider, credential));
    const p12 = join(work, 'client.p12');
    writeFileSync(p12, credential.clientPkcs12);
    const leaf = execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', 'pass:', '-nokeys', '-clcerts'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: leaf }).toString();
    expect(fingerprint.split('=')[1]!.trim().replace(/:/g, '').toLowerCase()).toBe(file.credential.fingerprint.toString('hex'));
    // And the key is in it, in clear (no password to ask).
    expect(execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', 'pass:', '-nocerts', '-nodes'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString()).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('refuses what Android would refuse, saying what is wrong: empty or long names, malformed or too many OIs, a PKCS#12 with a password or without the named certificate', () => {
    const refused = (p: Partial<PasspointProvider>, c: Partial<PasspointCredential> = {}) => () => buildPasspointProfile({ ...provider, ...p }, { ...credential, ...c });
    expect(refused({ fqdn: '' })).toThrow('Passpoint FQDN "": must be 1 to 255 bytes');
    expect(refused({ friendlyName: 'x'.repeat(256) })).toThrow(/^Passpoint friendly name "x+": must be 1 to 255 bytes$/);
    expect(refused({ realm: `${'a'.repeat(250)}.org` })).toThrow(/^Passpoint realm .*: must be 1 to 253 bytes$/);
    expect(refused({ roamingConsortiumOis: ['5a03ba00'] })).toThrow('Passpoint roaming consortium OI "5a03ba00": must be 3 or 5 octets in hexadecimal');
    expect(refused({ roamingConsortiumOis: Array.from({ length: 37 }, (_, i) => (0x100000 + i).toString(16)) })).toThrow('Passpoint: 37 roaming consortium OIs, Android takes at most 36');
    expect(refused({}, { clientPkcs12: identity.p12 })).toThrow("the device's PKCS#12 does not open with an empty password, which Android's Passpoint installer uses");
    expect(refused({}, { clientCertificate: createCa({ commonName: 'another CA' }).certPem })).toThrow("the device's PKCS#12 does not hold the certificate the profile names");
    expect(refused({}, { caDer: Buffer.from('not a certificate') })).toThrow();
  });
});

describe('the AOSP-rule parser refuses what the installer refuses', () => {
  const good = () => mime(buildPasspointProfile(provider, credential));
  const refusal = (message: string, type = TYPE) => {
    try {
      parsePasspointDownload(type, body(message));
    } catch (err) {
      expect(err).toBeInstanceOf(PasspointRefused);
      return (err as Error).message;
    }
    throw new Error('expected a refusal');
  };

  it('a wrong HTTP Content-Type, a MIME header other than the two, a part type it does not know, a missing closing boundary', () => {
    expect(refusal(good(), 'application/octet-stream')).toBe('Unexpected MIME type: application/octet-stream');
    expect(refusal(good().replace('Content-Type: application/x-pkcs12\r\n', 'Content-Type: application/x-pkcs12\r\nContent-Disposition: attachment\r\n'))).toBe('Unexpected header: Content-Disposition');
    expect(refusal(good().replace('application/x-x509-ca-cert', 'application/pkix-cert'))).toBe('Unexpected content type: application/pkix-cert');
    expect(refusal(good().replace(/--enrollgate-[0-9a-f]+--\r\n$/, ''))).toMatch(/^Missing line @ \d+$/);
  });

  it('a PPS MO without a credential kind, with a fingerprint of another certificate, without the CA part', () => {
    const withXml = (edit: (xml: string) => string) => {
      const message = good();
      const match = /Content-Type: application\/x-passpoint-profile\r\nContent-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(message)!;
      const xml = Buffer.from(match[1]!.replace(/\s/g, ''), 'base64').toString('utf8');
      return message.replace(match[1]!, Buffer.from(edit(xml), 'utf8').toString('base64'));
    };
    expect(refusal(withXml((x) => x.replace(/[0-9a-f]{64}/, 'ab'.repeat(32))))).toBe('SHA-256 fingerprint mismatch');
    expect(refusal(withXml((x) => x.replace(/<Node><NodeName>DigitalCertificate<\/NodeName>.*?<\/Node><\/Node>/, '')))).toBe('Missing required credential');
    expect(refusal(withXml((x) => x.replace('<Value>x509v3</Value>', '<Value>x509v2</Value>')))).toBe('Unsupported certificate type: x509v2');
    expect(refusal(withXml((x) => x.replace('<NodeName>FQDN</NodeName><Value>wifi.example.org</Value>', '<NodeName>FQDN</NodeName>')))).toBe('Invalid node: FQDN missing both value and children');
    const noCa = good().replace(/--(enrollgate-[0-9a-f]+)\r\nContent-Type: application\/x-x509-ca-cert\r\n[\s\S]*?\r\n(?=--\1)/, '');
    expect(refusal(noCa)).toBe('Missing CA Certificate for certificate credential');
  });
});
