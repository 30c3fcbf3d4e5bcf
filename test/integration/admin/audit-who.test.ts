import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_AGENT_MAX } from '../../../src/audit/events.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { hashPassword } from '../../../src/directory/file-directory.js';
import { auditRecords } from '../../helpers/audit-records.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { cookieOf, httpsCall, type HttpsCall } from '../../helpers/https.js';
import { runCli, SOURCE_RUN_MS } from '../../helpers/source.js';

/**
 * Who did what, from where, through what (docs/audit.md): a real gateway over HTTPS behind
 * a proxy (X-Forwarded-For), a person at the agent API and at My devices, admins at the
 * console and the API. Every login and admin record names its surface, address and user
 * agent; an admin's action on a device names its owner; and `audit query --user` and the
 * console's filter find a person's records whichever field names them.
 */
const BOSS = { username: 'boss', password: 'boss-password-123456', groups: ['net-admins'] };
const AUDITOR_TOKEN = 'auditor-token-0123456789abcdefghijklmnopqr';
const UA = {
  agent: 'EnrollAgent/1.0 (Android 14; Pixel 8)',
  phone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  desk: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
};
const MAC = '3c:c0:00:00:00:01';

let t: TestGateway;
let ca: Buffer;
/** A request from `ip` (through the proxy) with user agent `ua`. */
const from = (ip: string, ua: string, path: string, o: HttpsCall = {}) =>
  httpsCall(t.gateway.ports.https, ca, path, { ...o, headers: { 'X-Forwarded-For': ip, 'User-Agent': ua, ...o.headers } });
const records = (): AuditRecord[] => auditRecords(t);
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

async function consoleLogin(ip: string, password: string): Promise<{ cookie: string; csrf: string; status: number }> {
  const page = await from(ip, UA.desk, '/admin');
  const r = await from(ip, UA.desk, '/admin/login', { cookie: cookieOf(page, 'eg_admin')!, form: { _csrf: csrfOf(page.text), username: BOSS.username, password } });
  if (r.status !== 303) return { cookie: '', csrf: '', status: r.status };
  const cookie = cookieOf(r, 'eg_admin')!;
  const home = await from(ip, UA.desk, '/admin', { cookie });
  return { cookie, csrf: csrfOf(home.text), status: home.status };
}

beforeAll(async () => {
  t = await startTestGateway({
    https: true,
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.admin = { roles: { admin: ['net-admins'], helpdesk: [], auditor: [] }, api_tokens: [{ name: 'siem', role: 'auditor', token: AUDITOR_TOKEN }] };
    },
  });
  ca = readFileSync(join(t.dir, 'certs', 'ca.pem'));
  const usersFile = t.config.directory.file.path;
  const doc = parse(await readFile(usersFile, 'utf8')) as { users: Array<Record<string, unknown>> };
  doc.users.push({ username: BOSS.username, groups: BOSS.groups, password: await hashPassword(BOSS.password) });
  await writeFile(usersFile, stringify(doc));

  // The person: enrolls a phone through the agent API, then opens My devices in a browser.
  const enrolled = await from('10.9.0.1', UA.agent, '/api/agent/v1/enroll', {
    json: { username: 'employee', password: t.employeePassword, device: { mac: MAC, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } },
  });
  expect(enrolled.status, enrolled.text).toBe(201);
  const page = await from('10.9.0.2', UA.phone, '/portal/devices');
  const opened = await from('10.9.0.2', UA.phone, '/portal/devices/login', {
    cookie: cookieOf(page, 'eg_manage')!,
    form: { _csrf: csrfOf(page.text), username: 'employee', password: t.employeePassword },
  });
  expect(opened.status).toBe(303);

  // The admin: a mistyped password, a login, then blocks the phone (stolen); a bot refused.
  expect((await consoleLogin('10.9.0.3', 'not-the-password-99')).status).toBe(401);
  const admin = await consoleLogin('10.9.0.3', BOSS.password);
  expect(admin.status).toBe(200);
  const blocked = await from('10.9.0.3', UA.desk, '/admin/action', { cookie: admin.cookie, form: { _csrf: admin.csrf, action: 'block', mac: MAC, reason: 'phone reported stolen' } });
  expect(blocked.status, blocked.text).toBe(200);
  const refused = await from('10.9.0.4', 'x'.repeat(5000), `/api/admin/v1/devices/${MAC}/unblock`, { json: {}, headers: { Authorization: `Bearer ${AUDITOR_TOKEN}` } });
  expect(refused.status).toBe(403);
});
afterAll(async () => t?.close());

