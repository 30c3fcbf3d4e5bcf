import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission, type Role } from '../../../src/admin/roles.js';
import { ACTION_PERMISSIONS } from '../../../src/admin/console.js';
import { queryAudit } from '../../../src/audit/query.js';
import { hashPassword } from '../../../src/directory/file-directory.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { cookieOf, httpsCall, type HttpsCall } from '../../helpers/https.js';
import { radclient } from '../../helpers/radclient.js';

/**
 * The admin console and the admin API on a real gateway over HTTPS, with people in
 * the users file in each admin group and an API token per role: every operation is
 * refused to the roles that may not do it (and the refusal audited), and what the
 * allowed ones do reaches RADIUS (radclient) and the audit trail.
 */
const ROLES: readonly Role[] = ['admin', 'helpdesk', 'auditor'];
const PEOPLE = {
  admin: { username: 'boss', password: 'boss-password-123456', groups: ['net-admins'] },
  helpdesk: { username: 'help', password: 'help-password-123456', groups: ['cn=Helpdesk,ou=groups,dc=example,dc=org'] },
  auditor: { username: 'audit', password: 'audit-password-123456', groups: ['auditors'] },
} as const;
const NOBODY = { username: 'nobody', password: 'nobody-password-123456' };
const TOKENS: Record<Role, string> = {
  admin: 'admin-token-0123456789abcdefghijklmnopqrstuv',
  helpdesk: 'helpdesk-token-0123456789abcdefghijklmnopq',
  auditor: 'auditor-token-0123456789abcdefghijklmnopqr',
};

let t: TestGateway;
let ca: Buffer;
const call = (path: string, o: HttpsCall = {}) => httpsCall(t.gateway.ports.https, ca, path, o);
const api = (role: Role | undefined, path: string, o: HttpsCall = {}) =>
  call(`/api/admin/v1${path}`, { ...o, headers: { ...(role ? { Authorization: `Bearer ${TOKENS[role]}` } : {}), ...o.headers } });

const radiusAnswer = async (mac: string) =>
  (await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, [`User-Name = "${mac}"`, `Calling-Station-Id = "${mac}"`, 'Message-Authenticator = 0x00'])).reply;

/** Enrolls a device for employee through the agent API (HTTPS), giving it a session. */
async function enrolled(mac: string): Promise<string> {
  const r = await call('/api/agent/v1/enroll', { json: { username: 'employee', password: t.employeePassword, device: { mac, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } } });
  expect(r.status, r.text).toBe(201);
  return mac;
}

const auditRecords = (type: string) => {
  t.gateway.audit.flush();
  const out: Array<Record<string, unknown>> = [];
  queryAudit(t.config.audit.dir, { type }, (m) => out.push(m.record));
  return out;
};

/** Logs a person into the console; returns the cookie and the visit's form token. */
async function consoleLogin(person: { username: string; password: string }): Promise<{ cookie: string; csrf: string; status: number; text: string }> {
  const page = await call('/admin');
  const cookie = cookieOf(page, 'eg_admin')!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
  const r = await call('/admin/login', { cookie, form: { _csrf: csrf, username: person.username, password: person.password } });
  if (r.status !== 303) return { cookie, csrf, status: r.status, text: r.text };
  const loggedIn = cookieOf(r, 'eg_admin')!;
  const home = await call('/admin', { cookie: loggedIn });
  return { cookie: loggedIn, csrf: /name="_csrf" value="([^"]+)"/.exec(home.text)![1]!, status: home.status, text: home.text };
}

beforeAll(async () => {
  t = await startTestGateway({
    https: true,
    configure: (doc) => {
      doc.admin = {
        roles: { admin: ['net-admins'], helpdesk: ['helpdesk'], auditor: ['auditors'] },
        api_tokens: ROLES.map((role) => ({ name: `${role}-bot`, role, token: TOKENS[role] })),
      };
    },
  });
  ca = readFileSync(join(t.dir, 'certs', 'ca.pem'));
  const usersFile = t.config.directory.file.path;
  const doc = parse(await readFile(usersFile, 'utf8')) as { users: Array<Record<string, unknown>> };
  for (const p of [...Object.values(PEOPLE), { ...NOBODY, groups: [] }]) doc.users.push({ username: p.username, groups: [...p.groups], password: await hashPassword(p.password) });
  await writeFile(usersFile, stringify(doc));
});
afterAll(async () => t?.close());

