import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../../helpers/audit-records.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { call as httpCall, formOf, IPHONE_UA, type CallOptions, type Reply } from '../../helpers/http.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * Private (randomised, locally administered) Wi-Fi addresses over real HTTP against a real
 * gateway whose `enrollment` section sets no `randomised_macs`: the config's default applies.
 */

let t: TestGateway;

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

async function lease(mac: string, ip: string): Promise<void> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', `Acct-Session-Id = "s-${ip}-${mac}"`, `Calling-Station-Id = "${mac}"`, `Framed-IP-Address = ${ip}`]);
  expect(r.reply).toBe('Accounting-Response');
}

/** The start page at this address, then its login form posted with the employee's password. */
async function enrollAt(ip: string, ua = IPHONE_UA): Promise<Reply> {
  const form = formOf(await call('GET', '/portal', { ip, ua }));
  return call('POST', new URL(form.action).pathname, { ip, ua, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
}

beforeAll(async () => {
  t = await startTestGateway({ enrollment: { device_limit: 2 }, configure: (doc) => void (doc.portal.trust_proxy = true) });
});
afterAll(async () => {
  await t?.close();
});

describe('with the default policy', () => {
  it('an iPhone on a private address enrolls like any other, recorded as randomised, and RADIUS accepts it', async () => {
    const mac = '3e:21:00:00:00:01';
    await lease(mac, '10.21.0.1');
    const start = await call('GET', '/portal', { ip: '10.21.0.1', ua: IPHONE_UA });
    expect(start.body).toContain('name="password"');
    expect(start.body).not.toContain('private (randomised) Wi-Fi address');
    expect((await enrollAt('10.21.0.1')).status).toBe(303);
    expect(auditRecords(t)).toContainEqual(expect.objectContaining({ type: 'device.enrolled', mac, randomised_mac: true }));
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');
  });
});

describe('an iPhone whose private address changed', () => {
  // The first enrollment above (3e:21:00:00:00:01) is the same iPhone's old address.
  const second = { mac: '5a:21:00:00:00:02', ip: '10.21.0.2' };
  const third = { mac: '6e:21:00:00:00:03', ip: '10.21.0.3' };

  it('after enrolling again, the online page says it seems to have a new address, names the old entry and the iOS 17 steps', async () => {
    await lease(second.mac, second.ip);
    const enrolled = await enrollAt(second.ip);
    expect(enrolled.status).toBe(303);
    const target = new URL(enrolled.headers.location as string);
    expect(target.search).toBe('?done=enrolled');
    const online = await call('GET', target.pathname + target.search, { ip: second.ip, ua: IPHONE_UA });
    expect(online.body).toContain('You are online');
    expect(online.body).toContain('This iPhone seems to have a new private address');
    // The old address in the monospace font that every MAC on the portal is set in.
    expect(online.body).toContain('(<span class="mono">3e:21:00:00:00:01</span>)');
    // The User-Agent says iOS 17.5: the on/off switch, not iOS 18's menu.
    expect(online.body).toContain('leave Private Wi-Fi Address on (one address for this network)');
    expect(online.body).not.toContain('Fixed');
    // Not on every visit to the Wi-Fi page: only right after the enrollment.
    expect((await call('GET', '/portal', { ip: second.ip, ua: IPHONE_UA })).body).not.toContain('new private address');
    // My devices, opened by that login in the same browser, says it about this device.
    const cookie = ([] as string[]).concat(enrolled.headers['set-cookie'] ?? []).find((c) => c.startsWith('eg_manage='))!.split(';')[0]!;
    const list = await call('GET', '/portal/devices', { ip: second.ip, ua: IPHONE_UA, cookie });
    expect(list.body).toContain('This iPhone seems to have a new private address');
    expect(list.body).toContain('(<span class="mono">3e:21:00:00:00:01</span>)');
  });

  it('at the device limit, the limit page says so too, with the most recent old entry and the iOS 18 steps', async () => {
    await lease(third.mac, third.ip);
    const ios18 = IPHONE_UA.replace(/OS 17_5/, 'OS 18_1');
    const limited = await enrollAt(third.ip, ios18);
    expect(limited.status).toBe(409);
    expect(limited.body).toContain('Device limit reached');
    expect(limited.body).toContain('This iPhone seems to have a new private address');
    expect(limited.body).toContain(`(<span class="mono">${second.mac}</span>)`);
    expect(limited.body).toContain('Private Wi-Fi Address → choose Fixed (or Off)');
  });

  it('an iPhone on its device MAC is told nothing of the kind', async () => {
    const g = await startTestGateway({ configure: (doc) => void (doc.portal.trust_proxy = true) });
    try {
      await radclient(g.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "s-burned"', 'Calling-Station-Id = "3c:21:00:00:00:09"', 'Framed-IP-Address = 10.21.0.9']);
      await radclient(g.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "s-private"', 'Calling-Station-Id = "3e:21:00:00:00:08"', 'Framed-IP-Address = 10.21.0.8']);
      for (const ip of ['10.21.0.8', '10.21.0.9']) {
        const form = formOf(await httpCall(g.httpUrl, 'GET', '/portal', { ip, ua: IPHONE_UA }));
        const enrolled = await httpCall(g.httpUrl, 'POST', new URL(form.action).pathname, { ip, ua: IPHONE_UA, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: g.employeePassword } });
        const online = await httpCall(g.httpUrl, 'GET', `/portal?done=enrolled`, { ip, ua: IPHONE_UA });
        expect(enrolled.status).toBe(303);
        expect(online.body).toContain('You are online');
        expect(online.body).not.toContain('new private address');
      }
    } finally {
      await g.close();
    }
  });
});
