import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../../helpers/audit-records.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { call as httpCall, formOf, IPHONE_UA, type CallOptions, type Reply } from '../../helpers/http.js';
import { radclient } from '../../helpers/radclient.js';
import { nextWallClock } from '../../helpers/wall-clock.js';
import { ShiftedClock } from '../../helpers/wall-clock.js';

/**
 * The daily path over real HTTP against a real gateway (users file, SQLite, radclient as
 * the router's accounting): the next-morning login already holds the owner's user name, a
 * Wi-Fi login opens My devices in the same browser without a second password (and only
 * there), the list says which entry is this device and names it by model, and a directory
 * outage is told in plain words with one time to try again.
 */

let t: TestGateway;
const clock = new ShiftedClock();

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

function cookieOf(r: Reply, name: string): string | undefined {
  return ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((x) => x.startsWith(`${name}=`));
}

async function lease(mac: string, ip: string): Promise<void> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', `Acct-Session-Id = "s-${ip}-${mac}"`, `Calling-Station-Id = "${mac}"`, `Framed-IP-Address = ${ip}`]);
  expect(r.reply).toBe('Accounting-Response');
}

/** Posts the login form of a start page with the employee's password. */
async function submitStartForm(ip: string, page: Reply, password = t.employeePassword, ua = IPHONE_UA): Promise<Reply> {
  const form = formOf(page);
  return call('POST', new URL(form.action).pathname, { ip, ua, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password } });
}

function fields(html: string): string[] {
  return [...html.matchAll(/<input type="(?:text|password)"[^>]*>/g)].map((m) => m[0]);
}

beforeAll(async () => {
  t = await startTestGateway({ clock, configure: (doc) => void (doc.portal.trust_proxy = true) });
});
afterAll(async () => {
  await t?.close();
});

describe('after a Wi-Fi login, My devices in the same browser', () => {
  const phone = { ip: '10.7.0.1', mac: '3c:07:00:00:00:01' };

  it('opens without a second password after enrolling, marks this device and names it by model', async () => {
    await lease(phone.mac, phone.ip);
    const enrolled = await submitStartForm(phone.ip, await call('GET', '/portal', { ip: phone.ip }));
    expect(enrolled.status).toBe(303);
    const visit = cookieOf(enrolled, 'eg_manage');
    expect(visit).toBeDefined();
    // The same kind of cookie a password login on My devices sets.
    expect(visit).toMatch(/; path=\/portal;/);
    expect(visit).toMatch(/samesite=strict/i);
    expect(visit).toMatch(/httponly/i);
    const list = await call('GET', '/portal/devices', { ip: phone.ip, cookie: visit!.split(';')[0]! });
    expect(list.status).toBe(200);
    expect(list.body).not.toContain('name="password"');
    expect(list.body).toContain('<h2>iPhone <span class="muted">(iOS 17.5)</span></h2>\n<p><b>This device</b>');
    expect(list.body).not.toContain('iPhone or iPad');
    expect(auditRecords(t)).toContainEqual(expect.objectContaining({ type: 'my_devices.opened', user: 'employee', via: 'wifi_login', mac: phone.mac }));
  });

  it('does not open from another address or in a browser without the cookie', async () => {
    const enrolled = await submitStartForm('10.7.0.2', await (async () => {
      await lease('3c:07:00:00:00:02', '10.7.0.2');
      return call('GET', '/portal', { ip: '10.7.0.2' });
    })());
    const cookie = cookieOf(enrolled, 'eg_manage')!.split(';')[0]!;
    expect((await call('GET', '/portal/devices', { ip: '10.7.0.3', cookie })).body).toContain('name="password"');
    expect((await call('GET', '/portal/devices', { ip: '10.7.0.2' })).body).toContain('name="password"');
    // Its forms still need the visit's own token.
    const forged = await call('POST', '/portal/devices/unenroll', { ip: '10.7.0.2', cookie, form: { _csrf: 'forged', mac: '3c:07:00:00:00:02', reason: 'lost' } });
    expect(forged.status).toBe(403);
  });

  it('a wrong password opens nothing', async () => {
    await lease('3c:07:00:00:00:04', '10.7.0.4');
    const refused = await submitStartForm('10.7.0.4', await call('GET', '/portal', { ip: '10.7.0.4' }), 'not-the-password');
    expect(refused.status).toBe(401);
    expect(cookieOf(refused, 'eg_manage')).toBeUndefined();
  });
});

describe('the next morning', () => {
  const phone = { ip: '10.7.1.1', mac: '3c:07:00:00:01:01' };

  it('the login page holds the owner\'s user name; the login opens My devices too', async () => {
    await lease(phone.mac, phone.ip);
    expect((await submitStartForm(phone.ip, await call('GET', '/portal', { ip: phone.ip }))).status).toBe(303);
    clock.offsetMs = nextWallClock(clock.now(), t.config.session.daily_cutoff, t.config.session.time_zone).getTime() - Date.now() + 3600_000;
    const page = await call('GET', '/portal', { ip: phone.ip });
    expect(page.body).toContain('<h1>Log in to the Wi-Fi</h1>');
    const [username, password] = fields(page.body);
    expect(username).toContain('value="employee"');
    expect(password).not.toContain('value=');
    const loggedIn = await submitStartForm(phone.ip, page);
    expect(loggedIn.status).toBe(303);
    const cookie = cookieOf(loggedIn, 'eg_manage')!.split(';')[0]!;
    const list = await call('GET', '/portal/devices', { ip: phone.ip, cookie });
    expect(list.body).toContain('Devices enrolled to <b>employee</b>');
  });
});

describe('a directory outage', () => {
  const phone = { ip: '10.7.2.1', mac: '3c:07:00:00:02:01' };
  const usersFile = () => join(t.dir, 'users.yaml');

  it('is told in plain words, with one time to try again and no field marked invalid; the details go to the log', async () => {
    await lease(phone.mac, phone.ip);
    await rename(usersFile(), `${usersFile()}.away`);
    try {
      // The first failure: the directory itself answered with an error.
      const first = await submitStartForm(phone.ip, await call('GET', '/portal', { ip: phone.ip }));
      // Then the backoff refuses at once, with its own wait.
      await submitStartForm(phone.ip, await call('GET', '/portal', { ip: phone.ip }));
      const backoff = await submitStartForm(phone.ip, await call('GET', '/portal', { ip: phone.ip }));
      for (const r of [first, backoff]) {
        expect(r.status).toBe(503);
        expect(r.body).toContain('We cannot check passwords right now: the sign-in service is not answering. This is a problem on our side, not with your password.');
        expect(r.body).not.toContain('users.yaml');
        expect(r.body).not.toMatch(/directory is unavailable|next try/i);
        for (const f of fields(r.body)) {
          expect(f).not.toContain('aria-invalid');
          expect(f).toContain('aria-describedby="login-error"');
        }
        // The page and Retry-After give the same time, and only one.
        const seconds = Number(r.headers['retry-after']);
        const said = [...r.body.matchAll(/try again in ([^.]+)\./g)].map((m) => m[1]);
        expect(said).toEqual([seconds === 60 ? 'a minute' : `${seconds} second${seconds === 1 ? '' : 's'}`]);
      }
      expect(first.headers['retry-after']).toBe('60');
      expect(Number(backoff.headers['retry-after'])).toBeLessThan(60);
      expect(t.logs.text()).toContain('users.yaml cannot be read (ENOENT)');
    } finally {
      await rename(`${usersFile()}.away`, usersFile());
    }
  });
});
