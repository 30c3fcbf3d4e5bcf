import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../../helpers/audit-records.js';
import { call as httpCall, type CallOptions, type Reply } from '../../helpers/http.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { download as downloadFile, leaseTo, macAuthReply } from '../../helpers/device-requests.js';
import { verifiedProfile as verifiedBy } from '../../helpers/signed-profile.js';

/**
 * Each platform's way from the start page to its files, over real HTTP against a real
 * gateway (SQLite file, users file, radclient as the router, openssl for what we sign): the
 * registration page, the one-time link after the login, and what is downloaded, audited.
 */

const MAC_SAFARI_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

let t: TestGateway;
const work = mkdtempSync(join(tmpdir(), 'enrollgate-platforms-'));

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

function pathOf(location: unknown): string {
  const u = new URL(String(location));
  return u.pathname + u.search;
}

/** The form posting to `path` on a page, with its token and the flow cookie. */
function formTo(reply: Reply, path: string): { csrf: string; cookie: string } {
  const form = new RegExp(`<form method="post" action="[^"]*${path}"[^>]*>\\s*<input type="hidden" name="_csrf" value="([^"]+)">`).exec(reply.body);
  const cookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('eg_flow='));
  if (!form || !cookie) throw new Error(`no form to ${path} (status ${reply.status})`);
  return { csrf: form[1]!, cookie: cookie.split(';')[0]! };
}

/** GET returning the raw bytes. */
const download = (path: string, ip: string, ua: string) => downloadFile(t, path, ip, ua);

const lease = (mac: string, ip: string) => leaseTo(t, mac, ip);

const radiusAnswer = (mac: string) => macAuthReply(t, mac);

/** Enrolls the device at `ip` through its registration page; returns the page that offers its files. */
async function enrollAndOpenFiles(ip: string, mac: string, ua: string): Promise<{ page: Reply; path: string }> {
  await lease(mac, ip);
  const start = await call('GET', '/portal', { ip, ua });
  expect(start.status).toBe(200);
  const form = formTo(start, '/portal/enroll');
  const r = await call('POST', '/portal/enroll', { ip, ua, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
  expect(r.status, r.body).toBe(303);
  const path = pathOf(r.headers.location);
  expect(path).toMatch(/^\/portal\/profile\?d=[A-Za-z0-9_-]{32}$/);
  const page = await call('GET', path, { ip, ua });
  expect(page.status).toBe(200);
  return { page, path };
}

/** openssl's verdict on a signed profile, and the plist inside. */
const verifyProfile = (body: Buffer): string => verifiedBy(t, body);

/** The device.enrolled record of a MAC. */
function enrolled(mac: string): Record<string, unknown> | undefined {
  return auditRecords(t).find((r) => r.type === 'device.enrolled' && r.mac === mac) as unknown as Record<string, unknown> | undefined;
}

function downloadsAudited(mac: string): Array<Record<string, unknown>> {
  return auditRecords(t).filter((r) => r.type === 'profile.downloaded' && r.mac === mac) as unknown as Array<Record<string, unknown>>;
}

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.ios = {
        profile: { identifier: 'org.example.test' },
        wifi: [
          { ssid: 'Staff', security: 'eap-peap', server_names: ['radius.example.org'], outer_identity: 'anonymous@example.org' },
          { ssid: 'Staff-TTLS', security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org'] },
          { ssid: 'Staff-Secure', security: 'eap-tls', server_names: ['radius.example.org'] },
        ],
      };
    },
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('macOS: the signed .mobileconfig with macOS install steps', () => {
  const ip = '10.21.0.1';
  const mac = '3c:21:00:00:00:01';

  it('a Mac registers, gets the profile page with System Settings steps, and downloads a signed profile once (audited)', async () => {
    const { page } = await enrollAndOpenFiles(ip, mac, MAC_SAFARI_UA);
    expect(page.body).toContain('made for this Mac');
    expect(page.body).toContain('<b>General → Device Management</b>');
    expect(page.body).toContain('<b>Privacy &amp; Security → Profiles</b>');
    expect(page.body).toContain('click <b>Wi-Fi</b> in the menu bar');
    // Mixed networks: the morning text names no device; nothing on the page calls the Mac a phone.
    expect(page.body).not.toMatch(/\bphone\b/);
    expect(page.body).not.toContain('Profile Downloaded');
    expect(await radiusAnswer(mac)).toBe('Access-Accept');

    const link = pathOf(/<a class="btn" href="([^"]+)">Download the Wi-Fi profile/.exec(page.body)![1]);
    const first = await download(link, ip, MAC_SAFARI_UA);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/x-apple-aspen-config');
    const plist = verifyProfile(first.body);
    expect(plist).toContain('<string>Staff-Secure</string>');
    expect(plist).toContain('com.apple.security.pkcs12');
    expect((await download(link, ip, MAC_SAFARI_UA)).status).toBe(410);
    expect(downloadsAudited(mac)).toEqual([expect.objectContaining({ user: 'employee', platform: 'macos', file: expect.stringMatching(/\.mobileconfig$/) })]);
  });

  it('is recorded as a Mac, and the online page offers a new link after a login', async () => {
    const online = await call('GET', '/portal', { ip, ua: MAC_SAFARI_UA });
    expect(online.body).toContain('You are online');
    const form = formTo(online, '/portal/profile');
    const again = await call('POST', '/portal/profile', { ip, ua: MAC_SAFARI_UA, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
    expect(again.status).toBe(303);
    expect(pathOf(again.headers.location)).toMatch(/^\/portal\/profile\?d=/);
    expect(enrolled(mac)).toMatchObject({ platform: 'macos', via: 'portal' });
    expect(enrolled(mac)).not.toHaveProperty('os_version');
  });

  it('"this is an iPad" on the Mac page turns the same visit into an iPad registration', async () => {
    await lease('3c:21:00:00:00:02', '10.21.0.2');
    const start = await call('GET', '/portal', { ip: '10.21.0.2', ua: MAC_SAFARI_UA });
    const choice = formTo(start, '/portal/ipad');
    const ipad = await call('POST', '/portal/ipad', { ip: '10.21.0.2', ua: MAC_SAFARI_UA, cookie: choice.cookie, form: { _csrf: choice.csrf } });
    expect(ipad.body).toContain('Set up this iPhone or iPad');
    const form = formTo(ipad, '/portal/enroll');
    // The Mac flow is used up: its token does not enroll anything any more.
    const stale = await call('POST', '/portal/enroll', { ip: '10.21.0.2', ua: MAC_SAFARI_UA, cookie: choice.cookie, form: { _csrf: choice.csrf, username: 'employee', password: t.employeePassword } });
    expect(stale.status).toBe(403);
    const r = await call('POST', '/portal/enroll', { ip: '10.21.0.2', ua: MAC_SAFARI_UA, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
    expect(r.status).toBe(303);
    expect(enrolled('3c:21:00:00:00:02')).toMatchObject({ platform: 'ios', os_version: '17.5' });
  });
});
