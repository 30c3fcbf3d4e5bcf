import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { queryAudit } from '../../src/audit/query.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, trustServerKey } from '../helpers/chromium.js';
import { httpsCall } from '../helpers/https.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { macAuth, radclient } from '../helpers/radclient.js';
import { SLAPD_USERS, startSlapd, type Slapd } from '../helpers/slapd.js';

/**
 * The admin console in headless Chromium, with a private slapd as the directory:
 * a helpdesk member (role from an LDAP group, via memberOf) logs in, finds an
 * enrolled device, ends its session through the confirmation page, and the
 * device's next Access-Request (radclient) is rejected. An auditor then finds
 * the revocation in the audit search: whose session, who ended it, and when to the second.
 */
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const MAC = '3c:22:fb:10:20:99';

let slapd: Slapd;
let t: TestGateway;
let browser: Browser;

async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button }).click()]);
}

async function login(page: Page, user: { uid: string; password: string }): Promise<void> {
  await page.goto(`${t.baseUrl}/admin`);
  await page.fill('#username', user.uid);
  await page.fill('#password', user.password);
  await submit(page, 'Log in');
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  slapd = await startSlapd();
  const helpdesk = await slapd.addGroup('wifi-helpdesk', [SLAPD_USERS.alice.dn]);
  await slapd.addGroup('security-auditors', [SLAPD_USERS.obrien.dn]);
  t = await startTestGateway({
    https: true,
    configure: async (doc) => {
      doc.portal.organisation_name = 'Northwind Logistics';
      doc.directory = {
        kind: 'ldap',
        ldap: { url: slapd.ldapsUrl, ca_file: 'ldap-ca.pem', bind_dn: slapd.bindDn, bind_password: { env: 'EG_E2E_ADMIN_LDAP_BIND' }, base_dn: slapd.baseDn, required_group: slapd.groupDn },
      };
      // By DN for helpdesk, by name for auditors: both forms match memberOf.
      doc.admin = { roles: { helpdesk: [helpdesk], auditor: ['security-auditors'] } };
    },
    beforeStart: async (dir) => {
      process.env.EG_E2E_ADMIN_LDAP_BIND = slapd.bindPassword;
      await writeFile(join(dir, 'ldap-ca.pem'), slapd.ca);
    },
  });
  browser = await launchChromium([await trustServerKey(t.config.portal.https.cert_file)]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await slapd?.stop();
});

