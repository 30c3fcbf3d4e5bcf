import type { Session } from '../sessions/session.js';
import { GenerationalMap } from '../generational-map.js';

const REMEMBERED_MAX = 200_000;

/**
 * fail_mode open's memory: the live session of each device this process answered,
 * as last read from the store, at most REMEMBERED_MAX devices (GenerationalMap).
 * A device whose session the store no longer has is forgotten at its next request.
 */
export class RememberedSessions {
  private readonly entries = new GenerationalMap<string, { session: Session; seenAt: number }>(REMEMBERED_MAX);

  constructor(private readonly maxAgeMs: number) {}

  /** What the store said of the device just now: its live session, or none. */
  note(mac: string, session: Session | undefined, now: Date): void {
    if (!session) {
      this.entries.delete(mac);
      return;
    }
    this.entries.set(mac, { session, seenAt: now.getTime() });
  }

  /** The remembered session, while seen within the maximum age and not past its own end. */
  recall(mac: string, now: Date): Session | undefined {
    const e = this.entries.get(mac);
    if (!e || now.getTime() - e.seenAt > this.maxAgeMs || Date.parse(e.session.endsAt) <= now.getTime()) return undefined;
    return e.session;
  }
}
