import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac, type Mac } from '../../../src/mac.js';
import { DeviceLimitReachedError, StoreUnavailableError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import type { Session } from '../../../src/sessions/session.js';
import { openRedisStore } from '../../../src/store/redis-state-store.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { storeCall, type StateStore } from '../../../src/store/state-store.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { startRedisSentinels, type TestSentinels } from '../../helpers/redis-sentinel.js';

/**
 * One set of expectations for every state store (docs/development.md: contract suites): the
 * SQLite file, a real, private Redis, and a primary and replica found through Redis
 * Sentinel (whose confirmed writes wait for the replica). What the gateway relies on: namespaces
 * kept apart, TTLs, the purge handing over each ended session once (also when it
 * was read after its end, and never one issued again), the live-session count,
 * listing, and locks that make the device limit hold.
 */
const quiet = createLogger('silent');
let redis: TestRedis;
let sentinels: TestSentinels;
let dir: string;
let prefixes = 0;
/** The file of the SQLite store under test (other connections open it too). */
let sqliteFile = '';

interface Backend {
  name: string;
  open(): Promise<StateStore>;
  /** A second store on the same data (another gateway), where the backend supports several. */
  openAnother?: () => Promise<StateStore>;
}

const BACKENDS: Backend[] = [
  { name: 'sqlite', open: () => openSqliteStore((sqliteFile = join(dir, `state-${++prefixes}.sqlite`))) },
  {
    name: 'redis',
    open: () => openRedisStore({ url: redis.url, key_prefix: `t${++prefixes}:`, connect_timeout_ms: 1000 }, quiet),
  },
  {
    name: 'redis-replica-ack',
    // One server by URL (the sentinels' primary; nothing fails over here), its confirmed writes waiting for the replica.
    open: () => openRedisStore({ url: `redis://127.0.0.1:${sentinels.serverPorts[0]}`, key_prefix: `t${++prefixes}:`, connect_timeout_ms: 1000, min_replicas_ack: 1 }, quiet),
  },
  {
    name: 'redis-sentinel',
    open: () =>
      openRedisStore({ sentinel: { name: sentinels.name, sentinels: [...sentinels.sentinels], database: 0 }, key_prefix: `t${++prefixes}:`, connect_timeout_ms: 1000 }, quiet),
  },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-contract-'));
  [redis, sentinels] = await Promise.all([startRedis(), startRedisSentinels(1)]);
});
afterAll(async () => {
  await sentinels?.close();
  await redis?.close();
  await rm(dir, { recursive: true, force: true });
});

const mac = (n: number): Mac => parseMac(`3c:e0:00:00:00:${n.toString(16).padStart(2, '0')}`)!;
const session = (m: Mac, startedAt: Date, endsAt: Date, user = 'alice'): Session => ({ mac: m, user, origin: 'login', startedAt: startedAt.toISOString(), endsAt: endsAt.toISOString() });
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
/** Waits (by the clock, not by sleeping a guess) until `t` has passed. */
async function until(t: Date): Promise<void> {
  while (Date.now() <= t.getTime()) await new Promise((r) => setTimeout(r, Math.max(1, t.getTime() - Date.now() + 1)));
}

