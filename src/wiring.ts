/**
 * Building services from a config, shared by the processes that run them: the gateway's
 * main process (main.ts) and its RADIUS worker processes (radius-worker.ts). Nothing
 * here opens a port.
 */
import { AccountingStore } from './accounting/accounting-store.js';
import type { AuditTrail } from './audit/events.js';
import type { Clock } from './clock.js';
import type { Config } from './config/load.js';
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
export function sessionSettings(config: Config, store: StateStore, clock: Clock, log: Logger) {
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
