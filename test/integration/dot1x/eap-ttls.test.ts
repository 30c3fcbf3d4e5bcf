import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { createLogger } from '../../../src/logger.js';
import type { Mac } from '../../../src/mac.js';
import { issueServerCertificate } from '../../../src/pki/ca.js';
import type { StateStore } from '../../../src/store/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { auditRecords } from '../../helpers/audit-records.js';
import { runEapolTest, type EapolTestResult } from '../../helpers/eapol-test.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { SLAPD_BASE_DN, SLAPD_USERS, startSlapd, type Slapd } from '../../helpers/slapd.js';

/**
 * EAP-TTLS with PAP inside, against a real slapd: the device (eapol_test) offers the
 * person's directory password inside the TLS tunnel. The gateway offers EAP-TLS first;
 * the device's Nak asks for TTLS, which it then gets. The person must have enrolled a
 * device at the portal; the station (a private MAC on this SSID) gets the session.
 */
let slapd: Slapd;
let t: TestGateway;
let store: StateStore;
let devices: DeviceRegistry;
let stationCounter = 0x10;
const station = () => `02:e7:00:00:03:${(stationCounter++).toString(16).padStart(2, '0')}` as Mac;

function ttls(o: { user: string; password: string; mac: Mac; tls?: '1.2' | '1.3' }): Promise<EapolTestResult> {
  return runEapolTest({
    method: 'TTLS',
    identity: o.user,
    anonymousIdentity: 'anonymous@example.org',
    password: o.password,
    phase2: 'auth=PAP',
    caCert: t.config.pki.ca_cert_file,
    phase1: `tls_disable_tlsv1_3=${o.tls === '1.2' ? 1 : 0}`,
    domainMatch: 'radius.example.org',
    port: t.gateway.ports.auth,
    secret: TEST_NAS_SECRET,
    mac: o.mac,
  });
}

function lastEapRecord(mac: Mac): Record<string, unknown> {
  const found = (auditRecords(t) as Array<AuditRecord & Record<string, unknown>>).filter((r) => String(r.type).startsWith('eap.') && r.mac === mac).at(-1);
  if (!found) throw new Error(`no eap.* record for ${mac}`);
  return found;
}

beforeAll(async () => {
  slapd = await startSlapd();
  t = await startTestGateway({
    configure: (doc) => {
      doc.eap = { enabled: true, cert_file: 'certs/eap-server.pem', key_file: 'certs/eap-server-key.pem' };
      doc.directory = {
        kind: 'ldap',
        ldap: { url: slapd.url, bind_dn: slapd.bindDn, bind_password: slapd.bindPassword, base_dn: `ou=people,${SLAPD_BASE_DN}`, required_group: slapd.groupDn },
      };
    },
    beforeStart: async (dir) => {
      const ca = { certPem: readFileSync(join(dir, 'certs/ca.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'certs/ca-key.pem'), 'utf8') };
      const server = issueServerCertificate(ca, { names: ['radius.example.org'] });
      await writeFile(join(dir, 'certs/eap-server.pem'), server.certPem);
      await writeFile(join(dir, 'certs/eap-server-key.pem'), server.keyPem, { mode: 0o600 });
    },
  });
  store = await openStateStore(t.config, createLogger('error'));
  devices = new DeviceRegistry(store.kv, store.withLock);
  // alice onboarded one phone at the portal (with the address it had on the onboarding network).
  await devices.enroll({ mac: '02:e7:00:00:03:01' as Mac, owner: 'alice', platform: 'ios', enrolledAt: new Date().toISOString() });
  // bob too, but he is not in the required group.
  await devices.enroll({ mac: '02:e7:00:00:03:02' as Mac, owner: 'bob', platform: 'ios', enrolledAt: new Date().toISOString() });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await t?.close();
  await slapd?.stop();
});

describe('EAP-TTLS with PAP against slapd', () => {
  it.each(['1.3', '1.2'] as const)('accepts the person over TLS %s, gives the station a session, with MPPE keys the device agrees with', async (tls) => {
    const mac = station();
    const r = await ttls({ user: 'alice', password: SLAPD_USERS.alice.password, mac, tls });
    expect(r.success, r.output).toBe(true);
    expect(r.mppeKeysOk).toBe(true);
    expect(r.method).toBe('TTLS');
    expect(r.tlsVersion).toBe(`TLSv${tls}`);
    expect(r.replyAttributes.map((a) => a.name)).toContain('Session-Timeout');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.accepted', method: 'ttls', tls_version: `TLSv${tls}`, user: 'alice' });
  });

  it('refuses a wrong password, and says so in the audit trail without the password', async () => {
    const mac = station();
    const r = await ttls({ user: 'alice', password: 'not-alice-pass', mac });
    expect(r.success).toBe(false);
    expect(r.radiusCode).toBe('Reject');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', method: 'ttls', reason: 'wrong username or password' });
    expect(readdirSync(t.config.audit.dir).map((f) => readFileSync(join(t.config.audit.dir, f), 'utf8')).join('')).not.toContain('not-alice-pass');
    expect(t.logs.text()).not.toContain('not-alice-pass');
    expect(t.logs.text()).not.toContain(SLAPD_USERS.alice.password);
  });

  it('refuses a person outside the required group', async () => {
    const mac = station();
    const r = await ttls({ user: 'bob', password: SLAPD_USERS.bob.password, mac });
    expect(r.radiusCode).toBe('Reject');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', reason: 'the person is not allowed on the Wi-Fi (required group)' });
  });

  it('refuses a person who has enrolled no device at the portal', async () => {
    const mac = station();
    const r = await ttls({ user: "o'brien", password: SLAPD_USERS.obrien.password, mac });
    expect(r.radiusCode).toBe('Reject');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', reason: 'the person has enrolled no device at the portal yet' });
  });

  it('refuses a blocked station, even with the right password', async () => {
    const mac = station();
    await devices.block(mac, { by: 'admin', reason: 'stolen', at: new Date().toISOString() });
    const r = await ttls({ user: 'alice', password: SLAPD_USERS.alice.password, mac });
    expect(r.radiusCode).toBe('Reject');
    expect(lastEapRecord(mac)).toMatchObject({ type: 'eap.rejected', reason: 'the device is blocked' });
  });
});