describe.each(BACKENDS)('state store contract: $name', (backend) => {
  let store: StateStore;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => store?.close());

  it('keeps namespaces apart, answers a ping, and deletes', async () => {
    await store.ping();
    await store.kv.devices.set('k', { a: 1 });
    await store.kv.flows.set('k', { b: 2 });
    expect(await store.kv.devices.get('k')).toEqual({ a: 1 });
    expect(await store.kv.flows.get('k')).toEqual({ b: 2 });
    expect(await store.kv.devices.delete('k')).toBe(true);
    expect(await store.kv.devices.delete('k')).toBe(false);
    expect(await store.kv.flows.get('k')).toEqual({ b: 2 });
  });

  it('reads synchronously what keyv reads, where the backend can (SQLite: readNow), and SessionStore.on uses it', async () => {
    const sessions = SessionStore.on(store);
    if (backend.name !== 'sqlite') {
      // Redis must wait for its server: no synchronous path, callers use live().
      expect(store.readNow).toBeUndefined();
      const read = sessions.live(mac(0x60), new Date());
      expect(read).toBeInstanceOf(Promise);
      await read;
      return;
    }
    const readNow = store.readNow!;
    const now = new Date();
    const live = session(mac(0x60), now, new Date(now.getTime() + 60_000), ':colon-first user');
    await sessions.put(live, now);
    // The tests below count this store's sessions: leave none, whatever fails here.
    onTestFinished(async () => void (await sessions.revoke(live.mac)));
    // keyv escapes strings that begin with ':'; readNow must undo that exactly as keyv.get does.
    expect(readNow('sessions', live.mac)).toEqual(await store.kv.sessions.get(live.mac));
    // SessionStore.on reads through readNow: the session at once, not a promise.
    expect(sessions.live(live.mac, now)).toEqual(live);
    // Values whose strings begin with ':' anywhere (keyv escapes them), Buffers, and plain ones read as keyv reads them.
    const values = {
      plain: { a: 'x', n: 1, list: ['y', 2], nested: { b: 'z:' } },
      colons: { a: ':x', list: [':y', 'z', ':'], nested: { ':key': '::v' }, last: ':' },
      buffer: { bytes: Buffer.from([0, 1, 254]), list: [Buffer.from('hi')] },
      text: ':top',
    };
    for (const [key, value] of Object.entries(values)) {
      await store.kv.devices.set(key, value);
      expect(readNow('devices', key), key).toEqual(await store.kv.devices.get(key));
      expect(readNow('devices', key), key).toEqual(value);
      await store.kv.devices.delete(key);
    }
    expect(readNow('sessions', mac(0x61))).toBeUndefined();
    expect(readNow('devices', live.mac)).toBeUndefined();
    // Past its end: neither live() nor readNow (past the TTL) returns it.
    expect(sessions.live(live.mac, new Date(now.getTime() + 60_000))).toBeUndefined();
    await store.kv.tokens.set('brief', { n: 1 }, 20);
    expect(readNow('tokens', 'brief')).toEqual({ n: 1 });
    await until(new Date(Date.now() + 30));
    expect(readNow('tokens', 'brief')).toBeUndefined();
  });

  // SQLite's read cache only: Redis has no readNow (the test above checks that), so nothing is registered for it here.
  const sqliteOnly = backend.name === 'sqlite' ? it : () => undefined;
  sqliteOnly('readNow answers from memory only while nothing changed: another connection\'s commit is seen from the next turn, its own writes at once', async () => {
    const readNow = store.readNow!;
    // The first read of a turn goes to SQLite anyway; a turn's later reads can come from memory.
    const nextTurn = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      expect(readNow('flows', 'first-read-of-the-turn')).toBeUndefined();
    };
    // Another connection to the same file: another process (the portal, the command line, a worker).
    const other = await openSqliteStore(sqliteFile);
    onTestFinished(() => other.close());
    const m = mac(0x70);
    const now = new Date();
    onTestFinished(async () => void (await other.kv.sessions.delete(m)));
    expect(readNow('sessions', m)).toBeUndefined();
    expect(readNow('sessions', m)).toBeUndefined();
    await new SessionStore(other.kv.sessions).put(session(m, now, new Date(now.getTime() + 60_000), 'bob'), now);
    await nextTurn();
    expect(readNow('sessions', m)).toMatchObject({ user: 'bob' });
    expect(readNow('sessions', m)).toMatchObject({ user: 'bob' });
    await new SessionStore(other.kv.sessions).revoke(m);
    await nextTurn();
    expect(readNow('sessions', m)).toBeUndefined();
    // Its own writes (which SQLite's data_version does not count), through keyv: seen once they resolve.
    await store.kv.sessions.set(m, session(m, now, new Date(now.getTime() + 60_000), 'carol'), 60_000);
    expect(readNow('flows', 'first-read-of-the-turn')).toBeUndefined();
    expect(readNow('sessions', m)).toMatchObject({ user: 'carol' });
    await store.kv.sessions.delete(m);
    expect(readNow('flows', 'first-read-of-the-turn')).toBeUndefined();
    expect(readNow('sessions', m)).toBeUndefined();
    // The other connection again, on a key read many times before.
    for (let i = 0; i < 3; i++) expect(readNow('devices', 'dev-1')).toBeUndefined();
    await other.kv.devices.set('dev-1', { owner: 'dave' });
    await nextTurn();
    expect(readNow('devices', 'dev-1')).toEqual({ owner: 'dave' });
    await other.kv.devices.delete('dev-1');
    await nextTurn();
    expect(readNow('devices', 'dev-1')).toBeUndefined();
    // Its own writes in one turn, not committed yet (leases go in the turn's batch, committed at its end):
    // each seen at once, also a second write in the transaction the first one opened.
    await nextTurn();
    onTestFinished(async () => {
      await store.kv.leases.delete('dev-3');
      await store.kv.leases.delete('dev-4');
    });
    /** Microtasks only: keyv reaches the store's write within a few, and the turn cannot end meanwhile. */
    const seenWithinTurn = async (key: string) => {
      let seen: unknown;
      for (let hop = 0; hop < 50 && seen === undefined; hop++) {
        await Promise.resolve();
        seen = readNow('leases', key);
      }
      return seen;
    };
    const first = store.kv.leases.set('dev-4', { owner: 'frank' });
    expect(await seenWithinTurn('dev-4')).toEqual({ owner: 'frank' });
    expect(readNow('leases', 'dev-3')).toBeUndefined();
    const second = store.kv.leases.set('dev-3', { owner: 'grace' });
    expect(await seenWithinTurn('dev-3')).toEqual({ owner: 'grace' });
    await Promise.all([first, second]);
    // A row that is not keyv's JSON (a damaged file, another program's write): a store failure, every time (never remembered).
    const raw = new Database(sqliteFile);
    onTestFinished(() => {
      raw.prepare('DELETE FROM enrollgate WHERE key = ?').run('devices:damaged');
      raw.close();
    });
    raw.prepare('INSERT INTO enrollgate (key, value, expires) VALUES (?, ?, NULL)').run('devices:damaged', '{"value": not json');
    await nextTurn();
    for (let i = 0; i < 2; i++) expect(() => readNow('devices', 'damaged')).toThrow(StoreUnavailableError);
    // A change that has left the change log (50,000 kept) by the next look: everything is read afresh.
    expect(readNow('devices', 'dev-2')).toBeUndefined();
    onTestFinished(async () => {
      await other.kv.devices.delete('dev-2');
      await other.kv.flows.clear();
    });
    await other.kv.devices.set('dev-2', { owner: 'erin' });
    await other.putEntries('flows', Array.from({ length: 51_000 }, (_, i) => ({ key: `f${i}`, value: { i }, expiresAt: Date.now() + 60_000 })));
    await nextTurn();
    expect(readNow('devices', 'dev-2')).toEqual({ owner: 'erin' });
  });

  it('hides entries past their TTL', async () => {
    await store.kv.tokens.set('short', 1, 30);
    await store.kv.tokens.set('long', 2, 60_000);
    await until(new Date(Date.now() + 40));
    expect(await store.kv.tokens.get('short')).toBeUndefined();
    expect(await store.kv.tokens.get('long')).toBe(2);
  });

  it('hands each ended session to the purge once, also after a read; a session issued again is kept', async () => {
    const sessions = new SessionStore(store.kv.sessions);
    const now = new Date();
    const end = new Date(now.getTime() + 60);
    // A user name beginning with ':' (keyv escapes it in storage): handed over as it was written.
    await sessions.put(session(mac(1), now, end, ':colon'), now);
    await sessions.put(session(mac(2), now, end), now);
    await sessions.put(session(mac(3), now, new Date(now.getTime() + 3600_000)), now);
    expect(await store.countLive('sessions', now)).toBe(3);
    await until(end);
    // Read after its end (a RADIUS request just after the cut-off): not live, still reported below.
    expect(await sessions.live(mac(1), new Date())).toBeUndefined();
    // Issued again after its end: a new session, not to be purged.
    const again = new Date();
    await sessions.put(session(mac(2), again, new Date(again.getTime() + 3600_000)), again);

    const purged = await store.purgeExpired(new Date());
    expect((purged.sessions as Session[]).map((s) => [s.mac, s.user])).toEqual([[mac(1), ':colon']]);
    expect((await store.purgeExpired(new Date())).sessions).toEqual([]);
    expect((await sessions.live(mac(2), new Date()))?.startedAt).toBe(again.toISOString());
    expect(await store.countLive('sessions', new Date())).toBe(2);
  });

  it('lists a namespace (the registry lists devices and the block list)', async () => {
    const registry = new DeviceRegistry(store.kv, store.withLock);
    await registry.enroll({ mac: mac(10), owner: 'bob', platform: 'ios', enrolledAt: new Date().toISOString() });
    await registry.enroll({ mac: mac(11), owner: 'carol', platform: 'android', enrolledAt: new Date().toISOString() });
    await registry.block(mac(12), { by: 'admin', reason: 'stolen', at: new Date().toISOString() });
    expect((await registry.list()).map((d) => d.mac).sort()).toEqual([mac(10), mac(11)]);
    expect((await registry.listByOwner('BOB')).map((d) => d.mac)).toEqual([mac(10)]);
    expect((await registry.listBlocked()).map((b) => b.mac)).toEqual([mac(12)]);
  });

  it('binds certificates to a device, revokes them when it is unenrolled, and lists the revocations with their expiry', async () => {
    const registry = new DeviceRegistry(store.kv, store.withLock);
    const at = new Date();
    const notAfter = new Date(at.getTime() + 86_400_000);
    const d = await registry.enroll({ mac: mac(30), owner: 'zoe', platform: 'android', enrolledAt: at.toISOString() });
    // Concurrent recordings (two profile downloads at once) lose none: the device's lock holds.
    await Promise.all(['0A1', '0A2', '0A3'].map((serial) => registry.recordCertificate(d.mac, { serial, notAfter }, at)));
    expect([...(await registry.certificateSerials(d.mac))].sort()).toEqual(['a1', 'a2', 'a3']);
    expect(await registry.unenroll(d.mac, 'zoe', 5, at)).toBe(true);
    // Another registry on the store (another gateway) sees the revocations.
    const other = new DeviceRegistry(store.kv, store.withLock);
    expect((await other.revocations.list()).map((e) => e.serial).sort()).toEqual(['a1', 'a2', 'a3']);
    expect(await other.revocations.status('A2')).toEqual({ serial: 'a2', revokedAt: at.toISOString(), reason: 5, notAfter: notAfter.toISOString() });
    // Kept past the certificate's notAfter (RFC 5280 §5: until a CRL after it), then purged like any entry.
    const [entry] = await collect(store.entries('revoked'));
    expect(entry!.expiresAt).toBeGreaterThan(notAfter.getTime());
    await registry.enroll({ ...d, enrolledAt: new Date().toISOString() });
    expect(await registry.certificateSerials(d.mac)).toEqual([]);
    await registry.unenroll(d.mac);
  });

  it('holds the device limit when enrollments for one person race (through the store’s lock)', async () => {
    // Two registries on the store: for Redis they could be two gateways; the lock is the store's.
    const a = new DeviceRegistry(store.kv, store.withLock);
    const b = new DeviceRegistry(store.kv, store.withLock);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).enroll({ mac: mac(20 + i), owner: 'dave', platform: 'android', enrolledAt: new Date().toISOString() }, 3)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof DeviceLimitReachedError)).toBe(true);
    expect(await a.listByOwner('dave')).toHaveLength(3);
  });
});

