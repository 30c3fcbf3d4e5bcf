/**
 * The Redis store's connections: to one server by URL, or to the primary that Redis
 * Sentinel names, through node-redis's own Sentinel client (it asks the sentinels for
 * the primary, listens for +switch-master, and moves its connections to the new
 * primary after a failover).
 *
 * Confirmed writes (what a person is told is done) go over connections of their own and
 * wait until min_replicas_ack replicas have them (WAIT): Redis replicates
 * asynchronously, and a failover promotes a replica, so a write only the old primary had
 * is lost with it. A WAIT blocks its connection, so it never shares one with the reads
 * RADIUS answers from.
 */
import { createClient, createSentinel, type RedisClientType, type RedisSentinelType } from '@keyv/redis';
import type { RedisLocation, RedisOptions, SentinelConfig } from '../config/load.js';
import { DEFAULT_REPLICA_ACK_TIMEOUT_MS } from '../config/schema.js';
import { withDeadline } from '../deadline.js';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';

/** The store's Redis settings; callers that build them (tests, benches) may leave out the replica acknowledgement. */
export type RedisStoreSettings = Omit<RedisOptions, 'replica_ack_timeout_ms'> & { readonly replica_ack_timeout_ms?: number } & RedisLocation;

/** The commands the store sends itself, which a client and the Sentinel client both have. */
export type RedisCommands = Pick<RedisClientType, 'set' | 'del' | 'eval' | 'zCount' | 'mGet' | 'scan' | 'multi' | 'ping'>;

/** Runs writes on the primary and resolves once they are confirmed (RedisConnection.confirm). */
export type ConfirmWrite = <T>(write: (connection: RedisClientType) => Promise<T>) => Promise<T>;

/** The Redis store's way to the primary, whichever server that is at the moment. */
export interface RedisConnection {
  /** What keyv's Redis adapters are built on: the client, or the Sentinel client. */
  readonly keyvClient: RedisClientType | RedisSentinelType;
  /** Commands on the primary over the shared connection: reads, and writes nobody is told about. */
  readonly commands: RedisCommands;
  /**
   * Runs `write` on the primary over a connection of confirmed writes, then waits (WAIT)
   * until min_replicas_ack replicas have it; rejects with StoreUnavailableError when fewer
   * acknowledge within replica_ack_timeout_ms (the write is then on the primary, but not
   * confirmed). Behind Sentinel, a write cut short by a failover is written again, and
   * waited for, on the new primary. With min_replicas_ack 0, just runs `write`.
   */
  readonly confirm: ConfirmWrite;
  /** How many replicas a confirmed write waits for. */
  readonly minReplicasAck: number;
  /** Where Redis is, for messages: host:port, or the primary's name and its sentinels (never a password). */
  readonly where: string;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Confirmed writes run this many at a time behind Sentinel (each waits on a connection of its own). */
const CONFIRMED_CONNECTIONS = 2;

/**
 * min_replicas_ack when the config leaves it out: behind Sentinel one replica must have
 * what was confirmed, so that a failover (which promotes a replica) cannot lose it; one
 * server by URL may have no replica at all.
 */
export function defaultMinReplicasAck(location: RedisLocation): number {
  return location.sentinel ? 1 : 0;
}

/** Where Redis is, without user or password: host:port of a URL, or the primary's name and its sentinels. */
export function redisWhere(location: RedisLocation): string {
  if (location.sentinel) {
    const { name, sentinels } = location.sentinel;
    return `the primary "${name}" of the sentinels ${sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`;
  }
  return redisHost(location.url);
}

/** host:port of a Redis URL, without user or password. */
export function redisHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return '(the configured URL)';
  }
}

export async function openRedisConnection(settings: RedisStoreSettings, log: Logger): Promise<RedisConnection> {
  const minReplicasAck = settings.min_replicas_ack ?? defaultMinReplicasAck(settings);
  const ackTimeoutMs = settings.replica_ack_timeout_ms ?? DEFAULT_REPLICA_ACK_TIMEOUT_MS;
  const where = redisWhere(settings);
  const opening: Opening = {
    waitMs: settings.connect_timeout_ms,
    minReplicasAck,
    ackTimeoutMs,
    where,
    errors: errorLog(log),
    log,
    async waitForReplicas(connection) {
      const acknowledged = await connection.wait(minReplicasAck, ackTimeoutMs);
      if (acknowledged < minReplicasAck) {
        throw new StoreUnavailableError(
          `Redis: ${acknowledged} of the ${minReplicasAck} replicas needed acknowledged a write within ${ackTimeoutMs} ms (store.redis.min_replicas_ack); it is on the primary, but not confirmed`,
        );
      }
    },
  };
  const connected = settings.sentinel ? await sentinelConnection(opening, settings.sentinel) : await urlConnection(opening, settings.url);
  return { ...connected, minReplicasAck, where };
}

