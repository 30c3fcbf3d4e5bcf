/**
 * The state in Redis (keyv's Redis adapter), for several gateways sharing it. One
 * connection for all namespaces; keys are <key_prefix><namespace>::<key>.
 *
 * What differs from the SQLite file:
 * - Commands fail at once while Redis is unreachable (no offline queue): a RADIUS
 *   request or a portal page gets StoreUnavailableError instead of waiting. A Redis that
 *   takes commands and does not answer (frozen, or cut off by a firewall that drops
 *   packets) is given up on after answerDeadlineMs, with the same error.
 * - Redis expires keys itself, which would drop sessions silently. Sessions are
 *   kept a day past their end (SESSION_GRACE_MS) in an index sorted by end
 *   (<prefix>sessions:ends); reads hide them once ended, and purgeExpired takes the
 *   ended ones out of the index and the keyspace in one Lua script, so each is
 *   reported once (session.expired) whichever gateway purges. A session issued
 *   again in the meantime has a later end and is left alone.
 * - withLock holds the lock in Redis (SET NX PX, released by a Lua compare-and-
 *   delete), so that the device limit holds for enrollments racing on different
 *   gateways.
 * - What a person is told is done (the DURABLE namespaces: devices, owners, the block
 *   list, sessions) is written through RedisConnection.confirm: behind Sentinel it is on
 *   a replica before the write resolves (min_replicas_ack), so a failover keeps it.
 * One server, or a primary found through Sentinel (redis-connection.ts); no cluster: the
 * Lua scripts touch keys they do not declare.
 */
import { randomBytes } from 'node:crypto';
import KeyvRedis from '@keyv/redis';
import Keyv, { type KeyvEntry } from 'keyv';
import { DEFAULT_REPLICA_ACK_TIMEOUT_MS } from '../config/schema.js';
import { withDeadline } from '../deadline.js';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LockRunner } from './keyed-lock.js';
import { compareKeys } from './key-order.js';
import { openRedisConnection, type ConfirmWrite, type RedisCommands, type RedisConnection, type RedisStoreSettings } from './redis-connection.js';
import { DURABLE, ENTRIES_PAGE, NAMESPACES, type Namespace, type PurgeResult, type StateStore } from './state-store.js';
import { storedEntry, storedForm, storedSessions } from './stored-form.js';

/** How long an ended session stays in Redis for the purge to report it. */
const SESSION_GRACE_MS = 24 * 3600_000;
/** A lock is released by its holder, or expires after this (a gateway killed while holding it). */
const LOCK_TTL_MS = 10_000;
/** How long withLock waits for a lock another gateway holds. */
const LOCK_WAIT_MS = 5_000;
const PURGE_BATCH = 500;
const SEPARATOR = '::';

// Takes up to ARGV[2] index members whose end is at or before ARGV[1]; returns the values it deleted.
const PURGE_SCRIPT = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, key in ipairs(due) do
  redis.call('ZREM', KEYS[1], key)
  local value = redis.call('GET', key)
  if value then
    redis.call('DEL', key)
    table.insert(out, value)
  end
