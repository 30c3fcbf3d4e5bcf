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
