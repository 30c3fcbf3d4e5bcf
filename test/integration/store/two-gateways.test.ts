import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { httpsCall, type HttpsReply } from '../../helpers/https.js';
import { macAuth, radclient } from '../../helpers/radclient.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { isCommand, startRedisTap, type RedisTap } from '../../helpers/redis-tap.js';

/**
 * Two gateway processes' worth of state on one Redis (a private redis-server), as a
 * campus runs them behind the router's primary and secondary RADIUS servers: what
 * one gateway does is what the other's RADIUS answers at once, and the device
 * limit holds when enrollments race on both. Each gateway reaches Redis through a tap
 * of its own (helpers/redis-tap.ts), with which the race is made to happen.
 */
const TOKEN = 'admin-token-for-two-gateways-0123456789';
const PREFIX = 'campus:';
let redis: TestRedis;
let tapA: RedisTap;
let tapB: RedisTap;
let a: TestGateway;
let b: TestGateway;

const answer = async (g: TestGateway, mac: string) => (await radclient(g.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply;
const ca = (g: TestGateway) => readFileSync(join(g.dir, 'certs', 'ca.pem'));
const enroll = (g: TestGateway, mac: string) =>
  httpsCall(g.gateway.ports.https, ca(g), '/api/agent/v1/enroll', {
    json: { username: 'employee', password: a.employeePassword, device: { mac, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } },
  });

beforeAll(async () => {
  redis = await startRedis();
  [tapA, tapB] = [await startRedisTap(redis.port), await startRedisTap(redis.port)];
  const shared = (doc: Record<string, any>, tap: RedisTap) => {
    doc.store = { kind: 'redis', redis: { url: tap.url, key_prefix: PREFIX } };
    doc.enrollment = { randomised_macs: 'accept', device_limit: 2 };
    doc.admin = { api_tokens: [{ name: 'ops', role: 'admin', token: TOKEN }] };
  };
  a = await startTestGateway({ https: true, configure: (doc) => shared(doc, tapA) });
  // The same people on both (one directory), as two gateways of one campus have.
  b = await startTestGateway({
    https: true,
    configure: (doc) => {
      shared(doc, tapB);
      doc.directory = { kind: 'file', file: { path: a.config.directory.file.path } };
    },
  });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await tapA?.close();
  await tapB?.close();
  await redis?.close();
});

/** Resolves with `event`; fails naming `what` if `request` is answered first (the event would never come). */
function before<T>(event: Promise<T>, request: Promise<HttpsReply>, what: string): Promise<T> {
  return Promise.race([event, request.then((r) => Promise.reject(new Error(`${what}: ${r.status} ${r.text}`)))]);
}

describe('two gateways on one Redis', () => {
  const mac = '3c:f0:00:00:00:01';

  it('a device enrolled through one is accepted by the other’s RADIUS at once', async () => {
    expect(await answer(b, mac)).toBe('Access-Reject');
    expect((await enroll(a, mac)).status).toBe(201);
    expect(await answer(b, mac)).toBe('Access-Accept');
    expect(await answer(a, mac)).toBe('Access-Accept');
  });

  it('a session revoked on one is rejected by the other at once', async () => {
    const r = await httpsCall(b.gateway.ports.https, ca(b), `/api/admin/v1/sessions/${mac}/revoke`, { json: { reason: 'lost' }, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(r.status, r.text).toBe(200);
    expect(await answer(a, mac)).toBe('Access-Reject');
    expect(await answer(b, mac)).toBe('Access-Reject');
  });

  it('the device limit holds when two enrollments race on different gateways', async () => {
    // employee has one device (above) and a limit of 2: one slot left. Two requests sent
    // at once rarely overlap inside the enrollment, so the overlap is made: gateway a is
    // held at its read of employee's devices (DeviceRegistry.enroll, after taking the
    // owner's lock), until gateway b's enrollment has either asked for that lock (and
    // must wait for a) or, were there no lock, read the same list: then both see one slot.
    const devicesOfEmployee = `${PREFIX}owners::employee`;
    const lockOfEmployee = `${PREFIX}lock:employee`;
    const hold = tapA.holdAt((c) => isCommand(c, 'GET', devicesOfEmployee));
    try {
      const first = enroll(a, '3c:f0:00:00:00:02');
      await before(hold.held, first, 'gateway a answered without reading the devices of employee');
      const reached = tapB.next((c) => isCommand(c, 'SET', lockOfEmployee) || isCommand(c, 'GET', devicesOfEmployee));
      const second = enroll(b, '3c:f0:00:00:00:03');
      await before(reached, second, 'gateway b answered without asking for the lock or reading the devices of employee');
      hold.release();
      const [x, y] = await Promise.all([first, second]);
      expect([x.status, y.status].sort()).toEqual([201, 409]);
    } finally {
      hold.release();
    }
    const devices = await httpsCall(a.gateway.ports.https, ca(a), '/api/admin/v1/devices?user=employee', { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(devices.json.devices).toHaveLength(2);
  });

  it('each gateway keeps its own audit trail of what it did', async () => {
    a.gateway.audit.flush();
    b.gateway.audit.flush();
    const lines = (g: TestGateway) => readFileSync(join(g.config.audit.dir, `audit-${new Date().toISOString().slice(0, 10)}.jsonl`), 'utf8');
    expect(lines(a)).toContain('"type":"device.enrolled"');
    expect(lines(b)).toContain('"type":"session.revoked"');
    expect(lines(b)).toContain('"by":"api:ops"');
  });
});

describe('login throttling across the two gateways', () => {
  it('wrong passwords counted on one gateway lock the same device out on the other', async () => {
    const guess = (g: TestGateway) =>
      httpsCall(g.gateway.ports.https, ca(g), '/api/agent/v1/enroll', {
        json: { username: 'mallory-target', password: 'wrong-password', device: { mac: '3c:f0:00:00:00:09', model: 'x', os_version: '14', agent_version: '1.0' } },
      });
    for (let i = 0; i < 5; i++) expect((await guess(a)).status).toBe(401);
    expect((await guess(a)).status).toBe(401);
    const onB = await guess(b);
    expect(onB.status).toBe(429);
    expect(onB.json.error.code).toBe('EG_TOO_MANY_ATTEMPTS');
  });
});
