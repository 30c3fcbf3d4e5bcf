import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountingStore } from '../../../src/accounting/accounting-store.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac } from '../../../src/mac.js';
import { DeviceOwnedByOtherError, StoreUnavailableError } from '../../../src/errors.js';
import type { Session } from '../../../src/sessions/session.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { type StateStore } from '../../../src/store/state-store.js';

/** The embedded store on real SQLite files. */

const mac = parseMac('aa:bb:cc:dd:ee:10')!;
let dir: string;
let file: string;
let store: StateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-store-'));
  file = join(dir, 'state.sqlite');
  store = await openSqliteStore(file);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function session(startedAt: Date, endsAt: Date): Session {
  return { mac, user: 'alice', origin: 'enrollment', startedAt: startedAt.toISOString(), endsAt: endsAt.toISOString() };
}

describe('sessions', () => {
  it('keeps a live session, and never returns one past its end even before the backend forgets it', async () => {
    const sessions = new SessionStore(store.kv.sessions);
    const now = new Date();
    await sessions.put(session(now, new Date(now.getTime() + 3600_000)), now);
    expect((await sessions.live(mac, now))?.user).toBe('alice');
    // Ask as if an hour had passed: the row is still there, the answer is "no session".
    expect(await sessions.live(mac, new Date(now.getTime() + 3600_000))).toBeUndefined();
  });

  it('revokes at once', async () => {
    const sessions = new SessionStore(store.kv.sessions);
    const now = new Date();
    await sessions.put(session(now, new Date(now.getTime() + 3600_000)), now);
    expect(await sessions.revoke(mac)).toBe(true);
    expect(await sessions.live(mac, now)).toBeUndefined();
    expect(await sessions.revoke(mac)).toBe(false);
  });

  it('purges expired rows from the file and keeps live ones', async () => {
    const sessions = new SessionStore(store.kv.sessions);
    const other = parseMac('aa:bb:cc:dd:ee:11')!;
    const now = new Date();
    await sessions.put(session(now, new Date(now.getTime() + 3600_000)), now);
    await sessions.put({ ...session(now, new Date(now.getTime() + 7200_000)), mac: other }, now);
    // Two hours on, only the second is due; an hour and a half on, only the first.
    const purged = await store.purgeExpired(new Date(now.getTime() + 5400_000));
    expect(purged.count).toBe(1);
    // The purge hands back the sessions it deleted: the audit trail records their end.
    expect(purged.sessions).toEqual([expect.objectContaining({ mac, endsAt: new Date(now.getTime() + 3600_000).toISOString() })]);
    expect(await store.kv.sessions.has(mac)).toBe(false);
    expect(await store.kv.sessions.has(other)).toBe(true);
  });

  it('purges a cut-off’s worth of sessions in batches, handing every one over once', async () => {
    const sessions = new SessionStore(store.kv.sessions);
    const now = new Date();
    const end = new Date(now.getTime() + 3600_000);
    for (let i = 0; i < 2500; i++) {
      const m = parseMac(`3c:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`)!;
      await sessions.put({ ...session(now, end), mac: m }, now);
    }
    // The rows' expiry is the real time of each put plus the TTL: a minute past the end covers them all.
    const after = new Date(end.getTime() + 60_000);
    const purged = await store.purgeExpired(after);
    expect(purged.count).toBe(2500);
    expect(new Set((purged.sessions as Session[]).map((s) => s.mac)).size).toBe(2500);
    expect((await store.purgeExpired(after)).count).toBe(0);
  });

  it('survives closing and reopening the file', async () => {
    const now = new Date();
    await new SessionStore(store.kv.sessions).put(session(now, new Date(now.getTime() + 3600_000)), now);
    await new DeviceRegistry(store.kv.devices).enroll({ mac, owner: 'alice', platform: 'ios', enrolledAt: now.toISOString() });
    await store.close();
    store = await openSqliteStore(file);
    expect((await new SessionStore(store.kv.sessions).live(mac, now))?.user).toBe('alice');
    expect((await new DeviceRegistry(store.kv.devices).get(mac))?.owner).toBe('alice');
  });
});

