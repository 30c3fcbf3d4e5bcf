import { DateTime } from 'luxon';

/**
 * Every session ends at the next daily cut-off: a local time of day in an IANA
 * time zone (for example 04:00 Europe/Berlin). The arithmetic is done in local
 * wall-clock time by luxon, so a day that is 23 or 25 hours long (daylight-saving
 * changes) still ends at the right local time.
 *
 * - A session started exactly at the cut-off lasts until the next day's cut-off.
 * - When the cut-off time does not exist on a day (it falls in the spring-forward
 *   gap, e.g. 02:30 in Europe/Berlin on the last Sunday of March), the session
 *   ends when the clocks jump, at the first instant after the gap.
 * - When it exists twice (autumn fall-back), the first occurrence counts.
 */
export function nextCutoff(now: Date, cutoff: string, zone: string): Date {
  const [hour, minute] = cutoff.split(':').map(Number) as [number, number];
  const local = DateTime.fromJSDate(now, { zone });
  if (!local.isValid) throw new Error(`invalid time zone ${zone}`);
  for (let day = 0; day <= 2; day++) {
    const candidate = cutoffOn(local.plus({ days: day }), hour, minute, zone);
    if (candidate.toMillis() > now.getTime()) return candidate.toJSDate();
  }
  throw new Error('unreachable: a cut-off always exists within two days');
}

function cutoffOn(day: DateTime, hour: number, minute: number, zone: string): DateTime {
  const wanted = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone });
  if (wanted.hour === hour && wanted.minute === minute) return earliestOccurrence(wanted);
  // The wall-clock time fell in a spring-forward gap; luxon moved it forward by the gap's
  // length. The clocks jump at the start of the gap's hour, in the new offset.
  return DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour: wanted.hour, minute: 0 }, { zone });
}

/** In a fall-back hour the same wall time happens twice; take the earlier instant. */
function earliestOccurrence(t: DateTime): DateTime {
  const earlier = t.minus({ hours: 1 });
  if (earlier.hour === t.hour && earlier.minute === t.minute && earlier.day === t.day) return earlier;
  return t;
}

/** Whole seconds from now until the end, never negative (RFC 2865 Session-Timeout is whole seconds). */
export function secondsUntil(end: Date, now: Date): number {
  return secondsBetween(end.getTime(), now.getTime());
}

/** secondsUntil for instants in ms since the epoch (RADIUS: no Date made per request). */
export function secondsBetween(endMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((endMs - nowMs) / 1000));
}
