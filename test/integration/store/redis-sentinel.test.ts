import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac } from '../../../src/mac.js';
import { StoreUnavailableError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openRedisStore } from '../../../src/store/redis-state-store.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { httpsCall, type HttpsReply } from '../../helpers/https.js';
import { answers, RawNas } from '../../helpers/raw-nas.js';
import { startRedisSentinels, type TestSentinels } from '../../helpers/redis-sentinel.js';
import { macAuthRequest } from '../../unit/radius/radius-bytes.js';

/**
 * Two gateways on a Redis primary and replica watched by three sentinels (private
 * redis-server and redis-sentinel processes), configured with store.redis.sentinel and
 * the default min_replicas_ack (1). Under RADIUS and enrollment load the primary is
 * killed (-9): RADIUS answers right again within RESUME_BOUND_MS, and every enrollment
 * a client saw confirmed (201) is on the new primary. Then a replica that lags: what
 * the gateways cannot get onto it they refuse (503) instead of confirming, and RADIUS
 * is not held up meanwhile; a write confirmed without waiting for the replica (the
 * control) is lost by the failover that follows.
 */

/**
 * Kill to correct RADIUS answers on both gateways: the bound is the point of the first
 * test (a failover the gateways follow by themselves, in bounded time). Measured on a
 * 2-core machine shared with other work (load average 6 to 10): 3.3–4.3 s, the sentinels
 * naming the new primary after 2.4–2.8 s (down-after 1 s, then the vote and the
 * promotion) and the gateways' client following within about a second. Five times the
 * slowest measurement, rounded up: a machine five times slower meets it.
 */
const RESUME_BOUND_MS = 25_000;
/**
 * The longest any enrollment may take, failed or not: the bound is the point (none waits
 * for ever on a dead primary). The slowest path is timers, not work: a lock the old
 * primary's last holder could not release (it expires after 10 s) is waited for 5 s, the
 * last try waiting up to connect_timeout_ms (2 s) for a primary; measured up to 6.5 s, so
 * a machine five times slower stays under 15 s.
 */
const ENROLL_BOUND_MS = 15_000;
const REPLICA_ACK_TIMEOUT_MS = 300;
const KEY_PREFIX = 'campus:';
/** Load loops stop after this many requests each, whatever happens. */
const MAX_REQUESTS = 50_000;

let redis: TestSentinels;
let a: TestGateway;
let b: TestGateway;
/** Every MAC some client was told is enrolled (201), in either test. */
const confirmed: string[] = [];

const ca = (g: TestGateway) => readFileSync(join(g.dir, 'certs', 'ca.pem'));
const enroll = (g: TestGateway, mac: string): Promise<HttpsReply> =>
  httpsCall(g.gateway.ports.https, ca(g), '/api/agent/v1/enroll', {
    json: { username: 'employee', password: a.employeePassword, device: { mac, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } },
  });
const mac = (group: number, n: number) => `3c:5e:${group.toString(16).padStart(2, '0')}:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
/** One Access-Request, one try: 2 (Accept), 3 (Reject), or 0 for no answer within 1.5 s. */
async function radius(nas: RawNas, g: TestGateway, m: string): Promise<number> {
  const dashed = m.toUpperCase().replace(/:/g, '-');
  const request = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: randomBytes(1)[0]!, userName: dashed, callingStationId: dashed, authenticator: randomBytes(16) });
  try {
    return (await nas.ask(g.gateway.ports.auth, request, answers(request), 1, 1500))[0]!;
  } catch {
    return 0;
  }
}
/** Polls until `check` holds, at most `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
/** The MACs of `macs` that the Redis server on `port` lacks as enrolled devices (with a live session, unless `devicesOnly`). */
async function missingOn(port: number, macs: readonly string[], devicesOnly = false): Promise<string[]> {
  const state = await openRedisStore({ url: `redis://127.0.0.1:${port}`, key_prefix: KEY_PREFIX, connect_timeout_ms: 2000 }, createLogger('silent'));
  try {
    const registry = new DeviceRegistry(state.kv, state.withLock);
    const sessions = new SessionStore(state.kv.sessions);
    const missing: string[] = [];
    for (const m of macs) if (!(await registry.get(parseMac(m)!)) || (!devicesOnly && !(await sessions.live(parseMac(m)!, new Date())))) missing.push(m);
    return missing;
  } finally {
    await state.close();
  }
}

beforeAll(async () => {
  redis = await startRedisSentinels(1);
  const sentinelStore = (doc: Record<string, any>) => {
    doc.store = {
      kind: 'redis',
      redis: { sentinel: { name: redis.name, sentinels: redis.sentinels }, key_prefix: KEY_PREFIX, replica_ack_timeout_ms: REPLICA_ACK_TIMEOUT_MS },
    };
  };
  a = await startTestGateway({ https: true, configure: sentinelStore });
  // The same people on both (one directory), as two gateways of one campus have.
  b = await startTestGateway({
    https: true,
    configure: (doc) => {
      sentinelStore(doc);
      doc.directory = { kind: 'file', file: { path: a.config.directory.file.path } };
    },
  });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.close();
});