describe('devices', () => {
  it('refuses to hand a device enrolled by one person to another, and keeps the first enrolment time', async () => {
    const devices = new DeviceRegistry(store.kv.devices);
    await devices.enroll({ mac, owner: 'alice', platform: 'ios', enrolledAt: '2026-01-01T00:00:00.000Z' });
    await expect(devices.enroll({ mac, owner: 'bob', platform: 'ios', enrolledAt: '2026-02-01T00:00:00.000Z' })).rejects.toBeInstanceOf(DeviceOwnedByOtherError);
    const again = await devices.enroll({ mac, owner: 'ALICE', platform: 'ios', osVersion: '18.1', enrolledAt: '2026-03-01T00:00:00.000Z' });
    expect(again.enrolledAt).toBe('2026-01-01T00:00:00.000Z');
    expect(again.osVersion).toBe('18.1');
  });
});

/** Accounting through keyv's promises, and through the store's synchronous reads and writes (what RADIUS uses on SQLite). */
const accountingPaths = [
  { path: 'keyv', open: () => new AccountingStore(store.kv.accounting, store.kv.leases) },
  { path: 'synchronous', open: () => AccountingStore.on(store) },
];

describe.each(accountingPaths)('accounting leases ($path)', ({ path, open }) => {
  it('works on the path it is named after: reads answer at once on the synchronous one, in a promise through keyv', () => {
    const read = open().get('nas', 'no-such-session');
    expect(read instanceof Promise).toBe(path === 'keyv');
    const lease = open().leaseFor('10.99.0.1');
    expect(lease instanceof Promise).toBe(path === 'keyv');
  });

  it('maps an address to the device, moves it on reassignment, and releases it only for its holder', async () => {
    const accounting = open();
    const other = parseMac('aa:bb:cc:dd:ee:12')!;
    const base = { nas: 'n', inputOctets: 0, outputOctets: 0, startedAt: 'x', updatedAt: 'x' } as const;
    await accounting.save({ ...base, sessionId: '1', mac, ip: '10.0.0.5', status: 'start' });
    expect((await accounting.leaseFor('10.0.0.5'))?.mac).toBe(mac);
    await accounting.save({ ...base, sessionId: '2', mac: other, ip: '10.0.0.5', status: 'start' });
    // The first device's late Stop must not release the address the second now holds.
    await accounting.save({ ...base, sessionId: '1', mac, ip: '10.0.0.5', status: 'stop' });
    expect((await accounting.leaseFor('10.0.0.5'))?.mac).toBe(other);
    await accounting.save({ ...base, sessionId: '2', mac: other, ip: '10.0.0.5', status: 'stop' });
    expect(await accounting.leaseFor('10.0.0.5')).toBeUndefined();
  });
});

