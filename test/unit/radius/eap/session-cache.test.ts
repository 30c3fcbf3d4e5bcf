import { randomBytes } from 'node:crypto';
import Keyv from 'keyv';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/logger.js';
import { TlsSessionCache } from '../../../../src/radius/eap/session-cache.js';
import { openSqliteStore } from '../../../../src/store/sqlite-state-store.js';
import type { StateStore } from '../../../../src/store/state-store.js';
import { silentKeyv } from '../../../helpers/silent-keyv.js';

/** The TLS 1.2 session store over a real SQLite state file; two instances stand for two RADIUS workers. */
let dir: string;
let store: StateStore;
let logged: string;
const caKey = randomBytes(64);
const MINUTE = 60_000;

function cache(o: { now?: () => number; maxSessions?: number; caKey?: Buffer; kv?: Keyv; deadlineMs?: number } = {}): TlsSessionCache {
  const out = new PassThrough();
  out.on('data', (d: Buffer) => (logged += d.toString()));
  return new TlsSessionCache({
    kv: o.kv ?? store.kv.tls_sessions,
    caKey: o.caKey ?? caKey,
    lifetimeMs: 60 * MINUTE,
    maxSessions: o.maxSessions ?? 100,
    log: createLogger('warn', out),
    ...(o.now ? { now: o.now } : {}),
    ...(o.deadlineMs ? { deadlineMs: o.deadlineMs } : {}),
  });
}

/** A session as Node hands it over: its ID, and its serialized state (holding the master secret). */
function session(n: number): { id: Buffer; data: Buffer } {
  return { id: Buffer.from(`session-id-${n}`.padEnd(32, '.')), data: Buffer.from(`master secret ${n} `.repeat(40)) };
}

/** The one entry in the namespace, as stored. */
async function onlyEntry(): Promise<{ key: string; value: unknown }> {
  const all = [];
  for await (const e of store.entries('tls_sessions')) all.push(e);
  expect(all).toHaveLength(1);
  return all[0]!;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-tls-sessions-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  logged = '';
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('TlsSessionCache (TLS 1.2 sessions in the state store)', () => {
  it('gives a session stored by one process to another on the same store, and nothing for an unknown ID', async () => {
    const s = session(1);
    await cache().save(s.id, s.data);
    expect((await cache().find(s.id))?.equals(s.data)).toBe(true);
    expect(await cache().find(session(2).id)).toBeUndefined();
  });

  it('stores neither the session ID nor the session in clear, and a gateway with another CA key cannot read it', async () => {
    const s = session(1);
    await cache().save(s.id, s.data);
    const entry = await onlyEntry();
    expect(entry.key).not.toContain('session-id');
    expect(String(entry.value)).not.toContain(s.data.toString('base64').slice(0, 20));
    expect(String(entry.value)).not.toContain('master secret');
    expect(await cache({ caKey: randomBytes(64) }).find(s.id)).toBeUndefined();
  });

  it('keeps a session for eap.resumption_minutes, across midnight (UTC), and not after', async () => {
    const at = Date.parse('2025-03-01T23:30:00Z');
    const clock = { ms: at };
    const s = session(1);
    await cache({ now: () => clock.ms }).save(s.id, s.data);
    // The store's own expiry reads the real clock: the entry is rewritten as if written at `at`.
    const entry = await onlyEntry();
    await store.putEntries('tls_sessions', [{ key: entry.key, value: entry.value, expiresAt: Date.now() + 60 * MINUTE }]);
    clock.ms = at + 59 * MINUTE; // the next UTC day: read under yesterday's key
    expect((await cache({ now: () => clock.ms }).find(s.id))?.equals(s.data)).toBe(true);
    // Past its TTL the store no longer gives it.
    await store.putEntries('tls_sessions', [{ key: entry.key, value: entry.value, expiresAt: Date.now() - 1 }]);
    expect(await cache({ now: () => clock.ms }).find(s.id)).toBeUndefined();
    // An entry still in the store but sealed two days ago is not read (its day's key is not used any more).
    await store.putEntries('tls_sessions', [{ key: entry.key, value: entry.value, expiresAt: Date.now() + MINUTE }]);
    clock.ms = at + 25 * 60 * MINUTE;
    expect(await cache({ now: () => clock.ms }).find(s.id)).toBeUndefined();
  });

  it('keeps at most maxSessions of those one process wrote: the oldest are deleted from the store', async () => {
    const c = cache({ maxSessions: 3 });
    for (let n = 1; n <= 5; n++) await c.save(session(n).id, session(n).data);
    expect(await store.countLive('tls_sessions', new Date())).toBe(3);
    const found = await Promise.all([1, 2, 3, 4, 5].map(async (n) => (await c.find(session(n).id)) !== undefined));
    expect(found).toEqual([false, false, true, true, true]);
  });

  it.each([
    ['a flipped bit in the sealed session', (v: string) => v.slice(0, -6) + (v.at(-6) === 'A' ? 'B' : 'A') + v.slice(-5)],
    ['another day in front of it', (v: string) => '2025-01-01' + v.slice(10)],
    ['no day', (v: string) => v.slice(11)],
    ['too short to hold a tag', (v: string) => v.slice(0, 20)],
    ['not text', () => 42],
    ['an object', () => ({ session: 'x' })],
  ])('gives no session, and does not throw, for a stored entry with %s', async (_what, tamper) => {
    const s = session(1);
    await cache().save(s.id, s.data);
    const entry = await onlyEntry();
    await store.putEntries('tls_sessions', [{ key: entry.key, value: tamper(entry.value as string), expiresAt: Date.now() + MINUTE }]);
    expect(await cache().find(s.id)).toBeUndefined();
    expect(logged).toContain('eap.session_unreadable');
    expect(logged).not.toContain('master secret');
  });

  it('gives no session, and does not throw, for an entry moved under another ID', async () => {
    const [a, b] = [session(1), session(2)];
    await cache().save(a.id, a.data);
    await cache().save(b.id, b.data);
    const all = [];
    for await (const e of store.entries('tls_sessions')) all.push(e);
    // a's sealed session under b's key: the key is in what the tag authenticates.
    await store.putEntries('tls_sessions', [{ key: all[1]!.key, value: all[0]!.value, expiresAt: Date.now() + MINUTE }]);
    const found = await Promise.all([a, b].map((s) => cache().find(s.id)));
    expect(found.filter((f) => f !== undefined)).toHaveLength(1);
  });

  it('neither throws when the store is gone: a full handshake instead', async () => {
    const c = cache();
    await store.close();
    await expect(c.save(session(1).id, session(1).data)).resolves.toBeUndefined();
    await expect(c.find(session(1).id)).resolves.toBeUndefined();
    expect(logged).toContain('eap.session_not_stored');
    // afterEach closes it again: reopen so that it can.
    store = await openSqliteStore(join(dir, 'state.sqlite'));
  });

  it('waits no longer than its deadline for a store that does not answer: no session, nothing stored, no hang', async () => {
    const hung = silentKeyv();
    const c = cache({ kv: hung, deadlineMs: 30 });
    await expect(c.save(session(1).id, session(1).data)).resolves.toBeUndefined();
    await expect(c.find(session(1).id)).resolves.toBeUndefined();
    expect(logged).toContain('"event":"eap.session_not_stored","err":"the state store did not answer within 30 ms"');
    expect(logged).toContain('"event":"eap.session_unreadable","err":"the state store did not answer within 30 ms"');
  });
});
