import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { AuditRecord } from '../../../src/audit/record.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { hashPassword } from '../../../src/directory/file-directory.js';
import { createLogger } from '../../../src/logger.js';
import type { Mac } from '../../../src/mac.js';
import { createCa, type CertificateAuthority } from '../../../src/pki/ca.js';
import { issueDeviceIdentity } from '../../../src/pki/identity.js';
import { normaliseSerial } from '../../../src/pki/serial.js';
import type { StateStore } from '../../../src/store/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { runEapolTest, type EapolTestResult } from '../../helpers/eapol-test.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { httpsCall } from '../../helpers/https.js';
import { auditRecords } from '../../helpers/audit-records.js';

/**
 * EAP-TLS against a real gateway, with eapol_test (wpa_supplicant's EAP peer) as the
 * device and the NAS: the gateway's CA issues the device's PKCS#12, the device is
 * enrolled, and the gateway answers the whole conversation on its RADIUS port.
 * "MPPE keys OK" is eapol_test's own check that the keys in the Accept are the ones
 * it derived from the TLS session.
 */
let t: TestGateway;
let store: StateStore;
let devices: DeviceRegistry;
let ca: CertificateAuthority;
let macCounter = 0x10;
let caPem: Buffer;
/** The EAP server's name, as the identity API tells the device to pin it (init issued the certificate). */
let serverName = '';

/** A new device MAC for each test: they share one gateway. */
function nextMac(): Mac {
  return `02:e7:00:00:00:${(macCounter++).toString(16).padStart(2, '0')}` as Mac;
}

interface Identity {
  mac: Mac;
  p12: string;
  password: string;
  serial: string;
}

/**
 * A device's identity as a PKCS#12 file. By default through the real enrollment path:
 * the agent API enrolls the device and hands out its identity, bound to the
 * enrollment. Certificates no enrollment would give (another CA, already expired, or
 * one the enrollment does not hold) are issued here directly.
 */
async function identity(o: { enroll?: boolean; bind?: boolean; issuer?: CertificateAuthority; now?: Date; validDays?: number; owner?: string; as?: { username: string; password: string } } = {}): Promise<Identity> {
  const mac = nextMac();
  const p12 = join(t.dir, `${mac.replace(/:/g, '')}.p12`);
  if (o.enroll !== false && o.bind !== false && !o.issuer && !o.now && !o.owner) {
    const credentials = o.as ?? { username: 'employee', password: t.employeePassword };
    const enrolled = await agentApi('/api/agent/v1/enroll', { ...credentials, device: { mac, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } });
    expect(enrolled.status, enrolled.text).toBe(201);
    const r = await agentApi('/api/agent/v1/identity', { ...credentials, mac });
    expect(r.status, r.text).toBe(201);
    serverName = r.json.server_name;
    await writeFile(p12, Buffer.from(r.json.identity.pkcs12, 'base64'));
    return { mac, p12, password: r.json.identity.password, serial: r.json.identity.serial };
  }
  const owner = o.owner ?? 'employee';
  const id = await issueDeviceIdentity(o.issuer ?? ca, { user: owner, mac, ...(o.now ? { now: o.now } : {}), ...(o.validDays ? { validDays: o.validDays } : {}) });
  await writeFile(p12, id.p12);
  const certificate = new X509Certificate(id.certificatePem);
  const serial = normaliseSerial(certificate.serialNumber);
  if (o.enroll !== false) await devices.enroll({ mac, owner, platform: 'android', enrolledAt: new Date().toISOString() });
  if (o.enroll !== false && o.bind !== false) await devices.recordCertificate(mac, { serial, notAfter: new Date(certificate.validTo), owner }, new Date());
  return { mac, p12, password: id.password, serial };
}

function agentApi(path: string, json: unknown) {
  return httpsCall(t.gateway.ports.https, caPem, path, { method: 'POST', json });
}

function eapTls(id: Identity, o: { tls?: '1.2' | '1.3'; fragmentSize?: number; reauthentications?: number } = {}): Promise<EapolTestResult> {
  return runEapolTest({
    method: 'TLS',
    identity: 'employee',
    caCert: t.config.pki.ca_cert_file,
    privateKey: id.p12,
    privateKeyPassword: id.password,
    phase1: `tls_disable_tlsv1_3=${o.tls === '1.2' ? 1 : 0}`,
    domainMatch: serverName,
    ...(o.fragmentSize ? { fragmentSize: o.fragmentSize } : {}),
    ...(o.reauthentications ? { reauthentications: o.reauthentications } : {}),
    port: t.gateway.ports.auth,
    secret: TEST_NAS_SECRET,
    mac: id.mac,
  });
}

/** The gateway's audit records of 802.1X so far. */
function eapRecords(): AuditRecord[] {
  return auditRecords(t).filter((r) => String(r.type).startsWith('eap.'));
}

function lastRecordFor(serial: string): AuditRecord {
  const record = eapRecords().filter((r) => (r as unknown as { serial?: string }).serial === serial).at(-1);
  if (!record) throw new Error(`no eap.* audit record names serial ${serial}`);
  return record;
}

beforeAll(async () => {
  t = await startTestGateway({
    https: true,
    configure: (doc) => {
      doc.eap = { ...doc.eap, enabled: true };
    },
  });
  caPem = readFileSync(t.config.pki.ca_cert_file);
  ca = { certPem: caPem.toString('utf8'), keyPem: readFileSync(t.config.pki.ca_key_file, 'utf8') };
  store = await openStateStore(t.config, createLogger('error'));
  devices = new DeviceRegistry(store.kv, store.withLock);
});

