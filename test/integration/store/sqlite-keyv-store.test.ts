import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Keyv from 'keyv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareTable, SqliteKeyvStore, TABLE, WriteBatch } from '../../../src/store/sqlite-keyv-store.js';

/** The keyv store on better-sqlite3, on a real file, through keyv itself. */

let dir: string;
let db: Database.Database;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-kv-'));
  db = new Database(join(dir, 'state.sqlite'));
  db.pragma('journal_mode = WAL');
  prepareTable(db);
});
afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

function keyv(namespace: string): Keyv {
  const k = new Keyv({ store: new SqliteKeyvStore(db), namespace, throwOnErrors: true });
  k.on('error', () => {});
  return k;
}

describe('SqliteKeyvStore', () => {
  it('round-trips values, keeps namespaces apart, deletes', async () => {
    const a = keyv('a');
    const b = keyv('b');
    await a.set('k', { n: 1, s: 'x' });
    await b.set('k', { n: 2 });
    expect(await a.get('k')).toEqual({ n: 1, s: 'x' });
    expect(await b.get('k')).toEqual({ n: 2 });
    expect(await a.has('k')).toBe(true);
    expect(await a.delete('k')).toBe(true);
    expect(await a.delete('k')).toBe(false);
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toEqual({ n: 2 });
  });

  it('stores the expiry in an indexed column and never returns an expired value', async () => {
    const a = keyv('a');
    await a.set('short', 1, 1);
    await a.set('long', 2, 60_000);
    await a.set('forever', 3);
    const rows = db.prepare(`SELECT key, expires FROM ${TABLE} ORDER BY key`).all() as Array<{ key: string; expires: number | null }>;
    expect(rows.map((r) => [r.key, r.expires === null ? null : 'set'])).toEqual([
      ['a:forever', null],
      ['a:long', 'set'],
      ['a:short', 'set'],
    ]);
    // Past its expiry (the clock has moved at least 1 ms by the next statement, checked rather than assumed).
    const shortExpires = rows.find((r) => r.key === 'a:short')!.expires!;
    while (Date.now() <= shortExpires) await new Promise((r) => setImmediate(r));
    expect(await a.get('short')).toBeUndefined();
    // …but left in the file for the purge, which reports what it deletes.
    expect(db.prepare(`SELECT count(*) AS n FROM ${TABLE} WHERE key = 'a:short'`).get()).toEqual({ n: 1 });
    expect(await a.get('long')).toBe(2);
    expect(await a.get('forever')).toBe(3);
  });

  it('clears and iterates one namespace only, even with LIKE wildcards in keys', async () => {
    const a = keyv('a_1');
    const b = keyv('a%1');
    await a.set('x_%', 1);
    await a.set('y', 2);
    await b.set('x', 3);
    const seen: Array<[string, unknown]> = [];
    for await (const [k, v] of a.iterator!(undefined)) seen.push([k as string, v]);
    expect(seen.sort()).toEqual([
      ['x_%', 1],
      ['y', 2],
    ]);
    await a.clear();
    expect(await a.get('y')).toBeUndefined();
    expect(await b.get('x')).toBe(3);
  });

  it('upgrades a table written by @keyv/sqlite (no expires column), keeping values and expiries', async () => {
    const old = new Database(join(dir, 'old.sqlite'));
    old.exec(`CREATE TABLE ${TABLE} (key VARCHAR(255) PRIMARY KEY, value TEXT)`);
    old.prepare(`INSERT INTO ${TABLE} VALUES (?, ?)`).run('devices:m', JSON.stringify({ value: { owner: 'alice' } }));
    old.prepare(`INSERT INTO ${TABLE} VALUES (?, ?)`).run('sessions:m', JSON.stringify({ value: { user: 'alice' }, expires: 4102444800000 }));
    prepareTable(old);
    const k = new Keyv({ store: new SqliteKeyvStore(old), namespace: 'devices' });
    expect(await k.get('m')).toEqual({ owner: 'alice' });
    expect(old.prepare(`SELECT expires FROM ${TABLE} WHERE key = 'sessions:m'`).get()).toEqual({ expires: 4102444800000 });
    old.close();
  });

  it('a durable store writes with synchronous=FULL and leaves the connection at NORMAL', async () => {
    db.pragma('synchronous = NORMAL');
    const seen: number[] = [];
    const durable = new SqliteKeyvStore(db, { durable: true });
    // Observe the setting at the moment of the write, through the statement the store runs.
    const k = new Keyv({ store: durable, namespace: 'sessions', throwOnErrors: true });
    const spy = (durable as unknown as { statements: { set: { run: (...a: unknown[]) => unknown } } }).statements.set;
    const run = spy.run.bind(spy);
    spy.run = (...a: unknown[]) => {
      seen.push(db.pragma('synchronous', { simple: true }) as number);
      return run(...a);
    };
    await k.set('m', { user: 'alice' });
    expect(seen).toEqual([2]); // FULL
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL again
  });

  it('group commit: a write resolves once committed, one commit for a burst, visible to another connection only then', async () => {
    const batch = new WriteBatch(db);
    // The adapter itself (keyv would defer the write by a few microtasks).
    const store = new SqliteKeyvStore(db, { batch });
    const other = new Database(join(dir, 'state.sqlite'), { readonly: true });
    const seenByOther = () => (other.prepare(`SELECT count(*) AS n FROM ${TABLE} WHERE key LIKE 'accounting:%'`).get() as { n: number }).n;
    const writes = Array.from({ length: 50 }, (_, i) => store.set(`accounting:r${i}`, JSON.stringify({ value: i })));
    // Written on this connection already (read-your-writes), not yet committed for others.
    expect(db.inTransaction).toBe(true);
    expect(await new SqliteKeyvStore(db).get('accounting:r7')).toBeDefined();
    expect(seenByOther()).toBe(0);
    await Promise.all(writes);
    expect(db.inTransaction).toBe(false);
    expect(seenByOther()).toBe(50);
    other.close();
  });

  it('a durable write commits the open batch first and then stands alone', async () => {
    const batch = new WriteBatch(db);
    const bulk = new SqliteKeyvStore(db, { batch });
    const durable = new SqliteKeyvStore(db, { durable: true, batch });
    const pending = bulk.set('leases:ip', '{"value":"m"}');
    expect(db.inTransaction).toBe(true);
    await durable.set('sessions:m', '{"value":"alice"}');
    expect(db.inTransaction).toBe(false);
    await pending;
    expect(await bulk.get('leases:ip')).toBe('{"value":"m"}');
  });

  it('a closed database fails loudly through keyv', async () => {
    const a = keyv('a');
    db.close();
    await expect(a.get('k')).rejects.toThrow(/not open/);
    db = new Database(join(dir, 'state.sqlite'));
  });
});