/** One request per permission, as the API makes it. */
const API_CALLS: Record<Permission, HttpsCall & { path: string }> = {
  'dashboard.view': { path: '/dashboard' },
  'devices.view': { path: '/devices' },
  'devices.unenroll': { path: '/devices/3c:b0:00:00:00:99/unenroll', json: { reason: 'matrix' } },
  'devices.block': { path: '/devices/3c:b0:00:00:00:98/block', json: { reason: 'matrix' } },
  'devices.unblock': { path: '/devices/3c:b0:00:00:00:98/unblock', json: {} },
  'certificates.revoke': { path: '/devices/3c:b0:00:00:00:99/certificates/0a1b/revoke', json: { reason_code: 'keyCompromise' } },
  'sessions.view': { path: '/sessions' },
  'sessions.revoke': { path: '/sessions/3c:b0:00:00:00:99/revoke', json: { reason: 'matrix' } },
  'nas.view': { path: '/nas' },
  'audit.view': { path: '/audit?type=radius.*' },
  'audit.export': { path: '/audit?export=jsonl&type=admin.refused' },
};

describe('the admin API', () => {
  it('refuses a missing or unknown token (401), and plain HTTP (403)', async () => {
    const none = await api(undefined, '/devices');
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('EG_UNAUTHORIZED');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await api(undefined, '/devices', { headers: { Authorization: `Bearer ${TOKENS.admin}x` } })).status).toBe(401);
    const plain = await call('/api/admin/v1/devices', { plainPort: Number(new URL(t.httpUrl).port), headers: { Authorization: `Bearer ${TOKENS.admin}` } });
    expect(plain.status).toBe(403);
    expect(plain.json.error.code).toBe('EG_HTTPS_REQUIRED');
  });

  it.each(ROLES)('%s: allowed exactly what its role allows, and each refusal is audited', async (role) => {
    for (const [permission, request] of Object.entries(API_CALLS) as Array<[Permission, HttpsCall & { path: string }]>) {
      const r = await api(role, request.path, request);
      if (PERMISSIONS[permission].includes(role)) {
        expect(r.status, `${role} ${permission}: ${r.text}`).not.toBe(403);
        expect(r.status, `${role} ${permission}: ${r.text}`).toBeLessThan(500);
      } else {
        expect(r.status, `${role} ${permission}`).toBe(403);
        expect(r.json.error).toMatchObject({ code: 'EG_FORBIDDEN', permission });
        expect(auditRecords('admin.refused')).toContainEqual(expect.objectContaining({ admin: `api:${role}-bot`, role, action: permission }));
      }
    }
  });

  it('helpdesk revokes a session: the next Access-Request is rejected, and the audit trail names the token', async () => {
    const mac = await enrolled('3c:b0:00:00:00:01');
    expect(await radiusAnswer(mac)).toBe('Access-Accept');
    const listed = await api('helpdesk', '/devices?user=employee');
    expect(listed.json.devices).toContainEqual(expect.objectContaining({ mac, owner: 'employee', session_ends_at: expect.any(String), blocked: false }));
    const r = await api('helpdesk', `/sessions/${mac}/revoke`, { json: { reason: 'phone reported lost' } });
    expect(r.status).toBe(200);
    expect(await radiusAnswer(mac)).toBe('Access-Reject');
    expect(auditRecords('session.revoked')).toContainEqual(expect.objectContaining({ mac, reason: 'phone reported lost', by: 'api:helpdesk-bot' }));
    // No reason: refused with the field named.
    const noReason = await api('helpdesk', `/sessions/${mac}/revoke`, { json: {} });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'reason' });
  });

  it('revoking everything of a person ends each of their sessions; block and unblock; bad MACs are 400', async () => {
    const macs = [await enrolled('3c:b0:00:00:00:02'), await enrolled('3c:b0:00:00:00:03')];
    const r = await api('admin', '/users/employee/revoke', { json: { reason: 'stolen bag' } });
    expect(r.json.revoked.sort()).toEqual(macs);
    for (const mac of macs) expect(await radiusAnswer(mac)).toBe('Access-Reject');

    const blocked = await api('helpdesk', `/devices/${macs[0]}/block`, { json: { reason: 'stolen' } });
    expect(blocked.json.blocked).toMatchObject({ mac: macs[0], by: 'api:helpdesk-bot', reason: 'stolen' });
    expect((await api('admin', `/devices/${macs[0]}/unblock`, { json: {} })).json).toEqual({ unblocked: macs[0] });
    const bad = await api('admin', '/devices/not-a-mac/block', { json: { reason: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe('mac');
    expect((await api('admin', '/nothing/here')).status).toBe(404);
  });

  it('lists the routers with what RADIUS did for each (parsed from the gateway\'s metrics)', async () => {
    const r = await api('helpdesk', '/nas');
    const [nas] = r.json.nas as Array<Record<string, unknown>>;
    expect(nas).toMatchObject({ name: 'test-nas', address: '127.0.0.1', profile: 'generic', lastAnswer: expect.any(String) });
    // The tests above got accepts and rejects from this router.
    expect(nas!.accepts as number).toBeGreaterThan(0);
    expect(nas!.rejects as number).toBeGreaterThan(0);
    expect(Date.now() - Date.parse(nas!.lastAnswer as string)).toBeLessThan(120_000);
  });

  it('auditors search and export the trail; the export itself is audited', async () => {
    const search = await api('auditor', '/audit?type=session.revoked');
    expect(search.status).toBe(200);
    expect(search.json.records.length).toBeGreaterThanOrEqual(3);
    const exported = await api('auditor', '/audit?export=jsonl&type=session.revoked');
    expect(exported.headers['content-type']).toMatch(/^application\/jsonl/);
    expect(exported.text.trim().split('\n').map((l) => JSON.parse(l).type)).toEqual(search.json.records.map(() => 'session.revoked'));
    expect(auditRecords('audit.exported')).toContainEqual(expect.objectContaining({ by: 'api:auditor-bot', format: 'jsonl' }));
  });
});

describe('the admin console', () => {
  it('is HTTPS only', async () => {
    const plain = await call('/admin', { plainPort: Number(new URL(t.httpUrl).port) });
    expect(plain.status).toBe(403);
    expect(plain.text).toContain('only served over HTTPS');
  });

  it('refuses a wrong password and a person without an admin group, and audits both', async () => {
    const wrong = await consoleLogin({ username: 'boss', password: 'not-it' });
    expect(wrong.status).toBe(401);
    const none = await consoleLogin(NOBODY);
    expect(none.status).toBe(403);
    expect(none.text).toContain('no role in the admin console');
    expect(auditRecords('admin.login_failed').map((r) => r.code)).toEqual(expect.arrayContaining(['EG_INVALID_CREDENTIALS', 'EG_NOT_ADMIN']));
    expect(JSON.stringify(auditRecords('admin.login_failed'))).not.toContain('not-it');
  });

  it('a login without the form token is refused', async () => {
    const page = await call('/admin');
    const r = await call('/admin/login', { cookie: cookieOf(page, 'eg_admin')!, form: { username: 'boss', password: PEOPLE.admin.password } });
    expect(r.status).toBe(403);
  });

  it.each(ROLES)('%s: pages and actions are refused exactly where the role may not', async (role) => {
    const s = await consoleLogin(PEOPLE[role]);
    expect(s.status, s.text).toBe(200);
    expect(s.text).toContain(`${PEOPLE[role].username} (${role})`);
    const pages: Array<[string, Permission]> = [
      ['/admin/devices', 'devices.view'],
      ['/admin/sessions', 'sessions.view'],
      ['/admin/nas', 'nas.view'],
      ['/admin/audit?type=radius.accepted', 'audit.view'],
      ['/admin/audit/export?type=radius.accepted&format=csv', 'audit.export'],
    ];
    for (const [path, permission] of pages) {
      const r = await call(path, { cookie: s.cookie });
      expect(r.status, `${role} ${path}`).toBe(PERMISSIONS[permission].includes(role) ? 200 : 403);
    }
    for (const [action, permission] of Object.entries(ACTION_PERMISSIONS)) {
      const target: Record<string, string> = action === 'revoke-user' ? { user: 'nobody-at-all' } : { mac: '3c:b0:00:00:00:77' };
      const confirm = await call(`/admin/confirm?${new URLSearchParams({ action, ...target })}`, { cookie: s.cookie });
      const r = await call('/admin/action', { cookie: s.cookie, form: { _csrf: s.csrf, action, ...target, reason: 'role matrix' } });
      const allowed = PERMISSIONS[permission].includes(role);
      expect(confirm.status, `${role} confirm ${action}`).toBe(allowed ? 200 : 403);
      expect(r.status, `${role} ${action}: ${r.text.slice(0, 200)}`).toBe(allowed ? 200 : 403);
    }
    // Unblock what the matrix blocked, as an admin would.
    await api('admin', '/devices/3c:b0:00:00:00:77/unblock', { json: {} });
  });

  it('an action needs the visit’s form token, and says what it did', async () => {
    const mac = await enrolled('3c:b0:00:00:00:04');
    const s = await consoleLogin(PEOPLE.helpdesk);
    const forged = await call('/admin/action', { cookie: s.cookie, form: { action: 'revoke', mac, reason: 'csrf' } });
    expect(forged.status).toBe(403);
    expect(await radiusAnswer(mac)).toBe('Access-Accept');
    const done = await call('/admin/action', { cookie: s.cookie, form: { _csrf: s.csrf, action: 'revoke', mac, reason: 'helpdesk ticket 42' } });
    expect(done.status).toBe(200);
    expect(done.text).toContain(`The session of ${mac} has ended`);
    expect(await radiusAnswer(mac)).toBe('Access-Reject');
    expect(auditRecords('session.revoked')).toContainEqual(expect.objectContaining({ mac, by: 'help', reason: 'helpdesk ticket 42' }));
  });

  it('the dashboard draws its charts as SVG, without script', async () => {
    const s = await consoleLogin(PEOPLE.admin);
    expect(s.text).toContain('<svg class="chart"');
    expect(s.text).not.toMatch(/<script/i);
    expect(s.text).toMatch(/<b>\d+<\/b> sessions now/);
  });

  it('logging out ends the visit (audited)', async () => {
    const s = await consoleLogin(PEOPLE.auditor);
    const out = await call('/admin/logout', { cookie: s.cookie, form: { _csrf: s.csrf } });
    expect(out.status).toBe(303);
    const after = await call('/admin/audit', { cookie: s.cookie });
    expect(after.text).toContain('Log in');
    expect(auditRecords('admin.logged_out')).toContainEqual(expect.objectContaining({ admin: 'audit' }));
  });
});

describe('bad input to the admin console and API', () => {
  it('the console answers 400 with what is wrong, never a 500', async () => {
    const s = await consoleLogin(PEOPLE.admin);
    const get = (path: string) => call(path, { cookie: s.cookie });
    const cases: Array<[string, string]> = [
      ['/admin/confirm?action=format-disk&mac=3c:b0:00:00:00:01', 'Unknown action.'],
      ['/admin/confirm?action=revoke&mac=not-a-mac', 'That is not a MAC address.'],
      ['/admin/confirm?action=revoke-user&user=%20', 'Which person?'],
      ['/admin/audit?from=yesterday', 'From: &quot;yesterday&quot; is not a date'],
      ['/admin/audit?mac=zz', 'MAC: &quot;zz&quot; is not a MAC address'],
      ['/admin/audit?type=device.eaten', 'Type: &quot;device.eaten&quot; is not an event type'],
      ['/admin/audit?outcome=maybe', 'Outcome: &quot;maybe&quot; is not success, failure or info'],
    ];
    for (const [path, message] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.text, path).toContain(message);
    }
    const noReason = await call('/admin/action', { cookie: s.cookie, form: { _csrf: s.csrf, action: 'block', mac: '3c:b0:00:00:00:55', reason: '  ' } });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('Give a reason');
  });

  it('the API answers 400 with the field for malformed JSON, bad times and limits', async () => {
    const badJson = await api('admin', '/sessions/3c:b0:00:00:00:01/revoke', { raw: '{"reason": ', contentType: 'application/json' });
    expect(badJson.status).toBe(400);
    expect(badJson.json.error.code).toBe('EG_BAD_JSON');
    expect((await api('auditor', '/audit?from=not-a-time')).json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'from' });
    expect((await api('auditor', '/audit?limit=0')).json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'limit' });
    expect((await api('auditor', '/audit?outcome=maybe')).json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'outcome' });
    expect((await api('helpdesk', '/devices?mac=zz')).json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'mac' });
  });
});
