import type { AccountingStore, Whereabouts } from '../accounting/accounting-store.js';
import type { Clock } from '../clock.js';
import type { Mac } from '../mac.js';
import type { AuditTrail } from '../audit/events.js';
import type { Logger } from '../logger.js';
import { secondsUntil } from '../sessions/daily-cutoff.js';
import type { SessionChange } from '../sessions/session-service.js';
import type { NasClient, NasTable } from './clients.js';
import type { DynamicAuthorizationClient, DynamicAuthorizationOutcome } from './dynamic-authorization.js';
import { ciscoReauthenticate, selectorAttributes, sessionTimeoutAttribute, type DynamicAuthorizationKind } from './dynamic-authorization-packet.js';
import type { RecentAccessRequests } from './recent-access-requests.js';

/** The router a device is on, and what its accounting said about the session there. */
interface Location {
  readonly nas: NasClient;
  readonly source: 'accounting' | 'access_request';
  readonly whereabouts?: Whereabouts;
  /** The MAC the router knows the device by (802.1X on a private MAC), when not its own. */
  readonly station?: Mac;
}

/**
 * Tells the device's router at once when its session is issued or revoked (RFC 5176),
 * instead of waiting for the device to re-associate: a CoA-Request or Disconnect-Request
 * on issue (per the router's `dynamic_authorization.on_session`), a Disconnect-Request
 * on revoke. The router is the one of the device's latest accounting, unless a more
 * recent Access-Request came from another router; a router without dynamic
 * authorization is told nothing.
 */
export class NasNotifier {
  private readonly tasks = new Set<Promise<unknown>>();

  constructor(
    private readonly o: {
      nas: NasTable;
      accounting: AccountingStore;
      accessRequests: RecentAccessRequests;
      client: DynamicAuthorizationClient;
      clock: Clock;
      log: Logger;
      /** Each request's fate (ACK, NAK, timeout) becomes a router.notified record. */
      audit?: AuditTrail;
    },
  ) {}

  /** SessionService's `notify` hook: starts telling the router and returns at once (the portal never waits for a router). */
  readonly sessionChanged = (change: SessionChange): void => {
    const task = this.tell(change).catch((err: unknown) =>
      this.o.log.error({ err, event: 'dynamic_authorization.failed', mac: macOf(change), change: change.kind }, 'telling the router failed'),
    );
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  };

  /** Resolves once every notification begun so far has ended, retries included (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    await this.o.client.idle();
  }

  /** Finds the router and sends it the request; undefined when nothing was sent. */
  async tell(change: SessionChange): Promise<DynamicAuthorizationOutcome | undefined> {
    const mac = macOf(change);
    const where = await this.locate(mac);
    const context = { mac, change: change.kind, ...(change.kind === 'revoked' ? { reason: change.reason } : {}) };
    if (!where) {
      this.o.log.info({ event: 'dynamic_authorization.skipped', ...context, why: 'no router known for the device (no accounting, no Access-Request seen)' }, 'router not told');
      return undefined;
    }
    const da = where.nas.dynamicAuthorization;
    if (!da) {
      this.o.log.debug({ event: 'dynamic_authorization.skipped', ...context, nas: where.nas.name, why: 'dynamic_authorization is not enabled for this router' }, 'router not told');
      return undefined;
    }
    const kind: DynamicAuthorizationKind = change.kind === 'issued' ? da.onSession : 'disconnect';
    const w = where.whereabouts;
    const attributes = [
      ...selectorAttributes({ callingStationId: callingStationId(where.station ?? mac), ...(w ? { acctSessionId: w.sessionId } : {}), ...(w?.nasIp ? { nasIp: w.nasIp } : {}) }),
      ...(kind === 'coa' && change.kind === 'issued' ? this.coaAttributes(where.nas, change.session.endsAt) : []),
    ];
    const outcome = await this.o.client.send({
      nas: where.nas.name,
      kind,
      address: da.address,
      port: da.port,
      secret: where.nas.secret,
      attributes,
      timeoutMs: da.timeoutMs,
      retries: da.retries,
      context: { ...context, found: where.source, ...(w ? { acctSessionId: w.sessionId } : {}) },
    });
    this.o.audit?.record({
      type: 'router.notified',
      nas: where.nas.name,
      kind,
      mac,
      result: outcome.result,
      ...(outcome.result === 'nak' && outcome.errorCause !== undefined ? { error_cause: outcome.errorCause } : {}),
    });
    return outcome;
  }

  /**
   * What a CoA asks for. Cisco WLC: re-authenticate the session (it then asks us again
   * and gets the Accept). Others: the new session's Session-Timeout (RFC 5176 §3.6).
   */
  private coaAttributes(nas: NasClient, endsAt: string): Buffer[] {
    if (nas.profile === 'cisco-wlc') return ciscoReauthenticate();
    return [sessionTimeoutAttribute(secondsUntil(new Date(endsAt), this.o.clock.now()))];
  }

  /**
   * The device's router: latest accounting, unless a newer Access-Request came from
   * another router. A device that authenticated over 802.1X from another MAC (its
   * certificate names the MAC it enrolled with; the router knows the private one it
   * uses on that SSID) is looked up, and named to the router, by that station MAC.
   */
  private async locate(mac: Mac): Promise<Location | undefined> {
    const sighting = this.o.accessRequests.latest(mac);
    const station = sighting?.station;
    let whereabouts: Whereabouts | undefined;
    try {
      whereabouts = await this.o.accounting.whereabouts(station ?? mac);
    } catch (err) {
      this.o.log.warn({ err, event: 'dynamic_authorization.store_failed', mac }, 'cannot read where the device is; using the last Access-Request');
    }
    const accountingCurrent =
      whereabouts && (!sighting || sighting.nas === whereabouts.nas || sighting.at.getTime() <= Date.parse(whereabouts.updatedAt));
    const fromAccounting = accountingCurrent ? this.o.nas.byName(whereabouts!.nas) : undefined;
    const at = station ? { station } : {};
    if (fromAccounting) return { nas: fromAccounting, source: 'accounting', whereabouts: whereabouts!, ...at };
    const fromAccess = sighting ? this.o.nas.byName(sighting.nas) : undefined;
    return fromAccess ? { nas: fromAccess, source: 'access_request', ...at } : undefined;
  }
}

function macOf(change: SessionChange): Mac {
  return change.kind === 'issued' ? change.session.mac : change.mac;
}

/** The form routers use in Calling-Station-Id (RFC 3580 §3.21): AA-BB-CC-DD-EE-FF. */
export function callingStationId(mac: Mac): string {
  return mac.toUpperCase().replace(/:/g, '-');
}
