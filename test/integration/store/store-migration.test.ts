import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountingStore } from '../../../src/accounting/accounting-store.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac, type Mac } from '../../../src/mac.js';
import { createLogger } from '../../../src/logger.js';
import { LoginTokenStore } from '../../../src/devices/login-token-store.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import type { Session } from '../../../src/sessions/session.js';
import { CheckpointFile, type Checkpoint } from '../../../src/store/migration-checkpoint.js';
import { copyStore, namespaceWithEntries } from '../../../src/store/migration-copy.js';
import { compareStores } from '../../../src/store/migration-verify.js';
import { openRedisStore } from '../../../src/store/redis-state-store.js';
import { NAMESPACES, type StateStore, type StoredEntry } from '../../../src/store/state-store.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';

/**
 * store migrate's copy and comparison between a real SQLite file and a private
 * redis-server: every namespace, both ways, with what the gateway then reads from the
 * target (sessions, the owner index, tokens, leases, the Redis purge of ended
 * sessions), an interrupted copy resumed, and a tampered target caught.
 */
const quiet = createLogger('silent');
let redis: TestRedis;
let dir: string;
let opened: StateStore[] = [];
let stores = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-migration-'));
  redis = await startRedis();
});
afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  await redis?.close();
  await rm(dir, { recursive: true, force: true });
});

async function sqlite(): Promise<{ store: StateStore; file: string }> {
  const file = join(dir, `state-${++stores}.sqlite`);
  const store = await openSqliteStore(file);
  opened.push(store);
  return { store, file };
}
async function redisStore(prefix = `m${++stores}:`): Promise<StateStore> {
  const store = await openRedisStore({ url: redis.url, key_prefix: prefix, connect_timeout_ms: 1000 }, quiet);
  opened.push(store);
  return store;
}

const mac = (n: number): Mac => parseMac(`3c:a0:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`)!;
const session = (m: Mac, user: string, start: number, end: number): Session => ({
  mac: m,
  user,
  origin: 'login',
  startedAt: new Date(start).toISOString(),
  endsAt: new Date(end).toISOString(),
});
async function until(t: number): Promise<void> {
  while (Date.now() <= t) await new Promise((r) => setTimeout(r, Math.max(1, t - Date.now() + 1)));
}

/** Many sessions: more than a page of entries() and of the copy. */
const BULK = 1_200;
/** Keys whose UTF-16 order is not their UTF-8 order (an emoji after U+FFFD), and one value that keyv's serializer escapes. */
const AWKWARD: ReadonlyArray<[string, unknown]> = [
  ['zz-\u{1F600}', { emoji: true }],
  ['zz-\uFFFD', { replacement: true }],
  ['straße', { nested: { b: 2, a: [1, { y: null, x: 'x' }] } }],
  ['colon', ':starts with a colon'],
];

interface Fixture {
  tokenId: string;
  endedMac: Mac;
  liveMac: Mac;
  /** The live session's end as keyv stored it. */
  sessionExpiresAt: number;
  tokenExpiresAt: number;
}

/** Writes what a gateway writes, through its own classes, into every namespace. */
async function fill(store: StateStore): Promise<Fixture> {
  const now = Date.now();
  const registry = new DeviceRegistry(store.kv, store.withLock);
  await registry.enroll({ mac: mac(1), owner: 'Bob', platform: 'ios', enrolledAt: new Date(now - 2000).toISOString() });
  await registry.enroll({ mac: mac(2), owner: 'bob', platform: 'android', enrolledAt: new Date(now - 1000).toISOString() });
  await registry.enroll({ mac: mac(3), owner: 'Müller', platform: 'ios', enrolledAt: new Date(now).toISOString() });
  await registry.block(mac(4), { by: 'admin', reason: 'stolen', at: new Date(now).toISOString() });

  const sessions = new SessionStore(store.kv.sessions);
  const endsAt = now + 3_600_000;
  await sessions.put(session(mac(1), 'Bob', now, endsAt), new Date(now));
  // Ended before the copy and not purged: the target's purge must still report it.
  await sessions.put(session(mac(2), 'bob', now, now + 40), new Date(now));
  // Bulk sessions, written as a page (keyv's stored form, as SessionStore.put would).
  const bulk: StoredEntry[] = Array.from({ length: BULK }, (_, i) => ({ key: mac(256 + i), value: session(mac(256 + i), `user${i}`, now, endsAt + i), expiresAt: endsAt + i }));
  await store.putEntries('sessions', bulk);

  const { id: tokenId } = await new LoginTokenStore(store.kv.tokens).issue({ mac: mac(1), user: 'Bob', nas: 'wlc1' }, new Date(now));
  await new AccountingStore(store.kv.accounting, store.kv.leases).save({
    sessionId: 'acct-1',
    mac: mac(1),
    nas: 'wlc1',
    ip: '10.1.0.5',
    status: 'start',
    inputOctets: 0,
    outputOctets: 0,
    startedAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
  });
  for (const namespace of NAMESPACES) {
    for (const [key, value] of AWKWARD) await store.kv[namespace].set(key, value);
    await store.kv[namespace].set('with-ttl', { ttl: true }, 600_000);
  }
  // Expired before the copy: left out.
  await store.kv.tokens.set('expired', 1, 20);
  await until(now + 40);
  const token = await store.kv.tokens.getRaw(tokenId);
  const live = await store.kv.sessions.getRaw(mac(1));
  return { tokenId, endedMac: mac(2), liveMac: mac(1), sessionExpiresAt: live!.expires!, tokenExpiresAt: token!.expires! };
}

