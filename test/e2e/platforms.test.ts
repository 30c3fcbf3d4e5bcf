import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captiveChromium } from '../helpers/chromium.js';
import { pastedNmcli } from '../helpers/nmcli.js';
import { oncSpecProblems } from '../fixtures/onc/onc-spec.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { macAuth, radclient } from '../helpers/radclient.js';
import { northwind, verifiedProfile as verifiedBy } from '../helpers/signed-profile.js';
import { loadLanguages, type Translator } from '../../src/portal/languages/languages.js';
import { LOCALES_DIR } from '../../src/wiring.js';
import { EDGE_UA } from '../helpers/http.js';

/**
 * Laptops (a Mac, a Windows PC, a Chromebook, a Linux computer), an iPad and an Android phone
 * without an agent, from their OS's captive probe to a working download, in headless Chromium
 * with JavaScript switched off (the pages must not need it), radclient as the router. The
 * Chromebook, the iPad and the Android phone walk twice: in English and with a browser set to
 * another language (French, French, Spanish), the Linux computer three times (English, German,
 * and French, whose desktop's download folder is ~/Téléchargements), the download
 * checked the same way and the page checked against that language's catalog and the names
 * its OS shows (languages.test.ts walks the iPhone, the Windows PC and the Mac in German,
 * French and Spanish). Each page's size is recorded in test-output/page-sizes.json and
 * screenshots go to test-output/screenshots.
 */

const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const SIZES = join(process.cwd(), 'test-output', 'page-sizes.json');
const MAC_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const CHROMEBOOK_UA = 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const LINUX_FIREFOX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const WLAN_SCHEMA = join(process.cwd(), 'test', 'fixtures', 'windows-wlan', 'wlan-profile-v1.xsd');

/** The browser's locale for a walk in each language. */
const BROWSER_LOCALES: Readonly<Record<string, string>> = { en: 'en-GB', de: 'de-DE', fr: 'fr-FR', es: 'es-ES' };
/** The shipped catalogs: a walk checks the page against the words of its language, not copies of them. */
const LANGUAGES = loadLanguages(LOCALES_DIR, { default: 'en' }).languages!;

/**
 * The names the OS itself shows, in each language a walk uses, that the page must name the
 * same (AOSP Settings' strings for Android, the folder names of ChromeOS's Files app, GNOME's
 * xdg-user-dirs, iPadOS's Settings): written out here, as the OS has them, to catch a
 * catalog that drifts from them.
 */
const OS_NAMES: Readonly<Record<'chromeos' | 'linux' | 'android' | 'ipad', Readonly<Record<string, readonly string[]>>>> = {
  chromeos: { en: ['Import ONC file', 'Choose file', 'Downloads'], fr: ['Téléchargements'] },
  linux: { en: ['Downloads', 'NetworkManager'], de: ['Downloads', 'NetworkManager'], fr: ['Téléchargements', 'NetworkManager'] },
  android: {
    en: ['Settings → Network & internet → Internet', 'Add network', 'Install a certificate', 'Wi-Fi certificate', 'Security → Encryption & credentials', 'Use system certificates', "Don't validate"],
    es: ['Ajustes → Redes e Internet → Internet', 'Añadir red', 'Instalar un certificado', 'Certificado de Wi-Fi', 'Seguridad → Cifrado y credenciales', 'Utilizar certificados del sistema', 'No validar'],
  },
  ipad: { en: ['Settings', 'Profile Downloaded', 'General → VPN & Device Management'], fr: ['Réglages', 'Profil téléchargé', 'Général → VPN et gestion de l'] },
};

/**
 * The download folder a Linux desktop in each language has, as xdg-user-dirs names it in
 * ~/.config/user-dirs.dirs (browsers save there); English: none configured, so ~/Downloads.
 */
const XDG_DOWNLOAD_DIRS: Readonly<Record<string, string | undefined>> = { en: undefined, de: 'Downloads', fr: 'Téléchargements' };

