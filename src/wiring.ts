/**
 * Building what the gateway runs from a config, shared by the processes that run it: the
 * gateway's main process (main.ts), its RADIUS worker processes (radius-worker.ts) and the
 * command line (check-config reads the materials; devices and sessions act through
 * notifyingSessions). Nothing here opens a port.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { AccountingStore } from './accounting/accounting-store.js';
import type { AuditTrail } from './audit/events.js';
import type { Clock } from './clock.js';
import type { Config } from './config/load.js';
import type { Directory } from './directory/directory.js';
import { FileDirectory } from './directory/file-directory.js';
import { LdapDirectory } from './directory/ldap-directory.js';
import { ConfigError } from './errors.js';
import { fingerprintSha256 } from './pki/ca.js';
import type { AgentInfo } from './portal/deps.js';
import { DeviceRegistry } from './devices/device-registry.js';
import { completePendingEnrollment } from './devices/enrollment-service.js';
import { LoginTokenStore } from './devices/login-token-store.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { PortalUrls } from './portal/urls.js';
import { NasTable } from './radius/clients.js';
import { DynamicAuthorizationClient } from './radius/dynamic-authorization.js';
import { NasNotifier } from './radius/nas-notifier.js';
import { RecentAccessRequests } from './radius/recent-access-requests.js';
import type { Port } from './radius/request.js';
import { RadiusServer } from './radius/server.js';
import { SharedDuplicateCache } from './radius/shared-duplicate-cache.js';
import { SessionService } from './sessions/session-service.js';
import { SessionStore } from './sessions/session-store.js';
import type { StateStore } from './store/state-store.js';

/** The SessionService settings from the config, on a store. */
function sessionSettings(config: Config, store: StateStore, clock: Clock, log: Logger) {
  return { store: SessionStore.on(store), clock, cutoff: config.session.daily_cutoff, timeZone: config.session.time_zone, log };
}

/**
 * Wires the RADIUS server on a store: shared by the main process (radius.workers: 1)
 * and each RADIUS worker process (radius-worker.ts).
 */
export function buildRadiusServer(
  config: Config,
  deps: {
    store: StateStore;
    metrics: Metrics;
    clock: Clock;
    log: Logger;
    accessRequests: RecentAccessRequests;
    audit: AuditTrail;
    serve?: Port | 'both';
    /** The process's own, where it has them (the main process): RADIUS only reads sessions. */
    nas?: NasTable;
    sessions?: SessionService;
  },
): RadiusServer {
  const { store, metrics, clock, log, accessRequests, audit, serve } = deps;
  const sessions = deps.sessions ?? new SessionService(sessionSettings(config, store, clock, log));
  // What a pending enrollment needs when its token is redeemed (the router proves the device
  // then). Its session is not told to the router: the router is asking for it right now.
  const recorder = {
    devices: new DeviceRegistry(store.kv, store.withLock),
    sessions: new SessionService({ ...sessionSettings(config, store, clock, log), audit }),
    metrics,
    clock,
    log,
    audit,
  };
  return new RadiusServer({
    host: config.radius.host,
    authPort: config.radius.auth_port,
    acctPort: config.radius.acct_port,
    nas: deps.nas ?? new NasTable(config.radius.clients),
    sessions,
    accounting: AccountingStore.on(store),
    accessRequests,
    loginTokens: new LoginTokenStore(store.kv.tokens),
    completeEnrollment: (token) => (token.enroll ? completePendingEnrollment(recorder, { mac: token.mac, user: token.user, enroll: token.enroll }) : Promise.resolve(null)),
    metrics,
    clock,
    log,
    timeZone: config.session.time_zone,
    portalUrl: new PortalUrls(config.portal.base_url).route('portal.start'),
    audit,
    maxInFlight: config.radius.max_in_flight,
    ...(config.radius.shared_retransmission_cache && store.sharedCache ? { duplicates: new SharedDuplicateCache(store.sharedCache, config.radius.store_deadline_ms) } : {}),
    storeFailure: { deadlineMs: config.radius.store_deadline_ms, mode: config.radius.fail_mode, openMaxAgeMs: config.radius.fail_open_max_age_seconds * 1000 },
    ...(serve ? { serve } : {}),
  });
}

/**
 * Sessions that tell their device's router of each change at once (RFC 5176: CoA or
 * Disconnect-Request), with what that needs: the NAS table, accounting (where each device
 * is), and the client that sends the requests. The main process and the command line
 * build theirs here, so a session revoked from either reaches the router the same way.
 */