describe('the admin console in a browser', () => {
  it('helpdesk ends a device’s session; RADIUS rejects the device’s next request', async () => {
    // A device enrolled by o'brien through the agent API, online.
    const ca = await readFile(join(t.dir, 'certs', 'ca.pem'));
    const enroll = await httpsCall(t.gateway.ports.https, ca, '/api/agent/v1/enroll', {
      json: { username: SLAPD_USERS.obrien.uid, password: SLAPD_USERS.obrien.password, device: { mac: MAC, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } },
    });
    expect(enroll.status).toBe(201);
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(MAC))).reply).toBe('Access-Accept');

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await login(page, SLAPD_USERS.alice);
    expect(await page.locator('h1').innerText()).toBe('Dashboard');
    expect(await page.locator('.who').innerText()).toContain('alice (helpdesk)');
    expect(await page.locator('nav').innerText()).not.toContain('Audit');
    await page.screenshot({ path: join(SHOTS, 'admin-dashboard.png'), fullPage: true });

    await page.getByRole('link', { name: 'Devices' }).click();
    await page.fill('#q', SLAPD_USERS.obrien.uid);
    await submit(page, 'Search');
    const row = page.locator('tr', { hasText: MAC });
    expect(await row.innerText()).toContain('until');
    await page.screenshot({ path: join(SHOTS, 'admin-devices.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), row.getByRole('link', { name: 'End session' }).click()]);
    expect(await page.locator('h1').innerText()).toBe('End this device’s session');
    await page.fill('#reason', 'phone reported stolen, ticket 4711');
    await submit(page, 'End the session');
    expect(await page.locator('h1').innerText()).toBe('Done');
    expect(await page.locator('main').innerText()).toContain(`The session of ${MAC} has ended`);
    await page.screenshot({ path: join(SHOTS, 'admin-done.png'), fullPage: true });

    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(MAC))).reply).toBe('Access-Reject');
  });

  it('the dashboard breaks rejects and drops down by reason; drops name the router and the likely cause', async () => {
    // Real rejects: a device without a session, twice, and a request naming no device;
    // and a drop: a router that signs with another secret.
    const stranger = '3c:22:fb:10:20:98';
    for (let i = 0; i < 2; i++) expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(stranger))).reply).toBe('Access-Reject');
    const noDevice = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, ['User-Name = "printer-lobby"', 'User-Password = "x"', 'Message-Authenticator = 0x00']);
    expect(noDevice.reply).toBe('Access-Reject');
    expect((await radclient(t.gateway.ports.auth, 'auth', 'not-the-secret-of-test-nas', macAuth(stranger))).reply).toBeUndefined();
    // RADIUS records reach the trail in batches: written now, not at the batch's timer.
    t.gateway.audit.flush();

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await login(page, SLAPD_USERS.alice);
    const card = page.locator('section', { has: page.getByRole('heading', { name: 'RADIUS rejects by reason, last 24 hours' }) });
    const rejects = await card.locator('table').first().locator('tbody tr').allInnerTexts();
    // The first test's reject after the revocation was "no session" too: three in all.
    expect(rejects).toEqual(['no session\t3', 'neither User-Name nor Calling-Station-Id is a device MAC address\t1']);
    // The reasons add up to the dashboard's 24-hour reject count.
    expect(await page.locator('.stats li', { hasText: 'RADIUS rejects, 24 h' }).locator('b').innerText()).toBe('4');
    const drops = await card.locator('table').nth(1).locator('tbody tr').allInnerTexts();
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatch(/^bad_message_authenticator\ttest-nas\twrong shared secret on NAS test-nas\? .*\t1$/);
    await page.screenshot({ path: join(SHOTS, 'admin-dashboard-reasons.png'), fullPage: true });
  });

  it('an auditor finds the revocation in the audit search, and may not see devices', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await login(page, SLAPD_USERS.obrien);
    expect(await page.locator('.who').innerText()).toContain('(auditor)');
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.selectOption('#type', 'session.revoked');
    await submit(page, 'Search');
    const row = page.locator('tbody tr', { hasText: MAC });
    expect(await row.innerText()).toContain('phone reported stolen, ticket 4711');
    // Evidence-grade: the time to the second with its offset, in the zone the header names, and who acted in a column of its own.
    const headers = await page.locator('thead th').allInnerTexts();
    expect(headers).toContain('Time (UTC)');
    const cell = (name: string) => row.locator('td').nth(headers.indexOf(name));
    expect(await cell('By').innerText()).toBe('alice');
    expect(await cell('User').innerText()).toBe(SLAPD_USERS.obrien.uid);
    const shown = await cell('Time (UTC)').innerText();
    expect(shown).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00$/);
    const stored = await cell('Time (UTC)').locator('time').getAttribute('datetime');
    expect(shown.replace(' ', 'T').replace(' +00:00', '')).toBe(stored!.slice(0, 19));
    await page.screenshot({ path: join(SHOTS, 'admin-audit.png'), fullPage: true });
    const devices = await page.goto(`${t.baseUrl}/admin/devices`);
    expect(devices?.status()).toBe(403);
  });

  it('an auditor follows the dashboard’s accepts to the recent decisions and filters them by MAC', async () => {
    // A real accept (an enrolled device with a session) and a real reject (a device without one).
    const accepted = '3c:22:fb:10:20:a1';
    const rejected = '3c:22:fb:10:20:a2';
    const ca = await readFile(join(t.dir, 'certs', 'ca.pem'));
    const enroll = await httpsCall(t.gateway.ports.https, ca, '/api/agent/v1/enroll', {
      json: { username: SLAPD_USERS.obrien.uid, password: SLAPD_USERS.obrien.password, device: { mac: accepted, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } },
    });
    expect(enroll.status).toBe(201);
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(accepted))).reply).toBe('Access-Accept');
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(rejected))).reply).toBe('Access-Reject');
    t.gateway.audit.flush();

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await login(page, SLAPD_USERS.obrien);
    await Promise.all([page.waitForNavigation(), page.locator('.stats a', { hasText: 'RADIUS accepts, 24 h' }).click()]);
    expect(await page.locator('h1').innerText()).toBe('Recent decisions');
    expect(await page.locator('#outcome').inputValue()).toBe('accept');
    expect(await page.locator('main').innerText()).toContain('the last 24 hours from the audit trail, newest first, at most 500 rows');

    const headers = await page.locator('#h-decisions ~ .wrap thead th').allInnerTexts();
    expect(headers).toEqual(['Time (UTC)', 'Outcome', 'Reason', 'NAS', 'MAC', 'User', 'Method', 'Attributes sent']);
    const rows = () => page.locator('#h-decisions ~ .wrap tbody tr');
    const cells = async (i: number) => Object.fromEntries((await rows().nth(i).locator('td').allInnerTexts()).map((v, j) => [headers[j], v]));
    // Newest first: this test's accept heads the list of accepts.
    expect((await cells(0)).MAC).toBe(accepted);

    // Any outcome, one MAC: only that device's reject, with its reason and router.
    await page.selectOption('#outcome', '');
    await page.fill('#mac', rejected.toUpperCase().replaceAll(':', '-'));
    await submit(page, 'Filter');
    expect(new URL(page.url()).searchParams.get('mac')).toBe(rejected.toUpperCase().replaceAll(':', '-'));
    expect(await rows().count()).toBe(1);
    expect(await cells(0)).toMatchObject({ Outcome: 'reject', Reason: 'no session', NAS: 'test-nas', MAC: rejected, Method: 'mab' });
    expect((await cells(0))['Time (UTC)']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00$/);
    // Drops have no MAC: the page says so instead of listing the router's drops under this device.
    expect(await page.locator('main').innerText()).toContain('a drop has no MAC, so a MAC filter shows none');

    await page.fill('#mac', accepted);
    await submit(page, 'Filter');
    expect(await rows().count()).toBe(1);
    const accept = await cells(0);
    expect(accept).toMatchObject({ Outcome: 'accept', NAS: 'test-nas', MAC: accepted, User: SLAPD_USERS.obrien.uid, Method: 'mab' });
    expect(accept.Reason).not.toBe('');
    // What the accept carried: the session's time left (test-nas adds nothing else).
    expect(accept['Attributes sent']).toMatch(/^Session-Timeout=\d+$/);
    await page.screenshot({ path: join(SHOTS, 'admin-decisions.png'), fullPage: true });

    // The drop of the dashboard test above (a router signing with another secret), as a row with its likely cause.
    await page.selectOption('#outcome', 'drop');
    await page.fill('#mac', '');
    await submit(page, 'Filter');
    expect(await page.locator('main').innerText()).toContain('kept in memory only; they are not in the audit trail');
    const drop = await cells(0);
    expect(drop).toMatchObject({ Outcome: 'drop', NAS: 'test-nas', MAC: '', User: '', Method: '', 'Attributes sent': '' });
    expect(drop.Reason).toMatch(/^bad_message_authenticator\nwrong shared secret on NAS test-nas\? /);

    // Reading the decisions is recorded like any audit search: who, what filter, how many rows.
    t.gateway.audit.flush();
    const reads: Array<Record<string, unknown>> = [];
    queryAudit(t.config.audit.dir, { type: 'audit.queried', user: SLAPD_USERS.obrien.uid }, (m) => reads.push(m.record));
    expect(reads.slice(-4).map((r) => [JSON.parse(r.filter as string).decisions, r.records])).toEqual([
      [{ outcome: 'accept' }, expect.any(Number)],
      [{ mac: rejected }, 1],
      [{ mac: accepted }, 1],
      // Drops are not audit records: none counted.
      [{ outcome: 'drop' }, 0],
    ]);

    // Helpdesk may not read the trail: no links on its dashboard, and the page is refused.
    const helpdesk = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await login(helpdesk, SLAPD_USERS.alice);
    expect(await helpdesk.locator('.stats a').count()).toBe(0);
    expect((await helpdesk.goto(`${t.baseUrl}/admin/decisions`))?.status()).toBe(403);
  });
});
