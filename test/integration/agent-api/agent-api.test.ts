import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac } from '../../../src/mac.js';
import { hashPassword } from '../../../src/directory/file-directory.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { type StateStore } from '../../../src/store/state-store.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { httpsCall, type HttpsReply } from '../../helpers/https.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * The Android agent's API over real HTTPS (trusting the gateway's own CA) against a
 * real gateway: users file, SQLite state file, radclient as the router.
 */

type ApiReply = HttpsReply;

interface ApiOptions {
  /** Sent as is instead of JSON.stringify(body). */
  raw?: string | Buffer;
  contentType?: string;
  /** Plain HTTP to the gateway's HTTP port instead of HTTPS. */
  plain?: boolean;
  method?: string;
  headers?: Record<string, string>;
}

let t: TestGateway;
let ca: Buffer;
let state: StateStore;
let registry: DeviceRegistry;

const PASSWORDS = { racer: 'racer-password-1234', other: 'other-password-5678' } as const;

function api(path: string, body: unknown, o: ApiOptions = {}): Promise<ApiReply> {
  const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  return httpsCall(t.gateway.ports.https, ca, path, {
    method: o.method ?? 'POST',
    ...(payload !== undefined ? { raw: payload } : {}),
    ...(o.contentType ? { contentType: o.contentType } : {}),
    ...(o.plain ? { plainPort: Number(new URL(t.httpUrl).port) } : {}),
    headers: { Accept: 'application/json', ...o.headers },
  });
}

function enrollBody(mac: string, over: { username?: string; password?: string; os_version?: string; model?: string } = {}) {
  return {
    username: over.username ?? 'employee',
    password: over.password ?? t.employeePassword,
    device: { mac, model: over.model ?? 'Pixel 8', os_version: over.os_version ?? '14', agent_version: '1.2.0' },
  };
}

const enroll = (mac: string, over: Parameters<typeof enrollBody>[1] = {}) => api('/api/agent/v1/enroll', enrollBody(mac, over));

async function radiusAnswer(mac: string): Promise<string | undefined> {
  return (await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply;
}

function expectError(r: ApiReply, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(r.headers['cache-control']).toBe('no-store');
  expect(r.json.error.code).toBe(code);
  expect(typeof r.json.error.message).toBe('string');
}

beforeAll(async () => {
  t = await startTestGateway({
    https: true,
    configure: (doc) => {
      doc.enrollment = { device_limit: 2, group_limits: [{ group: 'racers', limit: 3 }], min_os_version: { android: '10' }, randomised_macs: 'refuse' };
    },
  });
  ca = readFileSync(join(t.dir, 'certs', 'ca.pem'));
  // Two more people in the users file (read at every login).
  const usersFile = t.config.directory.file.path;
  const doc = parse(await readFile(usersFile, 'utf8')) as { users: Array<Record<string, unknown>> };
  doc.users.push({ username: 'racer', groups: ['racers'], password: await hashPassword(PASSWORDS.racer) });
  doc.users.push({ username: 'other', groups: [], password: await hashPassword(PASSWORDS.other) });
  await writeFile(usersFile, stringify(doc));
  // A second connection to the gateway's state file, to look at what the API did.
  state = await openSqliteStore(t.config.store.sqlite_file);
  registry = new DeviceRegistry(state.kv);
});

afterAll(async () => {
  await state?.close();
  await t?.close();
});

describe('POST /api/agent/v1/enroll', () => {
  it('enrolls the device and gives it a session: RADIUS accepts it', async () => {
    const mac = '3c:a0:00:00:00:01';
    expect(await radiusAnswer(mac)).toBe('Access-Reject');
    const r = await enroll('3C-A0-00-00-00-01');
    expect(r.status, r.text).toBe(201);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.json.device).toEqual({ mac, platform: 'android', enrolled_at: expect.any(String), randomised_mac: false });
    expect(Date.parse(r.json.device.enrolled_at)).not.toBeNaN();
    expect(Date.parse(r.json.session.ends_at)).toBeGreaterThan(Date.now());
    expect(r.json.session.seconds_remaining).toBeGreaterThan(0);
    expect(r.json.session.seconds_remaining).toBeLessThanOrEqual(86_400);
    const stored = await registry.get(parseMac(mac)!);
    expect(stored).toMatchObject({ owner: 'employee', platform: 'android', osVersion: '14', via: 'agent', model: 'Pixel 8', agentVersion: '1.2.0' });
    expect(await radiusAnswer(mac)).toBe('Access-Accept');
    expect(t.logs.text()).not.toContain(t.employeePassword);
  });

  it('refuses a wrong password with 401 EG_INVALID_CREDENTIALS', async () => {
    const r = await enroll('3c:a0:00:00:00:02', { password: 'not-the-password' });
    expectError(r, 401, 'EG_INVALID_CREDENTIALS');
    expect(await registry.get(parseMac('3c:a0:00:00:00:02')!)).toBeUndefined();
    expect(t.logs.text()).not.toContain('not-the-password');
  });

  it('over the limit: 409 EG_DEVICE_LIMIT with the limit and the person’s devices', async () => {
    // The first test enrolled one device for employee; the limit is 2.
    expect((await enroll('3c:a0:00:00:00:03', { model: 'Galaxy S23' })).status).toBe(201);
    const r = await enroll('3c:a0:00:00:00:04');
    expectError(r, 409, 'EG_DEVICE_LIMIT');
    expect(r.json.error.limit).toBe(2);
    expect(r.json.error.devices).toEqual([
      expect.objectContaining({ mac: '3c:a0:00:00:00:01', model: 'Pixel 8' }),
      expect.objectContaining({ mac: '3c:a0:00:00:00:03', model: 'Galaxy S23' }),
    ]);
    expect(await registry.get(parseMac('3c:a0:00:00:00:04')!)).toBeUndefined();
    // Enrolling an owned device again is never refused by the limit.
    expect((await enroll('3c:a0:00:00:00:01', { os_version: '15' })).status).toBe(201);
  });

  it('refuses an Android older than the minimum with 403 EG_OS_TOO_OLD and the version needed', async () => {
    const r = await enroll('3c:a0:00:00:01:01', { username: 'other', password: PASSWORDS.other, os_version: '9' });
    expectError(r, 403, 'EG_OS_TOO_OLD');
    expect(r.json.error.needed).toBe('10');
    expect(r.json.error.message).toContain('Android 9');
    expect(r.json.error.message).toContain('Settings → System → Software update');
  });

  it('refuses a randomised MAC with 403 EG_RANDOMISED_MAC and how to use the device MAC', async () => {
    const r = await enroll('3e:a0:00:00:01:02', { username: 'other', password: PASSWORDS.other });
    expectError(r, 403, 'EG_RANDOMISED_MAC');
    expect(r.json.error.message).toContain('Privacy → Use device MAC');
  });

  it('refuses a blocked MAC with 403 EG_DEVICE_BLOCKED, but only after the password is right', async () => {
    const mac = parseMac('3c:a0:00:00:01:03')!;
    await registry.block(mac, { by: 'it-admin', reason: 'stolen', at: new Date().toISOString() });
    expectError(await enroll(mac, { username: 'other', password: 'wrong-password' }), 401, 'EG_INVALID_CREDENTIALS');
    expectError(await enroll(mac, { username: 'other', password: PASSWORDS.other }), 403, 'EG_DEVICE_BLOCKED');
    await registry.unblock(mac);
    expect((await enroll(mac, { username: 'other', password: PASSWORDS.other })).status).toBe(201);
  });

  it('refuses somebody else’s device with 403 EG_DEVICE_OWNED_BY_OTHER', async () => {
    const r = await enroll('3c:a0:00:00:00:01', { username: 'other', password: PASSWORDS.other });
    expectError(r, 403, 'EG_DEVICE_OWNED_BY_OTHER');
    expect((await registry.get(parseMac('3c:a0:00:00:00:01')!))?.owner).toBe('employee');
  });

  it('answers 503 EG_DIRECTORY_UNAVAILABLE when the directory cannot be read', async () => {
    const usersFile = t.config.directory.file.path;
    await rename(usersFile, `${usersFile}.away`);
    try {
      expectError(await enroll('3c:a0:00:00:01:05', { username: 'other', password: PASSWORDS.other }), 503, 'EG_DIRECTORY_UNAVAILABLE');
    } finally {
      await rename(`${usersFile}.away`, usersFile);
    }
  });
});

describe('one slot left, two enrollments at once', () => {
  it('gives exactly one 201 and one 409, and the person has exactly the limit', async () => {
    // This checks the answers, not the registry's lock. On this gateway's SQLite store the
    // two requests never overlap inside the enrollment: every store call from the limit
    // check to the writes returns without waiting for I/O, so one has written its device
    // before the other reads the list, lock or no lock. The lock is tested over HTTP in
    // store/two-gateways.test.ts (one enrollment held in Redis, inside the lock, while the
    // other arrives), and in the registry's tests (unit, store contract) by enrollments
    // started in one event-loop turn.
    // racer is in the group "racers": limit 3 (group_limits), more generous than device_limit 2.
    const racer = { username: 'racer', password: PASSWORDS.racer };
    expect((await enroll('3c:b0:00:00:00:01', racer)).status).toBe(201);
    expect((await enroll('3c:b0:00:00:00:02', racer)).status).toBe(201);
    const replies = await Promise.all([enroll('3c:b0:00:00:00:03', racer), enroll('3c:b0:00:00:00:04', racer)]);
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(replies.find((r) => r.status === 409)!.json.error.limit).toBe(3);
    const owned = await registry.listByOwner('racer');
    expect(owned).toHaveLength(3);
    const winner = replies.find((r) => r.status === 201)!.json.device.mac;
    expect(owned.map((d) => d.mac)).toContain(winner);
  });
});

describe('POST /api/agent/v1/unenroll', () => {
  it('unenrolls the person’s device and ends its session: RADIUS rejects it', async () => {
    const mac = '3c:a0:00:00:02:01';
    expect((await enroll(mac, { username: 'other', password: PASSWORDS.other })).status).toBe(201);
    expect(await radiusAnswer(mac)).toBe('Access-Accept');
    const r = await api('/api/agent/v1/unenroll', { username: 'other', password: PASSWORDS.other, mac, reason: 'replaced' });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ unenrolled: true });
    expect(r.headers['cache-control']).toBe('no-store');
    expect(await radiusAnswer(mac)).toBe('Access-Reject');
    expect(await registry.get(parseMac(mac)!)).toBeUndefined();
    expect(t.logs.events().some((e) => e.event === 'device.unenrolled' && e.mac === mac && e.reason === 'replaced')).toBe(true);
    // Again: it is no longer enrolled.
    expectError(await api('/api/agent/v1/unenroll', { username: 'other', password: PASSWORDS.other, mac }), 404, 'EG_NOT_ENROLLED');
  });

  it('answers somebody else’s device exactly like a device that is not enrolled', async () => {
    const theirs = await api('/api/agent/v1/unenroll', { username: 'other', password: PASSWORDS.other, mac: '3c:a0:00:00:00:01' });
    const nobodys = await api('/api/agent/v1/unenroll', { username: 'other', password: PASSWORDS.other, mac: '3c:a0:00:00:0f:0f' });
    expectError(theirs, 404, 'EG_NOT_ENROLLED');
    expect(theirs.json).toEqual(nobodys.json);
    expect((await registry.get(parseMac('3c:a0:00:00:00:01')!))?.owner).toBe('employee');
    expect(await radiusAnswer('3c:a0:00:00:00:01')).toBe('Access-Accept');
  });

  it('refuses a wrong password with 401 before looking at the device', async () => {
    expectError(await api('/api/agent/v1/unenroll', { username: 'employee', password: 'nope', mac: '3c:a0:00:00:00:01' }), 401, 'EG_INVALID_CREDENTIALS');
  });
});

