import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call as httpCall, formOf as httpFormOf, type CallOptions, type Reply } from '../../helpers/http.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { httpsCall } from '../../helpers/https.js';
import { freeTcpPort } from '../../helpers/ports.js';
import { accountingStart, radclient } from '../../helpers/radclient.js';
import { nextWallClock } from '../../helpers/wall-clock.js';

/**
 * The portal over real HTTP against a real gateway (SQLite file, users file,
 * radclient as the router). portal.trust_proxy is on so that X-Forwarded-For can
 * stand for the many client addresses a Wi-Fi network has.
 */

const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const WINDOWS_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

let t: TestGateway;

/** One request to the gateway under test (or `base`), redirects not followed. */
function call(method: string, path: string, o: CallOptions & { base?: string } = {}): Promise<Reply> {
  return httpCall(o.base ?? t.httpUrl, method, path, o);
}

function lease(mac: string, ip: string, sessionId = `s-${ip}`): Promise<void> {
  return accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, ip, sessionId);
}

/** The form's token and the flow cookie of a rendered form page. */
function formOf(reply: Reply): { csrf: string; cookie: string; action: string } {
  const form = httpFormOf(reply);
  const setCookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('eg_flow='));
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Lax/i);
  return form;
}

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.session = { daily_cutoff: '04:00', time_zone: 'Europe/Berlin' };
    },
  });
});
afterAll(async () => t?.close());

