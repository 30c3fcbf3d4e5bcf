import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';

/**
 * The logo's address carries a hash of its bytes: a reload that changes the file changes
 * every page's link at once, while the same logo stays cached for good. An address of an
 * older logo (a page shown before the reload, still open) gets the current one, not to be
 * kept. Real HTTP against a real gateway, reloaded in process.
 */
const RED = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#a00"/></svg>';
const BLUE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#00a"/></svg>';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.branding = { logo_file: 'logo.svg' };
    },
    beforeStart: (dir) => writeFile(join(dir, 'logo.svg'), RED),
  });
});
afterAll(async () => {
  await t?.close();
});

/** The logo's address on a portal page. */
async function logoUrl(): Promise<string> {
  const page = await (await fetch(`${t.httpUrl}/portal`)).text();
  const src = /<img class="brand" src="([^"]+)"/.exec(page)?.[1];
  if (src === undefined) throw new Error(`no logo on the page:\n${page}`);
  return src.replaceAll('&amp;', '&');
}

describe('the logo address', () => {
  it('names the logo version, is cached for good under it, and changes with the bytes on reload; an old address gets the current logo, not to be kept', async () => {
    const red = await logoUrl();
    expect(red).toMatch(/\/portal\/logo\?v=[0-9a-f]{16}$/);
    const first = await fetch(red);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await first.text()).toBe(RED);

    // The same bytes written again: the same address.
    await writeFile(join(t.dir, 'logo.svg'), RED);
    expect(await t.gateway.reload()).toMatchObject({ ok: true, message: 'applied: nothing changed that a reload applies' });
    expect(await logoUrl()).toBe(red);

    // Replaced under the same name: the config is the same, and the reload says what it applied.
    await writeFile(join(t.dir, 'logo.svg'), BLUE);
    expect(await t.gateway.reload()).toMatchObject({ ok: true, message: "applied: portal.branding.logo_file (the file's content)" });
    // Applied, so the next reload has nothing more to say of it.
    expect(await t.gateway.reload()).toMatchObject({ ok: true, message: 'applied: nothing changed that a reload applies' });
    const blue = await logoUrl();
    expect(blue).not.toBe(red);
    const now = await fetch(blue);
    expect(now.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await now.text()).toBe(BLUE);

    // The red address, from a page shown before the reload: the blue logo, asked for again next time.
    const old = await fetch(red);
    expect(old.status).toBe(200);
    expect(old.headers.get('cache-control')).toBe('no-cache');
    expect(await old.text()).toBe(BLUE);
    // Asked again as a browser revalidates (fetch would add Cache-Control: no-cache, which forces a full answer).
    const revalidate = (etag: string) => fetch(red, { headers: { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' } });
    expect((await revalidate(old.headers.get('etag')!)).status).toBe(304);
    // …and a browser that still holds the red one under it gets the blue one.
    expect((await revalidate(first.headers.get('etag')!)).status).toBe(200);
    // No version at all (an address written before versions): the same as an old one.
    expect((await fetch(`${t.httpUrl}/portal/logo`)).headers.get('cache-control')).toBe('no-cache');
  });
});
