import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call as httpCall, formOf, IPHONE_UA, type CallOptions, type Reply } from '../../helpers/http.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { download as downloadFile, leaseTo, macAuthReply } from '../../helpers/device-requests.js';
import { ShiftedClock } from '../../helpers/wall-clock.js';
import { verifiedProfile as verifiedBy } from '../../helpers/signed-profile.js';

/**
 * The pages issue 4 adds, over real HTTP against a real gateway (SQLite file, users
 * file, radclient as the router, openssl for what we sign): the iOS profile links,
 * "My devices" with unenroll, the device-limit page, and policy refusals shown before
 * a password is asked for.
 */

const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const OLD_IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1';

let t: TestGateway;
const clock = new ShiftedClock();
const work = mkdtempSync(join(tmpdir(), 'enrollgate-pages-'));

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

/** GET returning the raw bytes. */
const download = (path: string, ip: string) => downloadFile(t, path, ip, IPHONE_UA);

const lease = (mac: string, ip: string) => leaseTo(t, mac, ip);

const radiusAnswer = (mac: string) => macAuthReply(t, mac);

/** The path (with query) of an absolute URL into the gateway. */
function pathOf(location: unknown): string {
  const u = new URL(String(location));
  return u.pathname + u.search;
}

function cookieOf(r: Reply, name: string): string {
  const c = ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((x) => x.startsWith(`${name}=`));
  if (!c) throw new Error(`no ${name} cookie (status ${r.status})`);
  return c.split(';')[0]!;
}

/** Enrolls an iPhone at `ip` through the registration page; returns the answer to the form. */
async function enrollIphone(ip: string, mac: string, password = t.employeePassword, ua = IPHONE_UA): Promise<Reply> {
  await lease(mac, ip);
  const page = await call('GET', '/portal', { ip, ua });
  expect(page.status).toBe(200);
  const form = formOf(page);
  return call('POST', pathOf(form.action), { ip, ua, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password } });
}

/** openssl's verdict on a signed profile, and the plist inside. */
function verifyProfile(body: Buffer): { ok: boolean; plist: string } {
  try {
    return { ok: true, plist: verifiedBy(t, body) };
  } catch {
    return { ok: false, plist: '' };
  }
}

/** Logs in to "My devices" from `ip`; returns the visit cookie. */
async function loginToMyDevices(ip: string, password = t.employeePassword): Promise<{ cookie: string; reply: Reply }> {
  const page = await call('GET', '/portal/devices', { ip });
  expect(page.status).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const anon = cookieOf(page, 'eg_manage');
  const reply = await call('POST', '/portal/devices/login', { ip, cookie: anon, form: { _csrf: csrf, username: 'employee', password } });
  return { cookie: reply.status === 303 ? cookieOf(reply, 'eg_manage') : anon, reply };
}

