import type { Mac } from '../mac.js';

/** How a session began: at enrollment, a portal login, or renewed by 802.1X in the morning (eap.next_morning renew). */
export type SessionOrigin = 'enrollment' | 'login' | 'renewal';

/** One device's permission to be online, for one user, until the daily cut-off. */
export interface Session {
  readonly mac: Mac;
  readonly user: string;
  /** ISO 8601 instants (keyv returns Dates as strings, so they are stored as strings). */
  readonly startedAt: string;
  readonly endsAt: string;
  readonly origin: SessionOrigin;
}

/** A session counts only strictly before its end. */
export function isLive(session: Session, now: Date): boolean {
  return Date.parse(session.endsAt) > now.getTime();
}
