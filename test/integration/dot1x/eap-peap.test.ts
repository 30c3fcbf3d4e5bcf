import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { hashPassword, ntHashOf } from '../../../src/directory/file-directory.js';
import { createLogger } from '../../../src/logger.js';
import type { Mac } from '../../../src/mac.js';
import { issueServerCertificate } from '../../../src/pki/ca.js';
import type { StateStore } from '../../../src/store/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { auditRecords } from '../../helpers/audit-records.js';
import { runEapolTest, type EapolTestResult } from '../../helpers/eapol-test.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';

/**
 * PEAPv0 with EAP-MSCHAPv2 (what Windows' built-in client speaks), against the users
 * file: the device (eapol_test) proves the person's password inside the TLS tunnel with
 * MSCHAPv2, which the gateway checks with the NT hash the users file keeps for that
 * person. As with TTLS, the person must have enrolled a device at the portal and the
 * station gets the session.
 */
const USERS = {
  alice: { password: 'alice-peap-password-1', ntHash: true },
  bob: { password: 'bob-has-no-nt-hash-2', ntHash: false },
  carol: { password: 'carol-never-enrolled-3', ntHash: true },
} as const;

let t: TestGateway;
let store: StateStore;
let devices: DeviceRegistry;
let stationCounter = 0x10;
const station = () => `02:e7:00:00:05:${(stationCounter++).toString(16).padStart(2, '0')}` as Mac;

function peap(o: { user: string; password: string; mac: Mac; tls?: '1.2' | '1.3' }): Promise<EapolTestResult> {
  return runEapolTest({
    method: 'PEAP',
    identity: o.user,
    anonymousIdentity: 'anonymous@example.org',
    password: o.password,
    phase1: `peapver=0 tls_disable_tlsv1_3=${o.tls === '1.3' ? 0 : 1}`,
    phase2: 'auth=MSCHAPV2',
    caCert: t.config.pki.ca_cert_file,
    domainMatch: 'radius.example.org',
    port: t.gateway.ports.auth,
    secret: TEST_NAS_SECRET,
    mac: o.mac,
  });
}

function eapRecords(): Array<AuditRecord & Record<string, unknown>> {
  return auditRecords(t) as Array<AuditRecord & Record<string, unknown>>;
}

function lastEapRecord(mac: Mac): Record<string, unknown> {
  const found = eapRecords().filter((r) => String(r.type).startsWith('eap.') && r.mac === mac).at(-1);
  if (!found) throw new Error(`no eap.* record for ${mac}`);
  return found;
}

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.eap = { enabled: true, methods: ['tls', 'peap'], cert_file: 'certs/eap-server.pem', key_file: 'certs/eap-server-key.pem' };
    },
    beforeStart: async (dir) => {
      const ca = { certPem: readFileSync(join(dir, 'certs/ca.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'certs/ca-key.pem'), 'utf8') };
      const server = issueServerCertificate(ca, { names: ['radius.example.org'] });
      await writeFile(join(dir, 'certs/eap-server.pem'), server.certPem);
      await writeFile(join(dir, 'certs/eap-server-key.pem'), server.keyPem, { mode: 0o600 });
      const users = await Promise.all(
        Object.entries(USERS).map(async ([username, u]) => ({ username, password: await hashPassword(u.password), ...(u.ntHash ? { nt_hash: ntHashOf(u.password) } : {}) })),
      );
      await writeFile(join(dir, 'users.yaml'), stringify({ users }), { mode: 0o600 });
    },
  });
  store = await openStateStore(t.config, createLogger('error'));
  devices = new DeviceRegistry(store.kv, store.withLock);
  // alice and bob each onboarded a phone at the portal; carol did not.
  await devices.enroll({ mac: '02:e7:00:00:05:01' as Mac, owner: 'alice', platform: 'other', enrolledAt: new Date().toISOString() });
  await devices.enroll({ mac: '02:e7:00:00:05:02' as Mac, owner: 'bob', platform: 'other', enrolledAt: new Date().toISOString() });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await t?.close();
});

describe('PEAPv0 with EAP-MSCHAPv2 against the users file', () => {
  it('accepts the person over TLS 1.2, gives the station a session, with MPPE keys the device agrees with', async () => {
    const mac = station();
    const r = await peap({ user: 'alice', password: USERS.alice.password, mac, tls: '1.2' });
    expect(r.success, r.output).toBe(true);
    expect(r.mppeKeysOk, r.output).toBe(true);
    expect(r.method).toBe('PEAP');
    expect(r.tlsVersion).toBe('TLSv1.2');
    expect(r.replyAttributes.map((a) => a.name)).toContain('Session-Timeout');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.accepted', method: 'peap', tls_version: 'TLSv1.2', user: 'alice' });
  });

  it('refuses a wrong password, says so in the audit trail, and no password or hash is logged', async () => {
    const mac = station();
    const r = await peap({ user: 'alice', password: 'not-alices-password', mac, tls: '1.2' });
    expect(r.success).toBe(false);
    expect(r.radiusCode).toBe('Reject');
    expect(r.output).toMatch(/EAP-MSCHAPV2: error 691\n/);
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', method: 'peap', reason: 'wrong username or password' });
    const trail = readdirSync(t.config.audit.dir).map((f) => readFileSync(join(t.config.audit.dir, f), 'utf8')).join('');
    for (const secret of ['not-alices-password', USERS.alice.password, ntHashOf(USERS.alice.password), ntHashOf('not-alices-password')]) {
      expect(trail).not.toContain(secret);
      expect(t.logs.text().toLowerCase()).not.toContain(secret.toLowerCase());
    }
  });

  it('refuses a person whose NT hash the users file does not keep, and says why', async () => {
    const mac = station();
    const r = await peap({ user: 'bob', password: USERS.bob.password, mac, tls: '1.2' });
    expect(r.radiusCode).toBe('Reject');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', method: 'peap', reason: "the directory keeps no NT hash for this person (the users file's nt_hash), which PEAP's MSCHAPv2 needs" });
  });

  it('refuses a person who has enrolled no device, telling the device "no permission" (649) rather than a wrong password', async () => {
    const mac = station();
    const r = await peap({ user: 'carol', password: USERS.carol.password, mac, tls: '1.2' });
    expect(r.radiusCode).toBe('Reject');
    expect(r.output).toMatch(/EAP-MSCHAPV2: error 649\n/);
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', reason: 'the person has enrolled no device at the portal yet' });
  });

  it('refuses a blocked station, even with the right password', async () => {
    const mac = station();
    await devices.block(mac, { by: 'admin', reason: 'stolen', at: new Date().toISOString() });
    const r = await peap({ user: 'alice', password: USERS.alice.password, mac, tls: '1.2' });
    expect(r.radiusCode).toBe('Reject');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', reason: 'the device is blocked' });
  });

  it('TLS 1.3 (RFC 9427)', async () => {
    const mac = station();
    const r = await peap({ user: 'alice', password: USERS.alice.password, mac, tls: '1.3' });
    expect(r.success, r.output).toBe(true);
    expect(r.mppeKeysOk, r.output).toBe(true);
    expect(r.tlsVersion).toBe('TLSv1.3');
  });
});
