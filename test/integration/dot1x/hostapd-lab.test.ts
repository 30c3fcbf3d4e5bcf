import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { createLogger } from '../../../src/logger.js';
import type { Mac } from '../../../src/mac.js';
import { issueServerCertificate } from '../../../src/pki/ca.js';
import { issueDeviceIdentity } from '../../../src/pki/identity.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { auditRecords } from '../../helpers/audit-records.js';
import { enrollWithCertificate } from '../../helpers/enrolled-identity.js';
import { startDot1xLab, type Dot1xLab } from '../../helpers/dot1x-lab.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { call as httpCall, type CallOptions, type Reply } from '../../helpers/http.js';
import { freeUdpPort } from '../../helpers/ports.js';

/**
 * 802.1X end to end with a real authenticator: hostapd (driver wired) is the NAS, the
 * gateway its RADIUS authentication and accounting server and the sender of its
 * Disconnect-Requests; wpa_supplicant in its own network namespace, across a veth
 * pair, is the device with its EAP-TLS identity, on a private MAC other than the one it
 * enrolled with (its certificate names that one). The owner unenrolls the device on
 * "My devices": the Disconnect-Request names the MAC the NAS knows, the port closes at
 * once, and the next attempt is refused.
 */
/** The MAC the device enrolled with (its certificate names it). */
const MAC = '02:e7:00:00:02:01' as Mac;
/** The private MAC it uses on the staff SSID: all the NAS knows it by. */
const STATION = '06:e7:00:00:02:99' as Mac;
const LAPTOP = '10.4.9.20';

let t: TestGateway;
let lab: Dot1xLab;
let dasPort: number;
const call = (method: string, path: string, o: CallOptions = {}) => httpCall(t.httpUrl, method, path, o);

const records = (): AuditRecord[] => auditRecords(t);

