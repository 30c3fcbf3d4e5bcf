import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountingStore } from '../../../src/accounting/accounting-store.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac } from '../../../src/devices/mac.js';
import { DeviceOwnedByOtherError, StoreUnavailableError } from '../../../src/errors.js';
import type { Session } from '../../../src/sessions/session.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openSqliteStore, type StateStore } from '../../../src/store/state-store.js';

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

describe('accounting leases', () => {
  it('maps an address to the device, moves it on reassignment, and releases it only for its holder', async () => {
    const accounting = new AccountingStore(store.kv.accounting, store.kv.leases);
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

describe('accounting leases on Interim-Update', () => {
  it('are not rewritten while unchanged, and are refreshed after an hour', async () => {
    const accounting = new AccountingStore(store.kv.accounting, store.kv.leases);
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
