import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { captiveChromium, trustServerKey } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { macAuth, radclient } from '../helpers/radclient.js';
import { nextWallClock } from '../helpers/wall-clock.js';
import { SLAPD_USERS, startSlapd, type Slapd } from '../helpers/slapd.js';
import { ShiftedClock } from '../helpers/wall-clock.js';
import { verifiedProfile as verifiedBy } from '../helpers/signed-profile.js';
import { loadLanguages } from '../../src/portal/languages/languages.js';
import { LOCALES_DIR } from '../../src/wiring.js';

/**
 * The whole loop with real peers: radclient as the router, headless Chromium as an
 * iPhone and as an Android phone (in English and in German) following their OS's captive probe, a private slapd
 * as the directory, and a restart of the gateway on its SQLite file.
 */

const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const ANDROID_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const IPHONE_MAC = '3c:22:fb:10:20:30';
const ANDROID_MAC = 'f4:f5:d8:40:50:60';
const ANDROID_MAC_DE = 'f4:f5:d8:40:50:61';
const CUTOFF = '04:00';
const ZONE = 'Europe/Berlin';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
/** The shipped catalogs: the Android walks check the page against the words of their language. */
const LANGUAGES = loadLanguages(LOCALES_DIR, { default: 'en' }).languages!;

let slapd: Slapd;
let t: TestGateway;
let browser: Browser;
const clock = new ShiftedClock();

/** The router's accounting: this device now has the browser's address (127.0.0.1). */
async function accountingStart(mac: string, sessionId: string): Promise<void> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, [
    'Acct-Status-Type = Start',
    `Acct-Session-Id = "${sessionId}"`,
    `Calling-Station-Id = "${mac.toUpperCase().replace(/:/g, '-')}"`,
    'Framed-IP-Address = 127.0.0.1',
    'NAS-IP-Address = 127.0.0.1',
  ]);
  expect(r.reply).toBe('Accounting-Response');
}

