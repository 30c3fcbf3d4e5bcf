import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import type { Mac } from '../../../src/mac.js';
import { issueServerCertificate } from '../../../src/pki/ca.js';
import { issueDeviceIdentity } from '../../../src/pki/identity.js';
import { normaliseSerial } from '../../../src/pki/serial.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { runEapolTest } from '../../helpers/eapol-test.js';
import { initOnFreePorts, type GatewayPorts } from '../../helpers/gateway.js';

/**
 * 802.1X with radius.workers: 2. The kernel gives each datagram of a conversation to
 * either worker sharing the socket; only the worker that began the conversation holds
 * its TLS state, so the other passes the request on (through the main process) and the
 * owner answers. Every conversation must succeed, whichever worker each packet reaches.
 */
const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = pathToFileURL(require.resolve('tsx')).href;
const MAC = '02:e7:00:00:01:01' as Mac;

let dir: string;
let gateway: ChildProcess;
let ports: GatewayPorts;
let secret: string;
let output = '';
let p12: string;
let password: string;

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no start line within 30 s:\n${output}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('enrollgate started')) {
        clearTimeout(deadline);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${output}`)));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-eap-workers-'));
  let configFile: string;
  ({ configFile, ports, secret } = await initOnFreePorts(dir, (doc) => {
    doc.radius.workers = 2;
    doc.eap = { enabled: true, cert_file: 'certs/eap-server.pem', key_file: 'certs/eap-server-key.pem' };
  }));
  const ca = { certPem: await readFile(join(dir, 'certs/ca.pem'), 'utf8'), keyPem: await readFile(join(dir, 'certs/ca-key.pem'), 'utf8') };
  const server = issueServerCertificate(ca, { names: ['radius.example.org'] });
  await writeFile(join(dir, 'certs/eap-server.pem'), server.certPem);
  await writeFile(join(dir, 'certs/eap-server-key.pem'), server.keyPem, { mode: 0o600 });
  const id = await issueDeviceIdentity(ca, { user: 'employee', mac: MAC });
  p12 = join(dir, 'device.p12');
  password = id.password;
  await writeFile(p12, id.p12);
  const store = await openSqliteStore(join(dir, 'state.sqlite'));
  const registry = new DeviceRegistry(store.kv, store.withLock);
  await registry.enroll({ mac: MAC, owner: 'employee', platform: 'ios', enrolledAt: new Date().toISOString() });
  // Bound as the profile service binds what it issues (the enrollment holds the certificate's serial).
  const certificate = new X509Certificate(id.certificatePem);
  await registry.recordCertificate(MAC, { serial: normaliseSerial(certificate.serialNumber), notAfter: new Date(certificate.validTo), owner: 'employee' }, new Date());
  await store.close();
  gateway = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli/index.ts'), 'start', '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  await started(gateway);
}, 60_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('EAP-TLS with two RADIUS workers', () => {
  it('completes every conversation, whichever worker each of its packets reaches', async () => {
    const results = [];
    // Four at a time, so both workers are busy and packets land on either.
    for (let round = 0; round < 3; round++) {
      results.push(
        ...(await Promise.all(
          [0, 1, 2, 3].map((i) =>
            runEapolTest({
              method: 'TLS',
              identity: 'employee',
              caCert: join(dir, 'certs/ca.pem'),
              privateKey: p12,
              privateKeyPassword: password,
              phase1: `tls_disable_tlsv1_3=${i % 2}`,
              port: ports.auth,
              secret,
              mac: MAC,
            }),
          ),
        )),
      );
    }
    for (const r of results) {
      expect(r.success, r.output).toBe(true);
      expect(r.mppeKeysOk).toBe(true);
    }
    // Both workers answered conversations (each log line names its worker).
    const owners = new Set(
      output
        .split('\n')
        .filter((l) => l.includes('"event":"eap.accepted"'))
        .map((l) => (JSON.parse(l) as { radiusWorker: number }).radiusWorker),
    );
    expect(owners.size).toBe(2);
  });
});