afterAll(async () => {
  await store?.close();
  await t?.close();
});

describe('EAP-TLS with eapol_test', () => {
  it.each(['1.3', '1.2'] as const)('accepts an enrolled device over TLS %s, with MPPE keys the device agrees with, and records it', async (tls) => {
    const id = await identity();
    const r = await eapTls(id, { tls });
    expect(r.output).toContain(`TLSv${tls}`);
    expect(r.success, r.output).toBe(true);
    expect(r.mppeKeysOk).toBe(true);
    expect(r.tlsVersion).toBe(`TLSv${tls}`);
    expect(r.radiusCode).toBe('Accept');
    // The session's attributes come with the keys (the device had none: renewed this morning).
    expect(r.replyAttributes.map((a) => a.name)).toContain('Session-Timeout');
    expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.accepted', method: 'tls', tls_version: `TLSv${tls}`, mac: id.mac, user: 'employee', resumed: false });
  });

  it('sends a certificate chain in many fragments when the fragment size is small, and the device puts them back together', async () => {
    const id = await identity();
    const whole = await eapTls(id);
    const small = await eapTls(id, { fragmentSize: 200 });
    expect(small.success, small.output).toBe(true);
    expect(small.mppeKeysOk).toBe(true);
    // The device's own fragment_size: it splits its certificate flight, we acknowledge each piece.
    expect(small.accessChallenges).toBeGreaterThan(whole.accessChallenges + 4);
  });

  it.each(['1.3', '1.2'] as const)('resumes a TLS %s session (1.3 by ticket, 1.2 by session ID), and checks the device again when it does', async (tls) => {
    const id = await identity();
    const r = await eapTls(id, { tls, reauthentications: 1 });
    expect(r.success, r.output).toBe(true);
    expect(r.runs.map((run) => run.resumed)).toEqual([false, true]);
    expect(r.mppeKeysOk).toBe(true);
    const accepted = eapRecords().filter((x) => (x as unknown as { serial?: string }).serial === id.serial);
    expect(accepted.map((x) => [x.type, (x as unknown as { resumed: boolean }).resumed])).toEqual([
      ['eap.accepted', false],
      ['eap.accepted', true],
    ]);
  });

  it('accepts the device of a person whose user name is longer than a certificate CN holds (64 characters)', async () => {
    // 100 characters, with a comma and a backslash that the CN would print escaped.
    const username = `${'very.long.directory.name-'.repeat(3)}Smith, J\\`.padEnd(100, 'x');
    const password = 'long-name-password-0123';
    const usersFile = t.config.directory.file.path;
    const doc = parse(await readFile(usersFile, 'utf8')) as { users: Array<Record<string, unknown>> };
    doc.users.push({ username, groups: [], password: await hashPassword(password) });
    await writeFile(usersFile, stringify(doc));

    const id = await identity({ as: { username, password } });
    const r = await eapTls(id);
    expect(r.success, r.output).toBe(true);
    expect(r.radiusCode).toBe('Accept');
    expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.accepted', mac: id.mac, user: username });
  });

  it('renews the morning session only while the owner is still in the directory', async () => {
    // The users file has "employee" and nobody else: a device of a person who has left.
    const id = await identity({ owner: 'left-the-company' });
    const r = await eapTls(id);
    expect(r.radiusCode).toBe('Reject');
    expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.rejected', reason: 'no session, and the owner could not be renewed: the owner is no longer in the directory' });
  });

  describe('refuses, with the reason in the audit trail', () => {
    it('a certificate from another CA', async () => {
      const foreign = createCa({ commonName: 'Somebody else' });
      const id = await identity({ issuer: foreign });
      const r = await eapTls(id);
      expect(r.success).toBe(false);
      expect(r.radiusCode).toBe('Reject');
      expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.rejected', reason: "the certificate was not issued by the gateway's CA" });
    });

    it('an expired certificate', async () => {
      const id = await identity({ now: new Date(Date.now() - 3 * 86_400_000), validDays: 1 });
      const r = await eapTls(id);
      expect(r.radiusCode).toBe('Reject');
      expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.rejected', reason: 'the certificate has expired' });
    });

    it("a device that is not enrolled, though the gateway's CA issued its certificate", async () => {
      const id = await identity({ enroll: false });
      const r = await eapTls(id);
      expect(r.radiusCode).toBe('Reject');
      expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.rejected', mac: id.mac, reason: 'the certificate names a device that is not enrolled' });
    });

    it('a certificate that is not the enrolled device’s own (issued before it was enrolled again)', async () => {
      const id = await identity({ bind: false });
      const r = await eapTls(id);
      expect(r.radiusCode).toBe('Reject');
      expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.rejected', mac: id.mac, reason: expect.stringContaining('not one issued for this device') });
    });

    it('a blocked device', async () => {
      const id = await identity();
      expect((await eapTls(id)).success).toBe(true);
      await devices.block(id.mac, { by: 'admin', reason: 'stolen', at: new Date().toISOString() });
      const r = await eapTls(id);
      expect(r.radiusCode).toBe('Reject');
      expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.rejected', reason: 'the device is blocked' });
    });

    it('a device unenrolled since its last connection', async () => {
      const id = await identity();
      expect((await eapTls(id)).success).toBe(true);
      await devices.unenroll(id.mac);
      const r = await eapTls(id);
      expect(r.radiusCode).toBe('Reject');
      expect(lastRecordFor(id.serial)).toMatchObject({ type: 'eap.rejected', reason: 'the certificate is revoked' });
    });
  });
});