describe('the Redis store', () => {
  it('holds the device limit across two connections (two gateways)', async () => {
    const settings = { url: redis.url, key_prefix: 'race:', connect_timeout_ms: 1000 };
    const [one, two] = [await openRedisStore(settings, quiet), await openRedisStore(settings, quiet)];
    try {
      const a = new DeviceRegistry(one.kv, one.withLock);
      const b = new DeviceRegistry(two.kv, two.withLock);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).enroll({ mac: mac(40 + i), owner: 'erin', platform: 'ios', enrolledAt: new Date().toISOString() }, 2)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      expect(await b.listByOwner('erin')).toHaveLength(2);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('fails fast, with StoreUnavailableError, while Redis is down, and works again when it is back', async () => {
    // Fast means at once, not at a deadline: the read and the ping end before the ping's
    // deadline (connect_timeout_ms) could have, which is set far above what failing at
    // once takes on any machine (a few ms here).
    const deadlineMs = 3000;
    const store = await openRedisStore({ url: redis.url, key_prefix: 'down:', connect_timeout_ms: deadlineMs }, quiet);
    try {
      await store.kv.devices.set('x', 1);
      await redis.stop();
      const started = Date.now();
      await expect(storeCall('read', () => store.kv.devices.get('x'))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(deadlineMs);
      await redis.start();
      // Reconnects by itself (backoff up to 2 s); the data was in memory only, so it is gone.
      for (const deadline = Date.now() + 5000; ; ) {
        try {
          await store.ping();
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await store.kv.devices.set('y', 2);
      expect(await store.kv.devices.get('y')).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('refuses to open when Redis cannot be reached, naming the host and not the password', async () => {
    const err = await openRedisStore({ url: 'redis://user:s3cret-pw@127.0.0.1:1', key_prefix: 'x:', connect_timeout_ms: 300 }, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain('127.0.0.1:1');
    expect((err as Error).message).not.toContain('s3cret-pw');
  });

  it('refuses to confirm a write fewer replicas acknowledge than min_replicas_ack; other writes do not wait', async () => {
    const store = await openRedisStore(
      { url: `redis://127.0.0.1:${sentinels.serverPorts[0]}`, key_prefix: 'acks:', connect_timeout_ms: 1000, min_replicas_ack: 2, replica_ack_timeout_ms: 100 },
      quiet,
    );
    try {
      const started = Date.now();
      const err = await storeCall('write a device', () => store.kv.devices.set('x', 1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toContain('1 of the 2 replicas needed acknowledged a write within 100 ms');
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      // Written on the primary all the same (not confirmed is not undone).
      expect(await store.kv.devices.get('x')).toBe(1);
      await store.kv.flows.set('y', 2);
      expect(await store.kv.flows.get('y')).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('refuses to open when no sentinel answers, in time, naming the sentinels and not the passwords', async () => {
    const started = Date.now();
    const err = await openRedisStore(
      {
        sentinel: { name: 'eg', sentinels: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }], password: 's3cret-pw', sentinel_password: 'sentinel-pw', database: 0 },
        key_prefix: 'x:',
        connect_timeout_ms: 300,
      },
      quiet,
    ).catch((e: unknown) => e);
    // The bound is the point ("in time"): refused at once, or given up at connect_timeout_ms
    // (300 ms, a timer), never left waiting; 2 s leaves a slower machine room.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain('the primary "eg" of the sentinels 127.0.0.1:1, 127.0.0.1:2');
    expect((err as Error).message).not.toMatch(/s3cret-pw|sentinel-pw/);
  });
});