async function copy(source: StateStore, target: StateStore, file: string, extra: Partial<Parameters<typeof copyStore>[0]> = {}) {
  const checkpoints = new CheckpointFile(file);
  const checkpoint: Checkpoint = (await checkpoints.read()) ?? { from: 'a', to: 'b', startedAt: new Date().toISOString(), namespaces: {} };
  return copyStore({ source, target, checkpoint, save: (c) => checkpoints.write(c), ...extra });
}

describe('store migrate: SQLite to Redis and back', () => {
  let source: StateStore;
  let sourceFile: string;
  let fixture: Fixture;
  let target: StateStore;
  const prefix = 'there:';

  beforeAll(async () => {
    ({ store: source, file: sourceFile } = await sqlite());
    fixture = await fill(source);
    target = await redisStore(prefix);
  });

  it('copies every namespace, each entry with its expiry, and the two compare equal', async () => {
    expect(await namespaceWithEntries(target)).toBeUndefined();
    const result = await copy(source, target, sourceFile);
    expect(result).toMatchObject({ complete: true, ended: 1, skipped: 1 });
    const comparison = await compareStores(source, target);
    expect(comparison.map((c) => c.namespace)).toEqual([...NAMESPACES]);
    for (const c of comparison) {
      expect(c.same, c.namespace).toBe(true);
      expect(c.source.count, c.namespace).toBeGreaterThan(0);
    }
    expect(comparison.find((c) => c.namespace === 'sessions')!.target.count).toBe(BULK + 1 + AWKWARD.length + 1);
    // The end-time index holds every session with an end that is live (the bulk, mac 1, "with-ttl").
    expect(await target.countLive('sessions', new Date())).toBe(BULK + 2);
  });

  it('the gateway reads the copy from Redis: sessions, the owner index, the block list, tokens, leases', async () => {
    const now = new Date();
    expect((await new SessionStore(target.kv.sessions).live(fixture.liveMac, now))?.user).toBe('Bob');
    expect(await new SessionStore(target.kv.sessions).live(fixture.endedMac, now)).toBeUndefined();
    const registry = new DeviceRegistry(target.kv, target.withLock);
    expect((await registry.listByOwner('BOB')).map((d) => d.mac)).toEqual([mac(1), mac(2)]);
    expect((await registry.listByOwner('müller')).map((d) => d.mac)).toEqual([mac(3)]);
    expect((await registry.blocked(mac(4)))?.reason).toBe('stolen');
    expect((await new LoginTokenStore(target.kv.tokens).get(fixture.tokenId, now))?.user).toBe('Bob');
    expect((await new AccountingStore(target.kv.accounting, target.kv.leases).leaseFor('10.1.0.5'))?.mac).toBe(mac(1));
    expect(await target.kv.flows.get('colon')).toBe(':starts with a colon');
    expect(await target.kv.tokens.get('expired')).toBeUndefined();
  });

  it('Redis keeps the expiry: the same instant for a token, a session’s end in the index (with the grace on the key)', async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const tokenExpiry = Number(await client.sendCommand(['PEXPIRETIME', `${prefix}tokens::${fixture.tokenId}`]));
      expect(tokenExpiry).toBe(fixture.tokenExpiresAt);
      expect(await client.zScore(`${prefix}sessions:ends`, `${prefix}sessions::${fixture.liveMac}`)).toBe(fixture.sessionExpiresAt);
      const sessionExpiry = Number(await client.sendCommand(['PEXPIRETIME', `${prefix}sessions::${fixture.liveMac}`]));
      expect(sessionExpiry).toBe(fixture.sessionExpiresAt + 24 * 3600_000);
      // Without a TTL in the source, none in Redis.
      expect(await client.pTTL(`${prefix}devices::${mac(1)}`)).toBe(-1);
    } finally {
      await client.quit();
    }
  });

  it('the Redis purge reports the session that had ended before the copy, once', async () => {
    const purged = await target.purgeExpired(new Date());
    expect((purged.sessions as Session[]).map((s) => s.mac)).toEqual([fixture.endedMac]);
    expect((await target.purgeExpired(new Date())).sessions).toEqual([]);
    // The source is untouched: its own purge would still report it.
    expect(((await source.purgeExpired(new Date())).sessions as Session[]).map((s) => s.mac)).toEqual([fixture.endedMac]);
  });

  it('and back from Redis to a new SQLite file, with a session ended in Redis carried for the SQLite purge', async () => {
    const now = Date.now();
    await new SessionStore(target.kv.sessions).put(session(mac(9), 'dave', now, now + 30), new Date(now));
    await until(now + 40);
    const { store: back, file } = await sqlite();
    const result = await copy(target, back, file);
    expect(result).toMatchObject({ complete: true, ended: 1 });
    for (const c of await compareStores(target, back)) expect(c.same, c.namespace).toBe(true);
    for (const c of await compareStores(source, back)) expect(c.same, c.namespace).toBe(true);
    expect((await new SessionStore(back.kv.sessions).live(fixture.liveMac, new Date()))?.user).toBe('Bob');
    expect((await new DeviceRegistry(back.kv, back.withLock).listByOwner('bob')).map((d) => d.mac)).toEqual([mac(1), mac(2)]);
    expect(((await back.purgeExpired(new Date())).sessions as Session[]).map((s) => s.mac)).toEqual([mac(9)]);
  });
});

