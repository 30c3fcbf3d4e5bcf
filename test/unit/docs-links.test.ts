import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The README is a map into docs/ and bench/, and the docs point at each other's sections:
 * every relative link must name a file that exists and, with a #fragment, a heading in it.
 * Fragments are GitHub's heading anchors: lower case, punctuation other than "-" and "_"
 * dropped, spaces as "-".
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** GitHub's anchor for a heading's text. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text's headings (outside code blocks). */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let code = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) code = !code;
    else if (!code && /^#{1,6} /.test(line)) out.add(anchorOf(line.replace(/^#+ /, '')));
  }
  return out;
}

/** Relative links `[text](target)` of a Markdown text, outside code blocks and code spans. */
function links(markdown: string): string[] {
  const out: string[] = [];
  let code = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) {
      code = !code;
      continue;
    }
    if (code) continue;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z]+:/i.test(m[1]!)) out.push(m[1]!);
    }
  }
  return out;
}

describe('links between the docs', () => {
  it('GitHub anchors', () => {
    expect(anchorOf('Redis Sentinel: when the primary dies')).toBe('redis-sentinel-when-the-primary-dies');
    expect(anchorOf('Telling the router at once (RFC 5176)')).toBe('telling-the-router-at-once-rfc-5176');
    expect(anchorOf('Which device is this?')).toBe('which-device-is-this');
  });

  it('every relative link in README.md, docs/ and bench/README.md reaches its file and heading', async () => {
    const files = ['README.md', 'bench/README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const link of links(await readFile(join(ROOT, file), 'utf8'))) {
        checked++;
        const [path = '', fragment] = link.split('#');
        const target = path === '' ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(ROOT, target))) {
          broken.push(`${file}: ${link}: no file ${target}`);
          continue;
        }
        if (fragment !== undefined && !anchors(await readFile(join(ROOT, target), 'utf8')).has(fragment)) {
          broken.push(`${file}: ${link}: no heading #${fragment} in ${target}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });
});
