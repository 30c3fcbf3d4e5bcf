/**
 * npm run bench:profile — what handing out signed iOS profiles costs the event
 * loop, the loop that also answers RADIUS.
 *
 *   npm run bench:profile -- [--count 200] [--duration 5] [--inflight 64] [--devices 2000] [--downloads 4] [--no-radius]
 *
 * 1. In this process: event-loop time per signed enrollment profile (PEAP + WPA2
 *    networks), per EAP-TLS profile (a new identity each: RSA key generated off
 *    the loop, certificate, PKCS#12), and the parts: XML, CMS signature (native
 *    RSA) and, for reference, the same signature in forge's pure JavaScript.
 *    "Event-loop time" is performance.eventLoopUtilization()'s active time: work
 *    on libuv's thread pool (the key generation) does not count, as it does not
 *    delay a RADIUS answer.
 * 2. Unless --no-radius: a real gateway (portal and RADIUS in one process, as with
 *    radius.workers: 1) in a child process, with `devices` enrolled devices holding
 *    live sessions and one-time profile links. This process downloads profiles over
 *    HTTP through the portal's route (GET /portal/profile/:id, `downloads` at a
 *    time) and keeps `inflight` Access-Requests outstanding (bench/radius-load.ts):
 *    RADIUS alone, profiles alone (profiles/s served), then both at once (RADIUS
 *    p50/p99 while profiles download), for WPA2+PEAP and for EAP-TLS profiles.
 *    One downloaded profile is checked with openssl cms -verify.
 *
 * Loopback only, bounded in time. Prints its figures; asserts nothing.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import forge from 'node-forge';
import { parse, stringify } from 'yaml';
import { initCommand } from '../src/cli/commands/init.js';
import { loadConfig, resolveConfig, validateConfig, type Config } from '../src/config/load.js';
import { DeviceRegistry } from '../src/devices/device-registry.js';
import { parseMac } from '../src/mac.js';
import { createLogger } from '../src/logger.js';
import { startGateway } from '../src/main.js';
import { createCa, loadIssuingCa, type CertificateAuthority } from '../src/pki/ca.js';
import { createProfileSigner } from '../src/pki/cms.js';
import { issueDeviceIdentity } from '../src/pki/identity.js';
import { loadProfileSigning } from '../src/pki/profile-signing.js';
import { ProfileLinkStore } from '../src/portal/profile-links.js';
import { buildEnrollmentProfile } from '../src/profiles/apple-profile.js';
import { MOBILECONFIG_TYPE, ProfileService } from '../src/profiles/profile-service.js';
import { SessionStore } from '../src/sessions/session-store.js';
import { openSqliteStore } from '../src/store/sqlite-state-store.js';
import { freeTcpPort, freeUdpPort } from '../test/helpers/ports.js';
import { runLoad, type LoadResult } from './radius-load.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    duration: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '64' },
    devices: { type: 'string', default: '2000' },
    downloads: { type: 'string', default: '4' },
    'no-radius': { type: 'boolean', default: false },
    serve: { type: 'string' },
  },
});

const PERSONAL_AND_PEAP = [
  { ssid: 'Office', security: 'wpa2-personal', password: 'correct horse battery' },
  { ssid: 'Staff', security: 'eap-peap', server_names: ['radius.example.org'], outer_identity: 'anonymous@example.org' },
];
const TLS = [{ ssid: 'Staff-TLS', security: 'eap-tls', server_names: ['radius.example.org'] }];

function macOf(i: number): string {
  return `02-16-3e-${((i >> 16) & 0xff).toString(16).padStart(2, '0')}-${((i >> 8) & 0xff).toString(16).padStart(2, '0')}-${(i & 0xff).toString(16).padStart(2, '0')}`;
}

/** Event-loop active milliseconds spent by `run`, and its wall time. */
async function measure(run: () => Promise<void>): Promise<{ activeMs: number; wallMs: number }> {
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  await run();
  return { activeMs: performance.eventLoopUtilization(elu).active, wallMs: performance.now() - started };
}