/** Polls the audit trail until a record matches (bounded: the lab's own events have already been awaited). */
async function recordWhere(match: (r: Record<string, unknown>) => boolean, what: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = records().find((r) => match(r as unknown as Record<string, unknown>));
    if (found) return found as unknown as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`no audit record: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function cookieOf(r: Reply, name: string): string {
  const c = ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((x) => x.startsWith(`${name}=`));
  if (!c) throw new Error(`no ${name} cookie (status ${r.status})`);
  return c.split(';')[0]!;
}

beforeAll(async () => {
  dasPort = await freeUdpPort();
  t = await startTestGateway({
    configure: (doc) => {
      doc.eap = { enabled: true, cert_file: 'certs/eap-server.pem', key_file: 'certs/eap-server-key.pem' };
      doc.radius.clients = [
        { name: 'test-nas', address: '127.0.0.1', secret: TEST_NAS_SECRET, dynamic_authorization: { enabled: true, address: '127.0.0.1', port: dasPort, timeout_ms: 1000, retries: 2 } },
      ];
    },
    beforeStart: async (dir) => {
      const ca = { certPem: readFileSync(join(dir, 'certs/ca.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'certs/ca-key.pem'), 'utf8') };
      const server = issueServerCertificate(ca, { names: ['radius.example.org'] });
      await writeFile(join(dir, 'certs/eap-server.pem'), server.certPem);
      await writeFile(join(dir, 'certs/eap-server-key.pem'), server.keyPem, { mode: 0o600 });
      const id = await issueDeviceIdentity(ca, { user: 'employee', mac: MAC });
      await writeFile(join(dir, 'device.p12'), id.p12);
      await writeFile(join(dir, 'device.pass'), id.password);
      const store = await openStateStore({ store: { kind: 'sqlite', sqlite_file: join(dir, 'state.sqlite') } } as never, createLogger('error'));
      await enrollWithCertificate(new DeviceRegistry(store.kv, store.withLock), { mac: MAC, owner: 'employee', certificatePem: id.certificatePem });
      await store.close();
    },
  });
  lab = await startDot1xLab({
    authPort: t.gateway.ports.auth,
    acctPort: t.gateway.ports.acct,
    secret: TEST_NAS_SECRET,
    dasPort,
    stationMac: STATION,
    network: {
      method: 'TLS',
      identity: 'employee',
      caCert: t.config.pki.ca_cert_file,
      privateKey: join(t.dir, 'device.p12'),
      privateKeyPassword: readFileSync(join(t.dir, 'device.pass'), 'utf8'),
      phase1: 'tls_disable_tlsv1_3=0',
      domainMatch: 'radius.example.org',
    },
  });
}, 60_000);

afterAll(async () => {
  await lab?.close();
  await t?.close();
});

describe('802.1X with hostapd as the NAS and wpa_supplicant as the device', () => {
  it('lets the device in with its certificate: port authorized, accounting started', async () => {
    await lab.waitFor(/CTRL-EVENT-EAP-SUCCESS2? /, { in: 'hostapd', timeoutMs: 20_000 });
    await lab.waitFor(/AP-STA-CONNECTED/, { in: 'hostapd' });
    await lab.waitFor(/CTRL-EVENT-CONNECTED/, { in: 'supplicant' });
    expect(await lab.hostapdCli('all_sta')).toMatch(/AUTHORIZED/);
    expect(await recordWhere((r) => r.type === 'eap.accepted' && r.mac === MAC, 'eap.accepted')).toMatchObject({ method: 'tls', tls_version: 'TLSv1.3', user: 'employee' });
    await recordWhere((r) => r.type === 'accounting.started' && r.mac === STATION, 'accounting.started for the device, under its private MAC');
  });

  it('resumes the TLS session when the device authenticates again', async () => {
    const since = lab.mark('hostapd');
    await lab.wpaCli('reauthenticate');
    await lab.waitFor(/CTRL-EVENT-EAP-SUCCESS2? /, { in: 'hostapd', since, timeoutMs: 20_000 });
    await recordWhere((r) => r.type === 'eap.accepted' && r.mac === MAC && r.resumed === true, 'a resumed eap.accepted');
  });

  it('cuts the device off when its owner unenrolls it on "My devices", and refuses it after, resumption included', async () => {
    // The owner, on another computer, logs in to "My devices" and unenrolls the phone.
    const page = await call('GET', '/portal/devices', { ip: LAPTOP });
    const anon = cookieOf(page, 'eg_manage');
    const login = await call('POST', '/portal/devices/login', { ip: LAPTOP, cookie: anon, form: { _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!, username: 'employee', password: t.employeePassword } });
    expect(login.status).toBe(303);
    const cookie = cookieOf(login, 'eg_manage');
    const confirm = await call('GET', `/portal/devices/unenroll?mac=${encodeURIComponent(MAC)}`, { ip: LAPTOP, cookie });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    const since = lab.mark('hostapd');
    const done = await call('POST', '/portal/devices/unenroll', { ip: LAPTOP, cookie, form: { _csrf: csrf, mac: MAC, reason: 'lost' } });
    expect(done.status).toBe(303);

    // The Disconnect-Request reaches hostapd, which closes the port.
    await lab.waitFor(/AP-STA-DISCONNECTED/, { in: 'hostapd', since });
    expect(lab.log('hostapd').slice(since)).toMatch(/RADIUS DAS/);
    expect(await lab.hostapdCli('all_sta')).not.toMatch(/AUTHORIZED/);

    // The device tries again (with its cached TLS session) and is refused.
    const retry = lab.mark('hostapd');
    await lab.wpaCli('logoff');
    await lab.wpaCli('logon');
    await lab.waitFor(/CTRL-EVENT-EAP-FAILURE2? /, { in: 'hostapd', since: retry, timeoutMs: 20_000 });
    expect(await recordWhere((r) => r.type === 'eap.rejected' && r.mac === MAC, 'eap.rejected after unenrolling')).toMatchObject({ reason: 'the certificate is revoked', resumed: true });
  });
});
