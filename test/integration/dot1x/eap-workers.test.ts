import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import type { Mac } from '../../../src/mac.js';
import { issueServerCertificate } from '../../../src/pki/ca.js';
import { issueDeviceIdentity } from '../../../src/pki/identity.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { enrollWithCertificate } from '../../helpers/enrolled-identity.js';
import { runEapolTest } from '../../helpers/eapol-test.js';
import { CLI_GATEWAY_SETUP_MS, initOnFreePorts, startCliGateway, type GatewayPorts } from '../../helpers/gateway.js';

/**
 * 802.1X with radius.workers: 2. The kernel gives each datagram of a conversation to
 * either worker sharing the socket; only the worker that began the conversation holds
 * its TLS state, so the other hands the request on (eap-handoff.ts) and the
 * owner answers. Every conversation must succeed, whichever worker each packet reaches.
 */
const MAC = '02:e7:00:00:01:01' as Mac;

let dir: string;
let gateway: ChildProcess;
let ports: GatewayPorts;
let secret: string;
/** What the gateway printed so far. */
let output: () => string = () => '';
let p12: string;
let password: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-eap-workers-'));
  let configFile: string;
  ({ configFile, ports, secret } = await initOnFreePorts(dir, (doc) => {
    // The per-conversation eap.accepted/eap.rejected lines (with the worker's PID) are debug.
    doc.log = { ...doc.log, level: 'debug' };
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
  await enrollWithCertificate(registry, { mac: MAC, owner: 'employee', certificatePem: id.certificatePem });
  await store.close();
  const started = await startCliGateway(configFile, dir);
  gateway = started.child;
  output = started.output;
}, CLI_GATEWAY_SETUP_MS);

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
    // The workers start with deploy/openssl.cnf: one TLS 1.3 session ticket after a full
    // handshake, not OpenSSL's two (each ~1 KB here: the second cost a round trip).
    // (wpa_supplicant asks for no ticket over TLS 1.2.)
    const tls13 = results.filter((r) => r.tlsVersion === 'TLSv1.3');
    expect(tls13).toHaveLength(6);
    for (const r of tls13) expect(r.runs[0]!.sessionTickets, r.output).toBe(1);
    // Both workers answered conversations (each log line names its worker).
    const owners = new Set(
      output()
        .split('\n')
        .filter((l) => l.includes('"event":"eap.accepted"'))
        .map((l) => (JSON.parse(l) as { radiusWorker: number }).radiusWorker),
    );
    expect(owners.size).toBe(2);
    // And packets did land on the other worker, and were handed over: none lost, none refused.
    const metrics = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text();
    const handoffs = (result: string) => Number(new RegExp(`enrollgate_eap_handoffs_total\\{result="${result}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect(handoffs('sent')).toBeGreaterThan(0);
    expect(handoffs('received')).toBe(handoffs('sent'));
    expect(handoffs('forged')).toBe(0);
    expect(handoffs('no_owner')).toBe(0);
  });
});
