/** Where a progress line goes: stderr, whose isTTY says whether a person watches it. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const BAR_WIDTH = 24;
/** On a terminal: at most ten redraws a second. */
const REDRAW_MS = 100;
/** Elsewhere (a log, a pipe): a line every tenth of the way. */
const STEPS = 10;

/**
 * A progress line for a long command. On a terminal one line is rewritten in place
 * (\r, then erase to its end); in a log or a pipe, where \r makes a mess, a line is
 * printed every 10 %. `total` may be an estimate: the fraction stops at 100 %.
 */
export class ProgressLine {
  private lastDraw = Number.NEGATIVE_INFINITY;
  /** Tenths of the way printed so far (not on a terminal). */
  private printed = 0;
  private drawn = false;
  private readonly started: number;

  constructor(
    private readonly out: ProgressStream,
    private readonly what: string,
    private readonly total: number,
    /** Where the count starts (a resumed copy), so that the rate counts this run's entries only. */
    private readonly from = 0,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  /** Reports `done` of the total; `detail` says what is being done (a namespace). */
  update(done: number, detail: string): void {
    const fraction = this.fraction(done);
    if (this.out.isTTY) {
      const t = this.now();
      if (t - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = t;
      this.out.write(`\r${this.line(done, fraction, detail)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const step = Math.floor(fraction * STEPS);
    if (step <= this.printed) return;
    this.printed = step;
    this.out.write(`${this.line(done, fraction, detail)}\n`);
  }

  /** Draws the final state and ends the line (on a terminal). */
  finish(done: number, detail: string): void {
    if (this.out.isTTY) {
      this.out.write(`\r${this.line(done, this.fraction(done), detail)}\x1b[K\n`);
      return;
    }
    if (this.printed < STEPS) this.out.write(`${this.line(done, this.fraction(done), detail)}\n`);
  }

  /** Ends a line left half-drawn on a terminal (before printing something else). */
  interrupt(): void {
    if (this.out.isTTY && this.drawn) this.out.write('\n');
  }

  private fraction(done: number): number {
    return this.total <= 0 ? 1 : Math.min(1, done / this.total);
  }

  private line(done: number, fraction: number, detail: string): string {
    const seconds = (this.now() - this.started) / 1000;
    const rate = seconds > 0 ? Math.round((done - this.from) / seconds) : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = this.out.isTTY ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` : '';
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    return `${this.what} ${bar}${percent}  ${count(done)} of ${count(Math.max(done, this.total))} entries  ${count(rate)}/s  (${detail})`;
  }
}

/** 100000 → "100,000". */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