let t: TestGateway;
let browser: Browser;
/** Bytes of each HTML page the walks loaded, by the name of its screenshot. */
const sizes: Record<string, number> = {};

/** The router's accounting: this device now has the browser's address (127.0.0.1). */
async function accountingStart(mac: string, sessionId: string): Promise<void> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, [
    'Acct-Status-Type = Start',
    `Acct-Session-Id = "${sessionId}"`,
    `Calling-Station-Id = "${mac.toUpperCase().replace(/:/g, '-')}"`,
    'Framed-IP-Address = 127.0.0.1',
  ]);
  expect(r.reply).toBe('Accounting-Response');
}

/** A laptop whose browser speaks `lang` (its Accept-Language: that language in its country, as an OS set to it sends). */
async function laptop(userAgent: string, lang = 'en'): Promise<BrowserContext> {
  return browser.newContext({ userAgent, locale: BROWSER_LOCALES[lang], viewport: { width: 1280, height: 800 }, javaScriptEnabled: false, acceptDownloads: true });
}

async function phone(userAgent: string, lang = 'en'): Promise<BrowserContext> {
  return browser.newContext({ userAgent, locale: BROWSER_LOCALES[lang], viewport: { width: 412, height: 915 }, isMobile: true, hasTouch: true, javaScriptEnabled: false, acceptDownloads: true });
}

/**
 * A walk in `lang`: the words of that catalog (what the page must show), a MAC of its own
 * (`base` for English, its last byte moved up per language), and its screenshots' names
 * (`platform-page`, prefixed with the language but for English).
 */
function walkIn(lang: string, base: string, platform: string): { words: Translator; mac: string; name: (page: string) => string } {
  const offset = Object.keys(BROWSER_LOCALES).indexOf(lang) * 0x10;
  const mac = base.replace(/[0-9a-f]{2}$/, (last) => (parseInt(last, 16) + offset).toString(16).padStart(2, '0'));
  return { words: LANGUAGES.translator(lang), mac, name: (page) => `${lang === 'en' ? '' : `${lang}-`}${platform}-${page}` };
}

/** The page is in `lang` (its <html lang>) and headed `heading`. */
async function expectPage(page: Page, lang: string, heading: string): Promise<void> {
  expect(await page.locator('html').getAttribute('lang')).toBe(lang);
  expect(await page.locator('h1').innerText()).toBe(heading);
}

/** Opens `file` from the files of a test and returns openssl's subject line of the PKCS#12's certificate, opened with `password`. */
function p12Subject(file: string, password: string): string {
  return execFileSync('openssl', ['pkcs12', '-info', '-nokeys', '-in', file, '-passin', `pass:${password}`], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Screenshot and size of the page as it stands. */
async function shot(page: Page, name: string): Promise<void> {
  sizes[name] = Buffer.byteLength(await page.content(), 'utf8');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Clicks a download link and returns the file's name and bytes. */
async function downloadBy(page: Page, linkText: string): Promise<{ name: string; body: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a', { hasText: linkText }).first().click()]);
  return { name: download.suggestedFilename(), body: await readFile((await download.path())!) };
}

async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.locator('button', { hasText: button }).click()]);
}

async function logIn(page: Page, button = 'Enroll this device'): Promise<void> {
  await page.fill('input[name=username]', 'employee');
  await page.fill('input[name=password]', t.employeePassword);
  await submit(page, button);
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  t = await startTestGateway({
    configure: northwind,
  });
  // The router sends the OS's captive probes to the portal's plain-HTTP port.
  browser = await captiveChromium(t.httpUrl, ['captive.apple.com', 'www.msftconnecttest.com', 'clients3.google.com', 'detectportal.firefox.com', 'connectivitycheck.gstatic.com']);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await writeFile(SIZES, `${JSON.stringify(sizes, null, 2)}\n`);
});

