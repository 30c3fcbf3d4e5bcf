import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captiveChromium, trustServerKey } from '../helpers/chromium.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { radclient } from '../helpers/radclient.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

/**
 * The portal in a browser while the state store hangs: a private redis-server frozen
 * (SIGSTOP), which takes connections and commands and answers nothing, as Redis behind a
 * firewall that drops packets does. Headless Chromium is an iPhone on the Wi-Fi: its
 * captive probe, then its sign-in, each while the store is frozen. Each must end in the
 * portal's own "Temporarily unavailable" page (503, in the phone's language, no trace
 * of the gateway's internals, the password not echoed), not a sheet that spins until
 * the phone gives up; and once the store answers again, "Try again" must carry on.
 *
 * Without the Redis store's deadline (redis-state-store.ts) the probe gets no answer
 * at all: the navigation times out.
 */

const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const IPHONE_MAC = '3c:22:fb:10:20:31';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
/** What the page may never show: a stack frame, a module path, the store's own words. */
const INTERNALS = /at \w+ \(|node_modules|\.ts:\d|\.js:\d|redis|ECONN|StoreUnavailable/i;

let redis: TestRedis;
let t: TestGateway;
let browser: Browser;
let iphone: BrowserContext;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The 503 page of a hung store, checked as a person sees it. */
async function expectUnavailablePage(page: Page, status: number | undefined, typed: readonly string[] = []): Promise<void> {
  expect(status).toBe(503);
  expect(await page.locator('html').getAttribute('lang')).toBe('en');
  expect(await page.locator('h1').innerText()).toBe('Temporarily unavailable');
  expect(await page.locator('.lead').innerText()).toBe('Something went wrong on our side. Please try again in a minute.');
  expect(await page.locator('a', { hasText: 'Try again' }).getAttribute('href')).toBe(`${t.baseUrl}/portal`);
  const html = await page.content();
  expect(html).not.toMatch(INTERNALS);
  for (const secret of typed) expect(html).not.toContain(secret);
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  redis = await startRedis();
  t = await startTestGateway({
    https: true,
    configure: (doc) => {
      // Store calls are given up on after 2 × connect_timeout_ms + replica_ack_timeout_ms: 2 s here.
      doc.store = { kind: 'redis', redis: { url: redis.url, key_prefix: `outage${Date.now()}:`, connect_timeout_ms: 500 } };
      doc.ios = { profile: { identifier: 'com.example.wifi' }, wifi: [{ ssid: 'Staff', security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.com'] }] };
    },
  });
  browser = await captiveChromium(t.httpUrl, ['captive.apple.com'], [await trustServerKey(t.config.portal.https.cert_file)]);
  iphone = await browser.newContext({ userAgent: IPHONE_UA, locale: 'en-GB', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  // The router's accounting: this device has the browser's address.
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, [
    'Acct-Status-Type = Start',
    'Acct-Session-Id = "outage-1"',
    `Calling-Station-Id = "${IPHONE_MAC.toUpperCase().replace(/:/g, '-')}"`,
    'Framed-IP-Address = 127.0.0.1',
    'NAS-IP-Address = 127.0.0.1',
  ]);
  expect(r.reply).toBe('Accounting-Response');
}, 120_000);

afterAll(async () => {
  // The gateway stops only with a store that answers.
  redis?.thaw();
  await browser?.close();
  await t?.close();
  await redis?.close();
});

describe('the portal while the state store hangs', () => {
  it('the captive probe and the sign-in each end in the "Temporarily unavailable" page, and "Try again" leads to the Wi-Fi profile once the store answers', { timeout: 90_000 }, async () => {
    const page = await iphone.newPage();
    // What the browser reports as wrong: a resource the page could not load while the store hangs, or
    // anything the page's Content-Security-Policy refused.
    const complaints: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') complaints.push(`${m.location().url}: ${m.text()}`);
    });

    // The phone joins while the store is frozen: its captive sheet shows why it cannot go on.
    redis.freeze();
    const probe = await page.goto('http://captive.apple.com/hotspot-detect.html');
    await expectUnavailablePage(page, probe?.status());
    await shot(page, 'store-outage-probe');
    // The page's inline styles applied under its Content-Security-Policy (the error path's nonce matches): the link is a button.
    expect(await page.locator('a', { hasText: 'Try again' }).evaluate((a) => (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(a).display)).toBe('block');

    // The store answers again: "Try again" goes to the portal, which knows the phone.
    redis.thaw();
    await Promise.all([page.waitForNavigation(), page.locator('a', { hasText: 'Try again' }).click()]);
    expect(await page.locator('h1').innerText()).toBe('Set up this iPhone or iPad');

    // The store hangs while the employee signs in.
    await page.fill('#username', 'employee');
    await page.fill('#password', t.employeePassword);
    redis.freeze();
    const [signIn] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    await expectUnavailablePage(page, signIn?.status(), [t.employeePassword]);
    await shot(page, 'store-outage-sign-in');

    // Once the store answers again, "Try again" carries on to this iPhone's Wi-Fi profile. The
    // writes of the sign-in the store held may land only now (a write given up on can still be
    // applied later, docs/operations.md): the portal then knows the iPhone as enrolled and online,
    // and offers its profile behind one more sign-in.
    redis.thaw();
    await Promise.all([page.waitForNavigation(), page.locator('a', { hasText: 'Try again' }).click()]);
    const heading = () => page.locator('h1').innerText();
    for (let signIns = 0; (await heading()) !== 'Install the Wi-Fi profile'; signIns++) {
      expect(signIns, 'sign-ins after the outage').toBeLessThan(2);
      expect(['Set up this iPhone or iPad', 'You are online']).toContain(await heading());
      await page.fill('#username', 'employee');
      await page.fill('#password', t.employeePassword);
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    }
    // Nothing failed to load or was refused: no favicon.ico asked for (the layout names none), which the captive
    // origin would have redirected to the portal and img-src then refused. Left out: the 503s themselves (the
    // navigations' answers) and Chromium ignoring the Cross-Origin-Opener-Policy header on plain HTTP.
    const expected = /status of 503|Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy/;
    expect(complaints.filter((c) => !expected.test(c))).toEqual([]);
  });
});
