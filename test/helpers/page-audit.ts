import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { AxeResults } from 'axe-core';
import type { Page, Response } from 'playwright-core';
import { expect } from 'vitest';

/**
 * Accessibility and size checks of pages in Chromium, for the e2e suites that walk every
 * page in every state. axe-core's source is evaluated through the DevTools protocol
 * (Playwright's evaluate), which the page's Content-Security-Policy does not govern: the
 * product's CSP stays as it is, and the browser enforces it on everything the page loads.
 */

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
/** Runs axe in the page (the browser's code, as text: the tests compile without the DOM's types). */
// Text inside a chart (an <svg role="img">, whose contents assistive technology skips) axe cannot
// check: it finds no background behind it ("needs review"). svgTextContrast() checks it instead.
const AXE_RUN = `axe.run({ include: [document], exclude: [['svg[role="img"] text']] }, ${JSON.stringify({
  runOnly: { type: 'tag', values: WCAG_21_AA },
  resultTypes: ['violations', 'incomplete'],
})}).then((r) => ({ violations: r.violations, incomplete: r.incomplete }))`;
/** Each SVG text's fill and the background of the nearest ancestor that has one, as computed colours. */
const SVG_TEXT_COLOURS = `Array.from(document.querySelectorAll('svg text')).map((el) => {
  let bg = 'rgba(0, 0, 0, 0)';
  for (let up = el.closest('svg'); up && /rgba\\(.*, 0\\)$/.test(bg); up = up.parentElement) bg = getComputedStyle(up).backgroundColor;
  return { text: el.textContent, fill: getComputedStyle(el).fill, bg };
})`;

/** Pages stay small: under 15 KB as sent, with the inline stylesheet. */
export const MAX_PAGE_BYTES = 15 * 1024;

/**
 * What axe finds against WCAG 2.1 A and AA on the page as it stands, one line a rule and
 * element: its violations, and what it could not decide ("needs review", such as a name on
 * an element that may not have one), which a person would otherwise have to check by hand.
 */
export async function axeFindings(page: Page): Promise<string[]> {
  if ((await page.evaluate('typeof axe')) === 'undefined') await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(AXE_RUN)) as Pick<AxeResults, 'violations' | 'incomplete'>;
  // With what axe says of the element: for "needs review", why it could not decide.
  const lines = (kind: string, results: AxeResults['violations']) =>
    results.flatMap((r) => r.nodes.map((n) => `${kind} ${r.id} (${r.impact ?? 'no impact'}) at ${n.target.join(' ')}: ${r.help}${n.any[0]?.message ? ` (${n.any[0].message})` : ''}`));
  return [...lines('violation', result.violations), ...lines('needs review', result.incomplete)];
}

/** WCAG 2.1's relative luminance of an sRGB colour as getComputedStyle writes it ("rgb(26, 29, 33)"). */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/** WCAG 2.1 contrast ratio (1.4.3) of two colours. */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** SVG texts whose fill has less than 4.5:1 against what is behind the chart (the small-text bound of 1.4.3). */
export async function svgTextContrast(page: Page): Promise<string[]> {
  const texts = (await page.evaluate(SVG_TEXT_COLOURS)) as Array<{ text: string; fill: string; bg: string }>;
  return texts
    .map((t) => ({ ...t, ratio: contrastRatio(t.fill, t.bg) }))
    .filter((t) => t.ratio < 4.5)
    .map((t) => `violation color-contrast (SVG text) at "${t.text}": ${t.fill} on ${t.bg} is ${t.ratio.toFixed(2)}:1, under 4.5:1`);
}

/** The page templates in `dir` (not its layouts), which a suite must each show in some state. */
export function pageTemplates(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.njk') && f !== 'layout.njk');
}

/** One checked page: which template in which state, and its size as sent. */
interface Checked {
  readonly template: string;
  readonly state: string;
  readonly status: number;
  readonly bytes: number;
}

/** The pages a suite checked, with their sizes. */
export class PageAudit {
  readonly checked: Checked[] = [];

  /** `maxBytes`: the most a page may weigh as sent. */
  constructor(private readonly maxBytes = MAX_PAGE_BYTES) {}

  /**
   * Checks the page `response` loaded: it is `template` (its heading is `heading`), it carries
   * the product's CSP, axe finds nothing against WCAG 2.1 AA in the light and the dark colour
   * scheme, and it is under `maxBytes`.
   */
  async check(page: Page, response: Response | null, template: string, state: string, heading: string): Promise<void> {
    expect(response, `${state}: no page loaded`).not.toBeNull();
    expect(await page.locator('h1').innerText(), state).toBe(heading);
    // axe runs under the page's own policy, not a loosened one.
    expect(response!.headers()['content-security-policy'], state).toMatch(/^default-src 'none'; style-src 'nonce-/);
    const bytes = (await response!.body()).length;
    this.checked.push({ template, state, status: response!.status(), bytes });
    const found: string[] = [];
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      found.push(...[...(await axeFindings(page)), ...(await svgTextContrast(page))].map((v) => `${colorScheme}: ${v}`));
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect.soft(found, `${template}, ${state}: WCAG 2.1 AA findings`).toEqual([]);
    expect.soft(bytes, `${template}, ${state}: bytes`).toBeLessThan(this.maxBytes);
  }

  /** The templates of `dir` that no checked page showed. */
  unshown(dir: string): string[] {
    const shown = new Set(this.checked.map((c) => c.template));
    return pageTemplates(dir).filter((f) => !shown.has(f));
  }

  /** Writes the table of sizes to `file` (and prints it), when anything was checked. */
  async writeSizes(file: string): Promise<void> {
    if (this.checked.length === 0) return;
    const name = (c: Checked) => `${c.template}, ${c.state}`;
    const width = Math.max(...this.checked.map((c) => name(c).length));
    const rows = this.checked.map((c) => `${name(c).padEnd(width)}  ${String(c.status).padStart(3)}  ${String(c.bytes).padStart(6)}`);
    const table = [`${'page, state'.padEnd(width)}  HTTP   bytes`, ...rows, ''].join('\n');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, table);
    console.log(`Page sizes (also in ${file}):\n${table}`);
  }
}

/** test-output/<name>: where the suites put the size tables. */
export function testOutput(name: string): string {
  return join(process.cwd(), 'test-output', name);
}
