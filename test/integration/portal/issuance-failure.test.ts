import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareTable, TABLE } from '../../../src/store/sqlite-keyv-store.js';
import { download, leaseTo, linkOnPage, pathOf } from '../../helpers/device-requests.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { call, EDGE_UA, type Reply } from '../../helpers/http.js';
import { ShiftedClock } from '../../helpers/wall-clock.js';

/**
 * A one-time link whose files could not be made is not used up by the failure: a real
 * gateway (SQLite file, users file, radclient as the router) running past its CA's end
 * (init's CA lasts 3650 days; the gateway's clock is moved eleven years on after the start,
 * when the CA was checked), or whose SQLite file refuses to store a Windows PC's link to a
 * WLAN profile (a trigger put in the file before the start, as a full disk would refuse).
 * The page of files and the Mac's profile each answer 5xx while their files cannot be made,
 * and their link is still there to try again; once that works, the same link opens once, as
 * before.
 */

const LINUX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const MAC_SAFARI_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const ELEVEN_YEARS_MS = 11 * 366 * 86_400_000;
/** How many links to a WLAN profile the state file refuses to store, the first ones written; then it stores them. */
const REFUSED_WLAN_LINKS = 2;

const clock = new ShiftedClock();
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    clock,
    // The gateway creates its table the same way when it finds it there already (prepareTable).
    // RAISE(FAIL) keeps what the trigger changed before it (the count), and fails the insert.
    beforeStart: (dir) => {
      const db = new Database(join(dir, 'state.sqlite'));
      try {
        prepareTable(db);
        db.exec(`CREATE TABLE refused_wlan_links (left INTEGER NOT NULL); INSERT INTO refused_wlan_links VALUES (${REFUSED_WLAN_LINKS})`);
        db.exec(
          `CREATE TRIGGER refuse_wlan_links BEFORE INSERT ON ${TABLE} WHEN json_extract(NEW.value, '$.value.file.kind') = 'wlan' AND (SELECT left FROM refused_wlan_links) > 0 ` +
            `BEGIN UPDATE refused_wlan_links SET left = left - 1; SELECT RAISE(FAIL, 'refused by the test: as if the disk were full'); END`,
        );
      } finally {
        db.close();
      }
    },
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

/** Enrolls (the page the enrollment leads to is the first attempt) and opens that page once more: both replies, with the page's path. */
async function twoAttempts(ua: string, ip: string, mac: string): Promise<Array<Reply & { path: string }>> {
  const first = await enroll(ua, ip, mac);
  return [first, { ...(await call(t.httpUrl, 'GET', first.path, { ip, ua })), path: first.path }];
}

/** The error lines the gateway logged that include `text`. */
function errorsSaying(text: string): number {
  return t.logs.events().filter((e) => e.level === 50 && JSON.stringify(e).includes(text)).length;
}

/** The error lines the gateway logged saying its CA has expired. */
const expiredCaErrors = () => errorsSaying('the CA certificate expired on');

describe('a certificate that cannot be issued (the CA has expired)', () => {
  it("leaves a Linux computer's page link unused: 500 each time, then the page once the CA signs again", async () => {
    const ip = '10.41.0.1';
    const mac = '3c:41:00:00:00:01';
    clock.offsetMs = ELEVEN_YEARS_MS;
    try {
      const before = expiredCaErrors();
      const failed = await twoAttempts(LINUX_UA, ip, mac);
      const path = failed[0]!.path;
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

describe("a link the state store cannot write (a Windows PC's link to a WLAN profile)", () => {
  it("leaves a Windows PC's page link unused when its WLAN profile's link cannot be stored: 503 each time, then the page once it can", async () => {
    const ip = '10.41.0.3';
    const mac = '3c:41:00:00:00:03';
    const refusal = 'refused by the test: as if the disk were full';
    const before = errorsSaying(refusal);
    // The CA's and the PKCS#12's links are stored, the WLAN profile's (written after them) is not.
    const failed = await twoAttempts(EDGE_UA, ip, mac);
    const path = failed[0]!.path;
    for (const [i, reply] of failed.entries()) {
      expect(reply.status, `attempt ${i + 1}`).toBe(503);
      expect(reply.body).not.toContain(refusal);
    }
    expect(errorsSaying(refusal)).toBe(before + REFUSED_WLAN_LINKS);

    const page = await call(t.httpUrl, 'GET', path, { ip, ua: EDGE_UA });
    expect(page.status, page.body).toBe(200);
    expect(page.body).toMatch(/id="p12-password" class="mono" value="[A-Za-z0-9_-]{24}"/);
    const profile = await download(t, linkOnPage(t, page.body, 'Download Staff-Secure.xml'), ip, EDGE_UA);
    expect(profile.status).toBe(200);
    expect(profile.body.toString('utf8')).toContain('<name>Staff-Secure</name>');
    expect((await call(t.httpUrl, 'GET', path, { ip, ua: EDGE_UA })).status).toBe(410);
  });
});