describe.each(accountingPaths)('accounting leases on Interim-Update ($path)', ({ open }) => {
  it('are not rewritten while unchanged, and are refreshed after an hour', async () => {
    const accounting = open();
    const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 0, minutes)).toISOString();
    const record = (status: 'start' | 'interim', minutes: number) =>
      ({ nas: 'n', sessionId: 's', mac, ip: '10.0.0.9', status, inputOctets: minutes, outputOctets: 0, startedAt: at(0), updatedAt: at(minutes) }) as const;
    await accounting.save(record('start', 0));
    await accounting.save(record('interim', 10));
    expect((await accounting.leaseFor('10.0.0.9'))?.updatedAt).toBe(at(0));
    expect((await accounting.whereabouts(mac))?.updatedAt).toBe(at(0));
    // The record itself is always written.
    expect((await accounting.get('n', 's'))?.inputOctets).toBe(10);
    await accounting.save(record('interim', 61));
    expect((await accounting.leaseFor('10.0.0.9'))?.updatedAt).toBe(at(61));
    expect((await accounting.whereabouts(mac))?.updatedAt).toBe(at(61));
  });

  it('a Stop forgets the whereabouts only while they are still its session', async () => {
    const accounting = open();
    const record = (sessionId: string, status: 'start' | 'stop') =>
      ({ nas: 'n', sessionId, mac, status, inputOctets: 0, outputOctets: 0, startedAt: 'x', updatedAt: new Date().toISOString() }) as const;
    await accounting.save(record('old', 'start'));
    await accounting.save(record('new', 'start'));
    // The old session's late Stop: the device has moved on to the new one.
    await accounting.save(record('old', 'stop'));
    expect((await accounting.whereabouts(mac))?.sessionId).toBe('new');
    await accounting.save(record('new', 'stop'));
    expect(await accounting.whereabouts(mac)).toBeUndefined();
    expect((await accounting.get('n', 'new'))?.status).toBe('stop');
  });
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('writeNow and deleteNow', () => {
  const rawRow = (key: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT value, expires FROM enrollgate WHERE key = ?').get(key) as { value: string; expires: number | null } | undefined;
    } finally {
      db.close();
    }
  };

  it('store what keyv.set stores, with the expiry column, and are read back by keyv and readNow', async () => {
    const value = { text: ':starts with the escape', n: 1, list: [':a'], nested: { at: 'x' } };
    const before = Date.now();
    await store.writeNow!('leases', 'by-now', value, 60_000);
    await store.kv.leases.set('by-keyv', value, 60_000);
    const now = rawRow('leases:by-now')!;
    const keyv = rawRow('leases:by-keyv')!;
    // Same text but for the expiry inside it (each took its own Date.now()).
    expect(now.value.replace(/"expires":\d+/, '')).toBe(keyv.value.replace(/"expires":\d+/, ''));
    expect(now.expires).toBeGreaterThanOrEqual(before + 60_000);
    expect(now.expires).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(JSON.parse(now.value).expires).toBe(now.expires);
    expect(await store.kv.leases.get('by-now')).toEqual(value);
    expect(store.readNow!('leases', 'by-now')).toEqual(value);
  });

  it('without a TTL, store no expiry', async () => {
    await store.writeNow!('leases', 'forever', { a: 1 });
    expect(rawRow('leases:forever')).toEqual({ value: '{"value":{"a":1}}', expires: null });
  });

  it('write before they return: readNow sees the write in the same turn, before its commit', async () => {
    const committed = store.writeNow!('accounting', 'k', { v: 1 }, 60_000);
    expect(store.readNow!('accounting', 'k')).toEqual({ v: 1 });
    const deleted = store.deleteNow!('accounting', 'k');
    expect(store.readNow!('accounting', 'k')).toBeUndefined();
    await committed;
    expect(await deleted).toBe(true);
    expect(rawRow('accounting:k')).toBeUndefined();
    expect(await store.deleteNow!('accounting', 'k')).toBe(false);
  });

  it('what this connection wrote is read back, and another connection’s later write is still seen', async () => {
    const other = await openSqliteStore(file);
    try {
      await store.writeNow!('accounting', 'k', { v: 1 }, 60_000);
      expect(store.readNow!('accounting', 'k')).toEqual({ v: 1 });
      await other.writeNow!('accounting', 'k', { v: 2 }, 60_000);
      await nextTurn();
      expect(store.readNow!('accounting', 'k')).toEqual({ v: 2 });
      await store.writeNow!('accounting', 'k', { v: 3 }, 60_000);
      await nextTurn();
      expect(other.readNow!('accounting', 'k')).toEqual({ v: 3 });
      expect(store.readNow!('accounting', 'k')).toEqual({ v: 3 });
    } finally {
      await other.close();
    }
  });

  /**
   * This connection remembers 'read' ({ v: 1 }); another connection then changes it to
   * { v: 2 }, and `then` runs at the start of this connection's next turn.
   */
  async function afterAnotherConnectionChanged(then: () => Promise<void>): Promise<void> {
    const other = await openSqliteStore(file);
    try {
      await store.writeNow!('accounting', 'read', { v: 1 }, 60_000);
      await nextTurn();
      expect(store.readNow!('accounting', 'read')).toEqual({ v: 1 });
      await nextTurn();
      await other.writeNow!('accounting', 'read', { v: 2 }, 60_000);
      await then();
    } finally {
      await other.close();
    }
  }

  it('a write of this connection does not hide what another connection wrote before it', async () => {
    await afterAnotherConnectionChanged(async () => {
      const written = store.writeNow!('accounting', 'mine', { v: 1 }, 60_000);
      expect(store.readNow!('accounting', 'read')).toEqual({ v: 2 });
      expect(store.readNow!('accounting', 'mine')).toEqual({ v: 1 });
      await written;
    });
  });

  it('deleting a key that is not there does not hide what another connection wrote before it', async () => {
    await afterAnotherConnectionChanged(async () => {
      // No row, so no change log entry of its own: the newest entry is the other connection's.
      const deleted = store.deleteNow!('accounting', 'never-written');
      expect(store.readNow!('accounting', 'read')).toEqual({ v: 2 });
      expect(await deleted).toBe(false);
      expect(store.readNow!('accounting', 'never-written')).toBeUndefined();
    });
  });

  it('a write to a durable namespace (committed on its own) is read back all the same', async () => {
    const value = { mac, user: 'alice', origin: 'login', startedAt: 'x', endsAt: 'y' };
    expect(store.readNow!('sessions', mac)).toBeUndefined();
    const written = store.writeNow!('sessions', mac, value, 60_000);
    expect(store.readNow!('sessions', mac)).toEqual(value);
    await written;
    expect(store.readNow!('sessions', mac)).toEqual(value);
  });

  it('reject, never throw, a value JSON cannot hold, and write nothing', async () => {
    let write: Promise<void> | undefined;
    expect(() => (write = store.writeNow!('accounting', 'big', { n: 1n }, 1000))).not.toThrow();
    await expect(write).rejects.toThrow(/BigInt/);
    expect(rawRow('accounting:big')).toBeUndefined();
  });

  it('reject, never throw, when the file is closed', async () => {
    await store.close();
    let write: Promise<void> | undefined;
    expect(() => (write = store.writeNow!('accounting', 'k', { v: 1 }, 1000))).not.toThrow();
    await expect(write).rejects.toThrow();
    let remove: Promise<boolean> | undefined;
    expect(() => (remove = store.deleteNow!('accounting', 'k'))).not.toThrow();
    await expect(remove).rejects.toThrow();
    store = await openSqliteStore(file);
  });
});

