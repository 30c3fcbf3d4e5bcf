import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call as httpCall, formOf, IPHONE_UA, type CallOptions, type Reply } from '../../helpers/http.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * enrollment.platforms and enrollment.min_os_version over real HTTP against a real gateway
 * (SQLite file, users file, radclient as the router): a platform that is switched off is
 * refused on every way in (the start page, the "this is an iPad" form, the enrollment form
 * itself, the agent API), and an OS version the browser does not tell never passes a minimum.
 */

const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
/** Apple's captive assistant before its sheet opens: iOS, with no version. */
const CAPTIVE_ASSISTANT_UA = 'CaptiveNetworkSupport-481.0.1 wispr';
const mac_safari = (version: string) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${version} Safari/605.1.15`;
const MAC_CHROME_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

let t: TestGateway;

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

function pathOf(location: unknown): string {
  const u = new URL(String(location));
  return u.pathname + u.search;
}

async function lease(mac: string, ip: string): Promise<void> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', `Acct-Session-Id = "s-${ip}"`, `Calling-Station-Id = "${mac}"`, `Framed-IP-Address = ${ip}`]);
  expect(r.reply).toBe('Accounting-Response');
}

async function radiusAnswer(mac: string): Promise<string | undefined> {
  return (await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply;
}

/** POST JSON to the agent API as a TLS-terminating proxy would pass it on (X-Forwarded-Proto: https). */
function agentApi(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const url = new URL(path, t.httpUrl);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        method: 'POST',
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), Accept: 'application/json', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '10.17.9.9' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.enrollment = { device_limit: 0, randomised_macs: 'accept', platforms: { android: false }, min_os_version: { ios: '16' } };
    },
  });
});
afterAll(async () => {
  await t?.close();
});

describe('a platform switched off (enrollment.platforms.android: false)', () => {
  it('the start page refuses it before a password is asked for, and names what is open', async () => {
    await lease('3c:17:00:00:00:01', '10.17.0.1');
    const r = await call('GET', '/portal', { ip: '10.17.0.1', ua: ANDROID_UA });
    expect(r.status).toBe(200);
    expect(r.body).toContain('This Wi-Fi is not open to Android devices.');
    expect(r.body).toContain('It is open to: iPhone and iPad, Mac, Windows, Chromebook, Linux.');
    expect(r.body).not.toContain('name="password"');
    expect(r.body).not.toContain('Download the agent');
  });

  it('the agent API refuses it after the password with 403 EG_PLATFORM_NOT_ALLOWED, and nothing is enrolled', async () => {
    const r = await agentApi('/api/agent/v1/enroll', {
      username: 'employee',
      password: t.employeePassword,
      device: { mac: '3c:17:00:00:00:02', model: 'Pixel 8', os_version: '14', agent_version: '1.0.0' },
    });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({ code: 'EG_PLATFORM_NOT_ALLOWED', platform: 'android' });
    expect(await radiusAnswer('3c:17:00:00:00:02')).toBe('Access-Reject');
    expect(t.logs.events().some((e) => e.event === 'device.refused' && e.code === 'EG_PLATFORM_NOT_ALLOWED' && e.via === 'agent')).toBe(true);
  });
});

describe('an unknown OS version does not slip past min_os_version', () => {
  it('an iOS device whose browser tells no version is refused, and told why', async () => {
    await lease('3c:17:00:00:01:01', '10.17.1.1');
    const r = await call('GET', '/portal', { ip: '10.17.1.1', ua: CAPTIVE_ASSISTANT_UA });
    expect(r.body).toContain('This device did not say which iOS version it runs; this Wi-Fi needs iOS 16 or later.');
    expect(r.body).not.toContain('name="password"');
  });

  it('"this is an iPad" from a desktop Safari is checked with Safari\'s version as the iPadOS version', async () => {
    await lease('3c:17:00:00:01:02', '10.17.1.2');
    const old = await call('GET', '/portal', { ip: '10.17.1.2', ua: mac_safari('15.6') });
    const oldForm = formOf(old);
    expect(oldForm.action).toBe(`${t.baseUrl}/portal/ipad`);
    const refused = await call('POST', pathOf(oldForm.action), { ip: '10.17.1.2', ua: mac_safari('15.6'), cookie: oldForm.cookie, form: { _csrf: oldForm.csrf } });
    expect(refused.body).toContain('This device runs iOS 15.6; this Wi-Fi needs iOS 16 or later.');
    expect(refused.body).not.toContain('name="password"');

    await lease('3c:17:00:00:01:03', '10.17.1.3');
    const fresh = await call('GET', '/portal', { ip: '10.17.1.3', ua: mac_safari('17.5') });
    const freshForm = formOf(fresh);
    const ok = await call('POST', pathOf(freshForm.action), { ip: '10.17.1.3', ua: mac_safari('17.5'), cookie: freshForm.cookie, form: { _csrf: freshForm.csrf } });
    expect(ok.body).toContain('name="password"');
  });

  it('"this is an iPad" from a browser that is not Safari (no iPadOS version) is refused', async () => {
    await lease('3c:17:00:00:01:04', '10.17.1.4');
    const page = await call('GET', '/portal', { ip: '10.17.1.4', ua: MAC_CHROME_UA });
    const form = formOf(page);
    const r = await call('POST', pathOf(form.action), { ip: '10.17.1.4', ua: MAC_CHROME_UA, cookie: form.cookie, form: { _csrf: form.csrf } });
    expect(r.body).toContain('This device did not say which iOS version it runs');
  });
});

describe('switched off while a person is on the form', () => {
  it('the enrollment form itself is refused (403), the device is not enrolled, and the iPad choice is no longer offered', async () => {
    const ip = '10.17.2.1';
    const mac = '3c:17:00:00:02:01';
    await lease(mac, ip);
    const page = await call('GET', '/portal', { ip, ua: IPHONE_UA });
    const form = formOf(page);
    expect(form.action).toBe(`${t.baseUrl}/portal/enroll`);
    await t.reconfigure((doc) => {
      doc.enrollment.platforms = { android: false, ios: false };
    });
    await lease(mac, ip);
    const r = await call('POST', pathOf(form.action), { ip, ua: IPHONE_UA, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
    expect(r.status).toBe(403);
    expect(r.body).toContain('This Wi-Fi is not open to iPhone and iPad devices.');
    expect(await radiusAnswer(mac)).toBe('Access-Reject');

    await lease('3c:17:00:00:02:02', '10.17.2.2');
    const mac_page = await call('GET', '/portal', { ip: '10.17.2.2', ua: mac_safari('17.5') });
    expect(mac_page.body).not.toContain('This is an iPad');
    expect(mac_page.body).not.toContain('iPhone and iPad</li>');
  });
});

describe('Macs switched off, iPads on (enrollment.platforms.macos: false)', () => {
  it('a Mac User-Agent gets only the iPad choice, and its flow cannot enroll a Mac even when posted to the enrollment form', async () => {
    await t.reconfigure((doc) => {
      doc.enrollment.platforms = { android: false, ios: true, macos: false };
    });
    const ip = '10.17.3.1';
    const mac = '3c:17:00:00:03:01';
    await lease(mac, ip);
    const page = await call('GET', '/portal', { ip, ua: mac_safari('17.5') });
    expect(page.body).toContain('This device is not supported');
    expect(page.body).toContain('This is an iPad');
    expect(page.body).not.toContain('name="password"');
    const form = formOf(page);
    // The hidden way: the same token posted straight to the enrollment form.
    const forged = await call('POST', '/portal/enroll', { ip, ua: mac_safari('17.5'), cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
    expect(forged.status).toBe(403);
    expect(forged.body).toContain('This Wi-Fi is not open to Mac devices.');
    expect(await radiusAnswer(mac)).toBe('Access-Reject');
  });
});
