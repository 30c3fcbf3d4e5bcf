import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { initCommand } from '../src/cli/commands/init.js';
import { DeviceRegistry } from '../src/devices/device-registry.js';
import { parseMac } from '../src/mac.js';
import { normaliseSerial } from '../src/pki/serial.js';
import { SessionStore } from '../src/sessions/session-store.js';
import { openSqliteStore } from '../src/store/sqlite-state-store.js';
import { freeTcpPort, freeUdpPort } from '../test/helpers/ports.js';
import { issueClientCerts, issueServerCert, type CertFiles, type ClientKeyType } from './eap-certs.js';

/**
 * The gateway as bench:eap runs it: a real process (the built CLI, embedded SQLite
 * store), started as bench:radius starts it, with the `eap` section on.
 *
 * What it expects of the gateway:
 * - `eap: { enabled: true, cert_file, key_file }` answers EAP-TLS on `radius.auth_port`
 *   for the NAS 127.0.0.1 with the benchmark's secret;
 * - the EAP server certificate is the one `init` issued (certs/eap-server.pem) if there
 *   is one, else one this file issues from the gateway's CA (certs/ca.pem) with openssl,
 *   for `radius.bench.test`;
 * - the device certificates (P-256 and RSA-2048, clientAuth) are signed by the gateway's
 *   CA, which is also the CA the client pins the server's certificate to.
 * With `mabDevices`, that many devices are enrolled with live sessions first, for the
 * MAC-authentication load that runs beside EAP.
 */

export interface GatewayForEap {
  pid: number;
  authPort: number;
  ca: string;
  serverName: string;
  clients: Record<ClientKeyType, CertFiles>;
  /** The enrolled devices (aa-bb-cc-dd-ee-ff) for MAC authentication. */
  macs: string[];
  stop(): Promise<void>;
}

const BENCH_SERVER_NAME = 'radius.bench.test';

/** Devices enrolled with sessions ending in 22 hours, as bench:radius seeds them. */
async function seed(stateFile: string, macs: readonly string[]): Promise<void> {
  const store = await openSqliteStore(stateFile);
  const sessions = new SessionStore(store.kv.sessions);
  const devices = new DeviceRegistry(store.kv.devices);
  const now = new Date();
  const endsAt = new Date(now.getTime() + 22 * 3600_000).toISOString();
  for (const [i, m] of macs.entries()) {
    const mac = parseMac(m)!;
    await devices.enroll({ mac, owner: `user${i}`, platform: 'android', enrolledAt: now.toISOString() });
    await sessions.put({ mac, user: `user${i}`, origin: 'enrollment', startedAt: now.toISOString(), endsAt }, now);
  }
  await store.close();
}

/** The devices the bench's client certificates name; their owners are the certificates' CNs. */
const EAP_DEVICES: Record<ClientKeyType, string> = { p256: '02:be:00:00:00:01', rsa2048: '02:be:00:00:00:02' };

/**
 * The gateway's EAP-TLS accepts a certificate only for an enrolled device whose
 * enrollment holds its serial: each bench device is enrolled, its certificate bound as
 * the profile service binds what it issues, and given a session (so every handshake is
 * decided on a live session, as for a device during the day).
 */
async function seedEapDevices(stateFile: string, clients: Record<ClientKeyType, CertFiles>): Promise<void> {
  const store = await openSqliteStore(stateFile);
  const devices = new DeviceRegistry(store.kv, store.withLock);
  const sessions = new SessionStore(store.kv.sessions);
  const now = new Date();
  const endsAt = new Date(now.getTime() + 22 * 3600_000).toISOString();
  for (const type of Object.keys(EAP_DEVICES) as ClientKeyType[]) {
    const mac = parseMac(EAP_DEVICES[type])!;
    const owner = `bench-device-${type}`;
    const certificate = new X509Certificate(await readFile(clients[type].cert));
    await devices.enroll({ mac, owner, platform: 'android', enrolledAt: now.toISOString() });
    await devices.recordCertificate(mac, { serial: normaliseSerial(certificate.serialNumber), notAfter: new Date(certificate.validTo), owner }, now);
    await sessions.put({ mac, user: owner, origin: 'enrollment', startedAt: now.toISOString(), endsAt }, now);
  }
  await store.close();
}