describe('two gateways on Redis Sentinel', () => {
  it('follow a failover under load: RADIUS answers right again within the bound, and no confirmed enrollment is lost', { timeout: 300_000 }, async () => {
    // Devices RADIUS is asked about; they must survive too.
    const known = Array.from({ length: 16 }, (_, i) => mac(1, i));
    for (const [i, m] of known.entries()) {
      const r = await enroll(i % 2 ? b : a, m);
      expect(r.status, r.text).toBe(201);
      confirmed.push(m);
    }
    const unknown = Array.from({ length: 4 }, (_, i) => mac(2, i));

    let stop = false;
    const started = Date.now();
    const answered: Array<{ g: 'a' | 'b'; known: boolean; sentAt: number; doneAt: number; code: number }> = [];
    const radiusLoad = async (g: TestGateway, name: 'a' | 'b') => {
      const nas = await RawNas.open();
      try {
        for (let i = 0; !stop && i < MAX_REQUESTS && Date.now() - started < 90_000; i++) {
          const isKnown = i % 5 !== 4;
          const m = isKnown ? known[i % known.length]! : unknown[i % unknown.length]!;
          const sentAt = Date.now();
          const code = await radius(nas, g, m);
          answered.push({ g: name, known: isKnown, sentAt, doneAt: Date.now(), code });
        }
      } finally {
        await nas.close();
      }
    };
    const enrolled: Array<{ mac: string; sentAt: number; doneAt: number; status: number }> = [];
    let next = 0;
    const enrollLoad = async () => {
      while (!stop && next < 2000 && Date.now() - started < 90_000) {
        const m = mac(3, next++);
        const sentAt = Date.now();
        const r = await enroll(next % 2 ? a : b, m).catch(() => undefined);
        enrolled.push({ mac: m, sentAt, doneAt: Date.now(), status: r?.status ?? 0 });
        if (r?.status === 201) confirmed.push(m);
      }
    };
    // A store that gives up on a command after 500 ms without a primary.
    const impatient = await openRedisStore(
      { sentinel: { name: redis.name, sentinels: [...redis.sentinels], database: 0 }, key_prefix: 'impatient:', connect_timeout_ms: 500 },
      createLogger('silent'),
    );
    const load = Promise.all([radiusLoad(a, 'a'), radiusLoad(a, 'a'), radiusLoad(b, 'b'), radiusLoad(b, 'b'), enrollLoad(), enrollLoad()]);
    try {
      await until('enrollments and RADIUS answers under load', () => enrolled.filter((e) => e.status === 201).length >= 20 && answered.length >= 200, 30_000);

      const victim = await redis.primaryPort();
      const killedAt = Date.now();
      redis.kill(victim);
      await until('the primary gone', () => redis.ask(victim, 'PING').then(() => false, () => true), 5_000);
      const givingUp = Date.now();
      const givenUp = await impatient.kv.flows.set('given-up', 1).then(() => undefined, (err: unknown) => err);
      const gaveUpAfter = Date.now() - givingUp;
      const promoted = await redis.waitForPrimaryOtherThan(victim, 0, RESUME_BOUND_MS + 15_000);
      const promotedAt = Date.now();

      // Answers are right again on a gateway once known devices are accepted after its last failure since the kill.
      const resumedAt = (g: 'a' | 'b'): number | undefined => {
        const mine = answered.filter((r) => r.g === g && r.known && r.doneAt >= killedAt);
        const lastFailure = Math.max(killedAt, ...mine.filter((r) => r.code !== 2).map((r) => r.sentAt));
        const after = mine.filter((r) => r.sentAt > lastFailure);
        return after.length >= 20 ? after[0]!.doneAt : undefined;
      };
      await until('RADIUS answers right again on both gateways', () => resumedAt('a') !== undefined && resumedAt('b') !== undefined, RESUME_BOUND_MS + 15_000);
      const resumeMs = { a: resumedAt('a')! - killedAt, b: resumedAt('b')! - killedAt };

      // The killed server comes back empty; the sentinels make it a replica of the new primary,
      // and enrollments are confirmed again (until then no replica acknowledges: 503).
      await redis.restart(victim);
      await redis.waitForReplica(victim);
      const replicaBackAt = Date.now();
      await until('an enrollment confirmed with the replica back', () => enrolled.some((e) => e.sentAt > replicaBackAt && e.status === 201), 20_000);
      stop = true;
      await load;

      const during = enrolled.filter((e) => e.doneAt >= killedAt && e.sentAt <= replicaBackAt);
      console.info(
        `Sentinel failover: primary killed, sentinels named ${promoted} after ${promotedAt - killedAt} ms; RADIUS right again after ${resumeMs.a} ms (a), ${resumeMs.b} ms (b); ` +
          `${answered.length} Access-Requests, ${confirmed.length} enrollments confirmed, ${during.filter((e) => e.status !== 201).length} refused between the kill and the replica's return`,
      );
      // Given up on while there was no primary, as a command to a server that is down fails;
      // and not written later, when there was one again, behind its caller's back.
      expect(givenUp).toBeInstanceOf(StoreUnavailableError);
      // The bound is the point: given up after the store's connect_timeout_ms (500 ms, a timer),
      // not after the failover; six times that leaves a slower machine room.
      expect(gaveUpAfter).toBeLessThan(3_000);
      expect(await redis.ask(promoted, 'KEYS', 'impatient:*')).toEqual([]);
      expect(resumeMs.a).toBeLessThan(RESUME_BOUND_MS);
      expect(resumeMs.b).toBeLessThan(RESUME_BOUND_MS);
      // Fail closed during the failover: nobody unknown was ever let in.
      expect(answered.filter((r) => !r.known && r.code === 2)).toEqual([]);
      // Every enrollment failed or succeeded within its bound: none waited for ever on a dead primary.
      expect(Math.max(...enrolled.map((e) => e.doneAt - e.sentAt))).toBeLessThan(ENROLL_BOUND_MS);
      expect(enrolled.filter((e) => e.status !== 201 && e.status !== 503)).toEqual([]);
      // Confirmed before, during and after the failover: all on the new primary, and accepted by both gateways.
      expect(await missingOn(promoted, confirmed)).toEqual([]);
      const nas = await RawNas.open();
      try {
        const rejected: string[] = [];
        for (const m of confirmed) for (const g of [a, b]) if ((await radius(nas, g, m)) !== 2) rejected.push(`${m} on ${g === a ? 'a' : 'b'}`);
        expect(rejected).toEqual([]);
      } finally {
        await nas.close();
      }
    } finally {
      stop = true;
      await load;
      await impatient.close();
    }
  });

  it('refuse to confirm what a lagging replica does not have, without holding RADIUS up; a write confirmed without waiting is lost by the failover', { timeout: 300_000 }, async () => {
    const primary = await redis.primaryPort();
    const replica = redis.serverPorts.find((p) => p !== primary)!;
    // The control: a store that confirms without waiting for a replica (min_replicas_ack 0).
    const careless = await openRedisStore(
      { sentinel: { name: redis.name, sentinels: [...redis.sentinels], database: 0 }, key_prefix: KEY_PREFIX, connect_timeout_ms: 2000, min_replicas_ack: 0 },
      createLogger('silent'),
    );
    const known = confirmed[0]!;
    const lost = mac(4, 1);
    let frozen = false;
    try {
      expect((await enroll(a, mac(4, 0))).status).toBe(201);
      confirmed.push(mac(4, 0));

      // The replica stops reading; the primary's replication stream backs up until it stays
      // in the primary's memory (the kernel's buffers full): what is written now is on the
      // primary only, and dies with it.
      redis.freeze(replica, true);
      frozen = true;
      const junk = 'x'.repeat(4 << 20);
      const backlog = async () => Number(/omem=(\d+)/.exec(String(await redis.ask(primary, 'CLIENT', 'LIST', 'TYPE', 'replica')))?.[1] ?? 0);
      for (let i = 0; i < 32 && (await backlog()) < 1 << 20; i++) await redis.ask(primary, 'SET', `lag-junk:${i}`, junk);
      expect(await backlog()).toBeGreaterThan(0);

      // (One enrollment: a second for the same person would wait for the first's lock, and the
      // replica must not stay frozen long enough for the sentinels to count it down.)
      let answered = false;
      const enrollment = enroll(b, mac(4, 2)).then((r) => {
        answered = true;
        return { r, at: Date.now() };
      });
      await until('a confirmed write waiting for the replica (WAIT), or the answer', async () => answered || /cmd=wait/.test(String(await redis.ask(primary, 'CLIENT', 'LIST'))), 5_000);
      const waitSeen = !answered;
      // RADIUS meanwhile, on both gateways: answered over the shared connection, not queued behind the WAIT.
      const nas = await RawNas.open();
      const radiusAnswers = await Promise.all([radius(nas, a, known), radius(nas, b, known)]).then((codes) => ({ codes, at: Date.now() }));
      await nas.close();
      await new DeviceRegistry(careless.kv, careless.withLock).enroll({ mac: parseMac(lost)!, owner: 'visitor', platform: 'android', enrolledAt: new Date().toISOString() });
      const refused = await enrollment;

      redis.kill(primary);
      redis.freeze(replica, false);
      frozen = false;
      const promoted = await redis.waitForPrimaryOtherThan(primary, 0, RESUME_BOUND_MS + 15_000);

      expect(promoted).toBe(replica);
      // Everything confirmed is there (this one too, had it been confirmed); the control,
      // confirmed by the primary alone, is not.
      if (refused.r.status === 201) confirmed.push(mac(4, 2));
      expect(await missingOn(promoted, confirmed)).toEqual([]);
      expect(await missingOn(promoted, [lost], true)).toEqual([lost]);
      expect(refused.r.status, refused.r.text).toBe(503);
      expect(refused.r.json.error.code).toBe('EG_STORE_UNAVAILABLE');
      expect(waitSeen).toBe(true);
      expect(radiusAnswers.codes).toEqual([2, 2]);
      expect(radiusAnswers.at).toBeLessThan(refused.at);
    } finally {
      if (frozen) redis.freeze(replica, false);
      await careless.close();
    }
  });
});
