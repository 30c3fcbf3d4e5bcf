import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../helpers/audit-records.js';
import { launchChromium } from '../helpers/chromium.js';
import { leaseTo } from '../helpers/device-requests.js';
import { editConfig, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * portal.branding and portal.terms in headless Chromium, JavaScript off, as an iPhone: the
 * logo loads under the portal's own Content-Security-Policy, the accent colour is the
 * button's, in light and in dark mode (the dark one derived); the enroll form will not go
 * without the terms ticked (the browser's `required`), the terms page reads them in full,
 * and the enrollment that follows is audited with the version. The server's own refusal of
 * a form without the box ticked is checked with a plain POST, which no browser sends.
 * Screenshots in test-output/screenshots.
 */

const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const MAC = '3e:24:00:00:00:01';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const ACCENT = '#0f6b3a';
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="36" height="36"><rect width="10" height="10" fill="#0f6b3a"/></svg>';
const TERMS = 'Use this network for work.\nNo sharing of your account.\n\nThe IT team logs which device\nused the network, and when.\n';

let t: TestGateway;
let browser: Browser;

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.branding = { logo_file: 'logo.svg', accent_colour: ACCENT };
      doc.portal.terms = { file: 'terms.txt', version: '2026-12', title: 'Wi-Fi terms of use' };
    },
    beforeStart: async (dir) => {
      await writeFile(join(dir, 'logo.svg'), LOGO);
      await writeFile(join(dir, 'terms.txt'), TERMS);
    },
  });
  browser = await launchChromium();
  await leaseTo(t, MAC, '127.0.0.1');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** rgb(r, g, b) as the browser computes a colour, for #rrggbb. */
function rgb(hex: string): string {
  const n = (i: number) => parseInt(hex.slice(i, i + 2), 16);
  return `rgb(${n(1)}, ${n(3)}, ${n(5)})`;
}

async function buttonBackground(page: Page): Promise<string> {
  return page.locator('button[type=submit]').evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor);
}

describe('branding and terms of use, without JavaScript', () => {
  it('the logo cannot run script when opened on its own, and a form without the terms is refused by the server too', async () => {
    const logo = await fetch(`${t.httpUrl}/portal/logo`);
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toBe('image/svg+xml');
    expect(logo.headers.get('content-security-policy')).toContain('sandbox');
    expect(await logo.text()).toBe(LOGO);

    // A form posted without the box: the page again, with the reason, and nothing enrolled or audited.
    const start = await fetch(`${t.httpUrl}/portal`, { headers: { 'user-agent': IPHONE_UA } });
    const cookie = start.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const html = await start.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    expect(csrf && action).toBeTruthy();
    const before = auditRecords(t).length;
    const refused = await fetch(action!, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'user-agent': IPHONE_UA },
      body: new URLSearchParams({ _csrf: csrf!, username: 'employee', password: t.employeePassword, accept_terms: 'an older version' }).toString(),
    });
    expect(refused.status).toBe(400);
    const page = await refused.text();
    expect(page).toContain('Tick the box to accept the terms of use: enrolling needs it.');
    expect(page).toMatch(/id="accept_terms"[^>]*aria-invalid="true"/);
    expect(page).not.toMatch(/id="password"[^>]*aria-invalid/);
    expect(auditRecords(t).slice(before).map((r) => r.type)).toEqual([]);
  });

  it('dark mode: the accent lightened until it reads on the dark page, the button text dark on it', async () => {
    const context = await browser.newContext({ userAgent: IPHONE_UA, javaScriptEnabled: false, colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(`${t.httpUrl}/portal/terms`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Back to the Wi-Fi page' }).click()]);
    const background = await buttonBackground(page);
    expect(background).not.toBe(rgb(ACCENT));
    const [r, g, b] = background.match(/\d+/g)!.map(Number);
    // Lighter than the light-mode accent in every channel: mixed with white.
    expect(r! > 0x0f && g! > 0x6b && b! > 0x3a).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'terms-dark.png'), fullPage: true });
    await context.close();
  });

  it('shows the logo and the accent; enrolls only with the terms ticked, and audits the version', async () => {
    const context = await browser.newContext({ userAgent: IPHONE_UA, javaScriptEnabled: false, viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
    });
    await page.goto(`${t.httpUrl}/portal`);
    // The logo: loaded (an image the browser refused or could not decode has no natural width), decorative.
    const logo = page.locator('header img');
    expect(await logo.getAttribute('alt')).toBe('');
    expect(await logo.evaluate((img) => {
      const i = img as unknown as { complete: boolean; naturalWidth: number };
      return i.complete && i.naturalWidth > 0;
    })).toBe(true);
    expect(await buttonBackground(page)).toBe(rgb(ACCENT));
    expect(blocked).toEqual([]);

    // The browser will not send the form without the box ticked.
    await page.getByLabel('User name').fill('employee');
    await page.getByLabel('Password').fill(t.employeePassword);
    const box = page.getByLabel('I accept the Wi-Fi terms of use (version 2026-12)');
    expect(await box.evaluate((b) => (b as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).toBe(true);
    await page.locator('button[type=submit]').click();
    expect(await page.locator('h1').textContent()).toBe('Set up this iPhone or iPad');
    await page.screenshot({ path: join(SHOTS, 'terms-register.png'), fullPage: true });

    // The terms in full, one paragraph per block of the file, a way back.
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Wi-Fi terms of use' }).click()]);
    expect(await page.locator('h1').textContent()).toBe('Wi-Fi terms of use');
    expect(await page.locator('main .card p').allInnerTexts()).toEqual(['Use this network for work.\nNo sharing of your account.', 'The IT team logs which device\nused the network, and when.']);
    await page.screenshot({ path: join(SHOTS, 'terms-page.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Back to the Wi-Fi page' }).click()]);

    await page.getByLabel('User name').fill('employee');
    await page.getByLabel('Password').fill(t.employeePassword);
    await page.getByLabel('I accept the Wi-Fi terms of use (version 2026-12)').check();
    await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').click()]);
    expect(await page.locator('h1').textContent()).toBe('You are online');
    const accepted = auditRecords(t).filter((r) => r.type === 'terms.accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ user: 'employee', mac: MAC, version: '2026-12', surface: 'portal' });
    await context.close();
  });
});

