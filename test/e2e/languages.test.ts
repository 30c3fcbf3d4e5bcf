import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captiveChromium } from '../helpers/chromium.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { accountingStart, macAuth, radclient } from '../helpers/radclient.js';
import { northwind, verifiedProfile as verifiedBy } from '../helpers/signed-profile.js';
import { EDGE_UA } from '../helpers/http.js';

/**
 * The employee pages in the browser's language, in headless Chromium with JavaScript off:
 * an iPhone whose browser speaks German (locale de-DE, so Accept-Language: de-DE), a Windows
 * PC in French, and a Mac whose browser speaks German but whose person picks Español on the
 * first page, each from its OS's captive probe to a download that verifies, radclient as the
 * router. Screenshots go to test-output/screenshots, page sizes to
 * test-output/page-sizes-languages.json.
 */

const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const SIZES = join(process.cwd(), 'test-output', 'page-sizes-languages.json');
const IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const MAC_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

let t: TestGateway;
let browser: Browser;
/** Bytes of each HTML page the walks loaded, by the name of its screenshot. */
const sizes: Record<string, number> = {};

function device(userAgent: string, locale: string, mobile: boolean): Promise<BrowserContext> {
  return browser.newContext({
    userAgent,
    locale,
    javaScriptEnabled: false,
    acceptDownloads: true,
    ...(mobile ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 800 } }),
  });
}

/** Screenshot and size of the page as it stands. */
async function shot(page: Page, name: string): Promise<void> {
  sizes[name] = Buffer.byteLength(await page.content(), 'utf8');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function langOf(page: Page): Promise<string | null> {
  return page.locator('html').getAttribute('lang');
}

/** Logs in as the employee on the page's form, with the button named `button`, and waits for the answer. */
async function logIn(page: Page, button: string): Promise<void> {
  await page.fill('input[name=username]', 'employee');
  await page.fill('input[name=password]', t.employeePassword);
  await Promise.all([page.waitForNavigation(), page.locator('button', { hasText: button }).click()]);
}

async function downloadBy(page: Page, linkText: string): Promise<{ name: string; body: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a', { hasText: linkText }).first().click()]);
  return { name: download.suggestedFilename(), body: await readFile((await download.path())!) };
}

/** The plist of a signed profile, after `openssl cms -verify` against the gateway's CA (throws when it does not verify). */
const verifiedProfile = async (body: Buffer, _name: string): Promise<string> => verifiedBy(t, body);

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  t = await startTestGateway({
    configure: northwind,
  });
  // The router sends the OS's captive probes to the portal's plain-HTTP port.
  browser = await captiveChromium(t.httpUrl, ['captive.apple.com', 'www.msftconnecttest.com']);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await writeFile(SIZES, `${JSON.stringify(sizes, null, 2)}\n`);
});

describe('an iPhone whose browser speaks German', () => {
  it('goes from the captive probe to a signed profile in German, with the names iOS shows in German', async () => {
    const mac = '3c:22:fb:00:01:01';
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, '127.0.0.1', 'lang-iphone');
    const context = await device(IPHONE_UA, 'de-DE', true);
    try {
      const page = await context.newPage();
      await page.goto('http://captive.apple.com/hotspot-detect.html');
      expect(await langOf(page)).toBe('de');
      expect(await page.locator('h1').innerText()).toBe('Dieses iPhone oder iPad einrichten');
      expect(await page.locator('label[for=username]').innerText()).toBe('Benutzername');
      expect(await page.getByRole('navigation', { name: 'Sprache' }).innerText()).toContain('Deutsch');
      await shot(page, 'de-iphone-register');
      await logIn(page, 'Dieses Gerät registrieren');
      expect(await langOf(page)).toBe('de');
      expect(await page.locator('h1').innerText()).toBe('Das WLAN-Profil installieren');
      const steps = await page.locator('main').innerText();
      expect(steps).toContain('Einstellungen');
      expect(steps).toContain('Profil geladen');
      expect(steps).toContain('Allgemein → VPN und Geräteverwaltung');
      expect(steps).toMatch(/Der Link funktioniert einmal und etwa \d+ Minuten lang\./);
      await shot(page, 'de-iphone-profile-ready');
      const profile = await downloadBy(page, 'WLAN-Profil laden');
      expect(profile.name).toBe('northwind-logistics-wifi.mobileconfig');
      expect(await verifiedProfile(profile.body, 'de-iphone.mobileconfig')).toContain('<string>Northwind Staff</string>');
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('a Windows PC whose browser speaks French', () => {
  it('goes from the captive probe to its files in French, the Windows names as French Windows shows them', async () => {
    const mac = '3c:22:fb:00:01:02';
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, '127.0.0.1', 'lang-windows');
    const context = await device(EDGE_UA, 'fr-FR', false);
    try {
      const page = await context.newPage();
      await page.goto('http://www.msftconnecttest.com/connecttest.txt');
      expect(await langOf(page)).toBe('fr');
      expect(await page.locator('h1').innerText()).toBe('Configurer ce PC Windows');
      await shot(page, 'fr-windows-register');
      await logIn(page, 'Inscrire cet appareil');
      expect(await page.locator('h1').innerText()).toBe('Configurer le Wi-Fi sur ce PC');
      const text = await page.locator('main').innerText();
      expect(text).toContain('Installer le certificat');
      expect(text).toContain('Autorités de certification racines de confiance');
      // This page uses its link up: no switcher to ask for it again in another language.
      expect(await page.getByRole('navigation').count()).toBe(0);
      await shot(page, 'fr-windows-files');
      const password = await page.getByLabel('Mot de passe du certificat').inputValue();
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const ca = await downloadBy(page, "Télécharger le certificat de l'autorité");
      expect(ca.name).toMatch(/\.cer$/);
      const xml = await downloadBy(page, 'Télécharger Northwind Staff.xml');
      expect(xml.body.toString('utf8')).toContain('<name>Northwind Staff</name>');
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('a Mac whose browser speaks German, and a person who picks Español', () => {
  it('switches with the link, keeps Spanish after the login, and gets a signed profile', async () => {
    const mac = '3c:22:fb:00:01:03';
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, '127.0.0.1', 'lang-mac');
    const context = await device(MAC_UA, 'de-DE', false);
    try {
      const page = await context.newPage();
      await page.goto('http://captive.apple.com/hotspot-detect.html');
      expect(await page.locator('h1').innerText()).toBe('Diesen Mac einrichten');
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Español' }).click()]);
      expect(await langOf(page)).toBe('es');
      expect(await page.locator('h1').innerText()).toBe('Configurar este Mac');
      await shot(page, 'es-mac-register');
      await logIn(page, 'Registrar este dispositivo');
      expect(await langOf(page)).toBe('es');
      expect(await page.locator('h1').innerText()).toBe('Instalar el perfil Wi-Fi');
      expect(await page.locator('ol').innerText()).toContain('Ajustes del Sistema');
      await shot(page, 'es-mac-profile-ready');
      const profile = await downloadBy(page, 'Descargar el perfil Wi-Fi');
      expect(await verifiedProfile(profile.body, 'es-mac.mobileconfig')).toContain('<string>Northwind Secure</string>');
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});

it('keeps every page it loaded under 15 KB, in every language', () => {
  expect(Object.keys(sizes).length).toBe(6);
  for (const [name, bytes] of Object.entries(sizes)) expect(bytes, name).toBeLessThan(15 * 1024);
});
