import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../../src/devices/device.js';
import { DeviceRegistry, sameUser } from '../../../src/devices/device-registry.js';
import { parseMac, type Mac } from '../../../src/mac.js';
import { DeviceLimitReachedError, DeviceOwnedByOtherError } from '../../../src/errors.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { type StateStore } from '../../../src/store/state-store.js';

const dir = mkdtempSync(join(tmpdir(), 'enrollgate-registry-'));
let store: StateStore;
let registry: DeviceRegistry;
let n = 0;

beforeAll(async () => {
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  registry = new DeviceRegistry(store.kv);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function device(owner: string, macText?: string): Device {
  n += 1;
  const mac = parseMac(macText ?? `3c:00:00:00:${String(Math.floor(n / 100)).padStart(2, '0')}:${String(n % 100).padStart(2, '0')}`) as Mac;
  return { mac, owner, platform: 'android', enrolledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() };
}

describe('the owner index', () => {
  it('lists a person’s devices case-insensitively and follows unenroll', async () => {
    const a = await registry.enroll(device('Carol'), 3);
    const b = await registry.enroll(device('carol'), 3);
    expect((await registry.listByOwner('CAROL')).map((d) => d.mac)).toEqual([a.mac, b.mac]);
    expect(await registry.unenroll(a.mac, 'dave')).toBe(false);
    expect(await registry.unenroll(a.mac, 'carol')).toBe(true);
    expect((await registry.listByOwner('carol')).map((d) => d.mac)).toEqual([b.mac]);
    expect(await store.kv.owners.get('carol')).toEqual([b.mac]);
    expect(await registry.unenroll(b.mac)).toBe(true);
    expect(await store.kv.owners.get('carol')).toBeUndefined();
  });
});

describe('the device limit', () => {
  it('refuses a new device beyond the limit, never a re-enrolment, and still refuses somebody else’s device', async () => {
    const first = await registry.enroll(device('erin'), 2);
    await registry.enroll(device('erin'), 2);
    const third = device('erin');
    await expect(registry.enroll(third, 2)).rejects.toMatchObject({ code: 'EG_DEVICE_LIMIT', limit: 2, user: 'erin' });
    expect(await registry.get(third.mac)).toBeUndefined();
    // Re-enrolling an owned device at the limit is fine and keeps the first time.
    const again = await registry.enroll({ ...first, osVersion: '15', enrolledAt: new Date().toISOString() }, 2);
    expect(again.enrolledAt).toBe(first.enrolledAt);
    await expect(registry.enroll({ ...first, owner: 'frank' }, 5)).rejects.toBeInstanceOf(DeviceOwnedByOtherError);
    // 0 is unlimited.
    await registry.enroll(third, 0);
    expect(await registry.listByOwner('erin')).toHaveLength(3);
  });

  it('is atomic: of many concurrent enrollments with two slots left, exactly two succeed', async () => {
    await registry.enroll(device('grace'), 3);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => registry.enroll(device('grace'), 3)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    for (const r of results.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DeviceLimitReachedError);
    expect(await registry.listByOwner('grace')).toHaveLength(3);
  });

  it('counts only the devices the person still owns: an index entry for a removed device or for somebody else\'s does not count', async () => {
    const gone = device('judy');
    const other = await registry.enroll(device('kim'), 0);
    // An owner index left behind (a crash between writing the device and its index).
    await store.kv.owners.set('judy', [gone.mac, other.mac]);
    expect(await registry.listByOwner('judy')).toEqual([]);
    const first = await registry.enroll(device('judy'), 1);
    expect((await registry.listByOwner('judy')).map((d) => d.mac)).toEqual([first.mac]);
    await expect(registry.enroll(device('judy'), 1)).rejects.toBeInstanceOf(DeviceLimitReachedError);
  });

  it('lists a person\'s devices oldest first, whatever the order of the index', async () => {
    const older = await registry.enroll(device('liam'), 0);
    const newer = await registry.enroll(device('liam'), 0);
    await store.kv.owners.set('liam', [newer.mac, older.mac]);
    expect((await registry.listByOwner('liam')).map((d) => d.mac)).toEqual([older.mac, newer.mac]);
  });

  it('refuses the device one past the limit exactly: limit 1 takes one, limit 2 a second', async () => {
    await registry.enroll(device('mia'), 1);
    await expect(registry.enroll(device('mia'), 1)).rejects.toMatchObject({ code: 'EG_DEVICE_LIMIT', limit: 1, user: 'mia' });
    await registry.enroll(device('mia'), 2);
    await expect(registry.enroll(device('mia'), 2)).rejects.toMatchObject({ limit: 2 });
  });

  it('gives a MAC to one of two people enrolling it at once, never both', async () => {
    const mac = '3c:00:00:00:99:01';
    const results = await Promise.allSettled([registry.enroll(device('heidi', mac), 3), registry.enroll(device('ivan', mac), 3)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const owner = (await registry.get(mac as Mac))!.owner;
    expect((await registry.listByOwner(owner)).map((d) => d.mac)).toEqual([mac]);
    expect(await registry.listByOwner(owner === 'heidi' ? 'ivan' : 'heidi')).toEqual([]);
  });
});

describe('names', () => {
  it('names only the owner\'s device, under the lock, keeps the name when it is enrolled again, and takes it away', async () => {
    const d = await registry.enroll({ ...device('Nadia'), model: 'Pixel 8' }, 3);
    expect(await registry.rename(d.mac, 'mallory', 'Mine now')).toBeUndefined();
    expect(await registry.rename(parseMac('3c:99:99:99:99:99') as Mac, 'erin', 'Nothing')).toBeUndefined();
    expect(await registry.rename(d.mac, 'NADIA', 'Work phone')).toMatchObject({ mac: d.mac, owner: 'Nadia', model: 'Pixel 8', name: 'Work phone' });
    // Refreshed by its owner (a new login, the agent again): the name stays; a name passed in is ignored.
    await registry.enroll({ ...d, enrolledAt: new Date().toISOString(), name: 'From the caller' }, 3);
    expect((await registry.get(d.mac))?.name).toBe('Work phone');
    expect((await registry.listByOwner('nadia')).map((x) => x.name)).toEqual(['Work phone']);
    const cleared = await registry.rename(d.mac, 'nadia', undefined);
    expect(cleared).not.toHaveProperty('name');
    expect(await registry.get(d.mac)).not.toHaveProperty('name');
  });

  it('a rename waits for an enrollment holding the same locks, and neither is lost', async () => {
    const d = await registry.enroll(device('Otto'), 3);
    const [, renamed] = await Promise.all([registry.enroll({ ...d, osVersion: '14' }, 3), registry.rename(d.mac, 'otto', 'Tablet')]);
    expect(renamed?.name).toBe('Tablet');
    expect(await registry.get(d.mac)).toMatchObject({ name: 'Tablet', osVersion: '14' });
  });

  it('a new enrollment of a MAC unenrolled before starts without the old name', async () => {
    const d = await registry.enroll(device('Pia'), 3);
    await registry.rename(d.mac, 'pia', 'Old phone');
    await registry.unenroll(d.mac, 'pia');
    expect(await registry.enroll({ ...d, owner: 'quinn' }, 3)).not.toHaveProperty('name');
  });
});

describe('the block list', () => {
  it('blocks, lists and unblocks', async () => {
    const mac = parseMac('3c:00:00:00:77:01')!;
    expect(await registry.blocked(mac)).toBeUndefined();
    await registry.block(mac, { by: 'it-admin', reason: 'stolen', at: '2026-02-01T10:00:00.000Z' });
    await registry.block(parseMac('3c:00:00:00:77:02')!, { by: 'it-admin', reason: 'lost', at: '2026-02-02T10:00:00.000Z' });
    expect(await registry.blocked(mac)).toEqual({ mac, by: 'it-admin', reason: 'stolen', at: '2026-02-01T10:00:00.000Z' });
    expect((await registry.listBlocked()).map((b) => b.reason)).toEqual(['lost', 'stolen']);
    expect(await registry.unblock(mac)).toBe(true);
    expect(await registry.unblock(mac)).toBe(false);
    expect((await registry.listBlocked()).map((b) => b.mac)).toEqual(['3c:00:00:00:77:02']);
  });

  it('works the same on the single-Keyv form, whose list of devices skips the index and blocks', async () => {
    const single = new DeviceRegistry(store.kv.flows);
    const d = await single.enroll(device('judy'), 1);
    await expect(single.enroll(device('judy'), 1)).rejects.toBeInstanceOf(DeviceLimitReachedError);
    await single.block(d.mac, { by: 'x', reason: 'y', at: '2026-01-01T00:00:00.000Z' });
    expect((await single.listBlocked()).map((b) => b.mac)).toEqual([d.mac]);
    expect((await single.list()).map((x) => x.mac)).toEqual([d.mac]);
  });
});

describe('certificates bound to a device', () => {
  const at = new Date('2026-03-01T12:00:00.000Z');
  const notAfter = new Date('2027-03-01T12:00:00.000Z');

  it('records serials in their canonical form, keeps the 5 newest and revokes older ones as superseded', async () => {
    const d = await registry.enroll(device('kate'));
    for (let i = 1; i <= 7; i++) await registry.recordCertificate(d.mac, { serial: `00:A${i}`, notAfter }, at);
    expect(await registry.certificateSerials(d.mac)).toEqual(['a3', 'a4', 'a5', 'a6', 'a7']);
    expect(await registry.revocations.status('A1')).toMatchObject({ serial: 'a1', reason: 4, notAfter: notAfter.toISOString() });
    expect(await registry.revocations.status('a3')).toBeUndefined();
    // Enrolling again while enrolled (the same enrollment refreshed) keeps them.
    await registry.enroll({ ...d, enrolledAt: new Date().toISOString() });
    expect(await registry.certificateSerials(d.mac)).toHaveLength(5);
  });

  it('revokes every serial when the device is unenrolled; enrolled again it starts with none', async () => {
    const d = await registry.enroll(device('liam'));
    await registry.recordCertificate(d.mac, { serial: 'b1', notAfter }, at);
    await registry.recordCertificate(d.mac, { serial: 'b2', notAfter }, at);
    const retired = await registry.remove(d.mac, { owner: 'LIAM', reason: 1, at });
    expect(retired?.revoked.map((e) => [e.serial, e.reason, e.revokedAt])).toEqual([
      ['b1', 1, at.toISOString()],
      ['b2', 1, at.toISOString()],
    ]);
    // Whatever the caller passes, a new enrollment binds nothing until a certificate is recorded.
    const again = await registry.enroll({ ...device('liam', d.mac), certificateSerials: ['b1'] });
    expect(again.certificateSerials).toBeUndefined();
    expect(await registry.certificateSerials(d.mac)).toEqual([]);
    expect(await registry.revocations.status('b2')).toMatchObject({ reason: 1 });
  });

  it('revokes at once a certificate made for a device unenrolled meanwhile, and says so', async () => {
    const gone = device('mia');
    expect(await registry.recordCertificate(gone.mac, { serial: 'c1', notAfter }, at)).toBeUndefined();
    expect(await registry.revocations.status('c1')).toMatchObject({ reason: 5 });
  });

  it('revokes and unbinds the certificates of a blocked device; one admin revocation takes one serial', async () => {
    const d = await registry.enroll(device('noah'));
    for (const serial of ['d1', 'd2', 'd3']) await registry.recordCertificate(d.mac, { serial, notAfter }, at);
    expect(await registry.revokeCertificate(d.mac, 'ffff', 0, at)).toBeUndefined();
    expect(await registry.revokeCertificate(d.mac, 'D2', 0, at)).toMatchObject({ serial: 'd2', reason: 0 });
    expect(await registry.certificateSerials(d.mac)).toEqual(['d1', 'd3']);
    const blocked = await registry.block(d.mac, { by: 'it', reason: 'stolen', at: at.toISOString() });
    expect(blocked.revoked.map((e) => e.serial)).toEqual(['d1', 'd3']);
    expect((await registry.get(d.mac))?.certificateSerials).toBeUndefined();
    expect((await registry.revocations.list()).map((e) => e.serial)).toEqual(expect.arrayContaining(['d1', 'd2', 'd3']));
    // A revocation keeps its first date and reason.
    expect(await registry.revocations.revoke(['d1'], 5, new Date())).toEqual([]);
    expect(await registry.revocations.status('d1')).toMatchObject({ reason: 1, revokedAt: at.toISOString() });
  });

  it('keeps the single-Keyv form’s revocations out of its device list', async () => {
    const single = new DeviceRegistry(store.kv.tokens);
    const d = await single.enroll(device('olga'));
    await single.recordCertificate(d.mac, { serial: 'e1', notAfter }, at);
    await single.unenroll(d.mac);
    expect(await single.list()).toEqual([]);
    expect((await single.revocations.list()).map((e) => e.serial)).toEqual(['e1']);
  });
});

describe('sameUser', () => {
  it.each([
    ['alice', 'alice', true],
    ['Alice', 'aLICE', true],
    ['DOMAIN\\Jo', 'domain\\jo', true],
    // Accents count: josé is not jose (a directory tells them apart).
    ['josé', 'jose', false],
    ['JOSÉ', 'josé', true],
    ['alice', 'alice2', false],
    ['', '', true],
    // Composed and decomposed é are one name (NFC), as the owner index folds them.
    ['jos\u00e9', 'JOSE\u0301', true],
    // What a collator ignores is still a different name: the owner index tells them apart too.
    ['alice', 'alice\u200b', false],
    ['alice', 'al\u00adice', false],
    ['alice', 'alice\u0000', false],
    ['\ufb01le', 'file', false],
  ])('%s and %s: %s', (a, b, same) => {
    expect(sameUser(a, b)).toBe(same);
    expect(sameUser(b, a)).toBe(same);
  });
});
