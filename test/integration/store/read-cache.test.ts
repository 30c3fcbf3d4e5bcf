import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareTable, TABLE, WriteBatch } from '../../../src/store/sqlite-keyv-store.js';
import { READ_CACHE_MAX, ReadCache } from '../../../src/store/read-cache.js';

/**
 * The read cache behind readNow, on a real SQLite file, where a batch's COMMIT fails:
 * a deferred foreign key left violated is refused at COMMIT, which is what a full disk
 * or an I/O error does to a batch in production (the batch is rolled back).
 */
let dir: string;
let db: Database.Database;
let batch: WriteBatch;
let cache: ReadCache;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-cache-'));
  db = new Database(join(dir, 'state.sqlite'));
  db.pragma('journal_mode = WAL');
  prepareTable(db);
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
  batch = new WriteBatch(db);
  cache = new ReadCache(db, batch);
});
afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

/** A write as writeNow makes it: the statement, then the cache told what was written. */
function write(key: string, value: string): Promise<void> {
  return batch.run(() => {
    db.prepare(`INSERT INTO ${TABLE} (key, value, expires) VALUES (?, ?, NULL) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(key, value);
    cache.wrote(key, { value, expires: null });
  });
}

const stored = (key: string) => db.prepare(`SELECT value FROM ${TABLE} WHERE key = ?`).pluck().get(key);

describe('ReadCache when a batch is rolled back', () => {
  it('forgets what was written in it, also what it remembered as written, and the file keeps the last commit', async () => {
    await write('k', 'old');
    expect(cache.get('k')?.value).toBe('old');
    await new Promise((resolve) => setImmediate(resolve));

    const written = write('k', 'new');
    const orphan = batch.run(() => db.prepare('INSERT INTO child (p) VALUES (42)').run());
    // Inside the batch, the write is what this connection reads.
    expect(cache.get('k')?.value).toBe('new');
    await expect(written).rejects.toThrow(/FOREIGN KEY/);
    await expect(orphan).rejects.toThrow(/FOREIGN KEY/);
    expect(batch.counts.rollbacks).toBe(1);

    expect(cache.get('k')).toBeUndefined();
    expect(stored('k')).toBe('old');
  });

  it('after the rollback, a new write is remembered as written again, and other keys are read afresh', async () => {
    await write('a', '1');
    const failed = Promise.all([write('a', '2'), batch.run(() => db.prepare('INSERT INTO child (p) VALUES (7)').run())]);
    await expect(failed).rejects.toThrow(/FOREIGN KEY/);
    expect(cache.get('a')).toBeUndefined();
    await write('b', '3');
    expect(cache.get('b')?.value).toBe('3');
    expect(stored('a')).toBe('1');
    expect(stored('b')).toBe('3');
  });
});

describe('ReadCache under a stream of keys read once', () => {
  it('keeps a key that is still read, however many others pass through', () => {
    cache.set('sessions:known', { value: 'alice', expires: null });
    // Three times as many keys as it holds, each read once (unknown MACs), the known one read between them.
    for (let i = 0; i < 3 * READ_CACHE_MAX; i++) {
      cache.set(`sessions:unknown-${i}`, { value: undefined, expires: null });
      if (i % 1000 === 0) expect(cache.get('sessions:known')?.value, `after ${i} others`).toBe('alice');
    }
    // And the ones read once do go: the cache stays bounded.
    expect(cache.get('sessions:unknown-0')).toBeUndefined();
  });
});