end
return {#due, out}`;

// Returns the value under KEYS[1], or stores ARGV[1] for ARGV[2] ms and returns nothing.
const CLAIM_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if value then return value end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A namespace whose writes someone is told about (DURABLE): every write and delete goes
 * through RedisConnection.confirm; reads share the connection of all the others.
 */
class ConfirmedAdapter extends KeyvRedis<string> {
  constructor(
    client: RedisConnection['keyvClient'],
    namespace: string,
    protected readonly confirm: ConfirmWrite,
  ) {
    super(client, { namespace, throwOnErrors: true });
  }

  override async set(key: string, value: string, ttl?: number): Promise<void> {
    const full = this.createKeyPrefix(key, this.namespace);
    await this.confirm((c) => (ttl ? c.set(full, value, { PX: ttl }) : c.set(full, value)));
  }

  override async delete(key: string): Promise<boolean> {
    const full = this.createKeyPrefix(key, this.namespace);
    return (await this.confirm((c) => c.del(full))) > 0;
  }

  // Through set() and delete(), so that a subclass's bookkeeping applies to these too.
  override async setMany(entries: KeyvEntry[]): Promise<void> {
    for (const e of entries) await this.set(e.key, e.value as string, e.ttl);
  }

  override async deleteMany(keys: string[]): Promise<boolean> {
    let all = true;
    for (const k of keys) all = (await this.delete(k)) && all;
    return all;
  }
}

/**
 * The sessions namespace's adapter: the TTL carries the grace, the sorted index
 * follows every write and delete, and a read does not return an ended session.
 */
class SessionsAdapter extends ConfirmedAdapter {
  constructor(
    client: RedisConnection['keyvClient'],
    namespace: string,
    private readonly indexKey: string,
    confirm: ConfirmWrite,
  ) {
    super(client, namespace, confirm);
  }

  override async get<U = string>(key: string): Promise<U | undefined> {
    const raw = await super.get<string>(key);
    if (raw === undefined) return undefined;
    // keyv's own { value, expires }: hide an ended session without deleting it.
    const expires = (JSON.parse(raw) as { expires?: number | null }).expires;
    return (typeof expires === 'number' && expires <= Date.now() ? undefined : raw) as U | undefined;
  }

  override async set(key: string, value: string, ttl?: number): Promise<void> {
    const full = this.createKeyPrefix(key, this.namespace);
    await this.confirm((c) => {
      const multi = c.multi();
      if (typeof ttl === 'number' && ttl > 0) {
        multi.set(full, value, { PX: ttl + SESSION_GRACE_MS });
        multi.zAdd(this.indexKey, { score: Date.now() + ttl, value: full });
      } else {
        multi.set(full, value);
        multi.zRem(this.indexKey, full);
      }
      return multi.exec();
    });
  }

  override async delete(key: string): Promise<boolean> {
    const full = this.createKeyPrefix(key, this.namespace);
    const [deleted] = (await this.confirm((c) => c.multi().del(full).zRem(this.indexKey, full).exec())) as unknown as [number, number];
    return deleted > 0;
  }

  /**
   * Writes keyv's stored forms with the end each session already has (store migrate),
   * indexed as set() does: kept a grace past its end, and one that has ended already a
   * grace from now, so that a purge still reports it once. A page in one transaction.
   */
  async setUntil(entries: ReadonlyArray<{ key: string; value: string; expiresAt: number | null }>): Promise<void> {
    const now = Date.now();
    await this.confirm((c) => {
      const multi = c.multi();
      for (const e of entries) {
        const full = this.createKeyPrefix(e.key, this.namespace);
        if (e.expiresAt === null) {
          multi.set(full, e.value);
          multi.zRem(this.indexKey, full);
        } else {
          multi.set(full, e.value, { expiration: { type: 'PXAT', value: Math.max(e.expiresAt, now) + SESSION_GRACE_MS } });
          multi.zAdd(this.indexKey, { score: e.expiresAt, value: full });
        }
      }
      return multi.exec();
    });
  }
}

/**
 * The longest a call waits for Redis's answer: behind Sentinel it may first wait
 * connect_timeout_ms for a primary, then its own answer, then (a confirmed write) up to
 * replica_ack_timeout_ms for the replicas. Past it the call fails as if Redis were down;
 * a write given up on may still be applied later, as after a connection lost mid-way.
 */
function answerDeadlineMs(settings: Pick<RedisStoreSettings, 'connect_timeout_ms' | 'replica_ack_timeout_ms'>): number {
  return 2 * settings.connect_timeout_ms + (settings.replica_ack_timeout_ms ?? DEFAULT_REPLICA_ACK_TIMEOUT_MS);
}

export async function openRedisStore(settings: RedisStoreSettings, log: Logger): Promise<StateStore> {
  const connection = await openRedisConnection(settings, log);
  const { commands: client, confirm } = connection;
  const answerMs = answerDeadlineMs(settings);
  const answered = <T>(work: Promise<T>): Promise<T> => withDeadline(work, answerMs, `no answer within ${answerMs} ms`);

  const prefix = settings.key_prefix;
  const sessionsIndex = `${prefix}sessions:ends`;
  const kv = {} as Record<Namespace, Keyv>;
  const sessionsAdapter = new SessionsAdapter(connection.keyvClient, `${prefix}sessions`, sessionsIndex, confirm);
  for (const namespace of NAMESPACES) {
    const name = `${prefix}${namespace}`;
    const adapter =
      namespace === 'sessions'
        ? sessionsAdapter
        : DURABLE.has(namespace)
          ? new ConfirmedAdapter(connection.keyvClient, name, confirm)
          : new KeyvRedis<string>(connection.keyvClient, { namespace: name, throwOnErrors: true });
    const keyv = keyvOn(answering(adapter, answered), name);
    keyv.on('error', () => {});
    kv[namespace] = keyv;
  }

  /** One command or transaction (`op`), bounded by answerMs unless it bounds its own steps (a SCAN). */
  const call = async <T>(what: string, op: () => Promise<T>, o: { stepsBounded?: boolean } = {}): Promise<T> => {
    try {
      return await (o.stepsBounded ? op() : answered(op()));
    } catch (err) {
      throw new StoreUnavailableError(`Redis: cannot ${what}: ${(err as Error).message}`, { cause: err });
    }
  };

  const withLock: LockRunner = async (keys, fn) => {
    const held: Array<{ key: string; token: string }> = [];
    try {
      for (const key of [...new Set(keys)].sort()) {
        const lockKey = `${prefix}lock:${key}`;
        const token = randomBytes(12).toString('base64url');
        const deadline = Date.now() + LOCK_WAIT_MS;
        for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
          const ok = await call('take a lock', () => client.set(lockKey, token, { NX: true, PX: LOCK_TTL_MS }));
          if (ok === 'OK') break;
          if (Date.now() > deadline) throw new StoreUnavailableError(`Redis: the lock on ${key} stayed taken for ${LOCK_WAIT_MS / 1000} s`);
          await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
        }
        held.push({ key: lockKey, token });
      }
      return await fn();
    } finally {
      for (const h of held.reverse()) {
        await answered(client.eval(RELEASE_SCRIPT, { keys: [h.key], arguments: [h.token] })).catch(() => undefined);
      }
    }
  };

  return {
    kind: 'redis',
    kv,
    withLock,
    async ping() {
      await call('answer a ping', () => withDeadline(client.ping(), settings.connect_timeout_ms, `no answer within ${settings.connect_timeout_ms} ms (ping)`));
    },
    async purgeExpired(now) {
      const sessions: unknown[] = [];
      let count = 0;
      for (;;) {
        const [taken, values] = (await call('purge ended sessions', () =>
          client.eval(PURGE_SCRIPT, { keys: [sessionsIndex], arguments: [String(now.getTime()), String(PURGE_BATCH)] }),
        )) as [number, string[]];
        count += values.length;
        sessions.push(...storedSessions(kv.sessions, values));
        if (taken < PURGE_BATCH) break;
      }
      // Other namespaces expire in Redis itself.
      return { count, sessions } satisfies PurgeResult;
    },
    async countLive(namespace, now) {
      if (namespace === 'sessions') return call('count sessions', () => client.zCount(sessionsIndex, `(${now.getTime()}`, '+inf'));
      let n = 0;
      for await (const keys of scan(client, answered, `${prefix}${namespace}${SEPARATOR}*`)) n += keys.length;
      return n;
    },
    async *entries(namespace, after) {
      const start = `${prefix}${namespace}${SEPARATOR}`;
      // SCAN has no order and may return a key twice: list the keys (not the values), sort and
      // dedupe them, then read the values a page at a time.
      const keys = await call(
        'list keys',
        async () => {
          const found: string[] = [];
          for await (const page of scan(client, answered, `${start}*`, 'string')) for (const k of page) found.push(k.slice(start.length));
          return found.sort(compareKeys).filter((k, i, all) => (i === 0 || k !== all[i - 1]) && (after === undefined || compareKeys(k, after) > 0));
        },
        // Each SCAN page is bounded: a large keyspace may take longer than one deadline to list.
        { stepsBounded: true },
      );
      for (let i = 0; i < keys.length; i += ENTRIES_PAGE) {
        const page = keys.slice(i, i + ENTRIES_PAGE);
        const raws = await call('read entries', () => client.mGet(page.map((k) => start + k)));
        // null: deleted or expired since the listing.
        for (const [j, raw] of raws.entries()) if (typeof raw === 'string') yield await storedEntry(kv[namespace], page[j]!, raw);
      }
    },
    async putEntries(namespace, entries) {
      const rows = await Promise.all(entries.map(async (e) => ({ key: e.key, value: await storedForm(kv[namespace], e), expiresAt: e.expiresAt })));
      if (namespace === 'sessions') return call('write sessions', () => sessionsAdapter.setUntil(rows));
      const now = Date.now();
      const write = (c: RedisCommands) => {
        const multi = c.multi();
        for (const r of rows) {
          const full = `${prefix}${namespace}${SEPARATOR}${r.key}`;
          if (r.expiresAt === null) multi.set(full, r.value);
          // One past its expiry is not written: Redis would drop it at once, and keyv would not return it.
          else if (r.expiresAt > now) multi.set(full, r.value, { expiration: { type: 'PXAT', value: r.expiresAt } });
        }
        return multi.exec();
      };
      await call('write entries', () => (DURABLE.has(namespace) ? confirm(write) : write(client)));
    },
    sharedCache: {
      async claim(key, placeholder, ttlMs) {
        const value = await client.eval(CLAIM_SCRIPT, { keys: [`${prefix}rfc5080:${key}`], arguments: [placeholder, String(ttlMs)] });
        return typeof value === 'string' ? value : null;
      },
      async put(key, value, ttlMs) {
        await client.set(`${prefix}rfc5080:${key}`, value, { PX: ttlMs });
      },
      async remove(key) {
        await client.del(`${prefix}rfc5080:${key}`);
      },
    },
    close: () => connection.close(),
  };
}

