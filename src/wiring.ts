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
import type { RecentAccessRequests } from './radius/recent-access-requests.js';
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
  deps: { store: StateStore; metrics: Metrics; clock: Clock; log: Logger; accessRequests: RecentAccessRequests; audit: AuditTrail; serve?: Port | 'both' },
): RadiusServer {
  const { store, metrics, clock, log, accessRequests, audit, serve } = deps;
  const sessions = new SessionService(sessionSettings(config, store, clock, log));
  // What a pending enrollment needs when its token is redeemed (the router proves the device then).
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
    nas: new NasTable(config.radius.clients),
    sessions,
    accounting: AccountingStore.on(store),
    accessRequests,
    loginTokens: new LoginTokenStore(store.kv.tokens),
    completeEnrollment: (token) => (token.enroll ? completePendingEnrollment(recorder, { mac: token.mac, user: token.user, enroll: token.enroll }) : Promise.resolve(null)),
    metrics,
    clock,
    log,
    timeZone: config.session.time_zone,
    portalUrl: new PortalUrls(config.portal.base_url).to('/portal'),
    audit,
    maxInFlight: config.radius.max_in_flight,
    ...(config.radius.shared_retransmission_cache && store.sharedCache ? { duplicates: new SharedDuplicateCache(store.sharedCache, config.radius.store_deadline_ms) } : {}),
    storeFailure: { deadlineMs: config.radius.store_deadline_ms, mode: config.radius.fail_mode, openMaxAgeMs: config.radius.fail_open_max_age_seconds * 1000 },
    ...(serve ? { serve } : {}),
  });
}
