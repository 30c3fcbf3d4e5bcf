import { createHash, hash } from 'node:crypto';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { fileURLToPath } from 'node:url';
import { auditKey, AuditLog } from './audit/audit-log.js';
import type { AuditTrail } from './audit/events.js';
import { SyslogForwarder } from './audit/syslog.js';
import { systemClock, type Clock } from './clock.js';
import { loadConfigHashed, type Config } from './config/load.js';
import { configChanges, reloadedDigests, reloadSummary, withFileChanges, withReloaded, type FileDigests, type ReloadOutcome } from './config/reload.js';
import { directorySummary, storeSummary } from './config/summary.js';
import { configWarnings, switchWarnings } from './config/warnings.js';
import { portalCertificateProblem, portalCertificateWarning } from './pki/portal-certificate.js';
import { DeviceRegistry } from './devices/device-registry.js';
import { EnrollmentService } from './devices/enrollment-service.js';
import { DevicePolicy } from './devices/policy.js';
import { BackoffDirectory } from './directory/backoff-directory.js';
import { Authenticator } from './directory/authenticator.js';
import { LoginThrottle } from './directory/login-throttle.js';
import { MeteredDirectory } from './directory/metered-directory.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { certificateDer, fingerprintSha256, loadIssuingCa } from './pki/ca.js';
import { DeviceCertificates } from './devices/device-certificates.js';
import { RevocationPublisher } from './pki/revocation-publisher.js';
import { revocationUrls } from './pki/revocation-urls.js';
import { AdminService, nasCountsFromMetrics } from './admin/admin-service.js';
import { NasActivity } from './admin/nas-activity.js';
import { adminApiRouter } from './admin/api.js';
import { adminConsoleRouter } from './admin/console.js';
import { createPortalApp } from './portal/app.js';
import { FlowStore } from './portal/flow.js';
import { ManageVisitStore } from './portal/manage.js';
import { loadGatewayCa } from './pki/profile-signing.js';
import { createProfileService } from './profiles/profile-service.js';
import { ProfileLinkStore } from './portal/profile-links.js';
import { CurrentBranding } from './portal/branding.js';
import { brandingGlobals, createRenderer } from './portal/render.js';
import { PortalUrls } from './portal/urls.js';
import { RecentAccessRequests } from './radius/recent-access-requests.js';
import { RecentDrops } from './radius/recent-drops.js';
import type { NasNotifier } from './radius/nas-notifier.js';
import type { RadiusServer } from './radius/server.js';
import type { RadiusReload } from './radius/workers.js';
import { buildRadiusServer, createDirectory, readEapFiles, readMaterials, type Materials } from './wiring.js';
import { notifyingSessions } from './session-wiring.js';
import { LoginTokenStore } from './devices/login-token-store.js';
import type { Session } from './sessions/session.js';
import type { Mac } from './mac.js';
import { openStateStore } from './store/open-state-store.js';
import type { StateStore } from './store/state-store.js';
import { RadiusWorkers } from './radius/workers.js';

/** views/ beside src/ (or dist/): the same relative place in a checkout and a build. */
export const VIEWS_DIR = fileURLToPath(new URL('../views/', import.meta.url));

/** The gateway's version (package.json), for the audit trail's gateway.started. */
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface Gateway {
  /** The ports actually bound (differs from config when it asked for 0). */
  readonly ports: { readonly http: number; readonly https: number; readonly auth: number; readonly acct: number };
  readonly metrics: Metrics;
  /** Tells routers of session changes (RFC 5176); `idle()` resolves once every exchange under way has ended. */
  readonly notifier: Pick<NasNotifier, 'idle'>;
  /** The audit trail (records are written once per event-loop turn, spooled ones every 2 s; these do it now). */
  readonly audit: Pick<AuditLog, 'flush' | 'drainSpool'>;
  /**
   * Reads the config file again and applies what can change while running (config/reload.ts),
   * RADIUS answering throughout; a bad file changes nothing. Logged and audited either way.
   * Reloads run one after the other.
   */
  reload(): Promise<ReloadOutcome>;
  /** Stops listening and closes the store; `reason` (the signal) goes into the audit trail's gateway.stopped. */
  stop(reason?: string): Promise<void>;
}

