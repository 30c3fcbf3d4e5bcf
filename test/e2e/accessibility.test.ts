import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { PageAudit, testOutput } from '../helpers/page-audit.js';
import { freeTcpPort } from '../helpers/ports.js';
import { accountingStart } from '../helpers/radclient.js';
import { Backdoor } from '../helpers/raw-nas.js';
import { EDGE_UA } from '../helpers/http.js';

/**
 * Every employee page in each of its states, in headless Chromium against a real gateway,
 * checked by axe-core for WCAG 2.1 A and AA, in the light and in the dark colour scheme, and
 * weighed: each page's bytes as sent, under 15 KB with its inline stylesheet
 * (helpers/page-audit.ts). The table of sizes goes to test-output/page-sizes.txt.
 *
 * The states come from the portal's decisions (portal/decide.ts, portal/visit.ts) and its
 * actions; the last test fails when a template in views/ was shown in no state here.
 */

const VIEWS = join(process.cwd(), 'views');
const SIZES = testOutput('page-sizes.txt');

const IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const OLD_IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.7 Mobile/15E148 Safari/604.1';
/** Safari on a Mac, or on an iPad asking for desktop pages. */
const MAC_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const CHROMEBOOK_UA = 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const LINUX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
/** A platform the portal has no path for (decide.ts: other). */
const CONSOLE_UA = 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)';

/** openNDS's FAS key and where its authentication page listens (nothing does: the browser's request there is answered in the test). */
const FASKEY = 'opennds-faskey-0123456789';
const NDS_ADDRESS = '127.0.0.9';

let t: TestGateway;
let browser: Browser;
let ndsPort: number;
/** Device numbers, so that each visit is a new device. */
let devices = 0;

const audit = new PageAudit();

/** A MAC of its own for each device of the walk (3c:22:fb is an Apple prefix, universally administered). */
function newMac(): string {
  devices += 1;
  return `3c:22:fb:00:01:${devices.toString(16).padStart(2, '0')}`;
}

/** The router's accounting: the browser's address (127.0.0.1) is now this device. */
async function browserIs(mac: string): Promise<void> {
  await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, '127.0.0.1', randomBytes(6).toString('hex'));
}

