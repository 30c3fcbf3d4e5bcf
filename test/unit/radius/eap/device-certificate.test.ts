import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCertificate, loadIssuingCa, signLeafCertificate, type CertificateAuthority, type IssuingCa } from '../../../../src/pki/ca.js';
import { deviceUri, issueDeviceIdentity } from '../../../../src/pki/identity.js';
import { ownerUri } from '../../../../src/pki/owner-uri.js';
import type { Mac } from '../../../../src/mac.js';
import { normaliseSerial } from '../../../../src/pki/serial.js';
import { DeviceCertificateChecks } from '../../../../src/radius/eap/device-certificate.js';

/**
 * Device certificates as EAP-TLS sees them: real ones from the gateway's CA
 * (pki/identity.ts), and ones crafted with the CA's own leaf signer to lack one thing
 * each. RSA keys are slow to make: one CA, one foreign CA and one spare key pair for
 * every crafted certificate, made once.
 */
const MAC = '02:e7:00:00:00:01' as Mac;
const DAY = 86_400_000;

let ca: CertificateAuthority;
let caX509: X509Certificate;
let issuer: IssuingCa;
let spareKey: forge.pki.rsa.PublicKey;
let good: X509Certificate;

beforeAll(async () => {
  ca = createCa({ commonName: 'Test gateway CA' });
  caX509 = new X509Certificate(ca.certPem);
  issuer = loadIssuingCa(ca);
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  spareKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  good = new X509Certificate((await issueDeviceIdentity(ca, { user: 'employee', mac: MAC })).certificatePem);
}, 60_000);

/** A leaf signed by our CA with these extensions (validity: from an hour ago for `days`, unless `now` moves it). */
function craft(extensions: object[], o: { days?: number; now?: Date; by?: IssuingCa } = {}): X509Certificate {
  const { certPem } = signLeafCertificate(o.by ?? issuer, { commonName: 'employee', publicKey: spareKey, days: o.days ?? 30, now: o.now ?? new Date(), extensions });
  return new X509Certificate(certPem);
}

/** A device identity of `user` as the gateway issues them, with the spare key (no new RSA key each). */
function craftFor(user: string): X509Certificate {
  return new X509Certificate(signLeafCertificate(issuer, { commonName: user, publicKey: spareKey, days: 30, now: new Date(), extensions: [CLIENT_EKU, DEVICE_SAN] }).certPem);
}

const CLIENT_EKU = { name: 'extKeyUsage', clientAuth: true };
const DEVICE_SAN = { name: 'subjectAltName', altNames: [{ type: 6, value: deviceUri(MAC) }] };

/** A certificate checked as a RADIUS worker checks it (by its bytes), by a checker that has seen nothing yet. */
function checkCertificate(cert: X509Certificate | undefined, now: Date) {
  return new DeviceCertificateChecks(caX509).check(cert?.raw, now);
}

