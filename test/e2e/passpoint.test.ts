import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captiveChromium } from '../helpers/chromium.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { parsePasspointDownload } from '../helpers/passpoint-parser.js';
import { accountingStart } from '../helpers/radclient.js';

/**
 * An Android phone from its OS's captive probe to a Passpoint profile that AOSP's installer
 * rules accept (test/helpers/passpoint-parser.ts), in headless Chromium with JavaScript off
 * and radclient as the router; screenshots in test-output/screenshots.
 */

const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const MAC = '3c:22:fb:00:00:31';

let t: TestGateway;
let browser: Browser;

async function shot(page: Page, name: string): Promise<number> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  return Buffer.byteLength(await page.content(), 'utf8');
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.organisation_name = 'Northwind Logistics';
      doc.eap = { ...(doc.eap ?? {}), enabled: true };
      doc.passpoint = { enabled: true, fqdn: 'wifi.northwind.example', roaming_consortium_ois: ['5a03ba0000'] };
    },
  });
  // The router sends Android's captive probe to the portal's plain-HTTP port.
  browser = await captiveChromium(t.httpUrl, ['connectivitycheck.gstatic.com']);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('Android with Passpoint', () => {
  it('from the captive probe through the login to a Passpoint download that passes the AOSP-rule parser, with the headers Android wants', async () => {
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, MAC, '127.0.0.1', 'android-passpoint-1');
    const context = await browser.newContext({ userAgent: ANDROID_UA, viewport: { width: 412, height: 915 }, isMobile: true, javaScriptEnabled: false, acceptDownloads: true });
    try {
      const page = await context.newPage();
      await page.goto('http://connectivitycheck.gstatic.com/generate_204');
      expect(await page.locator('h1').innerText()).toBe('Set up this Android device');
      // No agent configured: the registration page (main's agent-less Android path), which says a profile comes after the login.
      expect(await page.locator('#step2').innerText()).toBe('2\nInstall the Wi-Fi profile');
      expect(await page.locator('main').innerText()).toContain('Android installs it, and joins the network by itself.');
      const startSize = await shot(page, 'android-passpoint-start');
      await page.fill('input[name=username]', 'employee');
      await page.fill('input[name=password]', t.employeePassword);
      await Promise.all([page.waitForNavigation(), page.locator('button', { hasText: 'Enroll this device' }).click()]);
      expect(await page.locator('h1').innerText()).toBe('Install the Wi-Fi profile');
      expect(await page.locator('.lead').innerText()).toContain('employee');
      const readySize = await shot(page, 'android-passpoint-ready');
      expect(startSize).toBeLessThan(15 * 1024);
      expect(readySize).toBeLessThan(15 * 1024);

      const [download, response] = await Promise.all([
        page.waitForEvent('download'),
        page.waitForResponse((r) => r.url().includes('/portal/profile/')),
        page.locator('a', { hasText: 'Download the Wi-Fi profile' }).click(),
      ]);
      const headers = response.headers();
      expect(headers['content-type']).toBe('application/x-wifi-config');
      expect(headers['content-transfer-encoding']).toBe('base64');
      expect(headers['content-disposition']).toBeUndefined();
      const file = parsePasspointDownload(headers['content-type'], await readFile((await download.path())!));
      expect(file.homeSp).toEqual({ fqdn: 'wifi.northwind.example', friendlyName: 'Northwind Logistics Wi-Fi', roamingConsortiumOis: [0x5a03ba0000n] });
      expect(file.credential.realm).toBe('wifi.northwind.example');

      // The link worked once.
      const again = await context.request.get(response.url());
      expect(again.status()).toBe(410);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('the same walk in Spanish (a browser set to es-ES): the pages and their button in Spanish, the profile the same', async () => {
    const mac = '3c:22:fb:00:00:32';
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, '127.0.0.1', 'android-passpoint-es');
    const context = await browser.newContext({ userAgent: ANDROID_UA, locale: 'es-ES', viewport: { width: 412, height: 915 }, isMobile: true, javaScriptEnabled: false, acceptDownloads: true });
    try {
      const page = await context.newPage();
      await page.goto('http://connectivitycheck.gstatic.com/generate_204');
      expect(await page.locator('html').getAttribute('lang')).toBe('es');
      expect(await page.locator('h1').innerText()).toBe('Configurar este dispositivo Android');
      expect(await page.locator('#step2').innerText()).toBe('2\nInstalar el perfil Wi-Fi');
      const startSize = await shot(page, 'es-android-passpoint-start');
      await page.fill('input[name=username]', 'employee');
      await page.fill('input[name=password]', t.employeePassword);
      await Promise.all([page.waitForNavigation(), page.locator('button', { hasText: 'Registrar este dispositivo' }).click()]);
      expect(await page.locator('h1').innerText()).toBe('Instalar el perfil Wi-Fi');
      expect(await page.locator('main').innerText()).toContain('Toque Instalar');
      const readySize = await shot(page, 'es-android-passpoint-ready');
      expect(startSize).toBeLessThan(15 * 1024);
      expect(readySize).toBeLessThan(15 * 1024);
      const [download, response] = await Promise.all([
        page.waitForEvent('download'),
        page.waitForResponse((r) => r.url().includes('/portal/profile/')),
        page.locator('a', { hasText: 'Descargar el perfil Wi-Fi' }).click(),
      ]);
      const file = parsePasspointDownload(response.headers()['content-type'], await readFile((await download.path())!));
      expect(file.homeSp.fqdn).toBe('wifi.northwind.example');
    } finally {
      await context.close();
    }
  }, 180_000);
});