function visitor(userAgent: string, mobile = true): Promise<BrowserContext> {
  return browser.newContext(mobile ? { userAgent, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : { userAgent, viewport: { width: 1280, height: 800 } });
}

/** Checks the page `response` loaded (PageAudit.check): `template` in `state`, its heading `heading`. */
function check(page: Page, response: Response | null, template: string, state: string, heading: string): Promise<void> {
  return audit.check(page, response, template, state, heading);
}

/** Clicks and returns the response of the page that the click loads. */
async function follow(page: Page, click: () => Promise<void>): Promise<Response | null> {
  const [response] = await Promise.all([page.waitForNavigation(), click()]);
  return response;
}

function pressButton(page: Page, name: string | RegExp): Promise<Response | null> {
  return follow(page, () => page.getByRole('button', { name }).first().click());
}

async function logIn(page: Page, password: string, button: string | RegExp): Promise<Response | null> {
  await page.getByLabel('User name').fill('employee');
  await page.getByLabel('Password').fill(password);
  return pressButton(page, button);
}

/**
 * Takes away the checks the browser makes before it sends a form (required, maxlength): what
 * a person whose browser makes none can send, which the server must answer with the reason.
 */
async function withoutBrowserChecks(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    for (const form of document.forms) form.noValidate = true;
    for (const field of document.querySelectorAll('input[maxlength]')) field.removeAttribute('maxlength');
  })()`);
}

/** Runs `walk` in a new browser context for `userAgent`, closing it after. */
async function as(userAgent: string, walk: (page: Page) => Promise<void>, mobile = true): Promise<void> {
  const context = await visitor(userAgent, mobile);
  try {
    await walk(await context.newPage());
  } finally {
    await context.close();
  }
}

beforeAll(async () => {
  ndsPort = await freeTcpPort();
  t = await startTestGateway({
    beforeStart: (dir) => writeFile(join(dir, 'terms.txt'), 'Use this network for work.\n\nAccess is logged.\n'),
    configure: (doc) => {
      doc.portal.organisation_name = 'Northwind Logistics';
      doc.portal.support_contact = 'IT helpdesk, ext. 1234';
      // The browser's router is an openNDS node: its redirect may hand the login back (uam-handoff.njk).
      doc.radius.clients = [{ name: 'nds', address: '127.0.0.1', secret: TEST_NAS_SECRET, uam: { kind: 'opennds', opennds: { faskey: FASKEY, gateway_address: NDS_ADDRESS, gateway_port: ndsPort } } }];
      doc.ios = {
        profile: { identifier: 'com.northwind.wifi' },
        wifi: [
          { ssid: 'Northwind Staff', security: 'eap-peap', server_names: ['radius.northwind.example'] },
          { ssid: 'Northwind Secure', security: 'eap-tls', server_names: ['radius.northwind.example'] },
        ],
      };
      doc.android = { agent: { name: 'Northwind MDM agent', version: '4.2.0', url: 'https://downloads.northwind.example/agent-4.2.0.apk', size_bytes: 4_404_019, sha256: 'ab'.repeat(32) } };
      // Five devices: the walk enrolls an iPhone, a Mac, an iPad and a Windows PC, and the agent an Android phone; a sixth reaches the limit.
      doc.enrollment = { randomised_macs: 'accept', device_limit: 5, min_os_version: { ios: '16' } };
    },
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await audit.writeSizes(SIZES);
});

// Each step shows several pages and runs axe twice on each (about a second a page here): bounds for a machine several times slower.
describe('every employee page in every state: WCAG 2.1 AA in light and dark, under 15 KB', { timeout: 180_000 }, () => {
  it('a browser the router has not named, and one only unsigned redirect parameters name', async () => {
    await as(IPHONE_UA, async (page) => {
      await check(page, await page.goto(`${t.baseUrl}/portal`), 'unidentified.njk', 'no accounting', 'We could not recognise this device');
      await check(page, await page.goto(`${t.baseUrl}/portal?mac=${newMac()}`), 'unidentified.njk', 'named but unproven', 'We could not confirm this device');
    });
  });

  it('an iPhone: registration, a wrong password, the profile, online, the profile again, and the page that has expired', async () => {
    await browserIs(newMac());
    await as(IPHONE_UA, async (page) => {
      await check(page, await page.goto(`${t.baseUrl}/portal`), 'register.njk', 'iPhone, empty form', 'Set up this iPhone or iPad');
      await withoutBrowserChecks(page);
      await check(page, await pressButton(page, 'Enroll this device'), 'register.njk', 'iPhone, fields left empty', 'Set up this iPhone or iPad');
      await check(page, await logIn(page, 'not-the-password', 'Enroll this device'), 'register.njk', 'iPhone, wrong password', 'Set up this iPhone or iPad');
      await check(page, await logIn(page, t.employeePassword, 'Enroll this device'), 'profile-ready.njk', 'iPhone', 'Install the Wi-Fi profile');
      await check(page, await page.goto(`${t.baseUrl}/portal`), 'online.njk', 'with the profile form', 'You are online');
      await check(page, await logIn(page, 'not-the-password', 'Get the profile'), 'profile-login.njk', 'wrong password', 'Get the Wi-Fi profile');
      // A form whose token is not its flow's (forged, or from another visit): the page has expired.
      await page.goto(`${t.baseUrl}/portal`);
      await page.locator('input[name=_csrf]').evaluate((field) => void ((field as unknown as { value: string }).value = 'forged'));
      await check(page, await logIn(page, t.employeePassword, 'Get the profile'), 'error.njk', '403, form token refused', 'We could not continue');
    });
  });

  it('a Mac, with the iPad choice, and an iPad that said it is one', async () => {
    await browserIs(newMac());
    await as(
      MAC_UA,
      async (page) => {
        await check(page, await page.goto(`${t.baseUrl}/portal`), 'register.njk', 'Mac, with the iPad choice', 'Set up this Mac');
        await check(page, await logIn(page, t.employeePassword, 'Enroll this device'), 'profile-ready.njk', 'Mac', 'Install the Wi-Fi profile');
      },
      false,
    );
    await browserIs(newMac());
    await as(
      MAC_UA,
      async (page) => {
        await page.goto(`${t.baseUrl}/portal`);
        await check(page, await pressButton(page, 'This is an iPad'), 'register.njk', 'iPad', 'Set up this iPhone or iPad');
        await check(page, await logIn(page, t.employeePassword, 'Enroll this device'), 'profile-ready.njk', 'iPad', 'Install the Wi-Fi profile');
      },
      false,
    );
  });

  it('a Windows PC: registration and its files', async () => {
    await browserIs(newMac());
    await as(
      EDGE_UA,
      async (page) => {
        await check(page, await page.goto(`${t.baseUrl}/portal`), 'register.njk', 'Windows', 'Set up this Windows PC');
        await check(page, await logIn(page, t.employeePassword, 'Enroll this device'), 'windows-files.njk', 'EAP-TLS and PEAP', 'Set up the Wi-Fi on this PC');
      },
      false,
    );
  });

  it('Android: the agent to install, and the daily login of a phone the agent enrolled', async () => {
    await browserIs(newMac());
    await as(ANDROID_UA, async (page) => {
      await check(page, await page.goto(`${t.baseUrl}/portal`), 'android-agent.njk', 'external agent with QR code', 'Set up this Android device');
    });
    const mac = newMac();
    await Backdoor.with(t, (b) => b.enrollByAgent(mac));
    await browserIs(mac);
    await as(ANDROID_UA, async (page) => {
      await check(page, await page.goto(`${t.baseUrl}/portal`), 'login.njk', 'the owner shown', 'Log in to the Wi-Fi');
      await check(page, await logIn(page, 'not-the-password', 'Log in'), 'login.njk', 'wrong password', 'Log in to the Wi-Fi');
    });
  });

  it('refused (iOS too old), not supported, and the device limit', async () => {
    await browserIs(newMac());
    await as(OLD_IPHONE_UA, async (page) => {
      await check(page, await page.goto(`${t.baseUrl}/portal`), 'refused.njk', 'OS too old', 'Update this device first');
    });
    await browserIs(newMac());
    await as(CONSOLE_UA, async (page) => {
      await check(page, await page.goto(`${t.baseUrl}/portal`), 'unsupported.njk', 'a platform without a path', 'This device is not supported');
    });
    await browserIs(newMac());
    await as(IPHONE_UA, async (page) => {
      await page.goto(`${t.baseUrl}/portal`);
      await check(page, await logIn(page, t.employeePassword, 'Enroll this device'), 'device-limit.njk', 'five devices enrolled', 'Device limit reached');
    });
  });

  it('My devices: the login, a wrong password, the list, a name refused, unenrolling, a device not yours', async () => {
    await as(IPHONE_UA, async (page) => {
      await check(page, await page.goto(`${t.baseUrl}/portal/devices`), 'my-devices-login.njk', 'empty form', 'My devices');
      await check(page, await logIn(page, 'not-the-password', /log in/i), 'my-devices-login.njk', 'wrong password', 'My devices');
      await check(page, await logIn(page, t.employeePassword, /log in/i), 'my-devices.njk', 'five devices', 'My devices');
      await withoutBrowserChecks(page);
      await page.getByLabel('Your name for it').first().fill('x'.repeat(41));
      await check(page, await pressButton(page, 'Save name'), 'my-devices.njk', 'a name refused', 'My devices');
      await check(page, await pressButton(page, 'Unenroll…'), 'unenroll-confirm.njk', 'the question', 'Unenroll this device?');
      await withoutBrowserChecks(page);
      await check(page, await pressButton(page, 'Unenroll this device'), 'unenroll-confirm.njk', 'no reason chosen', 'Unenroll this device?');
      await check(page, await page.goto(`${t.baseUrl}/portal/devices/unenroll?mac=02:00:00:00:00:01`), 'error.njk', '404, a device not yours', 'Page not found');
    });
  });

  it('the walled garden, a page that does not exist, and a profile link that has expired', async () => {
    await as(
      IPHONE_UA,
      async (page) => {
        await check(page, await page.goto(`${t.baseUrl}/portal/walled-garden`), 'walled-garden.njk', 'default catalogue', 'Walled garden');
        await check(page, await page.goto(`${t.baseUrl}/portal/no-such-page`), 'error.njk', '404', 'Page not found');
        await check(page, await page.goto(`${t.baseUrl}/portal/profile?d=no-such-link`), 'error.njk', '410, profile link expired', 'We could not continue');
      },
      false,
    );
  });

  it('an openNDS router: the login handed back to it', async () => {
    const mac = newMac();
    await Backdoor.with(t, (b) => b.enrollByAgent(mac));
    await browserIs(mac);
    await as(ANDROID_UA, async (page) => {
      // The node's authentication page answers 204: the browser stays on the hand-off page (its refresh goes there at once).
      await page.route(`http://${NDS_ADDRESS}:${ndsPort}/**`, (route) => route.fulfill({ status: 204 }));
      const hid = randomBytes(32).toString('hex');
      const q = new URLSearchParams({ hid, gatewayname: 'openNDS Node', gatewayaddress: `${NDS_ADDRESS}:${ndsPort}`, clientip: '127.0.0.1', clientmac: mac, redir: 'http://example.com/' });
      await page.goto(`${t.baseUrl}/portal?${q}`);
      await check(page, await logIn(page, t.employeePassword, 'Log in'), 'uam-handoff.njk', 'openNDS', 'Connecting you to the Wi-Fi');
    });
  });

  it('Macs not allowed (maybe an iPad), and the directory unavailable: registration and My devices say so', async () => {
    const dead = await freeTcpPort();
    await t.reconfigure((doc) => {
      doc.enrollment.platforms = { macos: false };
      // Nothing listens there: every password check fails as an outage does.
      doc.directory = { kind: 'ldap', ldap: { url: `ldap://127.0.0.1:${dead}`, bind_dn: 'cn=portal,dc=northwind,dc=example', bind_password: 'unused-bind-password', base_dn: 'dc=northwind,dc=example' } };
    });
    await browserIs(newMac());
    await as(
      MAC_UA,
      async (page) => {
        await check(page, await page.goto(`${t.baseUrl}/portal`), 'unsupported.njk', 'a Mac where only iPads may enroll', 'This device is not supported');
      },
      false,
    );
    await browserIs(newMac());
    await as(IPHONE_UA, async (page) => {
      await page.goto(`${t.baseUrl}/portal`);
      await check(page, await logIn(page, 'any-password', 'Enroll this device'), 'register.njk', 'directory unavailable', 'Set up this iPhone or iPad');
      await page.goto(`${t.baseUrl}/portal/devices`);
      await check(page, await logIn(page, 'any-password', /log in/i), 'my-devices-login.njk', 'directory unavailable', 'My devices');
    });
  });

  it('a Chromebook, a Linux computer and an Android phone without an agent; the terms of use', async () => {
    // No agent (Android gets the settings by hand), terms to accept, no device limit (the walk above reached it),
    // and the users file again (the step above left a directory that does not answer).
    await t.reconfigure((doc) => {
      delete doc.android;
      doc.directory = { kind: 'file' };
      doc.enrollment = { randomised_macs: 'accept', device_limit: 0 };
      doc.portal.terms = { file: 'terms.txt', version: '2026-12' };
    });
    const enroll = async (page: Page) => {
      await page.getByLabel('User name').fill('employee');
      await page.getByLabel('Password').fill(t.employeePassword);
      await page.getByLabel(/^I accept the Terms of use/).check();
      return pressButton(page, 'Enroll this device');
    };
    await browserIs(newMac());
    await as(
      CHROMEBOOK_UA,
      async (page) => {
        await check(page, await page.goto(`${t.baseUrl}/portal`), 'register.njk', 'ChromeOS, with terms of use', 'Set up this Chromebook');
        await check(page, await follow(page, () => page.getByRole('link', { name: 'Terms of use' }).click()), 'terms.njk', 'the terms in full', 'Terms of use');
        await page.goBack();
        await check(page, await enroll(page), 'chromeos-onc.njk', 'EAP-TLS and PEAP', 'Set up the Wi-Fi on this Chromebook');
      },
      false,
    );
    await browserIs(newMac());
    await as(
      LINUX_UA,
      async (page) => {
        await page.goto(`${t.baseUrl}/portal`);
        await check(page, await enroll(page), 'linux-files.njk', 'EAP-TLS and PEAP', 'Set up the Wi-Fi on this computer');
      },
      false,
    );
    await browserIs(newMac());
    await as(ANDROID_UA, async (page) => {
      await page.goto(`${t.baseUrl}/portal`);
      await check(page, await enroll(page), 'android-settings.njk', 'EAP-TLS and PEAP, by hand', 'Set up the Wi-Fi on this Android device');
    });
  });

  it('Android with Passpoint', async () => {
    await t.reconfigure((doc) => {
      delete doc.portal.terms;
      doc.eap = { ...(doc.eap ?? {}), enabled: true };
      doc.passpoint = { enabled: true, fqdn: 'wifi.northwind.example', roaming_consortium_ois: ['5a03ba0000'] };
      // With eap.enabled the gateway answers the networks' 802.1X itself: EAP-TLS it can.
      doc.ios.wifi = doc.ios.wifi.filter((n: { security: string }) => n.security === 'eap-tls');
    });
    await browserIs(newMac());
    await as(ANDROID_UA, async (page) => {
      await page.goto(`${t.baseUrl}/portal`);
      await check(page, await logIn(page, t.employeePassword, 'Enroll this device'), 'passpoint-ready.njk', 'EAP-TLS', 'Install the Wi-Fi profile');
    });
  });

  it('showed every page template in at least one state', () => {
    expect(audit.unshown(VIEWS)).toEqual([]);
  });
});