/** A phone; with `lang`, its browser speaks that language (Accept-Language: lang-COUNTRY). */
async function phone(userAgent: string, lang?: string): Promise<BrowserContext> {
  const locale = lang === undefined ? {} : { locale: `${lang}-${lang === 'en' ? 'GB' : lang.toUpperCase()}` };
  return browser.newContext({ userAgent, ...locale, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
}

/** Clicks a download link in the browser and returns the file's bytes. */
async function downloadBy(page: Page, linkText: string): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a', { hasText: linkText }).click()]);
  return readFile((await download.path())!);
}

/** Submits the form and waits for the page the server answers with. */
async function submit(page: Page): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

/** What `openssl cms -verify` extracts from a signed profile, checked against the gateway's CA (throws when it does not verify). */
const opensslVerify = (signed: Buffer): string => verifiedBy(t, signed);

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  slapd = await startSlapd();
  t = await startTestGateway({
    https: true,
    clock,
    configure: async (doc) => {
      doc.session = { daily_cutoff: CUTOFF, time_zone: ZONE };
      doc.portal.organisation_name = 'Northwind Logistics';
      doc.portal.support_contact = 'IT helpdesk, ext. 1234';
      doc.directory = {
        kind: 'ldap',
        ldap: {
          url: slapd.ldapsUrl,
          ca_file: 'ldap-ca.pem',
          bind_dn: slapd.bindDn,
          bind_password: { env: 'EG_E2E_LDAP_BIND' },
          base_dn: slapd.baseDn,
          required_group: slapd.groupDn,
        },
      };
      doc.android = { agent: { name: 'Northwind MDM agent', version: '4.2.0', file: 'agent/northwind-agent.apk' } };
      doc.ios = {
        profile: { identifier: 'com.northwind.wifi' },
        wifi: [
          { ssid: 'Northwind Staff', security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.northwind.example'] },
          { ssid: 'Northwind Secure', security: 'eap-tls', server_names: ['radius.northwind.example'] },
        ],
      };
    },
    beforeStart: async (dir) => {
      process.env.EG_E2E_LDAP_BIND = slapd.bindPassword;
      await writeFile(join(dir, 'ldap-ca.pem'), slapd.ca);
      await mkdir(join(dir, 'agent'));
      await writeFile(join(dir, 'agent', 'northwind-agent.apk'), Buffer.alloc(150_000, 7));
    },
  });
  // Trust exactly the gateway's server key, as a phone that installed the CA would.
  // The router sends the OS's captive probes to the portal's plain-HTTP port.
  browser = await captiveChromium(t.httpUrl, ['captive.apple.com', 'connectivitycheck.gstatic.com'], [await trustServerKey(t.config.portal.https.cert_file)]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await slapd?.stop();
  delete process.env.EG_E2E_LDAP_BIND;
});

describe('the core loop', () => {
  it('rejects an unknown device at the router', async () => {
    const r = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(IPHONE_MAC));
    expect(r.reply).toBe('Access-Reject');
    expect(r.code).toBe(1);
  });

  it('takes an iPhone through its captive probe to registration, and enrolls it', async () => {
    await accountingStart(IPHONE_MAC, 'iphone-1');
    const ctx = await phone(IPHONE_UA);
    const page = await ctx.newPage();
    await page.goto('http://captive.apple.com/hotspot-detect.html');
    expect(page.url()).toBe(`${t.baseUrl}/portal`);
    expect(await page.locator('h1').innerText()).toBe('Set up this iPhone or iPad');
    await shot(page, 'ios-register');

    // Nothing to install before the login, and never full trust in our root: the Wi-Fi
    // profile carries the root for its network. The root stays served, signed, for IT.
    expect(await page.locator('body').innerText()).not.toContain('Certificate Trust Settings');
    expect(await page.locator('a[href$="/portal/ca.cer"], a[href$="/portal/ca.mobileconfig"]').count()).toBe(0);
    // (The API request does not share the browser's pinned key; openssl checks the signature below.)
    const rootProfile = await (await ctx.request.get(`${t.baseUrl}/portal/ca.mobileconfig`, { ignoreHTTPSErrors: true })).body();
    expect(opensslVerify(rootProfile)).toContain('com.apple.security.root');

    // Step 1: a wrong password first, then the right one (a user whose name needs escaping).
    await page.fill('#username', SLAPD_USERS.obrien.uid);
    await page.fill('#password', 'not-the-password');
    await submit(page);
    expect(await page.locator('[role=alert]').innerText()).toContain('Wrong username or password');
    await shot(page, 'ios-register-wrong-password');
    await page.fill('#password', SLAPD_USERS.obrien.password);
    await submit(page);

    // Step 2: the Wi-Fi profile made for this device, signed: openssl verifies it against the CA.
    expect(await page.locator('h1').innerText()).toBe('Install the Wi-Fi profile');
    expect(await page.locator('body').innerText()).toContain('Safari');
    // What happens next: the networks to join, what each asks, and the cut-off in local time.
    const next = await page.locator('section[aria-labelledby=next]').innerText();
    expect(next).toContain('Northwind Staff. It asks for your work password once');
    expect(next).toContain('Northwind Secure. It asks for nothing: the profile holds this device’s own certificate.');
    expect(next).toContain(`ends every day at ${CUTOFF} local time (${ZONE})`);
    await shot(page, 'ios-profile');
    const profile = await downloadBy(page, 'Download the Wi-Fi profile');
    const plist = opensslVerify(profile);
    expect(plist).toContain('<string>Northwind Staff</string>');
    expect(plist).toContain('<string>radius.northwind.example</string>');
    expect(plist).toContain('com.apple.security.pkcs12');
    // My devices right after the login: no second password, this iPhone marked and named.
    await page.locator('a', { hasText: 'My devices' }).click();
    expect(await page.locator('h1').innerText()).toBe('My devices');
    expect(await page.locator('input[type=password]').count()).toBe(0);
    const entry = page.locator('li.device', { hasText: 'This device' });
    expect(await entry.locator('h2').innerText()).toBe('iPhone (iOS 17.5)');
    expect(await entry.innerText()).toContain(IPHONE_MAC);
    await shot(page, 'ios-my-devices');
    await page.goto(`${t.baseUrl}/portal`);
    expect(await page.locator('h1').innerText()).toBe('You are online');
    await shot(page, 'ios-online');

    // The probe now gets Apple's exact "online" answer.
    const probe = await page.goto('http://captive.apple.com/hotspot-detect.html');
    expect(probe?.status()).toBe(200);
    expect(page.url()).toBe('http://captive.apple.com/hotspot-detect.html');
    expect(await probe?.text()).toBe('<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>');
    await ctx.close();
  });

  it('accepts the enrolled iPhone with Session-Timeout until the next cut-off', async () => {
    const r = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(IPHONE_MAC));
    const expected = Math.floor((nextWallClock(clock.now(), CUTOFF, ZONE).getTime() - clock.now().getTime()) / 1000);
    expect(r.reply).toBe('Access-Accept');
    expect(Math.abs(Number(r.attributes['Session-Timeout']) - expected)).toBeLessThanOrEqual(2);
  });

  it.each([
    ['en', ANDROID_MAC, 'Install'],
    ['de', ANDROID_MAC_DE, 'Installieren'],
  ])('takes an Android phone whose browser speaks %s through its captive probe to the agent download', async (lang, mac, installButton) => {
    const words = LANGUAGES.translator(lang);
    await accountingStart(mac, `android-${lang}`);
    const ctx = await phone(ANDROID_UA, lang);
    const page = await ctx.newPage();
    await page.goto('http://connectivitycheck.gstatic.com/generate_204');
    expect(page.url()).toBe(`${t.baseUrl}/portal`);
    expect(await page.locator('html').getAttribute('lang')).toBe(lang);
    expect(await page.locator('h1').innerText()).toBe(words.text('register.title.android'));
    const body = await page.locator('body').innerText();
    expect(body).toContain('Northwind MDM agent');
    expect(body).toContain('4.2.0');
    // The button of Android's package installer, in bold, named as it is in this language.
    expect(body).toContain(words.text('agent.install'));
    expect(await page.locator('main b').allInnerTexts()).toContain(installButton);
    const apk = await readFile(join(t.dir, 'agent', 'northwind-agent.apk'));
    expect(body).toContain(createHash('sha256').update(apk).digest('hex'));
    expect((await downloadBy(page, words.text('agent.download'))).equals(apk)).toBe(true);
    await shot(page, lang === 'en' ? 'android-agent' : `${lang}-android-agent`);
    await ctx.close();
    // Not enrolled: still no session at the router.
    const r = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac));
    expect(r.reply).toBe('Access-Reject');
  });

  it('still accepts the iPhone after a restart of the gateway', async () => {
    await t.restart();
    const r = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(IPHONE_MAC));
    expect(r.reply).toBe('Access-Accept');
  });

  it('the next morning, the enrolled iPhone logs in again for a new session', async () => {
    // Move past the next cut-off: the session has ended, the device is still enrolled.
    clock.offsetMs = nextWallClock(clock.now(), CUTOFF, ZONE).getTime() - Date.now() + 3 * 3600_000;
    const before = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(IPHONE_MAC));
    expect(before.reply).toBe('Access-Reject');

    await accountingStart(IPHONE_MAC, 'iphone-2');
    const ctx = await phone(IPHONE_UA);
    const page = await ctx.newPage();
    await page.goto('http://captive.apple.com/hotspot-detect.html');
    expect(await page.locator('h1').innerText()).toBe('Log in to the Wi-Fi');
    // The page shows whose device it is, and holds their user name already.
    expect(await page.inputValue('#username')).toBe(SLAPD_USERS.obrien.uid);
    await shot(page, 'login');
    // Somebody else's valid credentials do not renew this device.
    await page.fill('#username', SLAPD_USERS.alice.uid);
    await page.fill('#password', SLAPD_USERS.alice.password);
    await submit(page);
    expect(await page.locator('[role=alert]').innerText()).toContain('enrolled to another person');
    await page.fill('#username', SLAPD_USERS.obrien.uid);
    await page.fill('#password', SLAPD_USERS.obrien.password);
    await submit(page);
    expect(await page.locator('h1').innerText()).toBe('You are online');
    await ctx.close();

    const after = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(IPHONE_MAC));
    expect(after.reply).toBe('Access-Accept');
    const expected = Math.floor((nextWallClock(clock.now(), CUTOFF, ZONE).getTime() - clock.now().getTime()) / 1000);
    expect(Math.abs(Number(after.attributes['Session-Timeout']) - expected)).toBeLessThanOrEqual(2);
  });

  it('never wrote a password or secret to the logs', () => {
    const logs = t.logs.text();
    for (const secret of [SLAPD_USERS.obrien.password, SLAPD_USERS.alice.password, slapd.bindPassword, TEST_NAS_SECRET, 'not-the-password']) {
      expect(logs).not.toContain(secret);
    }
  });
});