describe('store migrate: an interrupted copy', () => {
  it('stops after N entries with a checkpoint, goes on from it without copying again, and verifies', async () => {
    const { store: source, file } = await sqlite();
    await fill(source);
    const target = await redisStore();
    const first = await copy(source, target, file, { stopAfter: 700 });
    expect(first).toMatchObject({ complete: false, copied: 700 });
    const checkpoint = (await new CheckpointFile(file).read())!;
    // devices, owners and blocked, then stopped in the middle of sessions.
    const now = new Date();
    const before = (await source.countLive('devices', now)) + (await source.countLive('owners', now)) + (await source.countLive('blocked', now));
    expect(checkpoint.namespaces.blocked).toMatchObject({ done: true });
    expect(checkpoint.namespaces.sessions).toMatchObject({ done: false, copied: 700 - before });
    expect(checkpoint.namespaces.flows).toBeUndefined();
    expect((await compareStores(source, target)).find((c) => c.namespace === 'sessions')!.same).toBe(false);

    const second = await copy(source, target, file);
    expect(second.complete).toBe(true);
    const total = first.copied + second.copied;
    const fresh = await redisStore();
    const whole = await copy(source, fresh, join(dir, 'whole.sqlite'));
    expect(total).toBe(whole.copied);
    for (const c of await compareStores(source, target)) expect(c.same, c.namespace).toBe(true);
  });

  it('a crash between a page and its checkpoint copies that page again, harmlessly', async () => {
    const { store: source, file } = await sqlite();
    await fill(source);
    const target = await redisStore();
    const checkpoints = new CheckpointFile(file);
    let saves = 0;
    const crash = copyStore({
      source,
      target,
      checkpoint: { from: 'a', to: 'b', startedAt: new Date().toISOString(), namespaces: {} },
      pageSize: 100,
      save: async (c) => {
        if (++saves === 5) throw new Error('killed');
        await checkpoints.write(c);
      },
    });
    await expect(crash).rejects.toThrow('killed');
    const resumed = await copy(source, target, file);
    expect(resumed.complete).toBe(true);
    for (const c of await compareStores(source, target)) expect(c.same, c.namespace).toBe(true);
  });
});

describe('store migrate: a target that differs', () => {
  it('names each namespace whose count or checksum differs', async () => {
    const { store: source, file } = await sqlite();
    await fill(source);
    const target = await redisStore();
    await copy(source, target, file);
    await target.kv.devices.set(mac(1), { mac: mac(1), owner: 'mallory', platform: 'ios', enrolledAt: new Date().toISOString() });
    await target.kv.leases.set('10.9.9.9', { ip: '10.9.9.9', mac: mac(7) }, 600_000);
    const differ = (await compareStores(source, target)).filter((c) => !c.same);
    expect(differ.map((c) => c.namespace)).toEqual(['devices', 'leases']);
    expect(differ[0]!.source.count).toBe(differ[0]!.target.count);
    expect(differ[1]!.target.count).toBe(differ[1]!.source.count + 1);
  });

  it('a checkpoint file that does not read is an error naming it', async () => {
    const file = join(dir, 'broken.sqlite');
    const checkpoints = new CheckpointFile(file);
    await checkpoints.write({ from: 'a', to: 'b', startedAt: 'now', namespaces: {} });
    expect(existsSync(`${file}.migration.json`)).toBe(true);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(checkpoints.path, '{"from": 1}');
    await expect(checkpoints.read()).rejects.toThrow(checkpoints.path);
    await checkpoints.remove();
    expect(await checkpoints.read()).toBeUndefined();
  });
});