/** What both kinds of connection are opened with. */
interface Opening {
  /** connect_timeout_ms: for connecting, and (Sentinel) for a command waiting for a primary. */
  readonly waitMs: number;
  readonly minReplicasAck: number;
  readonly ackTimeoutMs: number;
  readonly where: string;
  readonly errors: ErrorLog;
  readonly log: Logger;
  /** WAIT on the connection that wrote, for min_replicas_ack replicas; throws StoreUnavailableError when fewer acknowledge in time. */
  waitForReplicas(connection: RedisClientType): Promise<void>;
}

type Connected = Omit<RedisConnection, 'minReplicasAck' | 'where'>;

/** One server by URL: the shared client, and a second connection for confirmed writes when they wait for replicas. */
async function urlConnection(o: Opening, url: string): Promise<Connected> {
  const client = createClient({
    url,
    // Fail fast while disconnected: queued commands would hold RADIUS answers.
    disableOfflineQueue: true,
    socket: { connectTimeout: o.waitMs, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
  }) as RedisClientType;
  // Every namespace's adapter listens on the one client: more than Node's default ten.
  client.setMaxListeners(32);
  client.on('error', o.errors.record);
  const writer = o.minReplicasAck > 0 ? client.duplicate() : undefined;
  writer?.on('error', o.errors.record);
  try {
    await withDeadline(Promise.all([client.connect(), writer?.connect()]), o.waitMs, `no answer within ${o.waitMs} ms (connecting)`);
  } catch (err) {
    client.destroy();
    writer?.destroy();
    throw o.errors.cannotConnect(o.where, err);
  }
  const close = async (c: RedisClientType) => {
    // A client waiting to reconnect would wait for ever to QUIT: drop it.
    if (!c.isReady) return c.destroy();
    await withDeadline(c.quit(), o.waitMs, `no answer within ${o.waitMs} ms (closing)`).catch(() => c.destroy());
  };
  const limit = o.waitMs + o.ackTimeoutMs;
  // A WAIT holds its connection: confirmed writes take turns here rather than queue in
  // Redis, so that one given up on (its caller told it failed) is not written later.
  let turn: Promise<unknown> = Promise.resolve();
  return {
    keyvClient: client,
    commands: client,
    confirm: writer
      ? (write) =>
          inTime(limit, `Redis: a confirmed write did not finish within ${limit} ms`, (unlessLate) => {
            const mine = turn.then(() =>
              unlessLate(async () => {
                const result = await write(writer);
                await o.waitForReplicas(writer);
                return result;
              }),
            );
            turn = mine.catch(() => undefined);
            return mine;
          })
      : (write) => write(client),
    async close() {
      await Promise.all([close(client), writer && close(writer)]);
    },
  };
}

/**
 * The primary found through Sentinel. The pool's first connection is reserved for the
 * shared commands; the others take confirmed writes, one at a time each.
 */
async function sentinelConnection(o: Opening, sentinel: SentinelConfig): Promise<Connected> {
  const client = createSentinel({
    name: sentinel.name,
    sentinelRootNodes: sentinel.sentinels.map((s) => ({ host: s.host, port: s.port })),
    masterPoolSize: 1 + CONFIRMED_CONNECTIONS,
    reserveClient: true,
    passthroughClientErrorEvents: true,
    nodeClientOptions: {
      ...(sentinel.username !== undefined ? { username: sentinel.username } : {}),
      ...(sentinel.password !== undefined ? { password: sentinel.password } : {}),
      database: sentinel.database,
      disableOfflineQueue: true,
      // A dropped connection is retried a few times; then the Sentinel client takes over
      // (it asks the sentinels for the primary once a second). A connection that retried
      // for ever would keep it waiting on a dead primary.
      socket: { connectTimeout: o.waitMs, reconnectStrategy: (retries: number) => (retries < 3 ? 100 * 2 ** retries : new Error('the primary did not answer 3 reconnections')) },
    },
    sentinelClientOptions: {
      ...(sentinel.sentinel_username !== undefined ? { username: sentinel.sentinel_username } : {}),
      ...(sentinel.sentinel_password !== undefined ? { password: sentinel.sentinel_password } : {}),
      socket: { connectTimeout: o.waitMs },
    },
  });
  client.setMaxListeners(32);
  client.on('error', o.errors.record);
  client.on('topology-change', (change: { type: string; node?: { host: string; port: number } }) => {
    if (change.type === 'MASTER_CHANGE' && change.node) {
      o.log.info({ event: 'store.redis_primary', primary: `${change.node.host}:${change.node.port}` }, 'Redis primary (named by Sentinel)');
    }
  });
  boundWaits(client, o.waitMs);
  try {
    await withDeadline(client.connect(), o.waitMs, `no answer within ${o.waitMs} ms (connecting)`);
  } catch (err) {
    void client.destroy().catch(() => undefined);
    throw o.errors.cannotConnect(o.where, err);
  }
  const limit = o.waitMs + o.ackTimeoutMs;
  return {
    keyvClient: client,
    // The Sentinel client has the same commands (its multi() the same builder), run on the primary.
    commands: client as unknown as RedisCommands,
    confirm: (write) =>
      inTime(limit, `Redis: no primary took a confirmed write within ${limit} ms`, (unlessLate) =>
        client.use((lease) =>
          // One attempt is the write and its WAIT on one connection: the Sentinel client
          // retries an attempt cut short by a failover on the new primary, and a WAIT sent
          // alone there would count that primary's replicas for a write it never saw.
          lease._execute(false, (node) =>
            unlessLate(async () => {
              const connection = node as unknown as RedisClientType;
              const result = await write(connection);
              if (o.minReplicasAck > 0) await o.waitForReplicas(connection);
              return result;
            }),
          ),
        ),
      ),
    async close() {
      await withDeadline(client.close(), o.waitMs, `no answer within ${o.waitMs} ms (closing)`).catch(() => client.destroy());
    },
  };
}

/** The Redis errors of a store: logged at most once a second, the last one kept for a failed connection's message. */
interface ErrorLog {
  readonly record: (err: unknown) => void;
  cannotConnect(where: string, err: unknown): StoreUnavailableError;
}

function errorLog(log: Logger): ErrorLog {
  let lastLogged = 0;
  let lastMessage: string | undefined;
  return {
    record(err) {
      // The Sentinel client reports some errors as strings.
      lastMessage = err instanceof Error ? err.message : String(err);
      // Reconnection errors repeat every few hundred milliseconds: one line a second at most.
      if (Date.now() - lastLogged < 1000) return;
      lastLogged = Date.now();
      log.error({ event: 'store.redis_error', err: { message: lastMessage } }, 'Redis connection error');
    },
    cannotConnect(where, err) {
      // The reconnect loop hides why (a wrong password, a refused connection): say the last error Redis gave.
      const message = (err as Error).message;
      const why = lastMessage && lastMessage !== message ? ` (last error: ${lastMessage})` : '';
      return new StoreUnavailableError(`cannot connect to Redis at ${where}: ${message}${why}`, { cause: err });
    },
  };
}

/**
 * Runs `work` for at most `ms`, then rejects with StoreUnavailableError(`message`).
 * `work` starts each step through `unlessLate`, which refuses to start one once the time
 * is up: work given up on is not done later behind its caller's back.
 */
async function inTime<T>(ms: number, message: string, work: (unlessLate: <U>(step: () => Promise<U>) => Promise<U>) => Promise<T>): Promise<T> {
  let late = false;
  const unlessLate = <U>(step: () => Promise<U>): Promise<U> => (late ? Promise.reject(new Error('given up on: too late')) : step());
  return withDeadline(work(unlessLate), ms, () => {
    late = true;
    return new StoreUnavailableError(message);
  });
}

/**
 * node-redis's Sentinel client holds a command until it has a ready primary again,
 * asking the sentinels once a second, for ever when none answers. Every command of the
 * shared connection goes through its _execute: there it is given up on after `ms`
 * (StoreUnavailableError, as a command to an unreachable server fails at once), and one
 * given up on is never sent later (a lock taken then would stay until it expires).
 */
function boundWaits(client: RedisSentinelType, ms: number): void {
  const self = client._self;
  const execute = self._execute.bind(self);
  self._execute = (readonly, fn) =>
    inTime(ms, `Redis: no primary within ${ms} ms (Sentinel failover, or the primary unreachable)`, (unlessLate) =>
      execute(readonly, (node) => unlessLate(() => fn(node))),
    );
}
