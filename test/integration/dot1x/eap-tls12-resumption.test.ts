import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import type { Mac } from '../../../src/mac.js';
import { issueServerCertificate } from '../../../src/pki/ca.js';
import { issueDeviceIdentity } from '../../../src/pki/identity.js';
import { normaliseSerial } from '../../../src/pki/serial.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import type { StateStore } from '../../../src/store/state-store.js';
import { runEapolTest, type EapolTestResult } from '../../helpers/eapol-test.js';
import { CLI_GATEWAY_SETUP_MS, initOnFreePorts, startCliGateway, type CliGateway, type GatewayPorts } from '../../helpers/gateway.js';
import { HoldingRelay } from '../../helpers/holding-relay.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * TLS 1.2 resumption by session ID, as wpa_supplicant does it (no ticket extension in
 * 1.2), against a gateway with radius.workers: 2: eapol_test re-authenticates again and
 * again, each new conversation reaching either worker, and each must resume, from the
 * session the state store holds. A relay between eapol_test and the gateway holds a
 * re-authentication back while the test kills the worker that made the session, or
 * unenrolls the device.
 */
let dir: string;
let gateway: CliGateway;
let ports: GatewayPorts;
let secret: string;
let store: StateStore;
let devices: DeviceRegistry;
let ca: { certPem: string; keyPem: string };
let macCounter = 0x20;

interface Device {
  mac: Mac;
  p12: string;
  password: string;
  serial: string;
}

async function enrolledDevice(): Promise<Device> {
  const mac = `02:e7:00:00:02:${(macCounter++).toString(16)}` as Mac;
  const id = await issueDeviceIdentity(ca, { user: 'employee', mac });
  const p12 = join(dir, `${mac.replace(/:/g, '')}.p12`);
  await writeFile(p12, id.p12);
  const certificate = new X509Certificate(id.certificatePem);
  const serial = normaliseSerial(certificate.serialNumber);
  await devices.enroll({ mac, owner: 'employee', platform: 'android', enrolledAt: new Date().toISOString() });
  await devices.recordCertificate(mac, { serial, notAfter: new Date(certificate.validTo), owner: 'employee' }, new Date());
  return { mac, p12, password: id.password, serial };
}

/** eapol_test over TLS 1.2 through a relay that runs `between(n)` before conversation n. */
async function eapTls12(device: Device, reauthentications: number, between: (n: number) => Promise<void>): Promise<EapolTestResult> {
  const relay = await HoldingRelay.start({ host: '127.0.0.1', port: ports.auth }, between);
  try {
    return await runEapolTest({
      method: 'TLS',
      identity: 'employee',
      caCert: join(dir, 'certs/ca.pem'),
      privateKey: device.p12,
      privateKeyPassword: device.password,
      phase1: 'tls_disable_tlsv1_3=1',
      port: relay.port,
      secret,
      mac: device.mac,
      reauthentications,
      timeoutSeconds: 60,
    });
  } finally {
    relay.close();
  }
}

/** The gateway's log lines of one event so far, parsed. */
function logged<T>(event: string): T[] {
  return gateway
    .output()
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as T);
}

type Decision = { radiusWorker: number; serial?: string; resumed?: boolean; tls_version?: string; reason?: string };
const decisionsFor = (serial: string, event: 'eap.accepted' | 'eap.rejected') => logged<Decision>(event).filter((d) => d.serial === serial);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-eap-tls12-resume-'));
  let configFile: string;
  ({ configFile, ports, secret } = await initOnFreePorts(dir, (doc) => {
    // The per-conversation eap.accepted/eap.rejected lines (with the worker's PID) are debug.
    doc.log = { ...doc.log, level: 'debug' };
    doc.radius.workers = 2;
    doc.eap = { enabled: true, cert_file: 'certs/eap-server.pem', key_file: 'certs/eap-server-key.pem', resumption_minutes: 60 };
  }));
  ca = { certPem: await readFile(join(dir, 'certs/ca.pem'), 'utf8'), keyPem: await readFile(join(dir, 'certs/ca-key.pem'), 'utf8') };
  const server = issueServerCertificate(ca, { names: ['radius.example.org'] });
  await writeFile(join(dir, 'certs/eap-server.pem'), server.certPem);
  await writeFile(join(dir, 'certs/eap-server-key.pem'), server.keyPem, { mode: 0o600 });
  gateway = await startCliGateway(configFile, dir);
  // The gateway's own SQLite file, opened beside it (WAL): what the test changes, its workers read.
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  devices = new DeviceRegistry(store.kv, store.withLock);
}, CLI_GATEWAY_SETUP_MS);

afterAll(async () => {
  await store?.close();
  if (gateway) await stopChild(gateway.child, 15_000);
  await rm(dir, { recursive: true, force: true });
});

describe('TLS 1.2 resumption by session ID with two RADIUS workers', () => {
  it('resumes at every re-authentication, whichever worker answers, also after the worker that made the session died', async () => {
    const device = await enrolledDevice();
    let killed: number | undefined;
    const r = await eapTls12(device, 5, async (n) => {
      if (n !== 2) return;
      // Conversation 1 made the session: kill its worker (as a crash) before the device comes back.
      killed = decisionsFor(device.serial, 'eap.accepted')[0]!.radiusWorker;
      process.kill(killed, 'SIGKILL');
      await expect.poll(() => logged<{ pid: number }>('radius.worker_exited').some((l) => l.pid === killed), { timeout: 30_000, interval: 50 }).toBe(true);
    });
    expect(r.success, r.output).toBe(true);
    expect(r.mppeKeysOk).toBe(true);
    expect(r.runs.map((run) => [run.tlsVersion, run.resumed])).toEqual([['TLSv1.2', false], ...Array(5).fill(['TLSv1.2', true])]);
    const accepted = decisionsFor(device.serial, 'eap.accepted');
    expect(accepted.map((a) => a.resumed)).toEqual([false, true, true, true, true, true]);
    // The first resumption was answered by another process than the one that made the session.
    expect(accepted[1]!.radiusWorker).not.toBe(killed);
  }, 120_000);

  it('refuses the resumption of a device unenrolled since its session was made', async () => {
    const device = await enrolledDevice();
    const r = await eapTls12(device, 1, async (n) => {
      if (n === 2) await devices.unenroll(device.mac);
    });
    expect(r.runs[0]!.eapSuccess, r.output).toBe(true);
    expect(r.runs[1]!.radiusCode, r.output).toBe('Reject');
    expect(r.runs[1]!.eapSuccess).toBe(false);
    // The handshake did resume: the refusal is the device check's, on the certificate the session holds.
    expect(decisionsFor(device.serial, 'eap.rejected')).toMatchObject([{ resumed: true, tls_version: 'TLSv1.2', reason: 'the certificate is revoked' }]);
  }, 60_000);
});