describe('input the API refuses', () => {
  it('malformed JSON: 400 EG_BAD_JSON, and the body (with its password) is not logged', async () => {
    const raw = `{"username":"employee","password":"${t.employeePassword}-malformed",`;
    expectError(await api('/api/agent/v1/enroll', undefined, { raw }), 400, 'EG_BAD_JSON');
    expectError(await api('/api/agent/v1/enroll', undefined, { raw: '"just a string"' }), 400, 'EG_BAD_JSON');
    expect(t.logs.text()).not.toContain(`${t.employeePassword}-malformed`);
  });

  it('missing fields: 400 EG_BAD_INPUT naming the field', async () => {
    const body = enrollBody('3c:a0:00:00:03:01') as any;
    delete body.device.os_version;
    let r = await api('/api/agent/v1/enroll', body);
    expectError(r, 400, 'EG_BAD_INPUT');
    expect(r.json.error.field).toBe('device.os_version');
    expect(r.json.error.message).toBe('device.os_version: required');
    r = await api('/api/agent/v1/enroll', { username: 'employee', password: 'x' });
    expect(r.json.error.field).toBe('device');
    r = await api('/api/agent/v1/enroll', []);
    expect(r.json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'body' });
    r = await api('/api/agent/v1/unenroll', { username: 'employee', password: 'x' });
    expect(r.json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'mac' });
  });

  it('wrong types, bad MACs and over-long strings: 400 EG_BAD_INPUT naming the field', async () => {
    let r = await api('/api/agent/v1/enroll', { ...enrollBody('3c:a0:00:00:03:02'), username: 42 });
    expectError(r, 400, 'EG_BAD_INPUT');
    expect(r.json.error).toMatchObject({ field: 'username', message: 'username: expected a string' });
    r = await api('/api/agent/v1/enroll', { ...enrollBody('3c:a0:00:00:03:02'), device: 'Pixel' });
    expect(r.json.error.field).toBe('device');
    r = await enroll('3c:a0:00:00:03:02', { os_version: 'fourteen' });
    expect(r.json.error.field).toBe('device.os_version');
    r = await enroll('not-a-mac');
    expect(r.json.error).toMatchObject({ code: 'EG_BAD_INPUT', field: 'device.mac' });
    r = await enroll('ff:ff:ff:ff:ff:ff');
    expect(r.json.error.message).toContain('broadcast');
    r = await enroll('02:00:00:00:00:00');
    expect(r.json.error.message).toContain('placeholder');
    r = await enroll('3c:a0:00:00:03:02', { model: 'x'.repeat(101) });
    expect(r.json.error).toMatchObject({ field: 'device.model', message: 'device.model: at most 100 characters' });
    expect(await registry.get(parseMac('3c:a0:00:00:03:02')!)).toBeUndefined();
  });

  it('a body over 16 kB: 413 EG_BODY_TOO_LARGE', async () => {
    const r = await enroll('3c:a0:00:00:03:03', { model: 'x'.repeat(20_000) });
    expectError(r, 413, 'EG_BODY_TOO_LARGE');
  });

  it('not application/json: 415 EG_UNSUPPORTED_MEDIA_TYPE', async () => {
    const body = JSON.stringify(enrollBody('3c:a0:00:00:03:04'));
    expectError(await api('/api/agent/v1/enroll', undefined, { raw: body, contentType: 'text/plain' }), 415, 'EG_UNSUPPORTED_MEDIA_TYPE');
    const form = new URLSearchParams({ username: 'employee', password: t.employeePassword }).toString();
    expectError(await api('/api/agent/v1/enroll', undefined, { raw: form, contentType: 'application/x-www-form-urlencoded' }), 415, 'EG_UNSUPPORTED_MEDIA_TYPE');
    expect(await registry.get(parseMac('3c:a0:00:00:03:04')!)).toBeUndefined();
  });

  it('plain HTTP: 403 EG_HTTPS_REQUIRED and nothing processed (even a forwarded "https" from an untrusted proxy)', async () => {
    const before = t.logs.events().filter((e) => e.event === 'portal.login.succeeded').length;
    const body = enrollBody('3c:a0:00:00:03:05', { username: 'other', password: PASSWORDS.other });
    expectError(await api('/api/agent/v1/enroll', body, { plain: true }), 403, 'EG_HTTPS_REQUIRED');
    expectError(await api('/api/agent/v1/enroll', body, { plain: true, headers: { 'X-Forwarded-Proto': 'https' } }), 403, 'EG_HTTPS_REQUIRED');
    expectError(await api('/api/agent/v1/enroll', undefined, { plain: true, raw: '{"broken' }), 403, 'EG_HTTPS_REQUIRED');
    expectError(await api('/api/agent/v1/enroll', { ...body, device: { ...body.device, model: 'x'.repeat(20_000) } }, { plain: true }), 403, 'EG_HTTPS_REQUIRED');
    expectError(await api('/api/agent/v1/unenroll', { username: 'employee', password: t.employeePassword, mac: '3c:a0:00:00:00:01' }, { plain: true }), 403, 'EG_HTTPS_REQUIRED');
    expect(t.logs.events().filter((e) => e.event === 'portal.login.succeeded').length).toBe(before);
    expect(await registry.get(parseMac('3c:a0:00:00:03:05')!)).toBeUndefined();
    expect(await registry.get(parseMac('3c:a0:00:00:00:01')!)).toBeDefined();
  });

  it('other methods and paths under /api/agent/ answer JSON too', async () => {
    const get = await api('/api/agent/v1/enroll', undefined, { method: 'GET' });
    expectError(get, 405, 'EG_METHOD_NOT_ALLOWED');
    expect(get.headers.allow).toBe('POST');
    expectError(await api('/api/agent/v2/enroll', {}), 404, 'EG_NOT_FOUND');
  });
});

describe('randomised_macs: accept', () => {
  it('enrolls a randomised MAC and records it as such', async () => {
    const g = await startTestGateway({ https: true, configure: (doc) => void (doc.enrollment = { randomised_macs: 'accept' }) });
    try {
      const gca = readFileSync(join(g.dir, 'certs', 'ca.pem'));
      const r = await httpsCall(g.gateway.ports.https, gca, '/api/agent/v1/enroll', {
        json: { username: 'employee', password: g.employeePassword, device: { mac: '3e:c0:00:00:00:01', model: 'Pixel 7', os_version: '13', agent_version: '1.2.0' } },
      });
      expect(r.status).toBe(201);
      expect(r.json.device).toMatchObject({ mac: '3e:c0:00:00:00:01', randomised_mac: true });
      const answer = await radclient(g.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth('3e:c0:00:00:00:01'));
      expect(answer.reply).toBe('Access-Accept');
    } finally {
      await g.close();
    }
  });
});
