import type { Clock } from '../../src/clock.js';

/**
 * The next instant after `now` at which the wall clock in `zone` reads `hhmm`, found the
 * plain way: minute by minute, reading the clock with Intl. An oracle independent of
 * src/sessions/daily-cutoff.ts (and of luxon) for tests of the daily cut-off. For times
 * that exist once a day (not in a daylight-saving gap or overlap).
 */
export function nextWallClock(now: Date, hhmm: string, zone: string): Date {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  let t = Math.floor(now.getTime() / 60_000) * 60_000 + 60_000;
  for (let i = 0; i <= 25 * 60; i++, t += 60_000) {
    if (format.format(new Date(t)) === hhmm) return new Date(t);
  }
  throw new Error(`${hhmm} never came in ${zone} within a day of ${now.toISOString()}`);
}

/** Real time plus an offset a test moves forward ("the next morning", a link's expiry): a Clock for the gateway under test. */
export class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}
