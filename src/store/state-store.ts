import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import Keyv from 'keyv';
import { StoreUnavailableError } from '../errors.js';
import { KeyedLock, type LockRunner } from './keyed-lock.js';
import { GenerationalMap } from '../generational-map.js';
import { CHANGES, prepareTable, SqliteKeyvStore, TABLE, WriteBatch } from './sqlite-keyv-store.js';

/** The namespaces of the gateway's state; each is one Keyv. */
export const NAMESPACES = ['devices', 'owners', 'blocked', 'sessions', 'flows', 'leases', 'accounting', 'tokens', 'downloads', 'throttle'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** Where the gateway keeps what outlives a request: one Keyv per namespace on one backend. */
export interface StateStore {
  /** Which backend: the embedded SQLite file, or Redis shared by several gateways. */
  readonly kind: 'sqlite' | 'redis';
  /** Runs a function under locks on keys (the device limit's owner and MAC): in this process for SQLite, in Redis for gateways sharing it. */
  readonly withLock: LockRunner;
  /** The Keyv for one namespace (values are JSON; TTLs in milliseconds). */
  readonly kv: Readonly<Record<Namespace, Keyv>>;
  /**
   * The embedded store only: the value under a key, read without waiting (what the
   * namespace's Keyv.get would resolve with), or undefined. Throws StoreUnavailableError
   * when the file cannot be read. RADIUS answers through it without a promise per
   * request (bench:radius); stores that must wait for a server (Redis) have none.
   */
  readonly readNow?: (namespace: Namespace, key: string) => unknown;
  /**
   * The embedded store only: writes a value as the namespace's Keyv.set would (the same
   * stored text, the same expiry), before this returns, in the connection's open group
   * commit; the promise settles with that commit (after an fsync in durable namespaces).
   * Accounting writes through it without a chain of keyv promises per packet (bench:radius).
   */
  readonly writeNow?: (namespace: Namespace, key: string, value: unknown, ttlMs?: number) => Promise<void>;
  /** The embedded store only: deletes as Keyv.delete would, before this returns; settles with the commit (true if there was an entry). */
  readonly deleteNow?: (namespace: Namespace, key: string) => Promise<boolean>;
  /** Resolves when the backend answers a read, rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Deletes entries whose TTL has passed (SQLite has no native expiry); returns how many. */
  purgeExpired(now: Date): Promise<PurgeResult>;
  /** How many unexpired entries a namespace holds now (the live-sessions gauge). */
  countLive(namespace: Namespace, now: Date): Promise<number>;
  /** Every entry of a namespace in key order (compareKeys), those after `after` if given, with its expiry; includes expired ones not purged yet (store migrate pages through it). */
  entries(namespace: Namespace, after?: string): AsyncIterable<StoredEntry>;
  /** Writes entries with their absolute expiry, replacing any under the same keys (store migrate; a Redis session keeps its end-time index). */
  putEntries(namespace: Namespace, entries: readonly StoredEntry[]): Promise<void>;
  /** Short-lived entries shared by every gateway on this store (Redis only): the shared RFC 5080 cache. */
  readonly sharedCache?: SharedCacheBackend;
  /** Closes connections. */
  close(): Promise<void>;
}

/** A small shared cache with an atomic claim (see radius/shared-duplicate-cache.ts). */
export interface SharedCacheBackend {
  /** The value under `key`, or null after storing `placeholder` there for `ttlMs` (one atomic step). */
  claim(key: string, placeholder: string, ttlMs: number): Promise<string | null>;
  /** Replaces the value, for `ttlMs`. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  remove(key: string): Promise<void>;
}

/**
 * What a person was told is done (an enrollment, a session) is fsynced before the
 * write resolves (synchronous=FULL for that one commit). Accounting, leases, flows
 * and tokens use NORMAL: in WAL mode a commit still survives the process being
 * killed, only a power loss can take the last ones, and the NAS resends accounting
 * anyway. An fsync per accounting packet would otherwise stall authentication.
 * On Redis these are the confirmed writes, which wait for replicas (redis-connection.ts).
 */
export const DURABLE: ReadonlySet<Namespace> = new Set(['devices', 'owners', 'blocked', 'sessions']);

/** A string value that begins with ':' in keyv's JSON (see readNow). */
const MAY_HOLD_ESCAPED = /[:,[]":/;

/** Rows the purge deletes in one statement (one event-loop turn). */
const PURGE_BATCH = 1000;

/**
 * The embedded default: one SQLite file (WAL), read and written through keyv with a
 * better-sqlite3 store (sqlite-keyv-store.ts). @keyv/sqlite answered 3,000 RADIUS
 * requests a second on this machine, its thread-pool round trip per query being
 * most of the cost; see bench/radius.ts.
 *
 * One connection for every namespace: a second connection's commits make SQLite
 * drop this one's page cache, which made every session read go back to the file
 * while accounting was written (bench/radius.ts: -65 % authentication throughput).
 * The first 64 MB of the file are memory-mapped so that rereads are cheap anyway; mapped
 * pages count in the process's RSS, and 256 MB took a gateway with 100,000 devices to
 * 357 MB after load (bench:scale), 273 MB with 64 MB at the same throughput.
 */
export async function openSqliteStore(file: string): Promise<StateStore> {
  let db: Database.Database | undefined;
  let batch: WriteBatch | undefined;
  const kv = {} as Record<Namespace, Keyv>;
  const adapters = {} as Record<Namespace, SqliteKeyvStore>;
  try {
    mkdirSync(dirname(file), { recursive: true });
    // A busy wait blocks the event loop: keep it short (only another writer process, such as a migration, makes one).
    db = new Database(file, { timeout: 1000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('mmap_size = 67108864');
    prepareTable(db);
    batch = new WriteBatch(db);
    for (const namespace of NAMESPACES) {
      const store = new SqliteKeyvStore(db, { durable: DURABLE.has(namespace), batch });
      adapters[namespace] = store;
      const keyv = new Keyv({ store, namespace, throwOnErrors: true });
      // Errors are thrown to the caller (throwOnErrors); without a listener the emitter would crash the process.
      keyv.on('error', () => {});
      kv[namespace] = keyv;
    }
  } catch (err) {
    db?.close();
    throw new StoreUnavailableError(`cannot open the state file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const connection = db;
  const writes = batch!;
  const countLive = connection.prepare(`SELECT count(*) AS n FROM ${TABLE} WHERE key >= ? AND key < ? AND (expires IS NULL OR expires > ?)`);
  // In batches, the event loop free between two: the daily cut-off ends every session at once.
  const purge = connection.prepare(
    `DELETE FROM ${TABLE} WHERE key IN (SELECT key FROM ${TABLE} WHERE expires IS NOT NULL AND expires <= ? LIMIT ${PURGE_BATCH}) RETURNING key, value`,
  );
  // store migrate: a namespace a page at a time in key order (BINARY: UTF-8 bytes), and writes with the expiry given.
  const pageFrom = connection.prepare<[string, string], { key: string; value: string }>(`SELECT key, value FROM ${TABLE} WHERE key >= ? AND key < ? ORDER BY key LIMIT ${ENTRIES_PAGE}`);
  const pageAfter = connection.prepare<[string, string], { key: string; value: string }>(`SELECT key, value FROM ${TABLE} WHERE key > ? AND key < ? ORDER BY key LIMIT ${ENTRIES_PAGE}`);
  const put = connection.prepare(`INSERT INTO ${TABLE} (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires`);

  const locks = new KeyedLock();
  const reads = new ReadCache(connection, writes);
  return {
    kind: 'sqlite',
    withLock: (keys, fn) => locks.run(keys, fn),
    kv,
    readNow(namespace, key) {
      const full = `${namespace}:${key}`;
      let row: CachedRow | undefined;
      try {
        row = reads.get(full);
        if (row === undefined) {
          const stored = adapters[namespace].row(full);
          row = stored ? { value: storedValueNow(kv[namespace], stored.value), expires: stored.expires } : ABSENT;
          reads.set(full, row);
        } else if (row.raw !== undefined) {
          // Written here (writeNow), read for the first time since.
          row = { value: storedValueNow(kv[namespace], row.raw), expires: row.expires };
          reads.set(full, row);
        }
      } catch (err) {
        throw new StoreUnavailableError(`state file ${file} is not readable: ${(err as Error).message}`, { cause: err });
      }
      // Expired: not returned (the purge hands ended sessions to the audit trail), as get() does.
      return row.expires !== null && row.expires <= Date.now() ? undefined : row.value;
    },
    writeNow(namespace, key, value, ttlMs) {
      const keyv = kv[namespace];
      // As Keyv.set: no TTL (or 0) is no expiry; the value is kept with its expiry as keyv serializes it.
      const expires = typeof ttlMs === 'number' && ttlMs !== 0 ? Date.now() + ttlMs : undefined;
      let raw: unknown;
      try {
        raw = keyv.serialize!({ value, expires });
      } catch (err) {
        // What JSON cannot hold (a BigInt, a cycle): rejected like any failed write.
        return Promise.reject(err);
      }
      if (typeof raw !== 'string') return Promise.reject(new Error('writeNow needs a synchronous serializer'));
      const full = `${namespace}:${key}`;
      // The column as the adapter's set() fills it (a negative TTL: no expiry in the column, as there).
      const expiresAt = expires !== undefined && ttlMs! > 0 ? expires : null;
      return adapters[namespace].putNow(full, raw, expiresAt, () => reads.wrote(full, { value: undefined, expires: expiresAt, raw }));
    },
    deleteNow(namespace, key) {
      const full = `${namespace}:${key}`;
      return adapters[namespace].deleteNow(full, () => reads.wrote(full, ABSENT));
    },
    async ping() {
      try {
        connection.prepare('SELECT 1').get();
      } catch (err) {
        throw new StoreUnavailableError(`state file ${file} is not readable: ${(err as Error).message}`, { cause: err });
      }
    },
    async countLive(namespace, now) {
      // All keys "ns:…" sort between "ns:" and "ns;" (sqlite-keyv-store.ts): a range on the primary key.
      return (countLive.get(`${namespace}:`, `${namespace};`, now.getTime()) as { n: number }).n;
    },
    async purgeExpired(now) {
      let count = 0;
      const sessions: unknown[] = [];
      for (;;) {
        const rows = await writes.run(() => purge.all(now.getTime()) as Array<{ key: string; value: string }>);
        count += rows.length;
        sessions.push(...storedSessions(kv.sessions, rows.filter((r) => r.key.startsWith('sessions:')).map((r) => r.value)));
        if (rows.length < PURGE_BATCH) return { count, sessions };
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async *entries(namespace, after) {
      const [start, end] = [`${namespace}:`, `${namespace};`];
      for (let rows = after === undefined ? pageFrom.all(start, end) : pageAfter.all(start + after, end); rows.length > 0; ) {
        for (const row of rows) yield await storedEntry(kv[namespace], row.key.slice(start.length), row.value);
        if (rows.length < ENTRIES_PAGE) return;
        rows = pageAfter.all(rows[rows.length - 1]!.key, end);
      }
    },
    async putEntries(namespace, entries) {
      const rows = await Promise.all(entries.map(async (e) => [`${namespace}:${e.key}`, await storedForm(kv[namespace], e), e.expiresAt] as const));
      // One commit per page, fsynced like a durable write, after any open group commit.
      writes.alone(
        connection.transaction(() => {
          for (const row of rows) put.run(...row);
        }),
        { fsync: true },
      );
    },
    async close() {
      writes.commit();
      if (connection.open) connection.close();
    },
  };
}

/** keyv's stored text ({ value, expires } as JSON) read back as keyv.get would give its value. */
function storedValueNow(keyv: Keyv, raw: string): unknown {
  // keyv's deserializer revives strings that begin with ':' (its escape for such strings
  // and for Buffers) with a reviver that triples the cost of the parse; keyv writes JSON
  // without spaces, so a text where no string value can begin with ':' has none of
  // :": [": ,": and plain JSON.parse reads it the same.
  const data: unknown = MAY_HOLD_ESCAPED.test(raw) ? keyv.deserialize!(raw) : JSON.parse(raw);
  if (data instanceof Promise) throw new Error('readNow needs a synchronous deserializer');
  return (data as { value?: unknown } | undefined)?.value;
}

/**
 * The sessions among purged entries (their stored text), as keyv reads them (its ':'
 * escape undone), for the audit trail's session.expired; an entry that does not read
 * is deleted all the same and left out. Both stores' purges use it.
 */
export function storedSessions(keyv: Keyv, raws: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const raw of raws) {
    try {
      const value = storedValueNow(keyv, raw);
      if (value !== undefined) out.push(value);
    } catch {
      // not something keyv wrote: nothing to hand over
    }
  }
  return out;
}

/**
 * What readNow remembers of a key: its value and expiry (ms since the epoch, or null),
 * or, for a row this connection wrote (writeNow), its stored text, read when first asked for.
 */
export interface CachedRow {
  readonly value: unknown;
  readonly expires: number | null;
  readonly raw?: string;
}

/** A key readNow found nothing under. */
const ABSENT: CachedRow = Object.freeze({ value: undefined, expires: null });

/** At most this many of this connection's own change log entries are remembered as such (see ReadCache.wrote). */
const OWN_CHANGES_MAX = 10_000;

/** How many keys readNow remembers (GenerationalMap: two generations of half each). */
export const READ_CACHE_MAX = 50_000;

/**
 * What readNow read, kept until it changes. Every write to the table is logged by
 * SQLite triggers (sqlite-keyv-store.ts, CHANGES), whichever process makes it, under a
 * number that only grows. At its first read in each turn, readNow opens the turn's
 * read transaction by asking for the newest number, and forgets the keys logged since
 * it last looked (everything, when the log no longer reaches back that far). RADIUS
 * reads the same sessions over and over and answers from memory between changes, also
 * while accounting is written (bench:radius); a change made anywhere is seen from the
 * next turn on, as without the cache.
 *
 * This connection's own writes: those made through writeNow/deleteNow in the open
 * batch are remembered as written (wrote), and their log entries are not forgotten
 * again when caught up with; any other write of this connection is caught up with
 * before the next read. Accounting reads back, at every packet, what it wrote.
 * Exported for its tests; openSqliteStore makes the one each connection uses.
 */
export class ReadCache {
  private entries = new GenerationalMap<string, CachedRow>(READ_CACHE_MAX);
  private readonly changedSince: Database.Statement<[number], { seq: number; key: string }>;
  private readonly lastChange: Database.Statement<[], number | null>;
  private readonly newestChange: Database.Statement<[], { seq: number; key: string }>;
  private checkedTurn = -1;
  private seenWrites: number;
  private rollbacks: number;
  /** The last change log entry applied. */
  private seq: number;
  /** Change log entries this connection made and `entries` already holds the outcome of (wrote). */
  private own = new Set<number>();

  constructor(
    private readonly db: Database.Database,
    private readonly writes: WriteBatch,
  ) {
    this.changedSince = db.prepare(`SELECT seq, key FROM ${CHANGES} WHERE seq > ? ORDER BY seq`);
    this.lastChange = db.prepare<[], number | null>(`SELECT max(seq) FROM ${CHANGES}`).pluck();
    this.newestChange = db.prepare(`SELECT seq, key FROM ${CHANGES} ORDER BY seq DESC LIMIT 1`);
    this.seq = this.lastChange.get() ?? 0;
    this.seenWrites = writes.counts.writes;
    this.rollbacks = writes.counts.rollbacks;
  }

  /** The remembered row, if it has not changed since it was read; undefined otherwise (read it, then set()). */
  get(key: string): CachedRow | undefined {
    if (this.checkedTurn !== this.writes.counts.turns) {
      // The turn's first read: it opens the read transaction, whose snapshot the log is read in.
      const last = this.writes.read(() => this.lastChange.get()) ?? 0;
      this.checkedTurn = this.writes.counts.turns;
      if (last !== this.seq) this.catchUp();
    }
    if (this.seenWrites !== this.writes.counts.writes || this.rollbacks !== this.writes.counts.rollbacks) this.catchUp();
    const newer = this.entries.newer(key);
    if (newer !== undefined) return newer;
    // Still read, so kept: moved to the newer generation. Otherwise a stream of keys read
    // once (unknown MACs, 10 % of bench:radius) would push out the sessions read all day.
    const older = this.entries.get(key);
    if (older !== undefined) this.entries.set(key, older);
    return older;
  }

  /** Remembers a row just read from SQLite, in this turn's transaction. */
  set(key: string, row: CachedRow): void {
    this.entries.set(key, row);
  }

  /**
   * A write this connection has just made to one key, inside the open batch
   * (writeNow/deleteNow). While the transaction holds SQLite's write lock no other
   * process can write, so the newest log entry, when it names this key, is this
   * write's: it is remembered as this connection's own, and the row as written.
   * Otherwise (a write outside a transaction, one that logged nothing, other writes not
   * caught up with yet, too many own entries pending) nothing is remembered, and the
   * next read catches up with the log as for any write.
   */
  wrote(key: string, row: CachedRow): void {
    const caughtUp = this.seenWrites === this.writes.counts.writes - 1 && this.rollbacks === this.writes.counts.rollbacks;
    if (!caughtUp || !this.db.inTransaction || this.own.size >= OWN_CHANGES_MAX) return;
    // A write that changed no row (a delete of an absent key) logs nothing: the newest
    // entry is then someone else's, possibly not caught up with yet, and must not be taken.
    const newest = this.newestChange.get();
    if (!newest || newest.key !== key || newest.seq <= this.seq) return;
    this.own.add(newest.seq);
    this.seenWrites++;
    this.entries.set(key, row);
  }

  /** Forgets the keys changed since the last look (all of them when the log has moved past it), but for this connection's own (wrote). */
  private catchUp(): void {
    this.seenWrites = this.writes.counts.writes;
    if (this.rollbacks !== this.writes.counts.rollbacks) {
      // What was read of the log, or written here, may have been rolled back, and its numbers used again.
      this.rollbacks = this.writes.counts.rollbacks;
      this.forgetAll();
      return;
    }
    const changes = this.changedSince.all(this.seq);
    if (changes.length === 0) return;
    if (changes[0]!.seq !== this.seq + 1) this.forgetAll();
    else {
      for (const c of changes) {
        if (!this.own.delete(c.seq)) this.entries.delete(c.key);
      }
    }
    this.seq = changes[changes.length - 1]!.seq;
  }

  private forgetAll(): void {
    this.entries = new GenerationalMap(READ_CACHE_MAX);
    this.own = new Set();
    this.seq = this.lastChange.get() ?? 0;
  }
}

/** What a purge deleted: how many entries, and the sessions among them (whose end the audit trail records). */
export interface PurgeResult {
  readonly count: number;
  readonly sessions: readonly unknown[];
}

/** One entry as keyv keeps it: its key in the namespace, its value, and when it expires (ms since the epoch; null: never). */
export interface StoredEntry {
  readonly key: string;
  readonly value: unknown;
  readonly expiresAt: number | null;
}

/** How many entries `entries()` reads at a time: a namespace of 100,000 sessions is never in memory at once. */
export const ENTRIES_PAGE = 500;

/** An entry from keyv's stored form ({ value, expires }, read by the namespace's own Keyv). */
export async function storedEntry(keyv: Keyv, key: string, raw: string): Promise<StoredEntry> {
  const data = await keyv.deserializeData<unknown>(raw);
  return { key, value: data?.value, expiresAt: typeof data?.expires === 'number' ? data.expires : null };
}

/** keyv's stored form of an entry, written by the namespace's own Keyv as keyv.set() would. */
export async function storedForm(keyv: Keyv, entry: StoredEntry): Promise<string> {
  return (await keyv.serializeData({ value: entry.value, ...(entry.expiresAt === null ? {} : { expires: entry.expiresAt }) })) as string;
}

/** Runs a store operation, turning any failure into StoreUnavailableError with the cause kept. */
export async function storeCall<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    throw new StoreUnavailableError(`state store failed to ${what}: ${(err as Error).message}`, { cause: err });
  }
}
