import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accentProblem, contrastRatio, darkAccentFor, MIN_CONTRAST, PAGE_COLOURS, parseHexColour } from '../../../src/config/accent-colour.js';
import { validateConfig } from '../../../src/config/load.js';
import type { ConfigError } from '../../../src/errors.js';
import { accentStyle, checkLogo, LOGO_MAX_BYTES, parseTerms, TERMS_MAX_BYTES, type Logo } from '../../../src/portal/branding.js';

const STYLE = readFileSync(new URL('../../../views/partials/style.css', import.meta.url), 'utf8');

/** The custom properties of a :root rule of style.css: the first (light) or the one in the dark media query. */
function rootColours(dark: boolean): Record<string, string> {
  const at = dark ? STYLE.indexOf(':root', STYLE.indexOf('prefers-color-scheme: dark')) : STYLE.indexOf(':root');
  const rule = STYLE.slice(at, STYLE.indexOf('}', at));
  return Object.fromEntries([...rule.matchAll(/--([a-z-]+): (#[0-9a-f]{3,6})/g)].map((m) => [m[1]!, m[2]!]));
}

const full = (hex: string) => (hex.length === 4 ? `#${[...hex.slice(1)].map((c) => c + c).join('')}` : hex);

describe('accent colour (WCAG 2.1 contrast)', () => {
  it('checks against the colours style.css really has, in both modes', () => {
    for (const [mode, dark] of [['light', false], ['dark', true]] as const) {
      const css = rootColours(dark);
      const mine = PAGE_COLOURS[mode];
      expect({ bg: full(css.bg!), surface: full(css.surface!), text: full(css.text!), onAccent: full(css['on-accent']!) }).toEqual(mine);
      // The page's own accents pass its own check.
      expect(accentProblem(css.accent!, mode)).toBeUndefined();
    }
  });

  it('computes the ratios WCAG gives', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#ffffff', '#ffffff')).toBeCloseTo(1, 5);
    // #767676 on white is the lightest grey that passes AA; #777777 just fails.
    expect(contrastRatio('#767676', '#ffffff')).toBeGreaterThanOrEqual(MIN_CONTRAST);
    expect(contrastRatio('#777777', '#ffffff')).toBeLessThan(MIN_CONTRAST);
    expect(contrastRatio('#0b57d0', '#fff')).toBeCloseTo(contrastRatio('#fff', '#0b57d0'), 10);
  });

  it('reads #rrggbb and #rgb, nothing else', () => {
    expect(parseHexColour('#0B57d0')).toEqual([11, 87, 208]);
    expect(parseHexColour('#abc')).toEqual([0xaa, 0xbb, 0xcc]);
    for (const bad of ['0b57d0', '#0b57d', '#0b57d0ff', 'blue', 'rgb(0,0,0)', '#ggg', '']) expect(parseHexColour(bad)).toBeUndefined();
  });

  it('refuses a light accent that is too pale, naming each failing use and its ratio', () => {
    const problem = accentProblem('#ffcc00', 'light');
    expect(problem).toMatch(/^a colour with at least 4.5:1 contrast \(WCAG 2.1 AA\) in light mode; it has 1.37:1 as link text/);
    expect(problem).toContain(`:1 as link text on the page background (${PAGE_COLOURS.light.bg})`);
    expect(problem).toContain('behind the button text (#ffffff)');
    expect(accentProblem('red', 'light')).toBe('a colour written as #rrggbb');
    // Dark enough for white text, and for links on the light grey page.
    expect(accentProblem('#0f6b3a', 'light')).toBeUndefined();
    // Passes on white, fails on the page's grey: the page background is checked too.
    const greyOnly = '#757575';
    expect(contrastRatio(greyOnly, '#ffffff')).toBeGreaterThanOrEqual(MIN_CONTRAST);
    expect(accentProblem(greyOnly, 'light')).toContain('as link text on the page background');
    expect(accentProblem(greyOnly, 'light')).not.toContain('on a card');
  });

  it('derives a dark-mode accent: the light one lightened just enough to pass', () => {
    const dark = darkAccentFor('#0f6b3a')!;
    expect(accentProblem(dark, 'dark')).toBeUndefined();
    const [r, g, b] = parseHexColour(dark)!;
    expect(r > 0x0f && g > 0x6b && b > 0x3a).toBe(true);
    // Just enough: one step less light (1/40 of the way to white) would not pass.
    const lighter = (hex: string, t: number) => parseHexColour(hex)!.map((c) => c + (255 - c) * t);
    const base = parseHexColour('#0f6b3a')!;
    const share = (r - base[0]) / (255 - base[0]);
    const before = lighter('#0f6b3a', share - 1 / 40).map((c) => Math.round(c).toString(16).padStart(2, '0'));
    expect(accentProblem(`#${before.join('')}`, 'dark')).toBeDefined();
    // An accent that already passes in dark mode is kept as it is.
    expect(darkAccentFor('#8ab4f8')).toBe('#8ab4f8');
  });

  it('the schema refuses a bad accent under its key, with the ratios it reached', () => {
    const problems = (branding: object): readonly string[] => {
      try {
        validateConfig({ portal: { branding } });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ accent_colour: '#0f6b3a' })).toEqual([]);
    expect(problems({ accent_colour: '#ffcc00' })).toEqual([
      'portal.branding.accent_colour: got "#ffcc00"; expected a colour with at least 4.5:1 contrast (WCAG 2.1 AA) in light mode; it has 1.37:1 as link text on the page background (#f3f4f6), 1.51:1 as link text on a card (#ffffff), 1.51:1 behind the button text (#ffffff)',
    ]);
    expect(problems({ accent_colour: '#0f6b3a', accent_colour_dark: '#0f6b3a' }).join('\n')).toMatch(/^portal\.branding\.accent_colour_dark: got "#0f6b3a"; expected a colour with at least 4.5:1 contrast \(WCAG 2.1 AA\) in dark mode; it has \d/);
    expect(problems({ accent_colour: 'green' })).toEqual(['portal.branding.accent_colour: got "green"; expected a colour written as #rrggbb']);
    // A grey: its derived dark accent passes too (lighter only ever helps in dark mode).
    expect(problems({ accent_colour: '#595959' })).toEqual([]);
    expect(accentProblem(darkAccentFor('#595959')!, 'dark')).toBeUndefined();
    expect(problems({ accent: '#000000' }).join('\n')).toMatch(/portal\.branding.*accent/);
  });
});

describe('accentStyle', () => {
  it('sets the accent and a soft tint of it in both modes, from hexadecimal colours only', () => {
    const css = accentStyle('#0F6B3A', '#7fc49a');
    expect(css).toBe(':root { --accent: #0f6b3a; --accent-soft: #e7f0eb; }\n@media (prefers-color-scheme: dark) { :root { --accent: #7fc49a; --accent-soft: #2f3f3b; } }');
    // The page's text stays readable on the tint.
    expect(contrastRatio(PAGE_COLOURS.light.text, '#e7f0eb')).toBeGreaterThanOrEqual(MIN_CONTRAST);
    expect(contrastRatio(PAGE_COLOURS.dark.text, '#2f3f3b')).toBeGreaterThanOrEqual(MIN_CONTRAST);
  });
});

describe('checkLogo', () => {
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40)]);
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>');

  it('takes a PNG or an SVG, by content', () => {
    expect(checkLogo(png, 'logo.png')).toMatchObject({ bytes: png, type: 'image/png' });
    expect(checkLogo(svg, 'logo.img')).toMatchObject({ bytes: svg, type: 'image/svg+xml' });
  });

  it('versions a logo by its bytes: the same bytes the same version, one byte more another', () => {
    const version = (bytes: Buffer) => (checkLogo(bytes, 'logo') as Logo).version;
    expect(version(svg)).toMatch(/^[0-9a-f]{16}$/);
    expect(version(Buffer.from(svg))).toBe(version(svg));
    expect(version(Buffer.concat([svg, Buffer.from('\n')]))).not.toBe(version(svg));
    expect(version(png)).not.toBe(version(svg));
  });

  it.each([
    ['empty', Buffer.alloc(0), 'logo is empty'],
    ['too large', Buffer.concat([png, Buffer.alloc(LOGO_MAX_BYTES)]), `logo is ${LOGO_MAX_BYTES + 48} bytes; a logo is at most ${LOGO_MAX_BYTES} bytes`],
    ['a JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'logo is neither a PNG nor an SVG image'],
    ['an SVG with a script', Buffer.from('<svg><script>alert(1)</script></svg>'), 'logo holds script'],
    ['an SVG with an event handler', Buffer.from('<svg onload="alert(1)"></svg>'), 'logo holds script'],
    ['an SVG with a javascript: link', Buffer.from('<svg><a href="javascript:alert(1)"><rect/></a></svg>'), 'logo holds script'],
    ['an SVG with foreignObject', Buffer.from('<svg><foreignObject><p>x</p></foreignObject></svg>'), 'logo holds script'],
  ])('refuses %s', (_name, bytes, message) => {
    expect(checkLogo(bytes, 'logo')).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});

describe('parseTerms', () => {
  it('reads paragraphs apart by blank lines, lines kept, CRLF and trailing spaces ignored', () => {
    const terms = parseTerms(Buffer.from('First line.  \r\nSecond line.\r\n\r\n \r\nThird.\n\n\n'), 't.txt', 'Terms', 'v1');
    expect(terms).toEqual({ title: 'Terms', version: 'v1', paragraphs: [['First line.', 'Second line.'], ['Third.']] });
  });

  it.each([
    ['empty', Buffer.from(' \n\n'), 't.txt holds no text'],
    ['too large', Buffer.alloc(TERMS_MAX_BYTES + 1, 0x61), `t.txt is ${TERMS_MAX_BYTES + 1} bytes; terms of use are at most`],
    ['not UTF-8', Buffer.from([0x61, 0xff, 0xfe, 0x61]), 't.txt is not UTF-8 text'],
    ['binary', Buffer.from('a\0b'), 't.txt is not plain text'],
  ])('refuses a file that is %s', (_name, bytes, message) => {
    expect(parseTerms(bytes, 't.txt', 'Terms', 'v1')).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});
