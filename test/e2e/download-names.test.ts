import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captiveChromium } from '../helpers/chromium.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { accountingStart } from '../helpers/radclient.js';
import { northwind } from '../helpers/signed-profile.js';
import { EDGE_UA } from '../helpers/http.js';

/**
 * The names of the files a Windows PC's page hands out, as Chromium saves them to disk: the
 * browser, not the portal, decides a download's name from Content-Disposition, so the
 * gateway's header is checked by what lands in the download folder. The networks and the
 * organisation are named with what a file name cannot carry as it is: a path ("../", "/"),
 * percent escapes a browser may decode, quotes, leading and trailing dots and spaces, and
 * letters outside ASCII. Each saved file must bear the name the page shows (in its link and
 * in the netsh line the user pastes) and hold the WLAN profile of the real SSID.
 */

/** A path up and across, a percent escape of "/", quotes and a letter outside ASCII (21 bytes). */
const TRAVERSING = '../Staff%2F"Wi-Fi" ü';
/** Percent escapes of "A" and "B" (a browser that decodes them saves "AB.xml"), then trailing spaces and dots. */
const ESCAPED = '%41%42 ..';
/** A Windows device name: Chromium on Windows saves "CON.xml" as "_CON.xml", so the page must name that file. */
const DEVICE = 'CON';
/** Another network whose file name comes out as ESCAPED's ("_41_42.xml"): numbered, or its download would be saved as "_41_42 (1).xml". */
const ALIKE = '%41%42';

let t: TestGateway;
let browser: Browser;
/** A folder of its own, holding only the download folder: where a "../" in a name would land. */
let parent: string;
let downloads: string;

/**
 * Clicks the link named `linkText` and waits for Chromium to finish saving its file into
 * `dir` (the download folder of `cdp`'s context): the name Chromium gave the file on disk.
 */
async function saveBy(page: Page, cdp: CDPSession, dir: string, linkText: string): Promise<string> {
  const before = new Set(await readdir(dir));
  const done = new Promise<void>((resolve, reject) => {
    const progress = (e: { state: string }) => {
      if (e.state === 'inProgress') return;
      cdp.off('Browser.downloadProgress', progress);
      if (e.state === 'completed') resolve();
      else reject(new Error(`Chromium's download of "${linkText}" ended ${e.state}`));
    };
    cdp.on('Browser.downloadProgress', progress);
  });
  // Shown instead of saved (no attachment), the file replaces the page: no download would come.
  const shown = page.waitForEvent('framenavigated', { timeout: 0 }).then((frame) => Promise.reject(new Error(`Chromium showed "${linkText}" at ${frame.url()} instead of saving it`)));
  shown.catch(() => undefined);
  await Promise.all([Promise.race([done, shown]), page.locator('a', { hasText: linkText }).first().click()]);
  const added = (await readdir(dir)).filter((n) => !before.has(n));
  expect(added, `the files "${linkText}" added to the download folder`).toHaveLength(1);
  return added[0]!;
}

/**
 * A new context of `browser` whose downloads Chromium saves as it would for a user: into
 * `dir` under the name it derives from the response (Playwright's own downloads get a
 * random name), reporting each download's progress on the returned session.
 */
async function savingContext(dir: string): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession }> {
  const context = await browser.newContext({ userAgent: EDGE_UA, locale: 'en-GB', javaScriptEnabled: false, acceptDownloads: true });
  const page = await context.newPage();
  const { targetInfo } = await (await context.newCDPSession(page)).send('Target.getTargetInfo');
  const cdp = await browser.newBrowserCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', browserContextId: targetInfo.browserContextId!, downloadPath: dir, eventsEnabled: true });
  return { context, page, cdp };
}

