import { withStoreDeadline } from '../deadline.js';
import type { Maybe } from '../maybe.js';
import { parseMac } from '../mac.js';
import { tokenRef, type LoginToken, type LoginTokenStore } from '../devices/login-token-store.js';
import type { SessionService } from '../sessions/session-service.js';
import type { NasClient } from './clients.js';
import { Code } from './packet.js';
import { decideAccess, rejectRequest, single, type AccessDecision } from './policy.js';
import type { AccessDecisionDeps, RadiusRequest } from './request.js';
import { tokenCredential, tokenLoginProblem } from './uam-login.js';

export interface TokenLoginOptions extends AccessDecisionDeps {
  tokens: LoginTokenStore;
  /**
   * Records the enrollment a redeemed token carries (LoginToken.enroll), once the router
   * has proven the device; resolves with why it was refused, or null. Without it such
   * tokens are refused.
   */
  completeEnrollment?: (token: LoginToken) => Promise<string | null>;
  /** radius.store_deadline_ms: the longest each store call is waited for; past it, the login is refused as with a store that is down. */
  storeDeadlineMs?: number;
}

/**
 * A UAM router redeeming the one-time login the portal handed it (portal/uam/,
 * uam-login.ts): accepted with the attributes of the device's live session (decideAccess),
 * and the token is deleted; anything wrong is a reject with the reason logged. Logs name
 * the token only by tokenRef.
 */
export class TokenLogins {
  constructor(private readonly o: TokenLoginOptions) {}

  async redeem(r: RadiusRequest, attributes: Record<string, unknown>, id: string): Promise<AccessDecision> {
    const { nas } = r;
    // The device the router asks for (Calling-Station-Id): what proves a claimed MAC.
    const mac = parseMac(single(attributes['Calling-Station-Id']));
    const log = (decision: AccessDecision): AccessDecision => {
      this.o.log.info(
        { event: 'radius.uam_login', nas: nas.name, tokenRef: tokenRef(id), mac: decision.mac ?? mac ?? undefined, user: decision.user, outcome: decision.outcome, reason: decision.reason },
        decision.code === Code.AccessAccept ? 'one-time login accepted' : 'one-time login refused',
      );
      return decision;
    };
    try {
      const now = this.o.clock.now();
      const token = await this.inTime(this.o.tokens.get(id, now));
      const credential = tokenCredential(r.raw, r.packet.length, r.packet.authenticator, nas.secret);
      const problem = tokenLoginProblem(token, nas.name, mac, credential);
      if (problem || !token) return log(rejectRequest(problem ?? 'unknown login token'));
      if (token.enroll) return log(await this.enrollAndAccept(id, token, nas, now));
      const decision = this.accept(token, nas, now, await this.inTime(this.o.sessions.live(token.mac)));
      if (decision.outcome !== 'accept') return log({ ...rejectRequest('the device has no live session'), mac: token.mac });
      // Single use: only the request that deletes the token is accepted.
      if (!(await this.inTime(this.o.tokens.redeem(id)))) return log({ ...rejectRequest('login token already used'), mac: token.mac });
      return log({ ...decision, reason: 'one-time login token' });
    } catch (err) {
      this.o.log.error({ err, event: 'radius.store_failed', nas: nas.name, tokenRef: tokenRef(id) }, 'store unavailable; rejecting');
      this.o.metrics.radiusStoreErrors.inc({ kind: 'token' });
      return rejectRequest('state store unavailable');
    }
  }

  /** A store call, bounded by radius.store_deadline_ms. */
  private inTime<T>(call: Maybe<T>): Maybe<T> {
    return withStoreDeadline(call, this.o.storeDeadlineMs);
  }

  /**
   * The router has just proven the device (its Calling-Station-Id is the token's MAC): the
   * enrollment the portal prepared is recorded now, once, and its session opened.
   */
  private async enrollAndAccept(id: string, token: LoginToken, nas: NasClient, now: Date): Promise<AccessDecision> {
    if (!(await this.inTime(this.o.tokens.redeem(id)))) return { ...rejectRequest('login token already used'), mac: token.mac };
    const refused = this.o.completeEnrollment ? await this.inTime(this.o.completeEnrollment(token)) : 'enrollments are not completed by this server';
    if (refused) return { ...rejectRequest(refused), mac: token.mac };
    const decision = this.accept(token, nas, now, await this.inTime(this.o.sessions.live(token.mac)));
    if (decision.outcome !== 'accept') return { ...rejectRequest('the device has no live session'), mac: token.mac };
    return { ...decision, reason: 'one-time login token, device enrolled' };
  }

  private accept(token: LoginToken, nas: NasClient, now: Date, session: Awaited<ReturnType<SessionService['live']>>): AccessDecision {
    return decideAccess(token.mac, session, nas, { now, timeZone: this.o.timeZone, portalUrl: this.o.portalUrl });
  }
}