/** What Keyv asks of an adapter that waits for Redis: each of these calls is given up on after answerMs. */
const ANSWERED_CALLS = new Set<PropertyKey>(['get', 'getMany', 'set', 'setMany', 'delete', 'deleteMany', 'has', 'hasMany', 'clear']);

/**
 * The adapter, its calls to Redis bounded by `answered` (the iterator, used by nothing
 * on a request's path, is left as it is). Properties are read and set on the adapter
 * itself, which keeps its private fields working.
 */
function answering<A extends object>(adapter: A, answered: <T>(work: Promise<T>) => Promise<T>): A {
  // Each bounded method made once, not at every call (Keyv reads the method per call).
  const bounded = new Map<PropertyKey, (...args: unknown[]) => unknown>();
  for (const property of ANSWERED_CALLS) {
    const method: unknown = Reflect.get(adapter, property);
    if (typeof method !== 'function') continue;
    bounded.set(property, (...args: unknown[]) => {
      const result: unknown = method.apply(adapter, args);
      return result instanceof Promise ? answered(result) : result;
    });
  }
  return new Proxy(adapter, {
    get: (target, property) => bounded.get(property) ?? Reflect.get(target, property),
    set: (target, property, value) => Reflect.set(target, property, value),
  });
}

/** A Keyv on an adapter that prefixes keys itself (what @keyv/redis's createKeyv makes, for any adapter). */
function keyvOn(adapter: KeyvRedis<string>, namespace: string): Keyv {
  return new Keyv(adapter, { namespace, useKeyPrefix: false, throwOnErrors: true });
}

/** The keys matching `match` (of one type, if given), a SCAN page at a time (each page `answered` in time); a key may come twice. */
async function* scan(client: RedisCommands, answered: <T>(work: Promise<T>) => Promise<T>, match: string, type?: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const page = await answered(client.scan(cursor, { MATCH: match, COUNT: 1000, ...(type ? { TYPE: type } : {}) }));
    cursor = String(page.cursor);
    yield page.keys;
  } while (cursor !== '0');
}
