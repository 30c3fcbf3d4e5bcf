import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, leaseTo, linkOnPage, pathOf } from '../../helpers/device-requests.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { call, type Reply } from '../../helpers/http.js';
import { ShiftedClock } from '../../helpers/wall-clock.js';

/**
 * A one-time link whose certificate could not be issued is not used up by the failure: a
 * real gateway (SQLite file, users file, radclient as the router) running past its CA's
 * end (init's CA lasts 3650 days; the gateway's clock is moved eleven years on after the
 * start, when the CA was checked). The page of files and the Mac's profile each answer 500
 * while the CA cannot sign, and their link is still there to try again; once issuing works
 * (the clock back), the same link opens once, as before.
 */

const LINUX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const MAC_SAFARI_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const ELEVEN_YEARS_MS = 11 * 366 * 86_400_000;

const clock = new ShiftedClock();
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    clock,
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.ios = {
        profile: { identifier: 'org.example.test' },
        wifi: [{ ssid: 'Staff-Secure', security: 'eap-tls', server_names: ['radius.example.org'] }],
      };
    },
  });
});
afterAll(async () => {
  await t?.close();
});

/**
 * The device at `ip` enrolls as `employee` from its registration page (the form posting to
 * /portal/enroll) and opens the page the enrollment leads to: that reply, and its path.
 */
async function enroll(ua: string, ip: string, mac: string): Promise<Reply & { path: string }> {
  await leaseTo(t, mac, ip);
  const start = await call(t.httpUrl, 'GET', '/portal', { ip, ua });
  const form = /<form method="post" action="[^"]*\/portal\/enroll"[^>]*>\s*<input type="hidden" name="_csrf" value="([^"]+)">/.exec(start.body);
  const cookie = ([] as string[]).concat(start.headers['set-cookie'] ?? []).find((c) => c.startsWith('eg_flow='));
  if (!form || !cookie) throw new Error(`no enrollment form (status ${start.status})`);
  const enrolled = await call(t.httpUrl, 'POST', '/portal/enroll', { ip, ua, cookie: cookie.split(';')[0]!, form: { _csrf: form[1]!, username: 'employee', password: t.employeePassword } });
  expect(enrolled.status, enrolled.body).toBe(303);
  const path = pathOf(t, enrolled.headers.location);
  return { ...(await call(t.httpUrl, 'GET', path, { ip, ua })), path };
}

/** The error lines the gateway logged saying its CA has expired. */
function expiredCaErrors(): number {
  return t.logs.events().filter((e) => e.level === 50 && JSON.stringify(e).includes('the CA certificate expired on')).length;
}

describe('a certificate that cannot be issued (the CA has expired)', () => {
  it("leaves a Linux computer's page link unused: 500 each time, then the page once the CA signs again", async () => {
    const ip = '10.41.0.1';
    const mac = '3c:41:00:00:00:01';
    clock.offsetMs = ELEVEN_YEARS_MS;
    try {
      const before = expiredCaErrors();
      const first = await enroll(LINUX_UA, ip, mac);
      const path = first.path;
      // The page the enrollment leads to is the first attempt.
      const failed = [first];
      failed.push({ ...(await call(t.httpUrl, 'GET', path, { ip, ua: LINUX_UA })), path });
      for (const [i, reply] of failed.entries()) {
        expect(reply.status, `attempt ${i + 1}`).toBe(500);
        // What went wrong is for the log, not the page.
        expect(reply.body).not.toContain('expired on');
        expect(reply.body).not.toMatch(/\bat .*\.[jt]s:\d+/);
      }
      expect(expiredCaErrors()).toBe(before + 2);

      clock.offsetMs = 0;
      const page = await call(t.httpUrl, 'GET', path, { ip, ua: LINUX_UA });
      expect(page.status, page.body).toBe(200);
      expect(page.body).toMatch(/id="p12-password" class="mono" value="[A-Za-z0-9_-]{24}"/);
      expect((await call(t.httpUrl, 'GET', path, { ip, ua: LINUX_UA })).status).toBe(410);
    } finally {
      clock.offsetMs = 0;
    }
  });

  it("leaves a Mac's profile link unused: 500 each time, then the signed profile once", async () => {
    const ip = '10.41.0.2';
    const mac = '3c:41:00:00:00:02';
    clock.offsetMs = ELEVEN_YEARS_MS;
    try {
      const page = await enroll(MAC_SAFARI_UA, ip, mac);
      expect(page.status).toBe(200);
      const link = linkOnPage(t, page.body, 'Download the Wi-Fi profile');
      for (let i = 0; i < 2; i++) expect((await download(t, link, ip, MAC_SAFARI_UA)).status, `attempt ${i + 1}`).toBe(500);

      clock.offsetMs = 0;
      const profile = await download(t, link, ip, MAC_SAFARI_UA);
      expect(profile.status).toBe(200);
      expect(profile.headers['content-type']).toBe('application/x-apple-aspen-config');
      expect((await download(t, link, ip, MAC_SAFARI_UA)).status).toBe(410);
    } finally {
      clock.offsetMs = 0;
    }
  });
});