describe('failures', () => {
  it('an unopenable file is a StoreUnavailableError naming the file', async () => {
    // Its directory would have to be created inside a regular file.
    await writeFile(join(dir, 'not-a-dir'), 'x');
    const bad = join(dir, 'not-a-dir', 'state.sqlite');
    await expect(openSqliteStore(bad)).rejects.toThrow(StoreUnavailableError);
    await expect(openSqliteStore(bad)).rejects.toThrow(bad);
  });

  it('a closed store makes reads fail loudly, not look like "no session"', async () => {
    const sessions = new SessionStore(store.kv.sessions);
    await store.close();
    await expect(sessions.live(mac, new Date())).rejects.toBeInstanceOf(StoreUnavailableError);
    store = await openSqliteStore(file);
  });
});

describe('store.sqlite_mmap_mb', () => {
  /** The regions of this process mapped from `path` (Linux /proc). */
  const mappedFrom = async (path: string) => (await readFile('/proc/self/maps', 'utf8')).split('\n').filter((l) => l.endsWith(` ${path}`));

  it('maps none of the file by default (its pages would count in RSS), and the size asked for when set', async () => {
    const sessions = new SessionStore(store.kv.sessions);
    const now = new Date();
    await sessions.put(session(now, new Date(now.getTime() + 3600_000)), now);
    expect(await sessions.live(mac, now)).toBeDefined();
    expect(await mappedFrom(file)).toEqual([]);
    await store.close();

    store = await openSqliteStore(file, { mmapMb: 16 });
    expect(await new SessionStore(store.kv.sessions).live(mac, now)).toBeDefined();
    const regions = await mappedFrom(file);
    expect(regions.length).toBeGreaterThan(0);
    // Mapped up to 16 MB: the file is smaller, so SQLite maps what there is, never more than asked.
    for (const r of regions) {
      const [from, to] = r.split(' ')[0]!.split('-').map((h) => parseInt(h, 16));
      expect(to! - from!).toBeLessThanOrEqual(16 * 2 ** 20);
    }
  });
});