function line(label: string, perItemMs: number, extra = ''): void {
  console.log(`${label.padEnd(52)} ${perItemMs.toFixed(2).padStart(7)} ms  ${(1000 / perItemMs).toFixed(0).padStart(6)} /s of loop${extra}`);
}

async function inProcess(count: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-bench-profile-'));
  try {
    const ca: CertificateAuthority = createCa({ commonName: 'Bench Wi-Fi CA', organization: 'Bench Corp' });
    const configOf = (wifi: object[]): Config =>
      resolveConfig(validateConfig({ portal: { organisation_name: 'Bench Corp' }, ios: { wifi } }), join(dir, 'enrollgate.yaml'), {});
    const material = loadProfileSigning(configOf([]), ca);
    const signer = createProfileSigner(material);
    const plain = new ProfileService({ config: configOf(PERSONAL_AND_PEAP), ca, signer });
    const tls = new ProfileService({ config: configOf(TLS), ca, signer });

    // Warm-up: JIT, forge's tables.
    for (let i = 0; i < 20; i++) await plain.enrollmentProfile({ mac: macOf(i), owner: `user${i}` });
    for (let i = 0; i < 5; i++) await tls.enrollmentProfile({ mac: macOf(i), owner: `user${i}` });

    console.log(`in-process, ${count} profiles each (node ${process.version}):`);
    let size = 0;
    const p = await measure(async () => {
      for (let i = 0; i < count; i++) size = (await plain.enrollmentProfile({ mac: macOf(i), owner: `user${i}` })).body.length;
    });
    line('signed profile, WPA2-Personal + PEAP', p.activeMs / count, `   (${size} bytes)`);

    const t = await measure(async () => {
      for (let i = 0; i < count; i++) size = (await tls.enrollmentProfile({ mac: macOf(i), owner: `user${i}` })).body.length;
    });
    line('signed profile, EAP-TLS (new identity each)', t.activeMs / count, `   (${size} bytes; wall ${(t.wallMs / count).toFixed(1)} ms incl. key generation off the loop)`);

    const issuer = loadIssuingCa(ca);
    const ids = await measure(async () => {
      for (let i = 0; i < count; i++) await issueDeviceIdentity(issuer, { user: `user${i}`, mac: macOf(i) });
    });
    line('  of which identity (key parse, cert, PKCS#12 3DES)', ids.activeMs / count);

    const wifi = configOf(PERSONAL_AND_PEAP).ios.wifi;
    const caDer = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(ca.certPem))).getBytes(), 'binary');
    const uuidKey = Buffer.alloc(32, 1);
    let xml = '';
    const build = await measure(async () => {
      for (let i = 0; i < count; i++) {
        xml = buildEnrollmentProfile({ mac: macOf(i), user: `user${i}`, caDer, wifi, identifier: 'org.example', organisation: 'Bench Corp', uuidKey });
      }
    });
    line('  XML plist only (WPA2 + PEAP)', build.activeMs / count);
    const sign = await measure(async () => {
      for (let i = 0; i < count; i++) signer.sign(Buffer.from(xml));
    });
    line('  CMS signature only (native RSA 2048)', sign.activeMs / count);

    const forgeKey = forge.pki.privateKeyFromPem(material.keyPem);
    const forgeCert = forge.pki.certificateFromPem(material.certPem);
    const reference = 10;
    const pure = await measure(async () => {
      for (let i = 0; i < reference; i++) {
        const p7 = forge.pkcs7.createSignedData();
        p7.content = forge.util.createBuffer(xml);
        p7.addCertificate(forgeCert);
        p7.addSigner({ key: forgeKey, certificate: forgeCert, digestAlgorithm: forge.pki.oids.sha256!, authenticatedAttributes: [{ type: forge.pki.oids.contentType!, value: forge.pki.oids.data! }, { type: forge.pki.oids.messageDigest! }] });
        p7.sign();
      }
    });
    line(`  (reference: the same signature in forge's pure JS, ${reference}x)`, pure.activeMs / reference);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Child process: a real gateway (portal and RADIUS on one event loop), reporting its loop's busy share on request. */