function listen(server: Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`${what}: cannot listen on ${host}:${port} (${err.code === 'EADDRINUSE' ? 'the port is in use' : err.code ?? err.message})`)),
    );
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The RADIUS side of the gateway: one process's server, or the main process's handle on its workers. */
interface RadiusService {
  start(): Promise<{ authPort: number; acctPort: number }>;
  stop(): Promise<void>;
  /** Metrics kept elsewhere than this process's registry (the workers'), as Prometheus text. */
  metricsText?(): Promise<string>;
  /** Hands a reload to RADIUS kept elsewhere (the workers); in this process the shared NAS table and logger already have it. */
  reload?(settings: RadiusReload): Promise<void>;
}

class InProcessRadius implements RadiusService {
  constructor(private readonly server: RadiusServer) {}
  async start() {
    const { authPort, acctPort } = await this.server.start();
    return { authPort: authPort!, acctPort: acctPort! };
  }
  stop() {
    return this.server.stop();
  }
}

function fileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** What the files the config names held (config/reload.ts, FileDigests): a replaced file is told apart on reload. */
function fileDigests(m: Materials): FileDigests {
  const sha = (bytes: string | Buffer) => hash('sha256', bytes, 'hex');
  return {
    'portal.https.cert_file': sha(m.tls.cert),
    'portal.https.key_file': sha(m.tls.key),
    'pki.ca_cert_file': sha(m.caPem),
    'directory.ldap.ca_file': m.ldapCa && sha(m.ldapCa),
    'portal.branding.logo_file': m.branding.logo?.version,
    'portal.terms.file': m.branding.terms && sha(JSON.stringify(m.branding.terms.paragraphs)),
  };
}

/**
 * Logs what a config and the files it names warn of: at start, and alike at each reload of
 * it (switches, risky settings, language catalogs that lack texts, the portal's certificate).
 * Returns the portal certificate's problem, for the start line.
 */
function logConfigWarnings(config: Config, materials: Materials, now: Date, log: Logger): string | undefined {
  for (const w of switchWarnings(config)) log.warn({ event: 'config.warning', ...(w.nas ? { nas: w.nas } : {}) }, w.text);
  for (const w of configWarnings(config)) log.warn({ event: 'config.warning' }, w);
  for (const w of materials.languageWarnings) log.warn({ event: 'config.warning' }, w);
  const portalCertificate = portalCertificateProblem({ certPem: materials.tls.cert.toString('utf8'), gatewayCaPem: materials.caPem, baseUrl: config.portal.base_url, now });
  if (portalCertificate) log.warn({ event: 'config.warning' }, portalCertificateWarning(portalCertificate));
  return portalCertificate;
}

/** How old the live-session gauge may be. */
const SESSION_COUNT_MAX_AGE_MS = 60_000;

/** How often expired sessions, flows and leases are deleted from SQLite (it has no native expiry). */
const PURGE_INTERVAL_MS = 60_000;

/**
 * The one place that wires: config → store and directory → services → servers.
 * Everything that can fail for a configuration reason fails before a port opens.
 */