/** The SSID a WLAN profile names, as an XML parser reads it (entities resolved), and its hex form (xmllint ends each with a newline). */
function profileSsid(file: string): { name: string; hex: string } {
  const xpath = (path: string) => execFileSync('xmllint', ['--xpath', `string(${path})`, file], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().replace(/\n$/, '');
  const ssid = "/*[local-name()='WLANProfile']/*[local-name()='SSIDConfig']/*[local-name()='SSID']";
  return { name: xpath(`${ssid}/*[local-name()='name']`), hex: xpath(`${ssid}/*[local-name()='hex']`) };
}

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'enrollgate-download-names-'));
  downloads = join(parent, 'Downloads');
  await mkdir(downloads);
  t = await startTestGateway({
    configure: (doc) => {
      northwind(doc);
      doc.portal.organisation_name = '../Nörthwind %2F "Logistics".';
      doc.ios.wifi = [
        { ssid: TRAVERSING, security: 'eap-peap', server_names: ['radius.northwind.example'] },
        { ssid: ESCAPED, security: 'eap-tls', server_names: ['radius.northwind.example'] },
        { ssid: DEVICE, security: 'eap-peap', server_names: ['radius.northwind.example'] },
        { ssid: ALIKE, security: 'eap-peap', server_names: ['radius.northwind.example'] },
      ];
    },
  });
  browser = await captiveChromium(t.httpUrl, ['www.msftconnecttest.com']);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (parent) await rm(parent, { recursive: true, force: true });
});

describe('a Windows PC whose networks and organisation have names no file can bear as they are', () => {
  it('saves each WLAN profile, the CA and the PKCS#12 under the name its page shows, inside the download folder, the profile naming the real SSID', async () => {
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, '3c:22:fb:00:01:02', '127.0.0.1', 'win-names');
    const { context, page, cdp } = await savingContext(downloads);
    try {
      await page.goto('http://www.msftconnecttest.com/connecttest.txt');
      expect(await page.locator('h1').innerText()).toBe('Set up this Windows PC');
      await page.fill('input[name=username]', 'employee');
      await page.fill('input[name=password]', t.employeePassword);
      await Promise.all([page.waitForNavigation(), page.locator('button', { hasText: 'Enroll this device' }).click()]);
      expect(await page.locator('h1').innerText()).toBe('Set up the Wi-Fi on this PC');

      // The name the page tells the user to run netsh with, per network in the configured order, must be the one on disk.
      const netsh = (await page.locator('code', { hasText: 'netsh wlan add profile' }).allInnerTexts()).map((line) => /filename="(.*)" user=current$/.exec(line)?.[1]);
      // "../" and the leading dots gone, "/", "%", the quotes and "ü" each "_", the trailing " .." gone, "_" before CON,
      // and "-2" for the second network whose file would have been "_41_42.xml" too.
      expect(netsh).toEqual(['_Staff_2F_Wi-Fi_ _.xml', '_41_42.xml', '_CON.xml', '_41_42-2.xml']);
      for (const [i, ssid] of [TRAVERSING, ESCAPED, DEVICE, ALIKE].entries()) {
        const shown = netsh[i]!;
        const saved = await saveBy(page, cdp, downloads, `Download ${shown}`);
        expect(saved, `the file saved for ${JSON.stringify(ssid)}`).toBe(shown);
        const profile = profileSsid(join(downloads, saved));
        expect(profile.name).toBe(ssid);
        expect(profile.hex).toBe(Buffer.from(ssid, 'utf8').toString('hex').toUpperCase());
      }

      const ca = await saveBy(page, cdp, downloads, 'Download the CA certificate');
      expect(ca).toBe('no-rthwind-2f-logistics-root-ca.cer');
      expect(await page.locator('code', { hasText: `certutil -user -addstore Root "${ca}"` }).count()).toBe(1);
      execFileSync('openssl', ['x509', '-inform', 'der', '-in', join(downloads, ca), '-noout']);
      const password = await page.getByLabel('Certificate password').inputValue();
      const p12 = await saveBy(page, cdp, downloads, "Download this PC's certificate");
      expect(p12).toBe('no-rthwind-2f-logistics-wifi-identity.p12');
      expect(await page.locator('p', { hasText: p12 }).count()).toBeGreaterThanOrEqual(1);
      const p12Info = execFileSync('openssl', ['pkcs12', '-info', '-nokeys', '-in', join(downloads, p12), '-passin', `pass:${password}`], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      expect(p12Info).toMatch(/subject=CN ?= ?employee\n/);

      // Nothing was written beside the download folder: no "../" was followed.
      expect(await readdir(parent)).toEqual(['Downloads']);
      expect((await readdir(downloads)).sort()).toEqual([...netsh, ca, p12].sort());
    } finally {
      await cdp.detach();
      await context.close();
    }
  }, 120_000);
});
