/**
 * The organisation's look on the employee pages (portal.branding) and its terms of use
 * (portal.terms): an accent colour checked for contrast against the page's own colours,
 * a logo in place of the Wi-Fi mark, and the text a person accepts before enrolling.
 *
 * The colour's contrast is checked with the config (config/accent-colour.ts). Without
 * accent_colour_dark, the dark mode accent is the light one lightened just enough to pass.
 */
import { createHash } from 'node:crypto';
import { hexOf, mix, PAGE_COLOURS, parseHexColour, type Mode } from '../config/accent-colour.js';

/**
 * The stylesheet lines that put the accent in place of the default one, both modes: the
 * soft tint behind notes and step numbers is the accent mixed into the card colour, so it
 * keeps the page's text readable on it. Only hexadecimal colours go in: nothing an admin
 * writes reaches the page's CSS as text.
 */
export function accentStyle(light: string, dark: string): string {
  const soft = (accent: string, mode: Mode, share: number) => hexOf(mix(parseHexColour(PAGE_COLOURS[mode].surface)!, parseHexColour(accent)!, share));
  const vars = (accent: string, mode: Mode, share: number) => `--accent: ${hexOf(parseHexColour(accent)!)}; --accent-soft: ${soft(accent, mode, share)};`;
  return `:root { ${vars(light, 'light', 0.1)} }\n@media (prefers-color-scheme: dark) { :root { ${vars(dark, 'dark', 0.2)} } }`;
}

/** The most a logo file may weigh: it is fetched on every page view of a captive sheet. */
export const LOGO_MAX_BYTES = 32 * 1024;

export interface Logo {
  readonly bytes: Buffer;
  readonly type: 'image/svg+xml' | 'image/png';
  /**
   * The first 16 hex digits of the bytes' SHA-256: the logo's address carries it (?v=), so a
   * reload that changes the file changes the address, and browsers cache each one for good.
   */
  readonly version: string;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A logo file's bytes checked: PNG or SVG, at most LOGO_MAX_BYTES. An SVG with script or
 * event handlers is refused: it is served with a policy that stops scripts anyway
 * (actions/branding.ts), but such a file is not a logo.
 */
export function checkLogo(bytes: Buffer, path: string): Logo | string {
  if (bytes.length === 0) return `${path} is empty`;
  if (bytes.length > LOGO_MAX_BYTES) return `${path} is ${bytes.length} bytes; a logo is at most ${LOGO_MAX_BYTES} bytes (it loads with every page)`;
  if (bytes.subarray(0, 8).equals(PNG_MAGIC)) return { bytes, type: 'image/png', version: logoVersion(bytes) };
  const text = bytes.toString('utf8');
  if (/<svg[\s>]/i.test(text)) {
    if (/<script[\s>]|\son[a-z]+\s*=|javascript:|<foreignObject[\s>]/i.test(text)) return `${path} holds script, event handlers or foreignObject; a logo needs none`;
    return { bytes, type: 'image/svg+xml', version: logoVersion(bytes) };
  }
  return `${path} is neither a PNG nor an SVG image`;
}

function logoVersion(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** The terms of use as the pages show them. */
export interface Terms {
  readonly title: string;
  readonly version: string;
  /** Paragraphs (blank lines apart in the file), each a list of its lines. */
  readonly paragraphs: ReadonlyArray<readonly string[]>;
}

/** The longest terms file read: a page of terms is a few KB; more is the wrong file. */
export const TERMS_MAX_BYTES = 64 * 1024;

/** A terms file (plain UTF-8 text, paragraphs apart by blank lines) read into paragraphs, or why it cannot be. */
export function parseTerms(bytes: Buffer, path: string, title: string, version: string): Terms | string {
  if (bytes.length > TERMS_MAX_BYTES) return `${path} is ${bytes.length} bytes; terms of use are at most ${TERMS_MAX_BYTES} bytes of plain text`;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD')) return `${path} is not UTF-8 text`;
  if (text.includes('\0')) return `${path} is not plain text`;
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.split('\n').map((l) => l.trim()).filter((l) => l !== ''))
    .filter((p) => p.length > 0);
  if (paragraphs.length === 0) return `${path} holds no text`;
  return { title, version, paragraphs };
}

/** What the gateway read of portal.branding and portal.terms (wiring.ts readMaterials). */
export interface PortalBranding {
  /** Stylesheet lines after the page's own, when an accent is set. */
  readonly style?: string;
  readonly logo?: Logo;
  readonly terms?: Terms;
}

/** portal.branding and portal.terms as they are now: read at start, replaced whole by a reload. */
export class CurrentBranding {
  constructor(private value: PortalBranding) {}

  get(): PortalBranding {
    return this.value;
  }

  replace(value: PortalBranding): void {
    this.value = value;
  }
}
