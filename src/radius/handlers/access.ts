import type { AuditTrail } from '../../audit/events.js';
import { withStoreDeadline } from '../../deadline.js';
import type { Mac } from '../../mac.js';
import { andThen, type Maybe } from '../../maybe.js';
import { LOGIN_TOKEN_ID } from '../../devices/login-token-store.js';
import type { Session } from '../../sessions/session.js';
import { accessAuditEvent } from '../audit-records.js';
import type { NasClient } from '../clients.js';
import { RememberedSessions } from '../fail-open.js';
import { decideAccess, rejectRequest, requestedMac, single, type AccessContext, type AccessDecision } from '../policy.js';
import type { RecentAccessRequests } from '../recent-access-requests.js';
import { respond, type AccessDecisionDeps, type Answer, type RadiusHandler, type RadiusRequest } from '../request.js';
import type { TokenLogins } from '../token-login.js';

export interface AccessHandlerOptions extends AccessDecisionDeps {
  /** Every accept and reject. */
  audit?: AuditTrail;
  /** Remembers which router asked about each device (where RFC 5176 requests go when accounting is silent). */
  accessRequests?: RecentAccessRequests;
  /** One-time logins of UAM routers; without it their User-Names are decided as MACs (and rejected). */
  tokenLogins?: TokenLogins;
  /** When the state store does not answer: how long to wait, and what to answer (radius.fail_mode). */
  storeFailure?: { deadlineMs: number; mode: 'closed' | 'open'; openMaxAgeMs: number };
}

/**
 * Access-Request: MAC authentication (the device's live session, decided by policy.ts),
 * or a UAM router redeeming a one-time login (token-login.ts). On a store that reads
 * synchronously (SQLite) the answer is made in the datagram's own turn.
 */
export class AccessHandler implements RadiusHandler {
  /** fail_mode open: the sessions this process last saw live. */
  private readonly remembered: RememberedSessions;

  constructor(private readonly o: AccessHandlerOptions) {
    this.remembered = new RememberedSessions(o.storeFailure?.openMaxAgeMs ?? 0);
  }

  handle(r: RadiusRequest, attributes: Record<string, unknown>): Maybe<Answer> {
    // One Date for the request (the policy's "now", the session's, the hint's): a JSDate is
    // about 100 bytes, and three of them were a tenth of what a request allocated.
    const now = this.o.clock.now();
    return andThen(
      () => this.decide(r, attributes, now),
      (decision) => this.answer(r, decision, now),
    );
  }

  private decide(r: RadiusRequest, attributes: Record<string, unknown>, now: Date): Maybe<AccessDecision> {
    const { nas } = r;
    const userName = single(attributes['User-Name']);
    if (nas.uam && this.o.tokenLogins && userName !== undefined && LOGIN_TOKEN_ID.test(userName)) return this.o.tokenLogins.redeem(r, attributes, userName);
    const wanted = requestedMac(attributes);
    if ('problem' in wanted) return rejectRequest(wanted.problem);
    const { mac } = wanted;
    const policy: AccessContext = { now, timeZone: this.o.timeZone, portalUrl: this.o.portalUrl };
    return andThen(
      () => this.withStoreDeadline(this.o.sessions.live(mac, now)),
      (session) => this.decided(mac, session, nas, policy),
      (err) => this.storeFailed(err, mac, nas, policy),
    );
  }

  private answer(r: RadiusRequest, decision: AccessDecision, now: Date): Answer {
    const { nas } = r;
    if (decision.mac) this.o.accessRequests?.note(decision.mac, nas.name, now);
    // Per request, so debug: at tens of thousands a second the log would cost more than
    // the answer. Checked first, so that the line's object is not even built otherwise.
    if (this.o.log.isLevelEnabled('debug')) {
      this.o.log.debug(
        { event: 'radius.access', nas: nas.name, mac: decision.mac, user: decision.user, outcome: decision.outcome, reason: decision.reason },
        'RADIUS access decision',
      );
    }
    this.o.audit?.record(accessAuditEvent(nas, decision));
    return { bytes: respond(r, decision.code, decision.attributes), outcome: decision.outcome };
  }

  private decided(mac: Mac, session: Session | undefined, nas: NasClient, policy: AccessContext): AccessDecision {
    if (this.o.storeFailure?.mode === 'open') this.remembered.note(mac, session, policy.now);
    return decideAccess(mac, session, nas, policy);
  }

  /** The store did not answer: reject (fail_mode closed), or accept a session this process saw live not long ago (open). */
  private storeFailed(err: unknown, mac: Mac, nas: NasClient, policy: AccessContext): AccessDecision {
    this.o.metrics.radiusStoreErrors.inc({ kind: 'access' });
    // fail_mode open: a session this process saw live, not too long ago, and live still by its own end.
    const remembered = this.o.storeFailure?.mode === 'open' ? this.remembered.recall(mac, policy.now) : undefined;
    this.o.log.error(
      { err, event: 'radius.store_failed', nas: nas.name, mac, failMode: this.o.storeFailure?.mode ?? 'closed', remembered: remembered !== undefined },
      remembered ? 'store unavailable; accepting a remembered session (fail_mode open)' : 'store unavailable; rejecting',
    );
    if (!remembered) return { ...rejectRequest('state store unavailable'), mac };
    const decision = decideAccess(mac, remembered, nas, policy);
    return { ...decision, reason: 'fail open: state store unavailable, remembered session' };
  }

  /** RADIUS never waits longer than radius.store_deadline_ms for the store: past it the store counts as unavailable. */
  private withStoreDeadline<T>(read: Maybe<T>): Maybe<T> {
    return withStoreDeadline(read, this.o.storeFailure?.deadlineMs);
  }
}