/** Starts the gateway in `dir` (the caller's temporary folder, removed by the caller). */
export async function startGatewayForEap(o: {
  dir: string;
  secret: string;
  workers: number;
  logLevel: string;
  mabDevices: number;
  /** The gateway's CLI to start (default dist/cli/index.js: this checkout's build). */
  cli?: string;
  /** Node options for the gateway (its RADIUS workers inherit them), e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
}): Promise<GatewayForEap> {
  const certsDir = join(o.dir, 'certs');
  const configFile = await initCommand({ dir: o.dir, certsDir, print: () => {} });
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  const authPort = await freeUdpPort();
  doc.log = { level: o.logLevel };
  doc.radius.workers = o.workers;
  doc.portal.http.port = await freeTcpPort();
  doc.portal.https.port = await freeTcpPort();
  doc.radius.auth_port = authPort;
  doc.radius.acct_port = await freeUdpPort();
  doc.radius.clients = [{ name: 'bench', address: '127.0.0.1', secret: o.secret }];
  // A cut-off an hour behind now: every session has nearly a day left.
  doc.session = { daily_cutoff: `${String((new Date().getUTCHours() + 23) % 24).padStart(2, '0')}:00`, time_zone: 'UTC' };

  const ca: CertFiles = { cert: join(certsDir, 'ca.pem'), key: join(certsDir, 'ca-key.pem') };
  let server: CertFiles = { cert: join(certsDir, 'eap-server.pem'), key: join(certsDir, 'eap-server-key.pem') };
  let serverName = BENCH_SERVER_NAME;
  if (existsSync(server.cert) && existsSync(server.key)) {
    // init's own: the client checks the first DNS name it carries.
    const san = new X509Certificate(await readFile(server.cert)).subjectAltName ?? '';
    serverName = /DNS:([^,\s]+)/.exec(san)?.[1] ?? serverName;
  } else {
    server = await issueServerCert(certsDir, ca, BENCH_SERVER_NAME);
  }
  doc.eap = { ...(doc.eap ?? {}), enabled: true, cert_file: server.cert, key_file: server.key };
  await writeFile(configFile, stringify(doc));
  const clients = await issueClientCerts(certsDir, ca, EAP_DEVICES);
  await seedEapDevices(join(o.dir, 'state.sqlite'), clients);

  const macs = Array.from({ length: o.mabDevices }, (_, i) => `00-16-3e-${((i >> 16) & 0xff).toString(16).padStart(2, '0')}-${((i >> 8) & 0xff).toString(16).padStart(2, '0')}-${(i & 0xff).toString(16).padStart(2, '0')}`);
  if (macs.length > 0) await seed(join(o.dir, 'state.sqlite'), macs);

  // Its log lines go to a file, as FreeRADIUS's do (-l): read from a pipe they would cost the
  // benchmark's process, which shares the cores with the gateway, CPU per handshake.
  const logFile = join(o.dir, 'gateway.log');
  const logFd = openSync(logFile, 'a');
  const gateway: ChildProcess = spawn(process.execPath, [...(o.nodeArgs ?? []), ...(process.env.EG_BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), o.cli ?? 'dist/cli/index.js', 'start', '--config', configFile], { stdio: ['ignore', logFd, 'pipe'] });
  closeSync(logFd);
  gateway.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  const exited = new Promise<void>((resolve) => gateway.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (gateway.exitCode !== null || gateway.signalCode !== null) return;
    gateway.kill('SIGTERM');
    const killer = setTimeout(() => gateway.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  try {
    // "enrollgate started" is an info line: the gateway must log at info or below.
    const deadline = performance.now() + 30_000;
    for (;;) {
      const log = await readFile(logFile, 'utf8');
      if (log.includes('enrollgate started')) break;
      if (gateway.exitCode !== null || gateway.signalCode !== null) throw new Error(`gateway exited with ${gateway.exitCode ?? gateway.signalCode}:\n${log.slice(-4000)}`);
      if (performance.now() > deadline) throw new Error(`the gateway did not say "enrollgate started" within 30 s (its log: ${logFile})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    pid: gateway.pid!,
    authPort,
    ca: ca.cert,
    serverName,
    clients,
    macs,
    stop,
  };
}