async function serve(configFile: string): Promise<void> {
  const gateway = await startGateway(loadConfig(configFile), { log: createLogger('warn') });
  let elu = performance.eventLoopUtilization();
  process.on('message', (msg: { cmd: 'mark' } | { cmd: 'read' } | { cmd: 'exit' }) => {
    if (msg.cmd === 'mark') {
      elu = performance.eventLoopUtilization();
      process.send!({ marked: true });
    } else if (msg.cmd === 'read') {
      process.send!({ utilization: performance.eventLoopUtilization(elu).utilization });
    } else {
      void gateway.stop().then(() => process.exit(0));
    }
  });
  process.send!({ ready: true, port: gateway.ports.auth, http: gateway.ports.http });
}

/**
 * Downloads profiles through the portal's one-time links (GET /portal/profile/:id),
 * `parallel` at a time, until `until`; checks every answer (200, the profile's
 * Content-Type, a DER SEQUENCE) and returns how many arrived and one of them.
 */
async function download(httpBase: string, links: string[], parallel: number, until: number): Promise<{ count: number; failed: number; sample?: Buffer }> {
  let count = 0;
  let failed = 0;
  let sample: Buffer | undefined;
  const worker = async (): Promise<void> => {
    while (Date.now() < until) {
      const id = links.pop();
      if (id === undefined) return;
      const res = await fetch(`${httpBase}/portal/profile/${id}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status === 200 && res.headers.get('content-type') === MOBILECONFIG_TYPE && body[0] === 0x30) {
        count++;
        sample ??= body;
      } else failed++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { count, failed, ...(sample ? { sample } : {}) };
}

async function withRadius(): Promise<void> {
  const DURATION = Number(values.duration);
  const INFLIGHT = Number(values.inflight);
  const DEVICES = Number(values.devices);
  const PARALLEL = Number(values.downloads);
  const SECRET = 'bench-nas-secret-0123456789';
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-bench-profile-'));
  const configFile = await initCommand({ dir, certsDir: join(dir, 'certs'), print: () => {} });
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  const httpPort = await freeTcpPort();
  doc.log = { level: 'warn' };
  doc.radius.workers = 1;
  doc.portal.base_url = `http://127.0.0.1:${httpPort}`;
  doc.portal.http.port = httpPort;
  doc.portal.https.port = await freeTcpPort();
  doc.radius.auth_port = await freeUdpPort();
  doc.radius.acct_port = await freeUdpPort();
  doc.radius.clients = [{ name: 'bench', address: '127.0.0.1', secret: SECRET, with_session: { vlan: '10' } }];
  doc.session = { daily_cutoff: `${String((new Date().getUTCHours() + 23) % 24).padStart(2, '0')}:00`, time_zone: 'UTC' };
  doc.enrollment = { randomised_macs: 'accept', device_limit: 0 };
  doc.ios = { ...(doc.ios ?? {}), profile: { ...(doc.ios?.profile ?? {}), link_ttl_seconds: 3600 } };

  // The devices with live sessions that RADIUS is asked about; each owns one-time profile links.
  const macs = Array.from({ length: DEVICES }, (_, i) => macOf(i + 1_000_000));
  const storeFile = join(dir, 'state.sqlite');
  doc.store = { ...(doc.store ?? {}), sqlite_file: storeFile };
  const store = await openSqliteStore(storeFile);
  const sessions = new SessionStore(store.kv.sessions);
  const devices = new DeviceRegistry(store.kv);
  const linkStore = new ProfileLinkStore(store.kv.downloads, 3600);
  const now = new Date();
  const endsAt = new Date(now.getTime() + 22 * 3600_000).toISOString();
  const linksFor: Record<'plain' | 'tls', string[]> = { plain: [], tls: [] };
  for (let i = 0; i < macs.length; i += 500) {
    await Promise.all(
      macs.slice(i, i + 500).map(async (m, j) => {
        const mac = parseMac(m)!;
        const owner = `user${i + j}`;
        await devices.enroll({ mac, owner, platform: 'ios', enrolledAt: now.toISOString() });
        await sessions.put({ mac, user: owner, origin: 'enrollment', startedAt: now.toISOString(), endsAt }, now);
        for (const mode of ['plain', 'tls'] as const) {
          // More links than can be used up in one window (a profile takes at least ~1.5 ms).
          for (let k = 0; k < Math.ceil((DURATION * 1000) / 1.5 / DEVICES) + 1; k++) {
            linksFor[mode].push((await linkStore.issue({ mac, owner, ip: '127.0.0.1' }, now)).id);
          }
        }
      }),
    );
  }
  await store.close();

  const show = (label: string, r: LoadResult, extra = ''): void =>
    console.log(`${label.padEnd(44)} ${String(r.requestsPerSecond).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  max ${r.maxMs.toFixed(1)} ms  timeouts ${r.timeouts}  wrong ${r.wrong}${extra}`);
  console.log(`\nRADIUS and portal in one gateway process (${DEVICES} devices with sessions, ${INFLIGHT} Access-Requests in flight, ${PARALLEL} profile downloads at a time, ${DURATION} s each):`);
  let verified = false;
  for (const mode of ['plain', 'tls'] as const) {
    doc.ios.wifi = mode === 'plain' ? PERSONAL_AND_PEAP : [...PERSONAL_AND_PEAP, ...TLS];
    await writeFile(configFile, stringify(doc));
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', configFile], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const nextMessage = <T>(): Promise<T> => new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
    const { port, http } = await nextMessage<{ port: number; http: number }>();
    const load = { port, secret: SECRET, known: macs, durationS: DURATION, warmupS: 1, inflight: INFLIGHT, unknownPct: 10, timeoutMs: 1000 };
    const label = mode === 'plain' ? 'WPA2-Personal + PEAP profiles' : 'EAP-TLS profiles (a new identity each)';
    if (mode === 'plain') show('RADIUS alone', await runLoad(load));

    child.send({ cmd: 'mark' });
    await nextMessage();
    const alone = await download(`http://127.0.0.1:${http}`, linksFor[mode], PARALLEL, Date.now() + DURATION * 1000);
    child.send({ cmd: 'read' });
    const aloneLoop = await nextMessage<{ utilization: number }>();
    console.log(`${(label + ', downloads alone').padEnd(44)} ${(alone.count / DURATION).toFixed(0).padStart(6)} profiles/s served (${alone.failed} failed), gateway loop busy ${(aloneLoop.utilization * 100).toFixed(0)} %`);

    child.send({ cmd: 'mark' });
    await nextMessage();
    const [radius, both] = await Promise.all([
      runLoad(load),
      download(`http://127.0.0.1:${http}`, linksFor[mode], PARALLEL, Date.now() + (DURATION + 1) * 1000),
    ]);
    child.send({ cmd: 'read' });
    const bothLoop = await nextMessage<{ utilization: number }>();
    show(`RADIUS while ${mode === 'plain' ? 'WPA2+PEAP' : 'EAP-TLS'} profiles download`, radius, `\n${''.padEnd(44)} ${(both.count / (DURATION + 1)).toFixed(0).padStart(6)} profiles/s served alongside (${both.failed} failed), gateway loop busy ${(bothLoop.utilization * 100).toFixed(0)} %`);

    if (!verified && both.sample) {
      // What the bench downloaded is what a device gets: openssl must verify it against the CA.
      const file = join(dir, 'sample.mobileconfig');
      await writeFile(file, both.sample);
      const check = spawnSync('openssl', ['cms', '-verify', '-inform', 'der', '-in', file, '-CAfile', join(dir, 'certs', 'ca.pem'), '-purpose', 'any', '-out', '/dev/null']);
      console.log(`${''.padEnd(44)} a downloaded profile: openssl cms -verify ${check.status === 0 ? 'OK' : `FAILED: ${check.stderr.toString().trim()}`}`);
      verified = true;
    }
    child.send({ cmd: 'exit' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
  await rm(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (values.serve !== undefined) return serve(values.serve);
  await inProcess(Number(values.count));
  if (!values['no-radius']) await withRadius();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