describe('a device certificate, first seen', () => {
  it('accepts a device identity the gateway issued, naming its device, owner, serial and end', () => {
    const check = checkCertificate(good, new Date());
    expect(check).toEqual({ ok: true, mac: MAC, serial: normaliseSerial(good.serialNumber), user: 'employee', notAfter: new Date(good.validTo) });
    expect(good.subjectAltName).toContain(`URI:${ownerUri('employee')}`);
  });

  it('names the owner of a certificate without an owner URI by its CN exactly as issued, whatever the user name holds: the characters RFC 2253 escapes, a backslash, a line break, non-ASCII', () => {
    const users = ['DOMAIN\\jo', 'Smith, John', 'o\'brien "x" +1; <a>', '#lead ', 'jo\nCN=admin', 'Zoë 日本語', 'x\\4f\\\\'];
    for (const user of users) expect(checkCertificate(craftFor(user), new Date())).toMatchObject({ ok: true, user });
  });

  it('names the owner in full from the owner URI when the name is longer than a CN holds (64 characters)', async () => {
    const user = `${'long.name-'.repeat(9)}Zoë, \\x`.padEnd(100, 'z');
    expect(user).toHaveLength(100);
    const cert = new X509Certificate((await issueDeviceIdentity(issuer, { user, mac: MAC })).certificatePem);
    expect(cert.subject).not.toContain(user);
    expect(checkCertificate(cert, new Date())).toMatchObject({ ok: true, mac: MAC, user });
  });

  it('takes the owner URI over the CN, and the CN when there is no owner URI (certificates issued before it)', () => {
    const both = craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 6, value: deviceUri(MAC) }, { type: 6, value: ownerUri('somebody-else') }] }]);
    expect(checkCertificate(both, new Date())).toMatchObject({ ok: true, user: 'somebody-else' });
    expect(checkCertificate(craftFor('employee'), new Date())).toMatchObject({ ok: true, user: 'employee' });
    // A DNS name spelling an owner URI after a comma is printed quoted: the CN still names the owner.
    const spelled = craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 2, value: `x, URI:${ownerUri('admin')}` }, { type: 6, value: deviceUri(MAC) }] }]);
    expect(checkCertificate(spelled, new Date())).toMatchObject({ ok: true, user: 'employee' });
  });

  it('refuses a certificate whose owner URI is not percent-encoded UTF-8 of a name', () => {
    // Node prints some of these quoted (Zoë, a comma), some as they are (a space, a slash): none may fall back to the CN.
    for (const bad of ['', '%zz', '%C3', 'a b', 'a/b', 'Zoë', 'admin, URI:urn:enrollgate:owner:x']) {
      const cert = craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 6, value: deviceUri(MAC) }, { type: 6, value: `urn:enrollgate:owner:${bad}` }] }]);
      expect(checkCertificate(cert, new Date()), bad).toMatchObject({ ok: false, reason: 'unreadable_owner' });
    }
    // The scheme and namespace in capitals are the same URN (RFC 8141 §3.1).
    const capitals = craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 6, value: deviceUri(MAC) }, { type: 6, value: 'URN:EnrollGate:owner:admin' }] }]);
    expect(checkCertificate(capitals, new Date())).toMatchObject({ ok: false, reason: 'unreadable_owner' });
  });

  it('refuses a certificate with two owner URIs, whichever comes first', () => {
    for (const owners of [['employee', 'admin'], ['admin', 'employee'], ['employee', 'employee']]) {
      const cert = craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 6, value: deviceUri(MAC) }, ...owners.map((o) => ({ type: 6, value: ownerUri(o) }))] }]);
      expect(checkCertificate(cert, new Date()), owners.join()).toMatchObject({ ok: false, reason: 'unreadable_owner' });
    }
  });

  it('accepts a crafted certificate with just clientAuth and the device URI (the crafting itself is sound)', () => {
    expect(checkCertificate(craft([CLIENT_EKU, DEVICE_SAN]), new Date())).toMatchObject({ ok: true, mac: MAC });
  });

  it('refuses no certificate', () => {
    expect(checkCertificate(undefined, new Date())).toEqual({ ok: false, reason: 'no_certificate' });
  });

  it('refuses a device identity from another CA', async () => {
    const foreign = createCa({ commonName: 'Somebody else' });
    const cert = new X509Certificate((await issueDeviceIdentity(foreign, { user: 'employee', mac: MAC })).certificatePem);
    expect(checkCertificate(cert, new Date())).toEqual({ ok: false, reason: 'foreign_ca', serial: normaliseSerial(cert.serialNumber) });
  });

  it('refuses a certificate naming our CA (name and key identifier) but signed by another key: the signature decides', () => {
    const impostor = loadIssuingCa(createCa({ commonName: 'Test gateway CA' }));
    const cert = craft([CLIENT_EKU, DEVICE_SAN], { by: { ...issuer, signingKey: impostor.signingKey } });
    expect(cert.checkIssued(caX509)).toBe(true); // issuer name and authorityKeyIdentifier match ours…
    expect(checkCertificate(cert, new Date())).toMatchObject({ ok: false, reason: 'foreign_ca' });
  });

  it('refuses an expired certificate, and takes it up to its last second', async () => {
    const expired = new X509Certificate((await issueDeviceIdentity(ca, { user: 'employee', mac: MAC, now: new Date(Date.now() - 3 * DAY), validDays: 1 })).certificatePem);
    expect(checkCertificate(expired, new Date())).toMatchObject({ ok: false, reason: 'expired' });
    const end = new Date(good.validTo);
    expect(checkCertificate(good, end).ok).toBe(true);
    expect(checkCertificate(good, new Date(end.getTime() + 1000))).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('refuses a certificate not valid yet', () => {
    const future = craft([CLIENT_EKU, DEVICE_SAN], { now: new Date(Date.now() + 3 * DAY) });
    expect(checkCertificate(future, new Date())).toMatchObject({ ok: false, reason: 'not_yet_valid' });
    expect(checkCertificate(good, new Date(new Date(good.validFrom).getTime() - 1000))).toMatchObject({ ok: false, reason: 'not_yet_valid' });
  });

  it('refuses a certificate whose extended key usage has no clientAuth (our own RADIUS server certificate, for one)', () => {
    expect(checkCertificate(craft([{ name: 'extKeyUsage', serverAuth: true }, DEVICE_SAN]), new Date())).toMatchObject({ ok: false, reason: 'not_a_client_certificate' });
    const server = new X509Certificate(issueServerCertificate(ca, { names: ['radius.example.org'] }).certPem);
    expect(checkCertificate(server, new Date())).toMatchObject({ ok: false, reason: 'not_a_client_certificate' });
  });

  it('refuses a certificate that names no device', () => {
    const cases = [
      craft([CLIENT_EKU]),
      craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 2, value: 'device.example.org' }] }]),
      craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 6, value: 'urn:enrollgate:device:not-a-mac-address' }] }]),
      craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 6, value: 'urn:someone-else:device:02:e7:00:00:00:01' }] }]),
      craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 6, value: `${deviceUri(MAC)}:extra` }] }]),
      // A DNS name that spells the URI after a comma: Node prints it quoted with the comma
      // escaped (\u002c), so it cannot pass for an entry of its own.
      craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 2, value: `x, URI:${deviceUri(MAC)}, y` }] }]),
      craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 2, value: `x, URI:${deviceUri(MAC)}` }] }]),
    ];
    for (const cert of cases) expect(checkCertificate(cert, new Date()), cert.subjectAltName ?? '(no SAN)').toMatchObject({ ok: false, reason: 'no_device_name' });
  });

  it('finds the device URI among other names', () => {
    const cert = craft([CLIENT_EKU, { name: 'subjectAltName', altNames: [{ type: 2, value: 'device.example.org' }, { type: 6, value: deviceUri(MAC) }, { type: 1, value: 'employee@example.org' }] }]);
    expect(checkCertificate(cert, new Date())).toMatchObject({ ok: true, mac: MAC });
  });

  it('refuses the CA certificate itself (it verifies against itself, but is no client)', () => {
    expect(checkCertificate(caX509, new Date())).toMatchObject({ ok: false, reason: 'not_a_client_certificate' });
  });
});