beforeAll(async () => {
  t = await startTestGateway({
    clock,
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.enrollment = { device_limit: 2, min_os_version: { ios: '16' }, randomised_macs: 'refuse' };
      doc.ios = {
        profile: { identifier: 'org.example.test', link_ttl_seconds: 120 },
        wifi: [
          { ssid: 'Staff', security: 'wpa2-personal', password: 'correct horse battery' },
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

describe('the iOS enrollment profile', () => {
  const ip = '10.4.0.1';
  const mac = '3c:00:00:00:00:01'; // universally administered: a device MAC
  let linkPath = '';

  it('after enrolling, the page offers a one-time link and says to open it in Safari', async () => {
    const r = await enrollIphone(ip, mac);
    expect(r.status).toBe(303);
    const page = pathOf(r.headers.location);
    expect(page).toMatch(/^\/portal\/profile\?d=[A-Za-z0-9_-]{32}$/);
    const offered = await call('GET', page, { ip });
    expect(offered.status).toBe(200);
    expect(offered.body).toContain('Safari');
    expect(offered.body).toMatch(/works <b>once<\/b>/);
    linkPath = pathOf(/<a class="btn" href="([^"]+)">Download the Wi-Fi profile/.exec(offered.body)![1]);
    expect(linkPath).toMatch(/^\/portal\/profile\/[A-Za-z0-9_-]{32}$/);
    expect(await radiusAnswer(mac)).toBe('Access-Accept');
  });

  it('the link does not work from another address', async () => {
    const other = await download(linkPath, '10.4.0.99');
    expect(other.status).toBe(410);
  });

  it('downloads once: a signed profile that openssl verifies against the CA, then 410', async () => {
    const first = await download(linkPath, ip);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/x-apple-aspen-config');
    expect(String(first.headers['content-disposition'])).toMatch(/^attachment; filename="[A-Za-z0-9._-]+\.mobileconfig"$/);
    expect(first.headers['cache-control']).toBe('no-store');
    const verified = verifyProfile(first.body);
    expect(verified.ok).toBe(true);
    expect(verified.plist).toContain('<string>Staff</string>');
    expect(verified.plist).toContain('com.apple.security.pkcs12');
    const flipped = Buffer.from(first.body);
    const at = flipped.indexOf('Staff-Secure');
    flipped[at] = flipped[at]! ^ 0x01;
    expect(verifyProfile(flipped).ok).toBe(false);
    const again = await download(linkPath, ip);
    expect(again.status).toBe(410);
    expect(again.body.toString()).toMatch(/expired or was already used/);
  });

  it('the online page lets the owner log in again for a new link; a wrong password is refused', async () => {
    const online = await call('GET', '/portal', { ip });
    expect(online.body).toContain('You are online');
    const form = formOf(online);
    expect(form.action).toBe(`${t.baseUrl}/portal/profile`);
    const wrong = await call('POST', '/portal/profile', { ip, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: 'wrong-password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('Wrong username or password');
    const retry = formOf(wrong);
    const ok = await call('POST', '/portal/profile', { ip, cookie: retry.cookie, form: { _csrf: retry.csrf, username: 'employee', password: t.employeePassword } });
    expect(ok.status).toBe(303);
    expect(pathOf(ok.headers.location)).toMatch(/^\/portal\/profile\?d=/);
  });

  it('a link expires after link_ttl_seconds even if unused', async () => {
    const online = await call('GET', '/portal', { ip });
    const form = formOf(online);
    const ok = await call('POST', '/portal/profile', { ip, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
    const page = pathOf(ok.headers.location);
    clock.offsetMs = 121_000;
    try {
      const expired = await call('GET', page, { ip });
      expect(expired.status).toBe(410);
      const id = new URL(page, t.httpUrl).searchParams.get('d')!;
      expect((await download(`/portal/profile/${id}`, ip)).status).toBe(410);
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('the root certificate profile is signed and verifies too', async () => {
    const r = await download('/portal/ca.mobileconfig', '10.4.0.50');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-apple-aspen-config');
    const verified = verifyProfile(r.body);
    expect(verified.ok).toBe(true);
    expect(verified.plist).toContain('com.apple.security.root');
  });

  it('made-up and malformed link ids are a 410, never a 500', async () => {
    for (const id of ['x', 'A'.repeat(32), '..%2F..%2Fetc%2Fpasswd', 'A'.repeat(500)]) {
      const r = await download(`/portal/profile/${id}`, ip);
      expect(r.status).toBe(410);
    }
    expect((await call('GET', '/portal/profile?d=nope', { ip })).status).toBe(410);
  });
});

describe('policy, told before a password is asked for', () => {
  it('an iPhone older than the minimum iOS version is told which version it needs', async () => {
    await lease('3c:00:00:00:01:01', '10.4.1.1');
    const r = await call('GET', '/portal', { ip: '10.4.1.1', ua: OLD_IPHONE_UA });
    expect(r.status).toBe(200);
    expect(r.body).toContain('Update this device first');
    expect(r.body).toMatch(/16/);
    expect(r.body).not.toContain('name="password"');
  });

  it('a randomised (locally administered) MAC is told how to use the device address', async () => {
    await lease('3e:00:00:00:01:02', '10.4.1.2');
    const r = await call('GET', '/portal', { ip: '10.4.1.2', ua: ANDROID_UA });
    expect(r.body).toContain('Use the device address on this network');
    expect(r.body).toMatch(/Use device MAC/);
    expect(r.body).not.toContain('name="password"');
  });
});

describe('My devices', () => {
  const phone = { ip: '10.4.2.1', mac: '3c:00:00:00:02:01' };

  it('asks for a login; a wrong password or a missing form token is refused', async () => {
    const wrong = await loginToMyDevices('10.4.2.50', 'not-the-password');
    expect(wrong.reply.status).toBe(401);
    expect(wrong.reply.body).toContain('Wrong username or password');
    const noToken = await call('POST', '/portal/devices/login', { ip: '10.4.2.50', form: { username: 'employee', password: t.employeePassword } });
    expect(noToken.status).toBe(403);
  });

  it('lists the devices with their session; unenrolling one (confirmed, with a reason) ends its RADIUS acceptance', async () => {
    expect((await enrollIphone(phone.ip, phone.mac)).status).toBe(303);
    expect(await radiusAnswer(phone.mac)).toBe('Access-Accept');
    // Managed from another device: a laptop at another address.
    const laptop = '10.4.2.60';
    const { cookie, reply } = await loginToMyDevices(laptop);
    expect(reply.status).toBe(303);
    const list = await call('GET', '/portal/devices', { ip: laptop, cookie });
    expect(list.status).toBe(200);
    expect(list.body).toContain(phone.mac);
    expect(list.body).toMatch(/Wi-Fi access<\/dt><dd>until /);
    const confirm = await call('GET', `/portal/devices/unenroll?mac=${encodeURIComponent(phone.mac)}`, { ip: laptop, cookie });
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('Unenroll this device?');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    const noReason = await call('POST', '/portal/devices/unenroll', { ip: laptop, cookie, form: { _csrf: csrf, mac: phone.mac } });
    expect(noReason.status).toBe(400);
    expect(await radiusAnswer(phone.mac)).toBe('Access-Accept');
    const forged = await call('POST', '/portal/devices/unenroll', { ip: laptop, cookie, form: { _csrf: 'forged', mac: phone.mac, reason: 'lost' } });
    expect(forged.status).toBe(403);
    const done = await call('POST', '/portal/devices/unenroll', { ip: laptop, cookie, form: { _csrf: csrf, mac: phone.mac, reason: 'lost' } });
    expect(done.status).toBe(303);
    expect(pathOf(done.headers.location)).toBe('/portal/devices?done=unenrolled');
    expect(await radiusAnswer(phone.mac)).toBe('Access-Reject');
    const after = await call('GET', '/portal/devices?done=unenrolled', { ip: laptop, cookie });
    expect(after.body).toContain('Its Wi-Fi access has ended');
    expect(after.body).not.toContain(phone.mac);
  });

  it("cannot see or unenroll someone else's or an unknown device, and the visit is bound to its address", async () => {
    const laptop = '10.4.2.61';
    const { cookie } = await loginToMyDevices(laptop);
    const unknown = await call('GET', '/portal/devices/unenroll?mac=3c:99:99:99:99:99', { ip: laptop, cookie });
    expect(unknown.status).toBe(404);
    const garbage = await call('GET', '/portal/devices/unenroll?mac=<script>', { ip: laptop, cookie });
    expect(garbage.status).toBe(404);
    expect(garbage.body).not.toContain('<script>');
    const elsewhere = await call('GET', '/portal/devices', { ip: '10.4.2.62', cookie });
    expect(elsewhere.body).toContain('name="password"');
  });

  it('logging out ends the visit', async () => {
    const laptop = '10.4.2.63';
    const { cookie } = await loginToMyDevices(laptop);
    const list = await call('GET', '/portal/devices', { ip: laptop, cookie });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(list.body)![1]!;
    const out = await call('POST', '/portal/devices/logout', { ip: laptop, cookie, form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    const again = await call('GET', '/portal/devices', { ip: laptop, cookie });
    expect(again.body).toContain('name="password"');
  });
});

describe('the device limit', () => {
  it('at the limit the person sees their devices, unenrolls one and can then enroll the new one', async () => {
    // The limit is 2; the first describe blocks left one device (10.4.0.1) enrolled.
    expect((await enrollIphone('10.4.3.1', '3c:00:00:00:03:01')).status).toBe(303);
    const third = await enrollIphone('10.4.3.2', '3c:00:00:00:03:02');
    expect(third.status).toBe(409);
    expect(third.body).toContain('Device limit reached');
    expect(third.body).toContain('3c:00:00:00:03:01');
    expect(await radiusAnswer('3c:00:00:00:03:02')).toBe('Access-Reject');
    // The limit page logged the person in to My devices (they typed the right password).
    const cookie = cookieOf(third, 'eg_manage');
    const confirm = await call('GET', '/portal/devices/unenroll?mac=3c:00:00:00:03:01', { ip: '10.4.3.2', cookie });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    const done = await call('POST', '/portal/devices/unenroll', { ip: '10.4.3.2', cookie, form: { _csrf: csrf, mac: '3c:00:00:00:03:01', reason: 'replaced' } });
    expect(done.status).toBe(303);
    expect((await enrollIphone('10.4.3.2', '3c:00:00:00:03:02')).status).toBe(303);
    expect(await radiusAnswer('3c:00:00:00:03:02')).toBe('Access-Accept');
    expect(await radiusAnswer('3c:00:00:00:03:01')).toBe('Access-Reject');
  });
});
