import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import { runEapolTest, type EapolTestResult } from '../../helpers/eapol-test.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { HoldingRelay } from '../../helpers/holding-relay.js';
import { call } from '../../helpers/http.js';
import { httpsCall } from '../../helpers/https.js';
import { macAuth, radclient } from '../../helpers/radclient.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { startRedisTap, type RedisTap } from '../../helpers/redis-tap.js';

/**
 * The state store failing on purpose (a private redis-server stopped, paused or frozen):
 * RADIUS answers in time whatever happens, closed rejects, open accepts only the
 * sessions it saw, /readyz names the store, and the audit trail says why.
 */
const run = promisify(execFile);
let redis: TestRedis;
let t: TestGateway;
/** A proxy in front of `redis`, for the test that slows its replies (closed after the gateway). */
let tap: RedisTap | undefined;

async function gateway(radius: Record<string, unknown>, o: { eap?: boolean; redis?: Record<string, unknown> } = {}): Promise<TestGateway> {
  return startTestGateway({
    https: true,
    configure: (doc) => {
      doc.store = { kind: 'redis', redis: { url: redis.url, key_prefix: `f${Date.now()}:`, ...o.redis } };
      Object.assign(doc.radius, radius);
      if (o.eap) doc.eap = { ...doc.eap, enabled: true };
    },
  });
}

const agentApi = (path: string, json: Record<string, unknown>) =>
  httpsCall(t.gateway.ports.https, readFileSync(join(t.dir, 'certs', 'ca.pem')), path, { json: { username: 'employee', password: t.employeePassword, ...json } });