export async function startGateway(config: Config, options: { log?: Logger; clock?: Clock; configSha256?: string } = {}): Promise<Gateway> {
  const log = options.log ?? createLogger(config.log.level);
  const clock = options.clock ?? systemClock;
  const materials = await readMaterials(config);
  // RADIUS workers are handed these: one restarted after a crash serves what the others serve.
  const eapFiles = config.radius.workers > 1 && config.eap.enabled ? readEapFiles(config) : undefined;
  const portalCertificate = logConfigWarnings(config, materials, clock.now(), log);
  // With RADIUS workers, they keep the RADIUS metrics; this process keeps the rest.
  const metrics = new Metrics(config.radius.workers > 1 ? { parts: ['portal', 'process'] } : {});
  const directory = new BackoffDirectory(new MeteredDirectory(createDirectory(config, materials, log), metrics), { clock, log });
  // The hash of the bytes `config` was made from (loadConfigHashed); hashed now only for a caller that did not keep it.
  const configSha256 = options.configSha256 ?? fileSha256(config.config_file);
  // The audit trail opens first and closes last: it records everything in between.
  const key = auditKey(config);
  const syslog = config.audit.syslog ? new SyslogForwarder(config.audit.syslog, log) : undefined;
  const audit = AuditLog.open({ dir: config.audit.dir, ...(key ? { key } : {}), clock, log, ...(syslog ? { forward: syslog.forward } : {}) });
  audit.record({ type: 'config.loaded', file: config.config_file, sha256: configSha256 });
  const store = await openStateStore(config, log);
  // Counting 100,000 sessions in SQLite holds the event loop 60-90 ms (bench:scale): at most once a minute.
  let counted: { atMs: number; n: number } | undefined;
  metrics.countSessionsWith(async () => {
    if (counted && Date.now() - counted.atMs < SESSION_COUNT_MAX_AGE_MS) return counted.n;
    counted = { atMs: Date.now(), n: await store.countLive('sessions', clock.now()) };
    return counted.n;
  });
  const accessRequests = new RecentAccessRequests();
  // The last drops, for the console (not audited): RADIUS in this process or in workers adds to it.
  const drops = new RecentDrops();
  const { nas, accounting, dynamicAuthorization, notifier, sessions } = notifyingSessions(config, { store, clock, log, audit, metrics, accessRequests });
  const devices = new DeviceRegistry(store.kv, store.withLock);
  const loginTokens = new LoginTokenStore(store.kv.tokens);
  const policy = new DevicePolicy(config.enrollment);
  const throttle = new LoginThrottle(store.kv.throttle, { clock, audit });
  const authenticator = new Authenticator({ directory, throttle });
  const enrollment = new EnrollmentService({ devices, sessions, authenticator, policy, metrics, clock, log, audit });
  // The CA key signs device identities, the profile-signing certificate, the CRL and OCSP
  // answers; a bad file fails start-up here. Every certificate it issues names the CRL and OCSP URLs.
  const ca = loadGatewayCa(config);
  const revocation = revocationUrls(config);
  const issuer = loadIssuingCa(ca, clock.now(), revocation);
  const certificates = new DeviceCertificates({ devices, issuer, clock, log, audit });
  const profiles = createProfileService(config, ca, { identities: { issue: (device, via, passphrase) => certificates.issue(device as { mac: Mac; owner: string }, via, passphrase) }, revocation });
  const revocationStatus = new RevocationPublisher({ issuer, revocations: devices.revocations, clock });
  const branding = new CurrentBranding(materials.branding);
  // base_url needs a restart: one builder serves the start's links and every reload's.
  const urls = new PortalUrls(config.portal.base_url);
  const renderer = createRenderer(VIEWS_DIR, {
    org_name: config.portal.organisation_name,
    support_contact: config.portal.support_contact,
    start_url: urls.route('portal.start'),
    // The pages' icon: none (views/layout.njk says why).
    icon_url: 'data:,',
    ...brandingGlobals(materials.branding, urls),
  });
  /** The config as it runs: the start's, with the keys reloads applied since (config/reload.ts). */
  let running = config;
  const radius: RadiusService =
    config.radius.workers > 1
      ? new RadiusWorkers({
          count: config.radius.workers,
          config: () => running,
          ...(materials.ldapCa ? { ldapCa: materials.ldapCa } : {}),
          ...(eapFiles ? { eapFiles } : {}),
          accessRequests,
          audit,
          drops,
          log,
        })
      : new InProcessRadius(buildRadiusServer(config, { store, metrics, clock, log, accessRequests, audit, drops, nas, sessions, directory }));
  const metricsText = async () => (await metrics.registry.metrics()) + (radius.metricsText ? `\n${await radius.metricsText()}` : '');
  const nasActivity = new NasActivity({
    store,
    host: hostname(),
    nas: () => running.radius.clients.map((c) => c.name),
    sinceStart: async () => nasCountsFromMetrics(await metricsText()),
    clock,
    log,
  });
  const admin = new AdminService({
    devices,
    enrollment,
    sessions,
    accounting,
    nas: () => running.radius.clients.map((c) => ({ name: c.name, address: c.address, profile: c.profile })),
    audit,
    auditDir: config.audit.dir,
    metricsText,
    recentDrops: () => drops.list(),
    nasActivity,
    clock,
  });
  const adminVisits = new ManageVisitStore(store.kv.flows, { prefix: 'admin:', ttlSeconds: config.admin.session_minutes * 60 });
  const app = createPortalApp({
    config,
    sessions,
    devices,
    enrollment,
    accounting,
    flows: new FlowStore(store.kv.flows, config.portal.flow_ttl_seconds),
    manage: new ManageVisitStore(store.kv.flows),
    profileLinks: new ProfileLinkStore(store.kv.downloads, config.ios.profile.link_ttl_seconds),
    loginTokens,
    nas,
    store,
    directory,
    renderer,
    languages: materials.languages,
    metrics,
    clock,
    log,
    audit,
    ca: { der: certificateDer(materials.caPem), fingerprint: fingerprintSha256(materials.caPem) },
    ...(radius.metricsText ? { workerMetrics: () => radius.metricsText!() } : {}),
    ...(materials.agent ? { agent: materials.agent } : {}),
    branding,
    profiles,
    revocation: revocationStatus,
    ...(materials.eapServerName ? { identities: certificates, eapTls: { serverName: materials.eapServerName, caPem: materials.caPem } } : {}),
  }, [
    adminConsoleRouter({ admin, authenticator, visits: adminVisits, renderer, config, audit, clock, log }),
    adminApiRouter({ admin, tokens: config.admin.api_tokens }),
  ]);
  const http = createHttpServer(app.callback());
  const https = createHttpsServer({ cert: materials.tls.cert, key: materials.tls.key }, app.callback());
  // Slow clients must not hold sockets forever.
  for (const s of [http, https]) {
    s.headersTimeout = 10_000;
    s.requestTimeout = 30_000;
  }
  let runningFiles = fileDigests(materials);
  const reloadOnce = async (): Promise<ReloadOutcome> => {
    const file = config.config_file;
    let next: Config;
    let sha256: string;
    let nextMaterials: Materials;
    try {
      ({ config: next, sha256 } = loadConfigHashed(file));
      // The files it names, as a start would read them: a config that could not start is refused now.
      nextMaterials = await readMaterials(next);
    } catch (err) {
      const message = err instanceof ConfigError ? err.message : `cannot read the config: ${(err as Error).message}`;
      log.error({ event: 'config.reload_failed', file }, `config not reloaded, the gateway runs on as before: ${message}`);
      audit.record({ type: 'config.reload_failed', file, reason: message });
      return { ok: false, file, message };
    }
    const nextFiles = fileDigests(nextMaterials);
    const changes = withFileChanges(configChanges(running, next), runningFiles, nextFiles);
    logConfigWarnings(next, nextMaterials, clock.now(), log);
    // Each part takes the new values between two requests: nothing under way is cut off.
    log.level = next.log.level;
    nas.replace(next.radius.clients);
    policy.replace(next.enrollment);
    renderer.addGlobal('org_name', next.portal.organisation_name);
    renderer.addGlobal('support_contact', next.portal.support_contact);
    profiles.rename(next.portal.organisation_name);
    branding.replace(nextMaterials.branding);
    for (const [name, value] of Object.entries(brandingGlobals(nextMaterials.branding, urls))) renderer.addGlobal(name, value);
    running = withReloaded(running, next);
    runningFiles = reloadedDigests(runningFiles, nextFiles);
    try {
      await radius.reload?.({ clients: next.radius.clients, logLevel: next.log.level });
    } catch (err) {
      const message = `applied in the main process, but ${(err as Error).message}; restart the gateway`;
      log.error({ event: 'config.reload_failed', file }, `config reloaded in part: ${message}`);
      audit.record({ type: 'config.reload_failed', file, reason: message });
      return { ok: false, file, message };
    }
    const message = reloadSummary(changes);
    audit.record({ type: 'config.reloaded', file, sha256, changed: [...changes.sections], restart_needed: [...changes.restart] });
    log.info({ event: 'config.reloaded', file, configSha256: sha256, changed: changes.sections, restartNeeded: changes.restart }, `config reloaded; ${message}`);
    return { ok: true, file, sha256, changes, message };
  };
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (): Promise<ReloadOutcome> => {
    const outcome = reloading.then(reloadOnce);
    reloading = outcome.catch(() => undefined);
    return outcome;
  };
  let purge: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = async (reason = 'stopped'): Promise<void> => {
    if (purge) clearInterval(purge);
    // Before RADIUS stops: the workers hold their counts until they exit.
    await nasActivity.stop().catch((err: unknown) => log.warn({ err, event: 'nas.activity_not_saved' }, 'router counts not saved at stop'));
    await Promise.allSettled([closeServer(http), closeServer(https), radius.stop(), dynamicAuthorization.close()]);
    await Promise.allSettled([store.close(), directory.close()]);
    if (stopped) return;
    stopped = true;
    // What the command line handed over is recorded first: gateway.stopped stays the last record of a run.
    audit.drainSpool();
    audit.record({ type: 'gateway.stopped', pid: process.pid, reason });
    await audit.close();
    await syslog?.close();
  };
  /** Deletes expired entries; each session among them gets its session.expired record (once: the row is gone after). */
  const purgeExpired = async (): Promise<number> => {
    const { count, sessions: ended } = await store.purgeExpired(clock.now());
    // At the cut-off that is every session: record them a thousand a turn, so RADIUS answers in between.
    for (let i = 0; i < ended.length; i += 1000) {
      for (const s of ended.slice(i, i + 1000) as Session[]) audit.record({ type: 'session.expired', mac: s.mac, user: s.user, ended_at: s.endsAt });
      await new Promise((resolve) => setImmediate(resolve));
    }
    return count;
  };
  try {
    // RADIUS first: once /healthz answers, every RADIUS process listens. A router that
    // fails over to a gateway whose health check just turned green must not lose its
    // first request to a port nobody reads yet (the workers take a second to start).
    const { authPort, acctPort } = await radius.start();
    const ports = {
      http: await listen(http, config.portal.http.port, config.portal.http.host, 'portal.http.port'),
      https: await listen(https, config.portal.https.port, config.portal.https.host, 'portal.https.port'),
      auth: authPort,
      acct: acctPort,
    };
    purge = setInterval(() => {
      purgeExpired().then(
        (n) => n > 0 && log.info({ event: 'store.purged', count: n }, 'expired entries purged'),
        (err: unknown) => {
          metrics.storeErrors.inc({ where: 'purge' });
          log.error({ err, event: 'store.purge_failed' }, 'purging expired entries failed');
        },
      );
    }, PURGE_INTERVAL_MS);
    purge.unref();
    await purgeExpired();
    await nasActivity.start();
    audit.record({ type: 'gateway.started', version: VERSION, pid: process.pid, config_sha256: configSha256 });
    log.info(
      {
        event: 'gateway.started',
        config: config.config_file,
        configSha256,
        ports,
        radiusHost: config.radius.host,
        baseUrl: config.portal.base_url,
        portalCertificate: portalCertificate ? `not publicly trusted: ${portalCertificate}` : 'publicly trusted',
        store: storeSummary(config),
        directory: directorySummary(config),
        nasClients: config.radius.clients.length,
        radiusWorkers: config.radius.workers,
      },
      'enrollgate started',
    );
    return { ports, metrics, notifier, audit, reload, stop: (reason?: string) => stop(reason) };
  } catch (err) {
    await stop(`failed to start: ${(err as Error).message}`);
    throw err;
  }
}
