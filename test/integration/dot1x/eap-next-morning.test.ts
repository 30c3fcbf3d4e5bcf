import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { createLogger } from '../../../src/logger.js';
import type { Mac } from '../../../src/mac.js';
import { issueDeviceIdentity } from '../../../src/pki/identity.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import type { StateStore } from '../../../src/store/state-store.js';
import { enrollWithCertificate } from '../../helpers/enrolled-identity.js';
import { runEapolTest } from '../../helpers/eapol-test.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';

/**
 * eap.next_morning: daily_login. An enrolled device without a session gets what the NAS
 * gives a device without one (here the registration VLAN), so that its captive probe
 * lands on the portal's login page; with a session it gets the staff network. Both
 * with the keys: the port opens either way.
 */
let t: TestGateway;
let store: StateStore;
const MAC = '02:e7:00:00:04:01' as Mac;
let p12: string;
let password: string;

const eapTls = () =>
  runEapolTest({
    method: 'TLS',
    identity: 'employee',
    caCert: t.config.pki.ca_cert_file,
    privateKey: p12,
    privateKeyPassword: password,
    phase1: 'tls_disable_tlsv1_3=0',
    port: t.gateway.ports.auth,
    secret: TEST_NAS_SECRET,
    mac: MAC,
  });

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.eap = { ...doc.eap, enabled: true, next_morning: 'daily_login' };
      doc.radius.clients = [{ name: 'test-nas', address: '127.0.0.1', secret: TEST_NAS_SECRET, no_session: { answer: 'vlan', vlan: '99' }, with_session: { vlan: '10' } }];
    },
  });
  store = await openStateStore(t.config, createLogger('error'));
  const ca = { certPem: readFileSync(t.config.pki.ca_cert_file, 'utf8'), keyPem: readFileSync(t.config.pki.ca_key_file, 'utf8') };
  const id = await issueDeviceIdentity(ca, { user: 'employee', mac: MAC });
  p12 = join(t.dir, 'device.p12');
  password = id.password;
  await writeFile(p12, id.p12);
  const devices = new DeviceRegistry(store.kv, store.withLock);
  await enrollWithCertificate(devices, { mac: MAC, owner: 'employee', certificatePem: id.certificatePem });
}, 60_000);

afterAll(async () => {
  await store?.close();
  await t?.close();
});

describe('eap.next_morning: daily_login', () => {
  it('lets an enrolled device without a session into the registration VLAN, not the staff one', async () => {
    const r = await eapTls();
    expect(r.success, r.output).toBe(true);
    expect(r.mppeKeysOk).toBe(true);
    const vlan = r.replyAttributes.find((a) => a.name === 'Tunnel-Private-Group-Id' || a.type === 81);
    // eapol_test prints the value in hex: tag 0, then the VLAN's name.
    expect(vlan?.value).toBe(`00${Buffer.from('99').toString('hex')}`);
    expect(r.replyAttributes.map((a) => a.name)).not.toContain('Session-Timeout');
  });

  it('lets it into the staff VLAN once the portal login gave it a session', async () => {
    const now = new Date();
    await new SessionStore(store.kv.sessions).put({ mac: MAC, user: 'employee', origin: 'login', startedAt: now.toISOString(), endsAt: new Date(now.getTime() + 3_600_000).toISOString() }, now);
    const r = await eapTls();
    expect(r.success, r.output).toBe(true);
    const vlan = r.replyAttributes.find((a) => a.name === 'Tunnel-Private-Group-Id' || a.type === 81);
    expect(vlan?.value).toBe(`00${Buffer.from('10').toString('hex')}`);
    expect(r.replyAttributes.map((a) => a.name)).toContain('Session-Timeout');
  });
});