describe('DeviceCertificateChecks (by the bytes the peer sent, remembered)', () => {
  const der = (cert: X509Certificate) => cert.raw;

  it('answers from memory as it did the first time, for good and bad certificates alike', async () => {
    const foreign = new X509Certificate((await issueDeviceIdentity(createCa({ commonName: 'Somebody else' }), { user: 'employee', mac: MAC })).certificatePem);
    const impostor = craft([CLIENT_EKU, DEVICE_SAN], { by: { ...issuer, signingKey: loadIssuingCa(createCa({ commonName: 'Test gateway CA' })).signingKey } });
    const cases = [good, craftFor('Smith, John'), foreign, impostor, craft([{ name: 'extKeyUsage', serverAuth: true }, DEVICE_SAN]), craft([CLIENT_EKU]), caX509];
    const checks = new DeviceCertificateChecks(caX509);
    const now = new Date();
    for (let round = 0; round < 2; round++) {
      for (const cert of cases) expect(checks.check(der(cert), now), `${cert.subject} (round ${round})`).toEqual(checkCertificate(cert, now));
    }
    expect(checks.size).toBe(cases.length);
    expect(checks.check(undefined, now)).toEqual({ ok: false, reason: 'no_certificate' });
    expect(checks.check(Buffer.alloc(0), now)).toEqual({ ok: false, reason: 'no_certificate' });
  });

  it('compares the validity period with the time of each check, also for a certificate it remembers', () => {
    const checks = new DeviceCertificateChecks(caX509);
    const from = new Date(good.validFrom);
    const end = new Date(good.validTo);
    expect(checks.check(der(good), end).ok).toBe(true);
    expect(checks.check(der(good), new Date(end.getTime() + 1000))).toMatchObject({ ok: false, reason: 'expired' });
    expect(checks.check(der(good), new Date(from.getTime() - 1000))).toMatchObject({ ok: false, reason: 'not_yet_valid' });
    expect(checks.check(der(good), new Date()).ok).toBe(true);
  });

  it('tells apart certificates that differ in one octet (the signature): the key is the whole certificate', () => {
    const checks = new DeviceCertificateChecks(caX509);
    const bytes = Buffer.from(der(good));
    expect(checks.check(bytes, new Date()).ok).toBe(true);
    bytes[bytes.length - 1]! ^= 0x01;
    expect(checks.check(bytes, new Date())).toMatchObject({ ok: false, reason: 'foreign_ca' });
  });

  it('remembers at most `max` certificates, forgetting the oldest, and still answers for a forgotten one', () => {
    const checks = new DeviceCertificateChecks(caX509, 2);
    const certs = [craftFor('a'), craftFor('b'), craftFor('c')];
    for (const cert of certs) expect(checks.check(der(cert), new Date()).ok).toBe(true);
    expect(checks.size).toBe(2);
    expect(checks.check(der(certs[0]!), new Date())).toMatchObject({ ok: true, user: 'a' });
  });
});
