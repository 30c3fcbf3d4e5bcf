import type { Clock } from '../clock.js';
import type { Mac } from '../mac.js';
import type { Maybe } from '../maybe.js';
import type { AuditTrail, ClientFields } from '../audit/events.js';
import type { Logger } from '../logger.js';
import { nextCutoff } from './daily-cutoff.js';
import type { Session, SessionOrigin } from './session.js';
import type { SessionStore } from './session-store.js';

/** A change of a device's session that its router should hear about at once (RFC 5176). */
export type SessionChange = { readonly kind: 'issued'; readonly session: Session } | { readonly kind: 'revoked'; readonly mac: Mac; readonly reason: string };

/** Issues sessions that end at the daily cut-off, and answers whether a device has one. */
export class SessionService {
  constructor(
    private readonly deps: {
      store: SessionStore;
      clock: Clock;
      /** HH:MM local time. */
      cutoff: string;
      timeZone: string;
      log: Logger;
      /** Told after a session is stored or revoked; must return at once and never throw (it tells the router in the background). */
      notify?: (change: SessionChange) => void;
      /** session.issued and session.revoked records (RADIUS workers, which only read sessions, have none). */
      audit?: AuditTrail;
    },
  ) {}

  /** The instant the sessions issued now end. */
  nextCutoff(now: Date = this.deps.clock.now()): Date {
    return nextCutoff(now, this.deps.cutoff, this.deps.timeZone);
  }

  /** Gives the device a session for the user until the next cut-off, replacing any earlier one. */
  async issue(mac: Mac, user: string, origin: SessionOrigin): Promise<Session> {
    const now = this.deps.clock.now();
    const session: Session = { mac, user, origin, startedAt: now.toISOString(), endsAt: this.nextCutoff(now).toISOString() };
    await this.deps.store.put(session, now);
    this.deps.log.info({ event: 'session.issued', mac, user, origin, endsAt: session.endsAt }, 'session issued');
    this.deps.audit?.record({ type: 'session.issued', mac, user, origin, ends_at: session.endsAt });
    this.deps.notify?.({ kind: 'issued', session });
    return session;
  }

  /** The device's live session, if it has one now: at once where the store reads synchronously (SQLite), else a promise. */
  live(mac: Mac, now = this.deps.clock.now()): Maybe<Session | undefined> {
    return this.deps.store.live(mac, now);
  }

  /** Every live session now. */
  async list(): Promise<Session[]> {
    return this.deps.store.list(this.deps.clock.now());
  }

  /** Ends the device's session at once; `by` names who did it when it was not the system or the owner's own action, `client` where they acted from. */
  async revoke(mac: Mac, reason: string, by?: string, client?: ClientFields): Promise<boolean> {
    // Whose session it was, for the trail (read before it goes).
    const user = (await this.live(mac))?.user;
    const had = await this.deps.store.revoke(mac);
    if (had) {
      this.deps.log.info({ event: 'session.revoked', mac, reason, ...(by ? { by } : {}) }, 'session revoked');
      this.deps.audit?.record({ type: 'session.revoked', mac, ...(user ? { user } : {}), reason, ...(by ? { by } : {}), ...client });
      this.deps.notify?.({ kind: 'revoked', mac, reason });
    }
    return had;
  }
}
