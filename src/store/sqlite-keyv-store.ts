import { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import type { KeyvStoreAdapter, StoredData } from 'keyv';

/** The one table all namespaces share: keyv's serialized value, and its expiry for the purge index. */
export const TABLE = 'enrollgate';

/** Creates the table and its expiry index, and upgrades a table from @keyv/sqlite (no expires column). */
export function prepareTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER)`);
  const columns = db.prepare(`PRAGMA table_info(${TABLE})`).all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'expires')) {
    db.exec(`ALTER TABLE ${TABLE} ADD COLUMN expires INTEGER`);
    db.exec(`UPDATE ${TABLE} SET expires = json_extract(value, '$.expires') WHERE json_valid(value)`);
  }
  db.exec(`CREATE INDEX IF NOT EXISTS ${TABLE}_expires ON ${TABLE} (expires) WHERE expires IS NOT NULL`);
  // The change log (see CHANGES): triggers, so every writer keeps it, whatever code it runs.
  db.exec(`CREATE TABLE IF NOT EXISTS ${CHANGES} (seq INTEGER PRIMARY KEY, key TEXT NOT NULL)`);
  db.exec(`CREATE TRIGGER IF NOT EXISTS ${CHANGES}_insert AFTER INSERT ON ${TABLE} BEGIN INSERT INTO ${CHANGES} (key) VALUES (NEW.key); END`);
  db.exec(`CREATE TRIGGER IF NOT EXISTS ${CHANGES}_update AFTER UPDATE ON ${TABLE} BEGIN INSERT INTO ${CHANGES} (key) VALUES (NEW.key); END`);
  db.exec(`CREATE TRIGGER IF NOT EXISTS ${CHANGES}_delete AFTER DELETE ON ${TABLE} BEGIN INSERT INTO ${CHANGES} (key) VALUES (OLD.key); END`);
  db.exec(
    `CREATE TRIGGER IF NOT EXISTS ${CHANGES}_pruned AFTER INSERT ON ${CHANGES} WHEN NEW.seq % 1000 = 0 BEGIN DELETE FROM ${CHANGES} WHERE seq <= NEW.seq - ${CHANGES_KEPT}; END`,
  );
}

/**
 * The keys written lately, in the order written (seq counts up by one per change;
 * the newest CHANGES_KEPT are kept). A process that remembers what it read
 * (read-cache.ts) forgets exactly the keys changed since it last looked,
 * and everything when it fell further behind than the log reaches.
 */
export const CHANGES = 'enrollgate_changes';
const CHANGES_KEPT = 50_000;

/** All keys "ns:…" sort between "ns:" and "ns;" (';' follows ':'). */
function namespaceRange(ns: string): [string, string] {
  return [`${ns}:`, `${ns};`];
}

/** Runs a write whose commit is fsynced before it returns (the connection's default is synchronous=NORMAL). */
function fsynced<T>(db: Database.Database, write: () => T): T {
  db.pragma('synchronous = FULL');
  try {
    return write();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}

/**
 * Group commit for one connection. Writes run at once inside a transaction that is
 * committed on the next turn of the event loop, and each write's promise resolves
 * only then: a burst of accounting packets costs one WAL commit instead of one
 * each (bench/radius.ts: a commit per write cost more than the answer). Reads on the
 * same connection see the writes at once; other processes see them after the commit.
 *
 * Synchronous reads (read()) of one turn share one read transaction, ended with the
 * turn: each read on its own took and released SQLite's file locks, 6 µs a read
 * against 3.5 µs (bench:radius reads a session per request). What other processes
 * commit is seen from the next turn on.
 */
export class WriteBatch {
  private waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  /** The open transaction was begun by read() and has written nothing. */
  private readOnly = false;
  /**
   * For the read cache (read-cache.ts): transactions ended (turns), writes made on this
   * connection, and batches rolled back (after which the change log's numbers may be
   * handed out again).
   */
  readonly counts = { turns: 0, writes: 0, rollbacks: 0 };
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN');
    this.end = db.prepare('COMMIT');
  }

  /** Runs a synchronous read in this turn's transaction (begun here when none is open). */
  read<T>(read: () => T): T {
    if (!this.db.inTransaction) {
      this.begin.run();
      this.readOnly = true;
      this.schedule();
    }
    return read();
  }

  /** Runs one write in the open batch; resolves with its result once committed. */
  run<T>(write: () => T): Promise<T> {
    // A read transaction may not see the latest commit of another process, and SQLite
    // refuses to turn such a snapshot into a write (SQLITE_BUSY_SNAPSHOT): end it first.
    if (this.readOnly) this.commit();
    if (!this.db.inTransaction) this.begin.run();
    this.counts.writes++;
    let result: T;
    try {
      result = write();
    } catch (err) {
      this.schedule();
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: () => resolve(result), reject });
      this.schedule();
    });
  }

  /**
   * Runs a write on its own, now, after committing the open batch: with `fsync`, in a
   * commit fsynced before this returns (synchronous=FULL for that commit; durable
   * namespaces, store migrate). Counted, like run()'s, for the read cache.
   */
  alone<T>(write: () => T, options: { fsync: boolean }): T {
    this.commit();
    this.counts.writes++;
    return options.fsync ? fsynced(this.db, write) : write();
  }

  /** Commits the open batch now (before a durable write, or on close). */
  commit(): void {
    this.scheduled = false;
    this.readOnly = false;
    this.counts.turns++;
    const waiting = this.waiting.splice(0);
    if (this.db.open && this.db.inTransaction) {
      try {
        this.end.run();
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        this.counts.rollbacks++;
        for (const w of waiting) w.reject(err);
        return;
      }
    }
    for (const w of waiting) w.resolve();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.commit());
  }
}

/**
 * A keyv store on better-sqlite3. Keyv stays the interface the rest of the gateway
 * sees; underneath, each operation is one prepared statement run synchronously
 * (microseconds, no thread-pool round trip), which is what lets one event loop
 * answer tens of thousands of RADIUS requests a second (see bench/radius.ts).
 * Expiry is a column with an index, so purging is one indexed DELETE.
 */
export class SqliteKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  opts: { dialect: 'sqlite' };
  namespace?: string | undefined;
  private readonly statements: {
    get: Database.Statement<[string], { value: string; expires: number | null }>;
    set: Database.Statement<[string, string, number | null]>;
    delete: Database.Statement<[string]>;
    clear: Database.Statement<[string, string]>;
    iterate: Database.Statement<[string, string], { key: string; value: string; expires: number | null }>;
  };

  /**
   * `durable`: each write of this store is fsynced before it resolves (synchronous=FULL
   * for that commit; the connection's default is NORMAL).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly options: { durable?: boolean; batch?: WriteBatch } = {},
  ) {
    super();
    this.opts = { dialect: 'sqlite' };
    this.statements = {
      get: db.prepare(`SELECT value, expires FROM ${TABLE} WHERE key = ?`),
      set: db.prepare(`INSERT INTO ${TABLE} (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires`),
      delete: db.prepare(`DELETE FROM ${TABLE} WHERE key = ?`),
      // Keys are "namespace:key"; a range scan on the primary key instead of LIKE (whose _ and % would be wildcards).
      clear: db.prepare(`DELETE FROM ${TABLE} WHERE key >= ? AND key < ?`),
      iterate: db.prepare(`SELECT key, value, expires FROM ${TABLE} WHERE key >= ? AND key < ?`),
    };
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    const row = this.row(key);
    if (!row) return undefined;
    // Expired: not returned, but left for the purge (sqlite-state-store.ts), which hands the
    // sessions it deletes to the audit trail (session.expired) exactly once.
    if (row.expires !== null && row.expires <= Date.now()) return undefined;
    return row.value as StoredData<Value>;
  }

  /** The stored row under a full key, expired or not, read in this turn's transaction. */
  row(key: string): { value: string; expires: number | null } | undefined {
    const batch = this.options.batch;
    return batch ? batch.read(() => this.statements.get.get(key)) : this.statements.get.get(key);
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return Promise.all(keys.map((k) => this.get<Value>(k))) as Promise<Array<StoredData<Value | undefined>>>;
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    await this.setNow(key, value, ttl);
    return true;
  }

  /** set(), its statement run before this returns; the promise settles with the commit. */
  setNow(key: string, value: string, ttl?: number): Promise<void> {
    return this.putNow(key, value, typeof ttl === 'number' && ttl > 0 ? Date.now() + ttl : null);
  }

  /**
   * Writes a stored text with its expiry (ms since the epoch, or null), before this
   * returns; `written` runs right after the statement succeeds, in the same transaction.
   * The promise settles with the commit.
   */
  putNow(key: string, value: string, expiresAt: number | null, written?: () => void): Promise<void> {
    return this.write(() => {
      this.statements.set.run(key, value, expiresAt);
      written?.();
    });
  }

  async delete(key: string): Promise<boolean> {
    return this.deleteNow(key);
  }

  /** delete(), its statement run before this returns (`written` right after it succeeds, as in putNow); the promise settles with the commit. */
  deleteNow(key: string, written?: () => void): Promise<boolean> {
    return this.write(() => {
      const deleted = this.statements.delete.run(key).changes > 0;
      written?.();
      return deleted;
    });
  }

  /**
   * Runs one write before this returns: durable ones fsynced in a commit of their own,
   * others in the connection's group commit (or at once when there is none). The
   * promise settles once the write is committed; a failure rejects it, never throws.
   */
  private write<T>(run: () => T): Promise<T> {
    const batch = this.options.batch;
    try {
      if (!this.options.durable) return batch ? batch.run(run) : Promise.resolve(run());
      // better-sqlite3 is synchronous: nothing else uses the connection meanwhile.
      return Promise.resolve(batch ? batch.alone(run, { fsync: true }) : fsynced(this.db, run));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    await this.write(() =>
      this.db.transaction(() => {
        for (const k of keys) any = this.statements.delete.run(k).changes > 0 || any;
      })(),
    );
    return any;
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async clear(): Promise<void> {
    if (this.namespace === undefined) throw new Error('refusing to clear a store without a namespace');
    const clear = () => this.statements.clear.run(...namespaceRange(this.namespace!));
    if (this.options.batch) this.options.batch.alone(clear, { fsync: false });
    else clear();
  }

  async *iterator<Value>(namespace?: string): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const ns = namespace ?? this.namespace;
    if (ns === undefined) return;
    const now = Date.now();
    // Read the whole namespace first: a live cursor would see the deletions keyv makes while iterating.
    const rows = this.statements.iterate.all(...namespaceRange(ns));
    for (const row of rows) {
      if (row.expires !== null && row.expires <= now) continue;
      // Full keys: keyv removes the namespace prefix itself.
      yield [row.key, row.value as Awaited<Value>];
    }
  }

  async disconnect(): Promise<void> {
    // The connection belongs to the StateStore, which closes it once for all namespaces.
  }
}