const enroll = async (mac: string) => {
  const r = await agentApi('/api/agent/v1/enroll', { device: { mac, model: 'x', os_version: '14', agent_version: '1.0' } });
  expect(r.status, r.text).toBe(201);
};
/** Enrolls a device through the agent API and takes its EAP-TLS identity (PKCS#12), as an MDM agent does. */
const eapIdentity = async (mac: string) => {
  await enroll(mac);
  const r = await agentApi('/api/agent/v1/identity', { mac });
  expect(r.status, r.text).toBe(201);
  const p12 = join(t.dir, `${mac.replace(/:/g, '')}.p12`);
  await writeFile(p12, Buffer.from(r.json.identity.pkcs12, 'base64'));
  return { mac, p12, password: r.json.identity.password as string, serverName: r.json.server_name as string };
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
  // A test that failed with the store frozen: the gateway stops only with a store that answers.
  redis?.thaw();
  await t?.close();
  await tap?.close();
  tap = undefined;
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

  it('a Redis that takes commands and never answers (frozen): the portal and the APIs answer 503 in time, and serve again once it answers', async () => {
    // Calls are given up on after 2 × connect_timeout_ms + replica_ack_timeout_ms: 2 s here.
    t = await gateway({}, { redis: { connect_timeout_ms: 500 } });
    await enroll('3c:bb:00:00:00:07');
    expect((await call(t.httpUrl, 'GET', '/generate_204')).status).toBe(302);
    redis.freeze();
    // Each answer comes only if the deadline holds: the store answers nothing until the thaw.
    const probe = await call(t.httpUrl, 'GET', '/generate_204');
    expect(probe.status).toBe(503);
    expect(probe.body).not.toMatch(/at \w+ \(|node_modules/);
    const enrollment = await agentApi('/api/agent/v1/enroll', { device: { mac: '3c:bb:00:00:00:08', model: 'x', os_version: '14', agent_version: '1.0' } });
    expect(enrollment.status, enrollment.text).toBe(503);
    expect(enrollment.json.error.code).toBe('EG_STORE_UNAVAILABLE');
    redis.thaw();
    expect((await call(t.httpUrl, 'GET', '/generate_204')).status).toBe(302);
  });

  it('a Redis that answers, but each reply 1.5 s late: MAC authentication is answered after store_deadline_ms, the portal waits for it, and all is on time again once it is quick', async () => {
    tap = await startRedisTap(redis.port);
    t = await gateway({ store_deadline_ms: 500 }, { redis: { url: tap.url } });
    await enroll('3c:bb:00:00:00:0b');
    expect(await answer('3c:bb:00:00:00:0b')).toBe('Access-Accept');
    tap.slowReplies(1500);
    // fail_mode closed: the session read is given up on, a reject in time (radclient's 10 s are far more than the deadline).
    expect(await answer('3c:bb:00:00:00:0b', ['-t', '10'])).toBe('Access-Reject');
    // The portal's own calls wait up to 2 × connect_timeout_ms + replica_ack_timeout_ms (5 s by default): a slow answer, not a 503.
    expect((await call(t.httpUrl, 'GET', '/generate_204')).status).toBe(302);
    tap.slowReplies(0);
    // The late replies went to the calls that were given up on: the connection is still in step, each answer its own.
    expect(await answer('3c:bb:00:00:00:0b')).toBe('Access-Accept');
    expect(await answer('3c:bb:00:00:00:0c')).toBe('Access-Reject');
    expect(reasons('radius.rejected').map((r) => r.reason)).toEqual(['state store unavailable', 'no session']);
  });

  it('accounting on a store that hangs: given up on after store_deadline_ms (unanswered, so the NAS retries), and MAC authentication answered after it', async () => {
    // One request in flight at most: accounting left waiting on the store would have MAC authentication dropped as overload.
    t = await gateway({ store_deadline_ms: 1000, max_in_flight: 1 });
    await enroll('3c:bb:00:00:00:09');
    redis.freeze();
    const acct = await radclient(
      t.gateway.ports.acct,
      'acct',
      TEST_NAS_SECRET,
      ['Acct-Status-Type = Start', 'Acct-Session-Id = "h-1"', 'Calling-Station-Id = "3C-BB-00-00-00-09"', 'Framed-IP-Address = 10.9.0.9'],
      ['-t', '2'],
    );
    // RFC 2866: a record not kept is not answered.
    expect(acct.reply).toBeUndefined();
    // Given up on at RADIUS's own deadline, not the Redis store's longer one (5 s here).
    const failures = () => t.logs.lines.filter((l) => l.includes('"event":"accounting.store_failed"'));
    await expect.poll(() => failures().length, { timeout: 15_000, interval: 50 }).toBe(1);
    expect(failures()[0]).toContain('did not answer within 1000 ms');
    expect(await answer('3c:bb:00:00:00:09', ['-t', '10'])).toBe('Access-Reject');
    redis.thaw();
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

  it('802.1X on a store that hangs: each read is given up on after store_deadline_ms, the device rejected and audited, MAC authentication still answered', async () => {
    // One request in flight at most: an EAP request left waiting on the store would have MAC authentication dropped as overload.
    t = await gateway({ store_deadline_ms: 1000, max_in_flight: 1 }, { eap: true });
    const id = await eapIdentity('3c:bb:00:00:00:05');
    await enroll('3c:bb:00:00:00:06');
    const relay = await HoldingRelay.start({ host: '127.0.0.1', port: t.gateway.ports.auth }, async (n) => {
      // Conversation 1 made a TLS 1.2 session; the store hangs before the device comes back to resume it.
      if (n === 2) redis.freeze();
    });
    let r: EapolTestResult;
    try {
      r = await runEapolTest({
        method: 'TLS',
        identity: 'employee',
        caCert: join(t.dir, 'certs', 'ca.pem'),
        privateKey: id.p12,
        privateKeyPassword: id.password,
        phase1: 'tls_disable_tlsv1_3=1',
        domainMatch: id.serverName,
        port: relay.port,
        secret: TEST_NAS_SECRET,
        mac: id.mac,
        reauthentications: 1,
        // Far longer than two deadlines: with the store frozen, an answer comes only if the deadlines hold.
        timeoutSeconds: 60,
      });
    } finally {
      relay.close();
    }
    expect(r.runs[0]?.radiusCode, r.output).toBe('Accept');
    expect(r.runs[1]?.radiusCode, r.output).toBe('Reject');
    // The stored session could not be read in time: a full handshake, then the device checks, which the store cannot answer either.
    expect(t.logs.lines.some((l) => l.includes('"event":"eap.session_unreadable"') && l.includes('did not answer within 1000 ms')), 'the session lookup given up on').toBe(true);
    expect(reasons('eap.rejected').at(-1)).toMatchObject({ mac: id.mac, resumed: false, reason: 'the state store is unavailable (the state store did not answer within 1000 ms)' });
    expect((await t.gateway.metrics.radiusStoreErrors.get()).values.find((v) => v.labels.kind === 'eap')?.value).toBe(1);
    // Nothing is left in flight: MAC authentication is answered (fail_mode closed: a reject), not dropped.
    expect(await answer('3c:bb:00:00:00:06', ['-t', '10'])).toBe('Access-Reject');
    redis.thaw();
    expect(await answer('3c:bb:00:00:00:06')).toBe('Access-Accept');
  }, 120_000);

  it('TTLS on a store that hangs: the password check (its throttle) is given up on after store_deadline_ms, the person rejected and audited, MAC authentication still answered', async () => {
    t = await gateway({ store_deadline_ms: 1000, max_in_flight: 1 }, { eap: true });
    const id = await eapIdentity('3c:bb:00:00:00:09');
    await enroll('3c:bb:00:00:00:0a');
    // The whole conversation with the store frozen: the tunnel needs none, the password check's throttle does.
    redis.freeze();
    const r = await runEapolTest({
      method: 'TTLS',
      identity: 'employee',
      anonymousIdentity: 'anonymous',
      password: t.employeePassword,
      phase2: 'auth=PAP',
      caCert: join(t.dir, 'certs', 'ca.pem'),
      domainMatch: id.serverName,
      port: t.gateway.ports.auth,
      secret: TEST_NAS_SECRET,
      mac: id.mac,
      // Far longer than the deadline: with the store frozen, an answer comes only if it holds.
      timeoutSeconds: 60,
    });
    expect(r.runs[0]?.radiusCode, r.output).toBe('Reject');
    expect(reasons('eap.rejected').at(-1)).toMatchObject({ mac: id.mac, user: 'employee', reason: 'the state store is unavailable (the state store did not answer within 1000 ms)' });
    // Nothing is left in flight: MAC authentication is answered (fail_mode closed: a reject), not dropped.
    expect(await answer('3c:bb:00:00:00:0a', ['-t', '10'])).toBe('Access-Reject');
    redis.thaw();
    expect(await answer('3c:bb:00:00:00:0a')).toBe('Access-Accept');
  }, 120_000);
});
