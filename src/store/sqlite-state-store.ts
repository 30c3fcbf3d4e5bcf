import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import Keyv from 'keyv';
import { StoreUnavailableError } from '../errors.js';
import { KeyedLock } from './keyed-lock.js';
import { ABSENT, ReadCache, type CachedRow } from './read-cache.js';
import { CHANGES, prepareTable, SqliteKeyvStore, TABLE, WriteBatch } from './sqlite-keyv-store.js';
import { DURABLE, ENTRIES_PAGE, NAMESPACES, type Namespace, type PurgeResult, type StateStore, type StoredEntry } from './state-store.js';
import { storedEntry, storedForm, storedSessions, storedValueNow } from './stored-form.js';

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
 * The first `mmapMb` megabytes of the file may be memory-mapped (store.sqlite_mmap_mb):
 * mapped pages count in the process's RSS (bench:scale, 100,000 devices: 256 MB mapped
 * took a gateway to 357 MB after load, 64 MB to 273 MB at the same throughput), and
 * rereads are cheap without it too, from the kernel's page cache and the read cache.
 */
export async function openSqliteStore(file: string, options: { mmapMb?: number } = {}): Promise<StateStore> {
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
    db.pragma(`mmap_size = ${Math.trunc(options.mmapMb ?? 0) * 2 ** 20}`);
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
