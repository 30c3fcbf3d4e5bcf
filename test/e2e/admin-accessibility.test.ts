import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page, Response } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, trustServerKey } from '../helpers/chromium.js';
import { leaseTo } from '../helpers/device-requests.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PageAudit, testOutput } from '../helpers/page-audit.js';
import { Backdoor } from '../helpers/raw-nas.js';

/**
 * Every page of the admin console (views/admin) in headless Chromium over HTTPS, checked by
 * axe-core for WCAG 2.1 A and AA in light and dark and weighed, as the portal's pages are
 * (accessibility.test.ts, helpers/page-audit.ts): the login and its error, each list with
 * rows, the confirmation and the page after an action. The employee of `init` is an admin here (a group in the
 * users file). Sizes go to test-output/admin-page-sizes.txt.
 */

const VIEWS = join(process.cwd(), 'views', 'admin');
const MAC = '3c:22:fb:00:02:01';

let t: TestGateway;
let browser: Browser;
/**
 * The console is a desktop tool for staff, not a captive sheet: its bound is 20 KB (the
 * dashboard, with its two charts, is about 16 KB on a quiet day).
 */
const audit = new PageAudit(20 * 1024);

async function follow(page: Page, click: () => Promise<void>): Promise<Response | null> {
  const [response] = await Promise.all([page.waitForNavigation(), click()]);
  return response;
}

async function logIn(page: Page, password: string): Promise<Response | null> {
  await page.getByLabel('Username').fill('employee');
  await page.getByLabel('Password').fill(password);
  return follow(page, () => page.getByRole('button', { name: 'Log in' }).click());
}

beforeAll(async () => {
  t = await startTestGateway({
    https: true,
    configure: (doc) => {
      doc.portal.organisation_name = 'Northwind Logistics';
      doc.admin = { roles: { admin: ['wifi-admins'] } };
    },
    beforeStart: async (dir) => {
      const file = join(dir, 'users.yaml');
      const users = parse(await readFile(file, 'utf8')) as { users: Array<{ groups: string[] }> };
      for (const user of users.users) user.groups.push('wifi-admins');
      await writeFile(file, stringify(users));
    },
  });
  // An enrolled device with a session, so that the lists and the audit trail have rows.
  await Backdoor.with(t, async (b) => {
    await b.enrollByAgent(MAC);
    await b.giveSession(MAC, 3600_000, 'employee');
  });
  await leaseTo(t, MAC, '10.0.0.7');
  browser = await launchChromium([await trustServerKey(t.config.portal.https.cert_file)]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await audit.writeSizes(testOutput('admin-page-sizes.txt'));
});

// Each step shows several pages and runs axe twice on each: bounds for a machine several times slower.
describe('every admin console page: WCAG 2.1 AA in light and dark, under 20 KB', { timeout: 180_000 }, () => {
  it('the login, a wrong password, and each page of the console', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      await audit.check(page, await page.goto(`${t.baseUrl}/admin`), 'login.njk', 'empty form', 'Wi-Fi admin console');
      await audit.check(page, await logIn(page, 'not-the-password'), 'login.njk', 'wrong password', 'Wi-Fi admin console');
      await audit.check(page, await logIn(page, t.employeePassword), 'dashboard.njk', 'admin', 'Dashboard');
      await audit.check(page, await page.goto(`${t.baseUrl}/admin/devices?q=employee`), 'devices.njk', 'one device', 'Devices');
      await audit.check(page, await page.goto(`${t.baseUrl}/admin/sessions`), 'sessions.njk', 'one session', 'Sessions');
      await audit.check(page, await page.goto(`${t.baseUrl}/admin/nas`), 'nas.njk', 'one router', 'Routers (RADIUS clients)');
      await audit.check(page, await page.goto(`${t.baseUrl}/admin/audit`), 'audit.njk', 'records', 'Audit trail');
      await audit.check(page, await page.goto(`${t.baseUrl}/admin/decisions`), 'decisions.njk', 'recent', 'Recent decisions');
      await page.goto(`${t.baseUrl}/admin/devices?q=employee`);
      const row = page.locator('tr', { hasText: MAC });
      await audit.check(page, await follow(page, () => row.getByRole('link', { name: 'End session' }).click()), 'confirm.njk', 'end a session', 'End this device’s session');
      await page.getByLabel(/reason/i).fill('accessibility check');
      await audit.check(page, await follow(page, () => page.getByRole('button', { name: 'End the session' }).click()), 'done.njk', 'session ended', 'Done');
    } finally {
      await context.close();
    }
  });

  it('showed every admin template', () => {
    expect(audit.unshown(VIEWS)).toEqual([]);
  });
});