describe('who, from where, through what', () => {
  it('every login and admin record names its surface, client address and user agent', () => {
    const all = records();
    const one = (type: string, extra: Record<string, unknown> = {}) => all.find((r) => r.type === type && Object.entries(extra).every(([k, v]) => r[k] === v));
    expect(one('login.succeeded', { surface: 'agent_api' })).toMatchObject({ user: 'employee', mac: MAC, ip: '10.9.0.1', user_agent: UA.agent });
    expect(one('login.succeeded', { surface: 'my_devices' })).toMatchObject({ user: 'employee', ip: '10.9.0.2', user_agent: UA.phone });
    expect(one('my_devices.opened')).toMatchObject({ user: 'employee', via: 'password', surface: 'my_devices', ip: '10.9.0.2', user_agent: UA.phone });
    expect(one('admin.login_failed')).toMatchObject({ user: 'boss', code: 'EG_INVALID_CREDENTIALS', surface: 'console', ip: '10.9.0.3', user_agent: UA.desk });
    expect(one('admin.logged_in')).toMatchObject({ admin: 'boss', surface: 'console', ip: '10.9.0.3', user_agent: UA.desk });
    // A user agent is the client's to fill: bounded.
    expect(one('admin.refused')).toMatchObject({ admin: 'api:siem', action: 'devices.unblock', surface: 'api', ip: '10.9.0.4', user_agent: 'x'.repeat(USER_AGENT_MAX) });
  });

  it("an admin's block names the device's owner, on the block and on the session it ended, with where the admin acted from", () => {
    const all = records();
    const acting = { by: 'boss', surface: 'console', ip: '10.9.0.3', user_agent: UA.desk };
    expect(all.find((r) => r.type === 'device.blocked')).toMatchObject({ mac: MAC, user: 'employee', reason: 'phone reported stolen', ...acting });
    expect(all.find((r) => r.type === 'session.revoked')).toMatchObject({ mac: MAC, user: 'employee', reason: 'blocked', ...acting });
  });

  it('never records a password', () => {
    const text = JSON.stringify(records());
    expect(text).not.toContain(t.employeePassword);
    expect(text).not.toContain(BOSS.password);
    expect(text).not.toContain('not-the-password-99');
    expect(text).not.toContain(AUDITOR_TOKEN);
  });
});

describe('one person, every record', () => {
  it('audit query --user finds the admin’s own logins and refusals, and the owner’s blocked phone', async () => {
    t.gateway.audit.flush();
    const query = (user: string) => runCli(['audit', 'query', '--config', t.configFile, '--user', user], { cwd: t.dir });
    const [boss, employee, bot] = await Promise.all([query('boss'), query('employee'), query('api:siem')]);
    const types = (out: string) => out.trim().split('\n').map((l) => (JSON.parse(l) as AuditRecord).type);
    expect(types(boss.stdout)).toEqual(['admin.login_failed', 'admin.logged_in', 'device.blocked', 'session.revoked']);
    expect(types(employee.stdout)).toEqual(['login.succeeded', 'device.enrolled', 'session.issued', 'login.succeeded', 'my_devices.opened', 'device.blocked', 'session.revoked']);
    expect(types(bot.stdout)).toEqual(['admin.refused']);
  }, 3 * SOURCE_RUN_MS);

  it('the console’s user filter finds the same records', async () => {
    const admin = await consoleLogin('10.9.0.3', BOSS.password);
    const page = await from('10.9.0.3', UA.desk, '/admin/audit?user=boss&type=admin.', { cookie: admin.cookie });
    expect(page.status).toBe(200);
    const events = [...page.text.matchAll(/<td>(admin\.[a-z_]+)<\/td>/g)].map((m) => m[1]);
    expect(events).toEqual(['admin.login_failed', 'admin.logged_in', 'admin.logged_in']);
  });
});

describe('reading the trail is recorded', () => {
  it('a console search and an API query are audit.queried, with who, from where and how many; a search of the reads is not', async () => {
    const admin = await consoleLogin('10.9.0.3', BOSS.password);
    const since = records().length;
    const shown = await from('10.9.0.3', UA.desk, `/admin/audit?mac=${MAC}`, { cookie: admin.cookie });
    const rows = [...shown.text.matchAll(/<td class="mono">3c:c0:00:00:00:01<\/td>/g)].length;
    expect(rows).toBeGreaterThan(0);
    const api = await from('10.9.0.4', UA.agent, '/api/admin/v1/audit?type=device.*', { headers: { Authorization: `Bearer ${AUDITOR_TOKEN}` } });
    expect(api.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      expect((await from('10.9.0.3', UA.desk, '/admin/audit?type=audit.queried', { cookie: admin.cookie })).status).toBe(200);
    }
    const reads = records()
      .slice(since)
      // The command line's queries of the test before reach the trail through the spool, at any time.
      .filter((r) => r.type === 'audit.queried' && !String(r.by).startsWith('cli:'));
    expect(reads).toHaveLength(2);
    expect(reads[0]).toMatchObject({ by: 'boss', records: rows, surface: 'console', ip: '10.9.0.3', user_agent: UA.desk });
    expect(JSON.parse(reads[0]!.filter as string)).toMatchObject({ mac: MAC });
    expect(reads[1]).toMatchObject({ by: 'api:siem', records: api.json.records.length, surface: 'api', ip: '10.9.0.4' });
  });
});
