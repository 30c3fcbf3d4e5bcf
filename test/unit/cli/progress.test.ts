import { describe, expect, it } from 'vitest';
import { ProgressLine } from '../../../src/cli/progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (text: string) => writes.push(text) };
}

describe('ProgressLine', () => {
  it('in a log or a pipe: one line every tenth of the way, and the last one once', () => {
    const out = stream(false);
    let t = 0;
    const progress = new ProgressLine(out, 'copying', 1000, 0, () => t);
    for (let done = 0; done <= 1000; done += 7) {
      t += 10;
      progress.update(done, 'sessions');
    }
    progress.finish(1000, 'done');
    expect(out.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    expect(out.writes.map((w) => /(\d+)%/.exec(w)![1])).toEqual(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
    expect(out.writes.at(-1)).toContain('1,000 of 1,000 entries');
  });

  it('on a terminal: rewrites one line at most ten times a second, then ends it', () => {
    const out = stream(true);
    let t = 0;
    const progress = new ProgressLine(out, 'copying', 100_000, 0, () => t);
    for (let done = 0; done < 100_000; done += 500) {
      t += 5; // 200 updates a second
      progress.update(done, 'sessions');
    }
    progress.finish(100_000, 'done');
    // 200 updates over one second: about ten drawn, plus the final one.
    expect(out.writes.length).toBeGreaterThanOrEqual(10);
    expect(out.writes.length).toBeLessThanOrEqual(12);
    expect(out.writes.every((w) => w.startsWith('\r'))).toBe(true);
    expect(out.writes.at(-1)).toMatch(/\[#{24}\] 100%.*100,000 of 100,000 entries.*\n$/);
  });

  it('counts the rate from where a resumed run started, and stops at 100 % when the total was an estimate', () => {
    const out = stream(false);
    let t = 0;
    const progress = new ProgressLine(out, 'copying', 1000, 600, () => t);
    t = 2000;
    progress.finish(1200, 'done');
    expect(out.writes[0]).toContain('100%');
    expect(out.writes[0]).toContain('300/s');
  });
});
