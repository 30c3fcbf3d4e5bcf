import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../../helpers/audit-records.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { call as httpCall, formOf, IPHONE_UA, type CallOptions, type Reply } from '../../helpers/http.js';
import { radclient } from '../../helpers/radclient.js';

/**
 * Naming a device in My devices over real HTTP against a real gateway: the form posts with
 * the visit's token, the name is checked, stored, shown escaped with the model beside it,
 * audited without the name, and only ever for the person's own device.
 */

let t: TestGateway;
const phone = { ip: '10.22.0.1', mac: '3c:22:00:00:00:01' };
let cookie = '';

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

function cookieOf(r: Reply, name: string): string | undefined {
  return ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((x) => x.startsWith(`${name}=`))?.split(';')[0];
}

/** Enrolls the device at this address as the employee; the eg_manage cookie the login set. */
async function enroll(d: { ip: string; mac: string }, username = 'employee', password = t.employeePassword): Promise<string | undefined> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', `Acct-Session-Id = "s-${d.ip}"`, `Calling-Station-Id = "${d.mac}"`, `Framed-IP-Address = ${d.ip}`]);
  expect(r.reply).toBe('Accounting-Response');
  const form = formOf(await call('GET', '/portal', { ip: d.ip, ua: IPHONE_UA }));
  const enrolled = await call('POST', new URL(form.action).pathname, { ip: d.ip, ua: IPHONE_UA, cookie: form.cookie, form: { _csrf: form.csrf, username, password } });
  expect(enrolled.status).toBe(303);
  return cookieOf(enrolled, 'eg_manage');
}

async function list(): Promise<Reply> {
  return call('GET', '/portal/devices', { ip: phone.ip, ua: IPHONE_UA, cookie });
}

async function rename(name: string, mac = phone.mac, csrf?: string): Promise<Reply> {
  const token = csrf ?? /name="_csrf" value="([^"]+)"/.exec((await list()).body)![1]!;
  return call('POST', '/portal/devices/rename', { ip: phone.ip, ua: IPHONE_UA, cookie, form: { _csrf: token, mac, name } });
}

beforeAll(async () => {
  t = await startTestGateway({ configure: (doc) => void (doc.portal.trust_proxy = true) });
  cookie = (await enroll(phone))!;
});
afterAll(async () => {
  await t?.close();
});

describe('naming a device in My devices', () => {
  it('stores a trimmed name, shows it escaped with the model smaller beside it, redirects inside the portal, and audits only who and which', async () => {
    const r = await rename('  Lisa’s <work> phone  ');
    expect(r.status).toBe(303);
    const target = new URL(r.headers.location as string);
    expect(target.href).toBe(`${t.httpUrl}/portal/devices?done=renamed`);
    const page = await call('GET', target.pathname + target.search, { ip: phone.ip, ua: IPHONE_UA, cookie });
    expect(page.body).toContain('The name is saved.');
    expect(page.body).toContain('<h2>Lisa’s &lt;work&gt; phone <span class="small muted">iPhone (iOS 17.5)</span></h2>');
    expect(page.body).toContain('value="Lisa’s &lt;work&gt; phone"');
    expect(page.body).not.toContain('<work>');
    const renamed = auditRecords(t).filter((x) => x.type === 'device.renamed');
    expect(renamed).toHaveLength(1);
    const { type, mac, user, ...rest } = renamed[0] as Record<string, unknown>;
    expect({ type, mac, user }).toEqual({ type: 'device.renamed', mac: phone.mac, user: 'employee' });
    expect(JSON.stringify(rest)).not.toContain('Lisa');
  });

  it('refuses 41 characters and control characters with the reason next to the field, keeping the old name', async () => {
    for (const [typed, reason] of [
      ['x'.repeat(41), 'A name can have at most 40 characters.'],
      ['Work\nphone', 'A name cannot contain line breaks, tabs or other control characters.'],
    ] as const) {
      const r = await rename(typed);
      expect(r.status).toBe(400);
      expect(r.body).toContain(`<div class="alert error" role="alert" id="rename-error"><p>${reason}</p></div>`);
      expect(r.body).toMatch(/<input type="text" id="name-1" name="name" value="[^"]*" maxlength="40" autocomplete="off" aria-invalid="true" aria-describedby="rename-error">/);
      expect(r.body).not.toContain('Work\nphone');
    }
    expect((await list()).body).toContain('<h2>Lisa’s &lt;work&gt; phone ');
    expect(auditRecords(t).filter((x) => x.type === 'device.renamed')).toHaveLength(1);
  });

  it('says why in the page language', async () => {
    const token = /name="_csrf" value="([^"]+)"/.exec((await list()).body)![1]!;
    const r = await call('POST', '/portal/devices/rename', { ip: phone.ip, ua: IPHONE_UA, cookie, language: 'de', form: { _csrf: token, mac: phone.mac, name: 'x'.repeat(41) } });
    expect(r.status).toBe(400);
    expect(r.body).toContain('<p>Ein Name darf höchstens 40 Zeichen lang sein.</p>');
  });

  it('an empty name takes the name away: the model shows again', async () => {
    expect((await rename('   ')).status).toBe(303);
    expect((await list()).body).toContain('<h2>iPhone <span class="muted">(iOS 17.5)</span></h2>');
  });

  it('needs a logged-in visit and its form token, and an enrolled device of the person\'s', async () => {
    expect((await rename('Forged', phone.mac, 'forged-token')).status).toBe(403);
    expect((await call('POST', '/portal/devices/rename', { ip: phone.ip, ua: IPHONE_UA, form: { _csrf: 'x', mac: phone.mac, name: 'No visit' } })).status).toBe(403);
    // The visit is bound to the address that logged in.
    expect((await call('POST', '/portal/devices/rename', { ip: '10.22.0.9', ua: IPHONE_UA, cookie, form: { _csrf: 'x', mac: phone.mac, name: 'Elsewhere' } })).status).toBe(403);
    // Not enrolled (or somebody else's: ownDevice answers both alike).
    expect((await rename('Not mine', '3c:22:00:00:00:99')).status).toBe(404);
    expect(auditRecords(t).filter((x) => x.type === 'device.renamed')).toHaveLength(2);
  });
});
