import { AccountingStore } from './accounting/accounting-store.js';
import type { AuditTrail } from './audit/events.js';
import type { Clock } from './clock.js';
import type { Config } from './config/load.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { PortalUrls } from './portal/urls.js';
import { NasTable } from './radius/clients.js';
import { DynamicAuthorizationClient } from './radius/dynamic-authorization.js';
import { NasNotifier } from './radius/nas-notifier.js';
import { RecentAccessRequests } from './radius/recent-access-requests.js';
import { SessionService } from './sessions/session-service.js';
import { SessionStore } from './sessions/session-store.js';
import type { StateStore } from './store/state-store.js';

/**
 * The sessions part of wiring.ts, apart: what the command line (devices, sessions, test mac)
 * builds to act on sessions, without what only a gateway needs (the directory's LDAP client,
 * the CA's X.509 library, the page templates), which it would load for nothing.
 */

/** The SessionService settings from the config, on a store. */
export function sessionSettings(config: Config, store: StateStore, clock: Clock, log: Logger) {
  return { store: SessionStore.on(store), clock, cutoff: config.session.daily_cutoff, timeZone: config.session.time_zone, log };
}

/**
 * What an access decision (radius/policy.ts) takes from the config: the cut-off's time zone
 * and the portal's start page. The RADIUS server and `enrollgate test mac` both take it here.
 */
export function accessSettings(config: Config): { timeZone: string; portalUrl: string } {
  return { timeZone: config.session.time_zone, portalUrl: new PortalUrls(config.portal.base_url).route('portal.start') };
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