describe('on reload', () => {
  it('takes a new accent, terms text and version, and drops the logo, without a restart', async () => {
    await editConfig(t.configFile, (doc) => {
      doc.portal.branding = { accent_colour: '#7a1f5c' };
      doc.portal.terms = { file: 'terms-2.txt', version: '2027-01' };
    });
    await writeFile(join(t.dir, 'terms-2.txt'), 'New terms.\n');
    const outcome = await t.gateway.reload();
    expect(outcome).toMatchObject({ ok: true });
    const context = await browser.newContext({ userAgent: IPHONE_UA, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${t.httpUrl}/portal/terms`);
    expect(await page.locator('h1').textContent()).toBe('Terms of use');
    expect(await page.locator('main .card p').allInnerTexts()).toEqual(['New terms.']);
    expect(await page.locator('main p.small').textContent()).toBe('Version 2027-01');
    expect(await page.locator('header img').count()).toBe(0);
    expect(await page.locator('a').first().evaluate((a) => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(a).color)).toBe(rgb('#7a1f5c'));
    expect((await fetch(`${t.httpUrl}/portal/logo`)).status).toBe(404);
    await context.close();
  });
});

describe('Android with the agent and Passpoint', () => {
  it("the Passpoint login on the agent's page asks for the terms too, and enrolls once they are ticked", async () => {
    // After the reload above: the terms are version 2027-01.
    await t.reconfigure((doc) => {
      doc.eap = { ...(doc.eap ?? {}), enabled: true };
      doc.passpoint = { enabled: true, fqdn: 'wifi.northwind.example', roaming_consortium_ois: ['5a03ba0000'] };
      doc.android = { agent: { version: '1.0.0', url: 'https://downloads.example.org/agent' } };
    });
    const mac = '3c:24:00:00:00:02';
    await leaseTo(t, mac, '127.0.0.1');
    const context = await browser.newContext({ userAgent: ANDROID_UA, javaScriptEnabled: false, viewport: { width: 412, height: 915 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(`${t.httpUrl}/portal`);
    expect(await page.locator('main').innerText()).toContain('Download the agent');
    await page.getByLabel('User name').fill('employee');
    await page.getByLabel('Password').fill(t.employeePassword);
    // Without the box the form could never be accepted: the server asks for the terms on every enroll.
    const box = page.getByLabel('I accept the Terms of use (version 2027-01)');
    expect(await box.count()).toBe(1);
    expect(await box.evaluate((b) => (b as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).toBe(true);
    await box.check();
    await Promise.all([page.waitForNavigation(), page.locator('button', { hasText: 'Enroll this device' }).click()]);
    expect(await page.locator('h1').innerText()).toBe('Install the Wi-Fi profile');
    expect(auditRecords(t).filter((r) => r.type === 'terms.accepted' && r.mac === mac)).toMatchObject([{ user: 'employee', version: '2027-01' }]);
    await context.close();
  }, 120_000);
});