describe('macOS', () => {
  it('from the captive probe to a signed profile that verifies, with the macOS install steps', async () => {
    await accountingStart('3c:22:fb:00:00:01', 'mac-1');
    const context = await laptop(MAC_UA);
    try {
      const page = await context.newPage();
      await page.goto('http://captive.apple.com/hotspot-detect.html');
      expect(await page.locator('h1').innerText()).toBe('Set up this Mac');
      await shot(page, 'macos-register');
      await logIn(page);
      expect(await page.locator('h1').innerText()).toBe('Install the Wi-Fi profile');
      expect(await page.locator('ol').innerText()).toContain('General → Device Management');
      await shot(page, 'macos-profile-ready');
      const profile = await downloadBy(page, 'Download the Wi-Fi profile');
      expect(profile.name).toBe('northwind-logistics-wifi.mobileconfig');
      const plist = verifiedBy(t, profile.body);
      expect(plist).toContain('<string>Northwind Secure</string>');
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth('3c:22:fb:00:00:01'))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('Windows', () => {
  it('from the Windows captive probe to WLAN profiles that validate, the CA and a PKCS#12 that opens with the password shown', async () => {
    await accountingStart('3c:22:fb:00:00:02', 'win-1');
    const context = await laptop(EDGE_UA);
    try {
      const page = await context.newPage();
      await page.goto('http://www.msftconnecttest.com/connecttest.txt');
      expect(await page.locator('h1').innerText()).toBe('Set up this Windows PC');
      expect(await page.locator('label[for]').count()).toBeGreaterThanOrEqual(2);
      await shot(page, 'windows-register');
      await logIn(page);
      expect(await page.locator('h1').innerText()).toBe('Set up the Wi-Fi on this PC');
      expect(await page.locator('h2').allInnerTexts()).toEqual([
        expect.stringContaining('Trust the Wi-Fi'),
        expect.stringContaining('Import this PC'),
        expect.stringContaining('Add the Wi-Fi networks'),
        expect.stringContaining('Connect'),
      ]);
      await shot(page, 'windows-files');
      const password = await page.getByLabel('Certificate password').inputValue();

      for (const ssid of ['Northwind Staff', 'Northwind Secure']) {
        const xml = await downloadBy(page, `Download ${ssid}.xml`);
        expect(xml.name).toBe(`${ssid}.xml`);
        const file = join(t.dir, xml.name);
        await writeFile(file, xml.body);
        execFileSync('xmllint', ['--noout', '--schema', WLAN_SCHEMA, file], { stdio: ['ignore', 'pipe', 'pipe'] });
        expect(await page.locator('code', { hasText: `netsh wlan add profile filename="${ssid}.xml" user=current` }).count()).toBe(1);
      }
      const ca = await downloadBy(page, 'Download the CA certificate');
      expect(ca.name).toBe('northwind-logistics-root-ca.cer');
      const caFile = join(t.dir, ca.name);
      await writeFile(caFile, ca.body);
      execFileSync('openssl', ['x509', '-inform', 'der', '-in', caFile, '-noout']);
      const p12 = await downloadBy(page, "Download this PC's certificate");
      const p12File = join(t.dir, p12.name);
      await writeFile(p12File, p12.body);
      const info = execFileSync('openssl', ['pkcs12', '-info', '-nokeys', '-in', p12File, '-passin', `pass:${password}`], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      expect(info).toMatch(/subject=CN ?= ?employee\n/);
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth('3c:22:fb:00:00:02'))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('ChromeOS', () => {
  it.each(['en', 'fr'])('in %s: from the ChromeOS captive probe to an ONC file that checks against the ONC spec, with a PKCS#12 openssl opens with the empty passphrase', async (lang) => {
    const { words, mac, name } = walkIn(lang, '3c:22:fb:00:00:03', 'chromeos');
    await accountingStart(mac, `cros-${lang}`);
    const context = await laptop(CHROMEBOOK_UA, lang);
    try {
      const page = await context.newPage();
      await page.goto('http://clients3.google.com/generate_204');
      await expectPage(page, lang, words.text('register.title.chromeos'));
      await shot(page, name('register'));
      await logIn(page, words.text('register.submit'));
      await expectPage(page, lang, words.text('chromeos.title'));
      const steps = await page.locator('ol').innerText();
      expect(steps).toContain('chrome://network');
      expect(steps).toContain(words.text('chromeos.import'));
      for (const osName of OS_NAMES.chromeos[lang]!) expect(await page.locator('main').innerText()).toContain(osName);
      await shot(page, name('onc'));
      const onc = await downloadBy(page, words.text('chromeos.download'));
      expect(onc.name).toBe('northwind-logistics-wifi.onc');
      expect(oncSpecProblems(onc.body.toString('utf8'))).toEqual([]);
      const client = (JSON.parse(onc.body.toString('utf8')) as { Certificates: Array<{ Type: string; PKCS12?: string }> }).Certificates.find((c) => c.Type === 'Client')!;
      const p12File = join(t.dir, `chromeos-${lang}.p12`);
      await writeFile(p12File, Buffer.from(client.PKCS12!, 'base64'));
      expect(p12Subject(p12File, '')).toMatch(/subject=CN ?= ?employee\n/);
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('Linux', () => {
  it.each(['en', 'de', 'fr'])('in %s: from Firefox\'s captive probe to the CA, the PKCS#12 and nmcli lines that nmcli --offline takes with those files, in the desktop\'s download folder', async (lang) => {
    const { words, mac, name } = walkIn(lang, '3c:22:fb:00:00:04', 'linux');
    await accountingStart(mac, `linux-${lang}`);
    const context = await laptop(LINUX_FIREFOX_UA, lang);
    try {
      const page = await context.newPage();
      await page.goto('http://detectportal.firefox.com/canonical.html');
      await expectPage(page, lang, words.text('register.title.linux'));
      await shot(page, name('register'));
      await logIn(page, words.text('register.submit'));
      await expectPage(page, lang, words.text('linux_files.title'));
      for (const osName of OS_NAMES.linux[lang]!) expect(await page.locator('main').innerText()).toContain(osName);
      await shot(page, name('files'));
      // Saved in the desktop's download folder, the one the page names (~/Téléchargements in French):
      // the lines find it with xdg-user-dir, so nmcli gets the files' absolute paths there.
      const home = join(t.dir, `linux-home-${lang}`);
      const xdgDir = XDG_DOWNLOAD_DIRS[lang];
      const saved = join(home, xdgDir ?? 'Downloads');
      await mkdir(saved, { recursive: true });
      if (xdgDir) {
        await mkdir(join(home, '.config'));
        await writeFile(join(home, '.config', 'user-dirs.dirs'), `XDG_DOWNLOAD_DIR="$HOME/${xdgDir}"\n`);
      }
      const ca = await downloadBy(page, words.text('files.ca_download'));
      await writeFile(join(saved, ca.name), ca.body);
      const p12 = await downloadBy(page, words.text('linux_files.p12_download'));
      await writeFile(join(saved, p12.name), p12.body);
      // Each network's command follows its heading.
      const commands = await page.locator('h3 + p.url').allInnerTexts();
      expect(commands).toHaveLength(2);
      const [peap, tls] = commands.map((c) => pastedNmcli(c.trim(), home));
      expect(peap!['802-1x']).toMatchObject({ eap: 'peap;', identity: 'employee', 'ca-cert': join(saved, 'northwind-logistics-root-ca.pem'), 'domain-suffix-match': 'radius.northwind.example' });
      expect(tls!['802-1x']).toMatchObject({ eap: 'tls;', 'private-key': join(saved, 'northwind-logistics-wifi-identity.p12') });
      const password = await page.getByLabel(words.text('files.p12_password')).inputValue();
      expect(tls!['802-1x']!['private-key-password']).toBe(password);
      expect(p12Subject(join(saved, p12.name), password)).toMatch(/subject=CN ?= ?employee\n/);
      execFileSync('openssl', ['x509', '-in', join(saved, ca.name), '-noout']);
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('Android without an agent', () => {
  it.each(['en', 'es'])('in %s: from Android\'s captive probe to the settings to enter by hand, a DER CA and a PKCS#12 that opens with the password shown', async (lang) => {
    const { words, mac, name } = walkIn(lang, '3c:22:fb:00:00:05', 'android');
    await accountingStart(mac, `android-${lang}`);
    const context = await phone(ANDROID_UA, lang);
    try {
      const page = await context.newPage();
      await page.goto('http://connectivitycheck.gstatic.com/generate_204');
      await expectPage(page, lang, words.text('register.title.android'));
      await shot(page, name('register'));
      await logIn(page, words.text('register.submit'));
      await expectPage(page, lang, words.text('android_settings.title'));
      await shot(page, name('settings'));
      // The fields as Android's Wi-Fi form names them, with the values to enter.
      const settings = await page.locator('dl.facts').first().innerText();
      for (const key of ['files.eap_method', 'files.phase2', 'files.domain', 'files.identity']) expect(settings).toContain(words.text(key));
      for (const value of ['PEAP', 'MSCHAPV2', 'radius.northwind.example', 'employee']) expect(settings).toContain(value);
      for (const osName of OS_NAMES.android[lang]!) expect(await page.locator('main').innerText()).toContain(osName);
      const ca = await downloadBy(page, words.text('files.ca_download'));
      expect(ca.name).toBe('northwind-logistics-root-ca.crt');
      const caFile = join(t.dir, `${lang}-${ca.name}`);
      await writeFile(caFile, ca.body);
      execFileSync('openssl', ['x509', '-inform', 'der', '-in', caFile, '-noout']);
      const password = await page.getByLabel(words.text('files.p12_password')).inputValue();
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const p12 = await downloadBy(page, words.text('android_settings.p12_download'));
      const p12File = join(t.dir, `android-${lang}-${p12.name}`);
      await writeFile(p12File, p12.body);
      expect(p12Subject(p12File, password)).toMatch(/subject=CN ?= ?employee\n/);
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('iPad', () => {
  it.each(['en', 'fr'])('in %s: Safari asking for desktop pages, "This is an iPad", then a signed profile that verifies, with the iPadOS install steps', async (lang) => {
    const { words, mac, name } = walkIn(lang, '3c:22:fb:00:00:06', 'ipad');
    await accountingStart(mac, `ipad-${lang}`);
    // iPadOS Safari sends the Mac's User-Agent: the portal asks.
    const context = await laptop(MAC_UA, lang);
    try {
      const page = await context.newPage();
      await page.goto('http://captive.apple.com/hotspot-detect.html');
      await expectPage(page, lang, words.text('register.title.macos'));
      await submit(page, words.text('ipad.button'));
      await expectPage(page, lang, words.text('register.title.ios'));
      await shot(page, name('register'));
      await logIn(page, words.text('register.submit'));
      await expectPage(page, lang, words.text('profile_ready.title'));
      expect(await page.locator('main').innerText()).toContain(words.text('profile_ready.ios_install'));
      for (const osName of OS_NAMES.ipad[lang]!) expect(await page.locator('main').innerText()).toContain(osName);
      await shot(page, name('profile-ready'));
      const profile = await downloadBy(page, words.text('profile_ready.download'));
      expect(profile.name).toBe('northwind-logistics-wifi.mobileconfig');
      expect(verifiedBy(t, profile.body)).toContain('<string>Northwind Staff</string>');
      expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');
    } finally {
      await context.close();
    }
  }, 120_000);
});
