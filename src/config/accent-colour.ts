/**
 * The accent colour portal.branding may set, checked for contrast against the employee
 * pages' own colours (views/partials/style.css :root, light and dark; a unit test keeps the
 * two alike). The accent is used as text (links, secondary buttons, the focus ring) on the
 * page and card backgrounds, and as the background of the main button under its own text
 * colour (--accent, --on-accent). WCAG 2.1 AA (1.4.3) asks 4.5:1 for normal text: every
 * such pair is checked in light mode and in dark mode, and a colour that fails is refused
 * with the ratio it reached. The schema checks here; portal/branding.ts writes the style.
 */

/** The page's own colours an accent must stand out from (style.css :root, light and dark). */
export const PAGE_COLOURS = {
  light: { bg: '#f3f4f6', surface: '#ffffff', text: '#1a1d21', onAccent: '#ffffff' },
  dark: { bg: '#111316', surface: '#1b1e23', text: '#e8eaed', onAccent: '#0b1526' },
} as const;

/** WCAG 2.1 AA for normal text. */
export const MIN_CONTRAST = 4.5;

export type Rgb = readonly [number, number, number];

const HEX = /^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$/;

/** A colour as #rrggbb or #rgb; undefined for anything else. */
export function parseHexColour(text: string): Rgb | undefined {
  const m = HEX.exec(text);
  if (!m) return undefined;
  const hex = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join('') : m[1]!;
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
}

export function hexOf(rgb: Rgb): string {
  return `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

/** WCAG 2.1 relative luminance (sRGB). */
function luminance(rgb: Rgb): number {
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as unknown as Rgb;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.1 contrast ratio of two colours, 1 to 21. */
export function contrastRatio(a: Rgb | string, b: Rgb | string): number {
  const la = luminance(typeof a === 'string' ? parseHexColour(a)! : a);
  const lb = luminance(typeof b === 'string' ? parseHexColour(b)! : b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** `a` moved towards `b` by `t` (0 to 1), per channel. */
export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => a[i]! + (b[i]! - a[i]!) * t) as unknown as Rgb;
}

export type Mode = keyof typeof PAGE_COLOURS;

/** The pairs an accent is used in, in one mode: [what, the other colour]. */
function pairs(mode: Mode): Array<[string, string]> {
  const p = PAGE_COLOURS[mode];
  return [
    ['as link text on the page background', p.bg],
    ['as link text on a card', p.surface],
    ['behind the button text', p.onAccent],
  ];
}

/**
 * What an accent that fails in a mode should be, and what it reached, worded after the
 * config's "got X; expected …": "a colour with at least 4.5:1 contrast … in light mode; it
 * has 1.51:1 as link text on a card (#ffffff), …". Undefined when it passes.
 */
export function accentProblem(colour: string, mode: Mode): string | undefined {
  const rgb = parseHexColour(colour);
  if (!rgb) return 'a colour written as #rrggbb';
  const failing = pairs(mode)
    .map(([what, other]) => ({ what, ratio: contrastRatio(rgb, other), other }))
    .filter((f) => f.ratio < MIN_CONTRAST);
  if (failing.length === 0) return undefined;
  return `a colour with at least ${MIN_CONTRAST}:1 contrast (WCAG 2.1 AA) in ${mode} mode; it has ${failing.map((f) => `${f.ratio.toFixed(2)}:1 ${f.what} (${f.other})`).join(', ')}`;
}

/**
 * The dark-mode accent for a light-mode one: the light accent mixed with white in small
 * steps until it passes every dark-mode pair. Lighter is better against both the dark page
 * and the dark button text, so one always does (white itself, at worst); undefined only for
 * what is not a colour.
 */
export function darkAccentFor(colour: string): string | undefined {
  const rgb = parseHexColour(colour);
  if (!rgb) return undefined;
  for (let step = 0; step <= 40; step++) {
    const candidate = hexOf(mix(rgb, [255, 255, 255], step / 40));
    if (accentProblem(candidate, 'dark') === undefined) return candidate;
  }
  return undefined;
}
