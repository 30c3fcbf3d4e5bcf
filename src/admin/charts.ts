/**
 * The dashboard's small charts, drawn on the server as SVG (no script, no chart
 * CDN): this computes the geometry; views/admin/dashboard.njk draws the rectangles.
 * Pure numbers, so the template needs nothing marked safe.
 */

export interface HourBar {
  readonly x: number;
  /** Accepts stacked under rejects, from the baseline up. */
  readonly acceptY: number;
  readonly acceptHeight: number;
  readonly rejectY: number;
  readonly rejectHeight: number;
  /** "14:00" */
  readonly label: string;
  readonly title: string;
}

export interface HourChart {
  readonly width: number;
  readonly height: number;
  readonly max: number;
  readonly bars: readonly HourBar[];
}

const WIDTH = 480;
const HEIGHT = 120;
const GAP = 2;

/** Stacked bars for accepts and rejects per hour, scaled to the busiest hour. */
export function hourChart(hours: ReadonlyArray<{ hour: string; accepts: number; rejects: number }>, timeZone: string): HourChart {
  const max = Math.max(1, ...hours.map((h) => h.accepts + h.rejects));
  const slot = WIDTH / Math.max(1, hours.length);
  const fmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone, hourCycle: 'h23' });
  const bars = hours.map((h, i) => {
    const acceptHeight = Math.round((h.accepts / max) * HEIGHT);
    const rejectHeight = Math.round((h.rejects / max) * HEIGHT);
    const label = fmt.format(new Date(h.hour));
    return {
      x: Math.round(i * slot),
      acceptY: HEIGHT - acceptHeight,
      acceptHeight,
      rejectY: HEIGHT - acceptHeight - rejectHeight,
      rejectHeight,
      label,
      title: `${label}: ${h.accepts} accepted, ${h.rejects} rejected`,
    };
  });
  return { width: WIDTH, height: HEIGHT, max, bars: bars.map((b) => ({ ...b, width: Math.max(1, Math.floor(slot) - GAP) })) };
}

/** Horizontal bars for counts (enrollments by OS), as percentages of the largest. */
export function shareBars(rows: ReadonlyArray<{ os: string; count: number }>): Array<{ label: string; count: number; width: number; y: number }> {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return rows.slice(0, 12).map((r, i) => ({ label: r.os, count: r.count, width: Math.max(1, Math.round((r.count / max) * 300)), y: i * 22 }));
}