describe('captive probes', () => {
  const probes = ['/hotspot-detect.html', '/library/test/success.html', '/generate_204', '/gen_204', '/connecttest.txt', '/ncsi.txt', '/canonical.html', '/success.txt'];

  it.each(probes)('%s redirects a device without a session to the portal, whatever the Host says', async (path) => {
    const r = await call('GET', path, { ip: '10.1.0.1', host: 'evil.example.com' });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`${t.baseUrl}/portal`);
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('any other page on a foreign host is intercepted; our own host gets a 404 page', async () => {
    const foreign = await call('GET', '/news/today?x=1', { ip: '10.1.0.1', host: 'www.example.com' });
    expect(foreign.status).toBe(302);
    expect(foreign.headers.location).toBe(`${t.baseUrl}/portal`);
    const own = await call('GET', '/no-such-page', { ip: '10.1.0.1' });
    expect(own.status).toBe(404);
    expect(own.body).toContain('Page not found');
  });
});

describe('identifying the device', () => {
  it('shows the unidentified page when neither accounting nor the router says which device this is', async () => {
    const r = await call('GET', '/portal', { ip: '10.1.0.2' });
    expect(r.status).toBe(200);
    expect(r.body).toContain('<h1');
    expect(r.body).toMatch(/recogni[sz]e/i);
  });

  it('takes unsigned redirect parameters that agree with the browser address as a claim: no registration on a claim alone', async () => {
    const claim = await call('GET', '/portal?mac=AA-BB-CC-00-00-01&ip=10.1.0.3&userurl=http%3A%2F%2Fexample.com', { ip: '10.1.0.3' });
    expect(claim.body).toContain('We could not confirm this device');
    expect(claim.body).not.toContain('Set up this iPhone or iPad');
    expect(claim.body).not.toContain('name="_csrf"');
    // The router's accounting is proof: the same visit, now with a lease, is the registration.
    await lease('AA-BB-CC-00-00-01', '10.1.0.3');
    const proven = await call('GET', '/portal?mac=AA-BB-CC-00-00-01&ip=10.1.0.3', { ip: '10.1.0.3' });
    expect(proven.body).toContain('Set up this iPhone or iPad');
  });

  it("shows neither a device's owner nor its session on the strength of an unsigned parameter", async () => {
    // Alice's phone, enrolled at the portal with a session, as the router's accounting named it.
    const mac = 'AA-BB-CC-00-00-61';
    await lease(mac, '10.1.0.61');
    const page = await call('GET', '/portal', { ip: '10.1.0.61' });
    const form = formOf(page);
    const enrolled = await call('POST', form.action.replace(t.baseUrl, ''), { ip: '10.1.0.61', cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
    expect(enrolled.status).toBe(303);
    const online = await call('GET', '/portal', { ip: '10.1.0.61' });
    expect(online.body).toContain('employee');
    expect(online.body).toContain('connected to the Wi-Fi until');

    // Anyone else, naming her MAC (seen over the air) from an address accounting does not know.
    const claim = await call('GET', `/portal?mac=${mac}`, { ip: '10.1.0.62' });
    expect(claim.status).toBe(200);
    expect(claim.body).not.toContain('employee');
    expect(claim.body).not.toContain('connected to the Wi-Fi until');
    expect(claim.body).not.toContain('Enrolled to');
    // A wrong password brings the form back: still without the owner.
    const form2 = formOf(claim);
    const wrong = await call('POST', form2.action.replace(t.baseUrl, ''), { ip: '10.1.0.62', cookie: form2.cookie, form: { _csrf: form2.csrf, username: 'mallory', password: 'not-her-password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain('employee');
    expect(wrong.body).not.toContain('Enrolled to');
  });

  it.each([
    ['another IP than the browser has', '/portal?mac=AA-BB-CC-00-00-01&ip=10.1.0.99'],
    ['a malformed MAC', '/portal?mac=AA-BB-CC-00-00-0Z&ip=10.1.0.4'],
    ['a multicast MAC', '/portal?mac=01-00-5E-00-00-01'],
    ['a repeated mac parameter', '/portal?mac=AA-BB-CC-00-00-01&mac=AA-BB-CC-00-00-02'],
  ])('ignores router parameters with %s', async (_why, path) => {
    const r = await call('GET', path, { ip: '10.1.0.4' });
    expect(r.body).not.toContain('Set up this');
    expect(r.body).toMatch(/recogni[sz]e/i);
  });

  it('routes by platform: Android without an agent, Windows, ChromeOS and Linux to their registration, an unknown system to the unsupported page', async () => {
    await lease('AA-BB-CC-00-00-05', '10.1.0.5');
    const android = await call('GET', '/portal', { ip: '10.1.0.5', ua: ANDROID_UA });
    expect(android.body).toContain('<h1>Set up this Android device</h1>');
    expect(android.body).toContain('name="password"');
    expect(android.body).not.toMatch(/not (been )?configured/i);
    const windows = await call('GET', '/portal', { ip: '10.1.0.5', ua: WINDOWS_UA });
    expect(windows.body).toContain('Set up this Windows PC');
    const chromebook = await call('GET', '/portal', { ip: '10.1.0.5', ua: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36' });
    expect(chromebook.body).toContain('<h1>Set up this Chromebook</h1>');
    const linux = await call('GET', '/portal', { ip: '10.1.0.5', ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' });
    expect(linux.body).toContain('<h1>Set up this Linux computer</h1>');
    const other = await call('GET', '/portal', { ip: '10.1.0.5', ua: 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)' });
    expect(other.body).toContain('not supported');
    expect(other.body).toContain('Linux computers');
  });
});

describe('"this is an iPad" (desktop Safari)', () => {
  const MAC_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

  it('is a form bound to the visit: refused without its flow, with another token or from another address; else the registration', async () => {
    await lease('AA-BB-CC-00-00-71', '10.1.0.71');
    const page = await call('GET', '/portal', { ip: '10.1.0.71', ua: MAC_UA });
    // A Mac's registration, with the iPad choice first (formOf takes the first form).
    expect(page.body).toContain('Set up this Mac');
    expect(page.body).toContain('This is an iPad');
    const form = formOf(page);
    const action = new URL(form.action).pathname;
    expect(action).toBe('/portal/ipad');
    const post = (o: { cookie?: string; csrf?: string; ip?: string }) =>
      call('POST', action, { ip: o.ip ?? '10.1.0.71', ua: MAC_UA, ...(o.cookie ? { cookie: o.cookie } : {}), form: { _csrf: o.csrf ?? form.csrf } });

    for (const [why, bad] of [
      ['no flow cookie', { cookie: '' }],
      // One character changed, whatever it was (a token ending in "x" made this the same token: 1 run in 64).
      ['another token', { cookie: form.cookie, csrf: `${form.csrf.slice(0, -1)}${form.csrf.endsWith('x') ? 'y' : 'x'}` }],
      ['another address', { cookie: form.cookie, ip: '10.1.0.72' }],
    ] as const) {
      const r = await post(bad);
      expect(r.status, why).toBe(403);
      expect(r.body, why).toContain('expired');
      expect(r.body, why).not.toContain('name="password"');
    }
    // The address check ended that flow: the visit starts again, and then the choice works.
    const again = formOf(await call('GET', '/portal', { ip: '10.1.0.71', ua: MAC_UA }));
    const ok = await call('POST', action, { ip: '10.1.0.71', ua: MAC_UA, cookie: again.cookie, form: { _csrf: again.csrf } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('Set up this iPhone or iPad');
    expect(formOf(ok).action).toMatch(/\/portal\/enroll$/);
  });
});

describe('enrolling over the form', () => {
  const mac = 'AA-BB-CC-00-00-10';
  const ip = '10.1.0.10';

  it('refuses a missing flow cookie, a wrong token and another address, without a 500', async () => {
    await lease(mac, ip);
    const page = await call('GET', '/portal', { ip });
    const form = formOf(page);
    const password = t.employeePassword;
    const noCookie = await call('POST', '/portal/enroll', { ip, form: { _csrf: form.csrf, username: 'employee', password } });
    expect(noCookie.status).toBe(403);
    expect(noCookie.body).toContain('This page has expired');
    const wrongToken = await call('POST', '/portal/enroll', { ip, cookie: form.cookie, form: { _csrf: `${form.csrf}x`, username: 'employee', password } });
    expect(wrongToken.status).toBe(403);
    const noToken = await call('POST', '/portal/enroll', { ip, cookie: form.cookie, form: { username: 'employee', password } });
    expect(noToken.status).toBe(403);
    const elsewhere = await call('POST', '/portal/enroll', { ip: '10.1.0.11', cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password } });
    expect(elsewhere.status).toBe(403);
  });

  it('tells an empty password and a wrong password apart, then enrolls and issues the session', async () => {
    const form = formOf(await call('GET', '/portal', { ip }));
    const post = (fields: Record<string, string>) => call('POST', '/portal/enroll', { ip, cookie: form.cookie, form: { _csrf: form.csrf, ...fields } });

    const empty = await post({ username: 'employee', password: '' });
    expect(empty.status).toBe(400);
    expect(empty.body).toContain('Enter your username and your password.');
    const wrong = await post({ username: 'employee', password: 'wrong-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('Wrong username or password');
    expect(wrong.body).toContain('value="employee"');
    const unknown = await post({ username: '<b>nobody</b>', password: 'x' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toContain('value="&lt;b&gt;nobody&lt;/b&gt;"');

    const ok = await post({ username: 'employee', password: t.employeePassword });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe(`${t.baseUrl}/portal?done=enrolled`);
    // The flow is spent: the same form cannot be replayed.
    expect((await post({ username: 'employee', password: t.employeePassword })).status).toBe(403);

    const online = await call('GET', '/portal?done=enrolled', { ip });
    expect(online.body).toContain('You are online');
    expect(online.body).toContain('Your device is enrolled.');

    const auth = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, [`User-Name = "${mac}"`, `Calling-Station-Id = "${mac}"`, 'Message-Authenticator = 0x00']);
    expect(auth.reply).toBe('Access-Accept');
  });

  it('gives the exact online answer to every probe once the device has a session', async () => {
    const expected: Record<string, [number, string]> = {
      '/hotspot-detect.html': [200, '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>'],
      '/library/test/success.html': [200, '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>'],
      '/generate_204': [204, ''],
      '/gen_204': [204, ''],
      '/connecttest.txt': [200, 'Microsoft Connect Test'],
      '/ncsi.txt': [200, 'Microsoft NCSI'],
      '/canonical.html': [200, '<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>'],
      '/success.txt': [200, 'success\n'],
    };
    for (const [path, [status, body]] of Object.entries(expected)) {
      const r = await call('GET', path, { ip, host: 'probe.example' });
      expect([path, r.status, r.body]).toEqual([path, status, body]);
    }
  });

  it('answers the RFC 8908 Captive Portal API over HTTPS with the seconds until the cut-off', async () => {
    const ca = readFileSync(join(t.dir, 'certs', 'ca.pem'));
    const api = (from: string) => httpsCall(t.gateway.ports.https, ca, '/api/captive-portal', { headers: { 'X-Forwarded-For': from, Accept: 'application/captive+json' } });
    const online = await api(ip);
    expect(online.status).toBe(200);
    expect(online.headers['content-type']).toMatch(/^application\/captive\+json/);
    expect(online.headers['cache-control']).toBe('private');
    const json = online.json as Record<string, unknown>;
    expect(json.captive).toBe(false);
    expect(json['user-portal-url']).toBe(`${t.baseUrl}/portal`);
    const now = new Date();
    // Until 04:00 on Berlin's wall clock, worked out without the gateway's own arithmetic.
    const expected = Math.floor((nextWallClock(now, '04:00', 'Europe/Berlin').getTime() - now.getTime()) / 1000);
    expect(Math.abs((json['seconds-remaining'] as number) - expected)).toBeLessThanOrEqual(2);
    expect((await api('10.1.0.200')).json).toEqual({ captive: true, 'user-portal-url': `${t.baseUrl}/portal` });
  });

  it('does not answer the Captive Portal API over plain HTTP (RFC 8908 §4: https only): 404, not the API', async () => {
    for (const from of [ip, '10.1.0.200']) {
      const plain = await call('GET', '/api/captive-portal', { ip: from });
      expect(plain.status).toBe(404);
      expect(plain.headers['content-type']).toMatch(/^application\/json/);
      expect(plain.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(plain.body)).toEqual({ error: { code: 'EG_NOT_FOUND', message: 'The Captive Portal API is only served over HTTPS (RFC 8908).' } });
    }
  });
});

describe('pages', () => {
  it('an error page gets the nonce of its stylesheet too; a redirect gets a CSP without any', async () => {
    const missing = await call('GET', '/portal/no-such-page', { ip: '10.1.0.2' });
    expect(missing.status).toBe(404);
    const nonce = /style-src 'nonce-([^']+)'/.exec(String(missing.headers['content-security-policy']))?.[1];
    expect(missing.body).toContain(`<style nonce="${nonce}">`);
    const probe = await call('GET', '/hotspot-detect.html', { ip: '10.1.0.3' });
    expect(probe.status).toBe(302);
    // A probe's answer (app.ts PROBE_HEADERS): nothing to load, nothing to frame.
    expect(probe.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('send security headers, a nonce-only CSP matching the stylesheet, no script, and stay small', async () => {
    const r = await call('GET', '/portal', { ip: '10.1.0.2' });
    const csp = String(r.headers['content-security-policy']);
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.body).toContain(`<style nonce="${nonce}">`);
    expect(r.body).not.toMatch(/<script/i);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(Buffer.byteLength(r.body)).toBeLessThan(30 * 1024);
  });

  it('answers health, readiness and metrics', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { store: 'ok', directory: 'ok' } });
    const metrics = await call('GET', '/metrics');
    expect(metrics.body).toContain('enrollgate_radius_requests_total');
    // The enrollment and the wrong passwords earlier in this file.
    expect(Number(/^enrollgate_sessions_live (\d+)$/m.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics.body).toMatch(/^enrollgate_directory_request_duration_seconds_count\{operation="authenticate",outcome="invalid_credentials"\} [1-9]/m);
    expect(metrics.body).toMatch(/^enrollgate_directory_request_duration_seconds_count\{operation="authenticate",outcome="ok"\} [1-9]/m);
    expect(metrics.body).toContain('# TYPE enrollgate_store_errors_total counter');
    expect(metrics.body).toContain('# TYPE enrollgate_radius_store_errors_total counter');
    expect(metrics.body).toContain('# TYPE enrollgate_radius_request_duration_seconds histogram');
    // Not from elsewhere (trust_proxy makes X-Forwarded-For the client address here).
    expect((await call('GET', '/metrics', { ip: '10.1.0.2' })).status).toBe(404);
    // A client cannot put 127.0.0.1 in front of what the proxy appends: only the last entry counts.
    expect((await call('GET', '/metrics', { ip: '127.0.0.1, 10.1.0.2' })).status).toBe(404);
  });
});

describe('a portal behind HTTPS', () => {
  let s: TestGateway;
  beforeAll(async () => {
    s = await startTestGateway({ https: true });
  });
  afterAll(async () => s?.close());

  it('sends plain-HTTP portal requests to the base URL, never to the Host header', async () => {
    const r = await call('GET', '/portal?mac=AA-BB-CC-00-00-20', { base: s.httpUrl, host: 'evil.example.com' });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`${s.baseUrl}/portal?mac=AA-BB-CC-00-00-20`);
    const odd = await call('GET', '//evil.example.com/portal', { base: s.httpUrl, host: 'evil.example.com' });
    expect(String(odd.headers.location ?? '')).toMatch(new RegExp(`^${s.baseUrl.replace(/\./g, '\\.')}/`));
  });

  it('sends Strict-Transport-Security over HTTPS only, never over plain HTTP (RFC 6797 §7.2)', async () => {
    const ca = readFileSync(join(s.dir, 'certs', 'ca.pem'));
    for (const path of ['/portal', '/healthz', '/generate_204', '/no-such-page']) {
      const secure = await httpsCall(s.gateway.ports.https, ca, path);
      expect([path, secure.headers['strict-transport-security']]).toEqual([path, 'max-age=15552000']);
      const plain = await call('GET', path, { base: s.httpUrl });
      expect([path, plain.headers['strict-transport-security']]).toEqual([path, undefined]);
      // The other security headers go on both.
      expect(plain.headers['x-content-type-options']).toBe('nosniff');
      // A probe over plain HTTP gets the few that mean something for its fixed answer; the rest the full set.
      const probe = path === '/generate_204';
      expect([path, plain.headers['x-frame-options'], plain.headers['content-security-policy']]).toEqual(
        probe ? [path, undefined, "default-src 'none'; frame-ancestors 'none'"] : [path, 'SAMEORIGIN', expect.stringContaining('img-src')],
      );
      expect([path, secure.headers['x-frame-options']]).toEqual([path, 'SAMEORIGIN']);
    }
  });
});

describe('when the directory is down or says no', () => {
  let d: TestGateway;
  let n: TestGateway;
  beforeAll(async () => {
    const dead = await freeTcpPort();
    d = await startTestGateway({
      configure: (doc) => {
        doc.directory = {
          kind: 'ldap',
          ldap: { url: `ldap://127.0.0.1:${dead}`, bind_dn: 'cn=svc,dc=example,dc=org', bind_password: 'service-pass', base_dn: 'dc=example,dc=org', connect_timeout_ms: 500, timeout_ms: 500 },
        };
      },
    });
    n = await startTestGateway({
      configure: (doc) => {
        doc.directory.file.required_group = 'wifi-users';
      },
    });
  });
  afterAll(async () => {
    await d?.close();
    await n?.close();
  });

  async function enrollWith(g: TestGateway, ip: string, username: string, password: string): Promise<Reply> {
    t = g;
    await lease(`AA-BB-CC-00-01-${ip.split('.').pop()!.padStart(2, '0')}`, '127.0.0.1', `dir-${ip}`);
    const page = await call('GET', '/portal');
    const form = formOf(page);
    return call('POST', '/portal/enroll', { cookie: form.cookie, form: { _csrf: form.csrf, username, password } });
  }

  it('readiness names the directory, and a login says "directory unavailable" (503)', async () => {
    t = d;
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(503);
    const json = JSON.parse(ready.body) as { checks: Record<string, string> };
    expect(json.checks.store).toBe('ok');
    expect(json.checks.directory).not.toBe('ok');
    const r = await enrollWith(d, '1', 'alice', 'alice-pass');
    expect(r.status).toBe(503);
    expect(r.body).toContain('We cannot check passwords right now: the sign-in service is not answering.');
    expect(d.logs.text()).not.toContain('service-pass');
    expect(d.logs.text()).not.toContain('alice-pass');
  });

  it('a user outside the required group is told they are not allowed (403), not "wrong password"', async () => {
    const r = await enrollWith(n, '2', 'employee', n.employeePassword);
    expect(r.status).toBe(403);
    expect(r.body).toContain('not allowed to use this Wi-Fi');
  });
});
