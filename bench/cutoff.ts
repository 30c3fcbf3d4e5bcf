/**
 * npm run bench:cutoff — the daily cut-off with 100,000 live sessions: every session
 * ends at the same instant, and the purge hands each to the audit trail
 * (session.expired). Measures, on SQLite and on a private Redis, how long the purge
 * takes and how long it holds the event loop at most (the loop RADIUS answers on),
 * with the audit records written as the gateway writes them (main.ts: a thousand a turn).
 *
 *   npm run bench:cutoff -- [--sessions 100000] [--skip-redis]
 *
 * Expiry sends nothing to routers (their Session-Timeout ends the sessions), so the
 * store and the loop are all there is to watch. Prints its figures; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/audit/audit-log.js';
import { parseMac } from '../src/mac.js';
import { createLogger } from '../src/logger.js';
import type { Session } from '../src/sessions/session.js';
import { SessionStore } from '../src/sessions/session-store.js';
import { openRedisStore } from '../src/store/redis-state-store.js';
import { openSqliteStore } from '../src/store/sqlite-state-store.js';
import { type StateStore } from '../src/store/state-store.js';
import { freeTcpPort } from '../test/helpers/ports.js';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '100000' }, 'skip-redis': { type: 'boolean', default: false } } });
const N = Number(values.sessions);
const log = createLogger('warn');

const macOf = (i: number) => parseMac(`3c:c0:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:01`)!;

async function run(label: string, store: StateStore, dir: string): Promise<void> {
  const sessions = new SessionStore(store.kv.sessions);
  const now = new Date();
  // All end a few seconds from now: a cut-off.
  // Far enough for the seeding to finish first (a session put after its end is not stored).
  const cutoff = new Date(now.getTime() + 5_000 + N / 4);
  const seeded = performance.now();
  for (let i = 0; i < N; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, N - i) }, (_, j) => {
        const s: Session = { mac: macOf(i + j), user: `user${i + j}`, origin: 'login', startedAt: now.toISOString(), endsAt: cutoff.toISOString() };
        return sessions.put(s, new Date());
      }),
    );
  }
  console.log(`${label}: seeded ${N} sessions ending at one instant in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
  while (Date.now() <= cutoff.getTime() + 100) await new Promise((r) => setTimeout(r, cutoff.getTime() + 101 - Date.now()));

  const audit = AuditLog.open({ dir: join(dir, `audit-${label}`), clock: { now: () => new Date() }, log });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  // As main.ts does at each purge tick (SQLite rows are deleted a minute past the end: their expiry is the put's time plus the TTL).
  const { count, sessions: ended } = await store.purgeExpired(new Date(Date.now() + 60_000));
  for (let i = 0; i < ended.length; i += 1000) {
    for (const s of ended.slice(i, i + 1000) as Session[]) audit.record({ type: 'session.expired', mac: s.mac, user: s.user, ended_at: s.endsAt });
    await new Promise((resolve) => setImmediate(resolve));
  }
  audit.flush();
  const ms = performance.now() - started;
  // Let the monitor's timer fire once more, so that a block just before this is counted.
  await new Promise((resolve) => setTimeout(resolve, 20));
  delay.disable();
  await audit.close();
  console.log(
    `${label}: purge of ${count} entries (${ended.length} sessions, each audited) took ${ms.toFixed(0)} ms; ` +
      `event loop held at most ${(delay.max / 1e6).toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms) meanwhile`,
  );
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-bench-cutoff-'));
  try {
    const sqlite = await openSqliteStore(join(dir, 'state.sqlite'));
    await run('sqlite', sqlite, dir);
    await sqlite.close();
    if (!values['skip-redis']) {
      const port = await freeTcpPort();
      const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      try {
        let store: StateStore | undefined;
        for (const deadline = Date.now() + 10_000; !store; ) {
          store = await openRedisStore({ url: `redis://127.0.0.1:${port}`, key_prefix: 'cutoff:', connect_timeout_ms: 200 }, createLogger('silent')).catch((err: unknown) => {
            if (Date.now() > deadline) throw err;
            return undefined;
          });
        }
        await run('redis', store, dir);
        await store.close();
      } finally {
        redis.kill('SIGTERM');
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
