import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, loadIssuingCa, type CertificateAuthority } from '../../../src/pki/ca.js';
import { deviceCommonName, issueDeviceIdentity } from '../../../src/pki/identity.js';
import { ownerUri, readOwnerUri } from '../../../src/pki/owner-uri.js';

/**
 * Device identities for user names longer than a CN holds (X.520 ub-common-name: 64
 * characters): the certificate is issued, its CN is cut, and the full name is in the
 * owner URI, as OpenSSL reads the certificate.
 */
const LONG_USER = `${'a'.repeat(40)}.Zoë-O'Brien, "Smith"+jo\\DOMAIN@${'b'.repeat(80)}`.slice(0, 100);

let dir: string;
let ca: CertificateAuthority;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-identity-'));
  ca = createCa({ commonName: 'Identity test CA' });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('issueDeviceIdentity for a 100-character user name', () => {
  it('issues a certificate whose CN is the name cut to 64 characters and whose owner URI holds it in full', async () => {
    expect(LONG_USER).toHaveLength(100);
    const identity = await issueDeviceIdentity(ca, { user: LONG_USER, mac: '02:e7:00:00:00:01' });
    const file = join(dir, 'long.pem');
    await writeFile(file, identity.certificatePem);
    const printed = execFileSync('openssl', ['x509', '-in', file, '-noout', '-subject', '-nameopt', 'utf8,sep_multiline', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    const cn = /^\s*CN=(.*)$/m.exec(printed)?.[1];
    expect(cn).toBe(`${LONG_USER.slice(0, 63)}…`);
    expect([...cn!]).toHaveLength(64);
    expect(printed).toContain(`URI:${ownerUri(LONG_USER)}`);
    expect(printed).toContain('URI:urn:enrollgate:device:02:e7:00:00:00:01');
    // The same URI, read back the way EAP-TLS reads it.
    expect(readOwnerUri(new X509Certificate(identity.certificatePem).subjectAltName)).toEqual({ owner: LONG_USER });
  });

  it('keeps a name of 64 characters or fewer whole in the CN, beside the owner URI', async () => {
    const user = 'c'.repeat(64);
    const cert = new X509Certificate((await issueDeviceIdentity(ca, { user, mac: '02:e7:00:00:00:02' })).certificatePem);
    expect(cert.subject).toBe(`CN=${user}`);
    expect(readOwnerUri(cert.subjectAltName)).toEqual({ owner: user });
  });
});

describe('issueDeviceIdentity with a CA that expired since it was loaded', () => {
  it('refuses to issue, rather than hand out a certificate that ends before it begins', async () => {
    const now = new Date();
    const shortLived = loadIssuingCa(createCa({ commonName: 'Two-day CA', validDays: 2, now }), now);
    const later = new Date(now.getTime() + 3 * 86_400_000);
    await expect(issueDeviceIdentity(shortLived, { user: 'jo', mac: '02:e7:00:00:00:03', now: later })).rejects.toThrow(/CA certificate expired on/);
    // While it lasts, a certificate ends with it.
    const pem = (await issueDeviceIdentity(shortLived, { user: 'jo', mac: '02:e7:00:00:00:03', now })).certificatePem;
    expect(new X509Certificate(pem).validTo).toBe(shortLived.x509.validTo);
  });
});

describe('deviceCommonName', () => {
  it('never cuts a character in two (a surrogate pair at the cut moves out whole)', () => {
    // 63 code units and "…" make 64: an emoji on units 62 and 63 would be cut in two.
    expect(deviceCommonName(`${'x'.repeat(62)}😀${'y'.repeat(10)}`)).toBe(`${'x'.repeat(62)}…`);
    // On units 61 and 62 it fits whole.
    expect(deviceCommonName(`${'x'.repeat(61)}😀${'y'.repeat(10)}`)).toBe(`${'x'.repeat(61)}😀…`);
  });
});

describe('ownerUri and readOwnerUri', () => {
  it('round-trip any user name, and encode it as plain ASCII with no comma, space or quote', () => {
    for (const user of ['jo', 'DOMAIN\\jo', 'Smith, John', 'Zoë 日本語 😀', 'jo%41', 'a~b.c_d-e', LONG_USER]) {
      const uri = ownerUri(user);
      expect(uri).toMatch(/^urn:enrollgate:owner:[A-Za-z0-9\-._~%]+$/);
      expect(readOwnerUri(`URI:${uri}`)).toEqual({ owner: user });
    }
  });

  it('finds the owner among other names, and nothing when it is not there', () => {
    expect(readOwnerUri(`URI:urn:enrollgate:device:02:e7:00:00:00:01, URI:${ownerUri('jo')}, DNS:x.example`)).toEqual({ owner: 'jo' });
    expect(readOwnerUri('URI:urn:enrollgate:device:02:e7:00:00:00:01')).toBe('absent');
    expect(readOwnerUri(undefined)).toBe('absent');
    // Node quotes a DNS name holding ", ": it cannot pass for an owner URI of its own.
    expect(readOwnerUri('DNS:"x\\u002c URI:urn:enrollgate:owner:admin"')).toBe('absent');
  });

  it('refuses an owner URI that is empty, badly percent-encoded, or not UTF-8', () => {
    for (const bad of ['', '%4', '%zz', 'a%', '%C3', '%FF%FE', 'a b', 'a/b']) expect(readOwnerUri(`URI:urn:enrollgate:owner:${bad}`), bad).toBe('unreadable');
    // Printed quoted by Node (not plain ASCII), or in capitals: an owner URI all the same, not a missing one.
    expect(readOwnerUri('URI:"urn:enrollgate:owner:Zo\\u00eb"')).toBe('unreadable');
    expect(readOwnerUri('URI:URN:enrollgate:OWNER:jo')).toBe('unreadable');
  });

  it('refuses two owner URIs, even naming the same person', () => {
    expect(readOwnerUri(`URI:${ownerUri('jo')}, URI:${ownerUri('admin')}`)).toBe('unreadable');
    expect(readOwnerUri(`URI:${ownerUri('jo')}, URI:${ownerUri('jo')}`)).toBe('unreadable');
  });
});
