/**
 * Seeding for the benchmarks that need enrolled devices (bench:scale, bench:portal):
 * devices two per person, each with a session ending in 22 hours and an accounting
 * Start mapping an address to it, written through the gateway's own classes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import Keyv from 'keyv';
import { AccountingStore } from '../src/accounting/accounting-store.js';
import { DeviceRegistry } from '../src/devices/device-registry.js';
import { parseMac } from '../src/mac.js';
import { SessionStore } from '../src/sessions/session-store.js';
import { prepareTable, SqliteKeyvStore, WriteBatch } from '../src/store/sqlite-keyv-store.js';
import { NAMESPACES, type Namespace, type StateStore } from '../src/store/state-store.js';

/** The shared C load generator (../shared/tools/radius-load), when built: its MAC list is the one both generators use. */
export const C_TOOL = join(process.cwd(), '..', 'shared', 'tools', 'radius-load', 'radius-load');

export function knownMacs(n: number, cTool = C_TOOL): string[] {
  if (existsSync(cTool)) {
    // The C generator's own list, so both generators ask about the same devices.
    return execFileSync(cTool, ['--gen-macs', String(n)], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n');
  }
  const hex = (v: number) => (v & 0xff).toString(16).padStart(2, '0');
  return Array.from({ length: n }, (_, i) => `00-16-3e-${hex(i >> 16)}-${hex(i >> 8)}-${hex(i)}`);
}

/** The address accounting gives device i (10.64.0.0 up); probes for an unknown device come from 10.200.x.y, which no lease has. */
export function deviceIp(i: number): string {
  return `10.${64 + ((i >> 16) & 0x7f)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}
export function unknownIp(i: number): string {
  return `10.200.${(i >> 8) & 0xff}.${i & 0xff}`;
}

export interface SeedResult {
  ms: number;
}

/**
 * Enrolls every device (two per person), gives it a session that ends in 22 hours and
 * an accounting Start that maps its address to it, through the gateway's own classes
 * on `kv`; `parallel` devices at a time. The last `sessionless` devices get no session
 * (enrolled, the next morning: the portal's login page).
 */
export async function seedThrough(kv: Readonly<Record<Namespace, Keyv>>, macs: readonly string[], parallel: number, sessionless = 0): Promise<SeedResult> {
  const started = performance.now();
  const devices = new DeviceRegistry(kv);
  const sessions = new SessionStore(kv.sessions);
  const accounting = new AccountingStore(kv.accounting, kv.leases);
  const now = new Date();
  const at = now.toISOString();
  const endsAt = new Date(now.getTime() + 22 * 3600_000).toISOString();
  for (let i = 0; i < macs.length; i += parallel) {
    await Promise.all(
      macs.slice(i, i + parallel).map(async (m, j) => {
        const n = i + j;
        const mac = parseMac(m)!;
        const user = `user${n >> 1}`;
        await devices.enroll({ mac, owner: user, platform: n % 2 ? 'ios' : 'android', enrolledAt: at });
        if (n < macs.length - sessionless) await sessions.put({ mac, user, origin: 'enrollment', startedAt: at, endsAt }, now);
        await accounting.save({ sessionId: `acct-${n}`, mac, nas: 'bench', user, ip: deviceIp(n), status: 'start', inputOctets: 0, outputOctets: 0, startedAt: at, updatedAt: at });
      }),
    );
  }
  return { ms: performance.now() - started };
}

/**
 * SQLite: one connection with the gateway's keyv store (sqlite-keyv-store.ts) in
 * group commits. The gateway fsyncs every device and session write on its own
 * (about 50 s for 100,000 here); the rows are the same.
 */
export async function seedSqlite(file: string, macs: readonly string[], sessionless = 0): Promise<SeedResult> {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    prepareTable(db);
    const batch = new WriteBatch(db);
    const kv = {} as Record<Namespace, Keyv>;
    for (const namespace of NAMESPACES) {
      const keyv = new Keyv({ store: new SqliteKeyvStore(db, { batch }), namespace, throwOnErrors: true });
      keyv.on('error', () => {});
      kv[namespace] = keyv;
    }
    const result = await seedThrough(kv, macs, 500, sessionless);
    batch.commit();
    db.pragma('wal_checkpoint(TRUNCATE)');
    return result;
  } finally {
    db.close();
  }
}

/** Reads a few seeded devices back through the gateway's store: the seeding wrote what the gateway reads. */
export async function checkSeed(store: StateStore, macs: readonly string[]): Promise<void> {
  const devices = new DeviceRegistry(store.kv, store.withLock);
  const sessions = new SessionStore(store.kv.sessions);
  const accounting = new AccountingStore(store.kv.accounting, store.kv.leases);
  for (const n of [0, Math.floor(macs.length / 2), macs.length - 1]) {
    const mac = parseMac(macs[n]!)!;
    const [device, session, lease, owned] = await Promise.all([devices.get(mac), sessions.live(mac, new Date()), accounting.leaseFor(deviceIp(n)), devices.listByOwner(`user${n >> 1}`)]);
    if (device?.mac !== mac || session?.mac !== mac || lease?.mac !== mac || !owned.some((d) => d.mac === mac)) {
      throw new Error(`seeded device ${n} (${mac}) does not read back through the gateway's store`);
    }
  }
  const live = await store.countLive('sessions', new Date());
  if (live !== macs.length) throw new Error(`the store counts ${live} live sessions, ${macs.length} were seeded`);
}

/**
 * bench:radius and bench:radius-cpu: every MAC enrolled (owner user<i>) with a session
 * ending in 22 hours, through the gateway's own classes on `kv`, 500 at a time.
 */
export async function seedSessions(kv: Readonly<Record<Namespace, Keyv>>, macs: readonly string[]): Promise<void> {
  const sessions = new SessionStore(kv.sessions);
  const devices = new DeviceRegistry(kv.devices);
  const now = new Date();
  const endsAt = new Date(now.getTime() + 22 * 3600_000).toISOString();
  for (let i = 0; i < macs.length; i += 500) {
    await Promise.all(
      macs.slice(i, i + 500).map(async (m, j) => {
        const mac = parseMac(m)!;
        await devices.enroll({ mac, owner: `user${i + j}`, platform: 'android', enrolledAt: now.toISOString() });
        await sessions.put({ mac, user: `user${i + j}`, origin: 'enrollment', startedAt: now.toISOString(), endsAt }, now);
      }),
    );
  }
}
