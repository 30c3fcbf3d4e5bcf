import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { call } from '../../helpers/http.js';
import { httpsCall } from '../../helpers/https.js';
import { macAuth, radclient } from '../../helpers/radclient.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';

/**
 * The state store failing on purpose (a private redis-server stopped or paused):
 * RADIUS answers in time whatever happens, closed rejects, open accepts only the
 * sessions it saw, /readyz names the store, and the audit trail says why.
 */
const run = promisify(execFile);
let redis: TestRedis;
let t: TestGateway;

async function gateway(radius: Record<string, unknown>): Promise<TestGateway> {
  return startTestGateway({
    https: true,
    configure: (doc) => {
      doc.store = { kind: 'redis', redis: { url: redis.url, key_prefix: `f${Date.now()}:` } };
      Object.assign(doc.radius, radius);
    },
  });
}

const enroll = async (mac: string) => {
  const r = await httpsCall(t.gateway.ports.https, readFileSync(join(t.dir, 'certs', 'ca.pem')), '/api/agent/v1/enroll', {
    json: { username: 'employee', password: t.employeePassword, device: { mac, model: 'x', os_version: '14', agent_version: '1.0' } },
  });
  expect(r.status, r.text).toBe(201);
};
const answer = async (mac: string, radclientArgs: readonly string[] = []) => (await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac), radclientArgs)).reply;
const reasons = (type: string) => {
  t.gateway.audit.flush();
  const out: Array<Record<string, unknown>> = [];
  queryAudit(t.config.audit.dir, { type }, (m) => out.push(m.record));
  return out;
};

beforeEach(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await t?.close();
  await redis?.close();
});
afterAll(async () => redis?.close());

describe('when the state store fails', () => {
  it('fail_mode closed (the default): Redis down, RADIUS still answers, with a reject; /readyz names the store', async () => {
    t = await gateway({});
    await enroll('3c:bb:00:00:00:01');
    expect(await answer('3c:bb:00:00:00:01')).toBe('Access-Accept');
    await redis.stop();
    expect(await answer('3c:bb:00:00:00:01')).toBe('Access-Reject');
    const ready = await call(t.httpUrl, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).checks.store).not.toBe('ok');
    expect(reasons('radius.rejected').at(-1)).toMatchObject({ mac: '3c:bb:00:00:00:01', reason: 'state store unavailable' });
    // A captive probe the store cannot answer: an error page, with the pages' full security headers, not the probe's three.
    const probe = await call(t.httpUrl, 'GET', '/generate_204');
    expect(probe.status).toBe(503);
    expect(probe.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(String(probe.headers['content-security-policy'])).toMatch(/^default-src 'none'; style-src 'nonce-/);
  });

  it('a store that hangs (CLIENT PAUSE) is given up on after store_deadline_ms: the reject comes in time', async () => {
    // A deadline long enough that the noise of a slower machine (radclient's start, a late
    // timer) stays well under it: the bounds below tell one deadline from two, or from the pause.
    const deadlineMs = 1000;
    t = await gateway({ store_deadline_ms: deadlineMs });
    await enroll('3c:bb:00:00:00:02');
    // What an answer costs here when Redis answers, radclient's start included.
    const askedAt = Date.now();
    expect(await answer('3c:bb:00:00:00:02')).toBe('Access-Accept');
    const normalMs = Date.now() - askedAt;
    await run('redis-cli', ['-p', String(redis.port), 'CLIENT', 'PAUSE', '3000', 'ALL']);
    const started = Date.now();
    // radclient waits 5 s for this answer (1 s otherwise): longer than the deadline and the pause.
    expect(await answer('3c:bb:00:00:00:02', ['-t', '5'])).toBe('Access-Reject');
    const tookMs = Date.now() - started;
    // It waited for the store, up to the deadline, and then no longer: the reject costs the
    // deadline more than an answer, never the pause (3 s) nor a second deadline.
    expect(tookMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(tookMs - normalMs).toBeLessThan(2 * deadlineMs);
  });

  it('fail_mode open: accepts a device it saw with a live session, not one it never saw; audited as such', async () => {
    t = await gateway({ fail_mode: 'open', fail_open_max_age_seconds: 600 });
    expect(t.logs.text()).toContain('WARNING: radius.fail_mode is open');
    await enroll('3c:bb:00:00:00:03');
    await enroll('3c:bb:00:00:00:04');
    expect(await answer('3c:bb:00:00:00:03')).toBe('Access-Accept');
    await redis.stop();
    expect(await answer('3c:bb:00:00:00:03')).toBe('Access-Accept');
    // Enrolled, but never asked about before the outage: nothing remembered.
    expect(await answer('3c:bb:00:00:00:04')).toBe('Access-Reject');
    expect(reasons('radius.accepted').at(-1)).toMatchObject({ mac: '3c:bb:00:00:00:03', reason: 'fail open: state store unavailable, remembered session' });
  });
});