export function notifyingSessions(
  config: Config,
  deps: { store: StateStore; clock: Clock; log: Logger; audit: AuditTrail; metrics: Metrics; accessRequests?: RecentAccessRequests },
): { nas: NasTable; accounting: AccountingStore; dynamicAuthorization: DynamicAuthorizationClient; notifier: NasNotifier; sessions: SessionService } {
  const { store, clock, log, audit, metrics } = deps;
  const nas = new NasTable(config.radius.clients);
  const accounting = AccountingStore.on(store);
  const dynamicAuthorization = new DynamicAuthorizationClient({ bindAddress: config.radius.host, metrics, log });
  const notifier = new NasNotifier({ nas, accounting, accessRequests: deps.accessRequests ?? new RecentAccessRequests(), client: dynamicAuthorization, clock, log, audit });
  const sessions = new SessionService({ ...sessionSettings(config, store, clock, log), notify: notifier.sessionChanged, audit });
  return { nas, accounting, dynamicAuthorization, notifier, sessions };
}

/** The files the gateway needs, read before any port opens. */
export interface Materials {
  readonly tls: { readonly cert: Buffer; readonly key: Buffer };
  readonly caPem: string;
  /** The CA to trust for the LDAP server's certificate, when configured. */
  readonly ldapCa?: Buffer;
  readonly agent?: AgentInfo;
}

function readRequired(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); run \`enrollgate init\` or fix the path`);
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Reads certificates and the agent file; every problem is a ConfigError naming the key. */
export async function readMaterials(config: Config): Promise<Materials> {
  const cert = readRequired(config.portal.https.cert_file, 'portal.https.cert_file');
  const key = readRequired(config.portal.https.key_file, 'portal.https.key_file');
  const caPem = readRequired(config.pki.ca_cert_file, 'pki.ca_cert_file').toString('utf8');
  try {
    fingerprintSha256(caPem);
  } catch (err) {
    throw new ConfigError(`pki.ca_cert_file: ${config.pki.ca_cert_file} is not a PEM certificate (${(err as Error).message})`);
  }
  const ldapCa = config.directory.kind === 'ldap' && config.directory.ldap?.ca_file ? readRequired(config.directory.ldap.ca_file, 'directory.ldap.ca_file') : undefined;
  if (config.directory.kind === 'file') readRequired(config.directory.file.path, 'directory.file.path');
  const base = { tls: { cert, key }, caPem, ...(ldapCa ? { ldapCa } : {}) };
  const a = config.android.agent;
  if (!a) return base;
  const urls = new PortalUrls(config.portal.base_url);
  if (a.file) {
    let size: number;
    try {
      size = statSync(a.file).size;
    } catch (err) {
      throw new ConfigError(`android.agent.file: cannot read ${a.file} (${(err as NodeJS.ErrnoException).code})`);
    }
    const name = basename(a.file).replace(/[^A-Za-z0-9._-]/g, '_');
    const agent: AgentInfo = { name: a.name, version: a.version, url: urls.route('portal.agent', { file: name }), sizeBytes: size, sha256: await sha256File(a.file), file: { path: a.file, name } };
    return { ...base, agent };
  }
  const agent: AgentInfo = {
    name: a.name,
    version: a.version,
    url: a.url!,
    ...(a.size_bytes !== undefined ? { sizeBytes: a.size_bytes } : {}),
    ...(a.sha256 ? { sha256: a.sha256.toLowerCase() } : {}),
  };
  return { ...base, agent };
}

/** The configured directory (the users file or LDAP), not yet asked anything. */
export function createDirectory(config: Config, materials: Materials, log: Logger): Directory {
  const d = config.directory;
  if (d.kind === 'file' || !d.ldap) {
    return new FileDirectory(d.file.path, d.file.required_group ? { requiredGroup: d.file.required_group } : {});
  }
  const l = d.ldap;
  return new LdapDirectory(
    {
      url: l.url,
      startTls: l.start_tls,
      ...(materials.ldapCa ? { ca: materials.ldapCa } : {}),
      bindDn: l.bind_dn,
      bindPassword: l.bind_password,
      baseDn: l.base_dn,
      userAttribute: l.user_attribute,
      displayNameAttribute: l.display_name_attribute,
      ...(l.required_group ? { requiredGroup: l.required_group } : {}),
      timeoutMs: l.timeout_ms,
      connectTimeoutMs: l.connect_timeout_ms,
    },
    log,
  );
}
