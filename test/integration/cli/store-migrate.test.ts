import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeCommand } from '../../../src/cli/commands/store.js';
import { loadConfig } from '../../../src/config/load.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac, type Mac } from '../../../src/mac.js';
import { createLogger } from '../../../src/logger.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openRedisStore } from '../../../src/store/redis-state-store.js';
import { NAMESPACES, type StateStore, type StoredEntry } from '../../../src/store/state-store.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { cliEntry } from '../../helpers/source.js';

/**
 * `enrollgate store migrate` as an admin runs it (a process of its own, as in
 * cli.test.ts): SQLite to a private redis-server that asks for a password, the way
 * back resumed after Ctrl-C, the comparison catching a changed target, and bad
 * command lines. The Redis password must appear in no output.
 */

const PASSWORD = 'redis-Pw-7c1e9a0b3d';
let redis: TestRedis;
let dir: string;
let redisUrl: string;
/** A config on the SQLite file, with no Redis in it (the URL comes from $ENROLLGATE_REDIS_URL). */
let sqliteConfig: string;
/** A config on Redis (the URL from an env secret reference), for the way back. */
let redisConfig: string;
const outputs: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.ENROLLGATE_CONFIG;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  if (!('ENROLLGATE_REDIS_URL' in env)) delete childEnv.ENROLLGATE_REDIS_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [cliEntry(), ...args], { cwd: dir, env: childEnv, timeout: 30_000 }, (err, stdout, stderr) => {
      outputs.push(stdout, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}
const toRedis = (...more: string[]) => cli(['store', 'migrate', '--to', 'redis', '--config', sqliteConfig, ...more], { ENROLLGATE_REDIS_URL: redisUrl });

const mac = (n: number): Mac => parseMac(`3c:b0:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`)!;

async function openTarget(): Promise<StateStore> {
  return openRedisStore({ url: redisUrl, key_prefix: 'enrollgate:', connect_timeout_ms: 1000 }, createLogger('silent'));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-cli-migrate-'));
  redis = await startRedis();
  const admin = createClient({ url: redis.url });
  await admin.connect();
  await admin.configSet('requirepass', PASSWORD);
  await admin.quit();
  redisUrl = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;

  sqliteConfig = join(dir, 'enrollgate.yaml');
  await writeFile(sqliteConfig, 'store:\n  sqlite_file: state.sqlite\n');
  redisConfig = join(dir, 'redis.yaml');
  await writeFile(redisConfig, 'store:\n  kind: redis\n  sqlite_file: back.sqlite\n  redis:\n    url: { env: EG_TEST_REDIS_URL }\n');

  const store = await openSqliteStore(join(dir, 'state.sqlite'));
  try {
    const now = Date.now();
    const registry = new DeviceRegistry(store.kv, store.withLock);
    await registry.enroll({ mac: mac(1), owner: 'Alice', platform: 'ios', enrolledAt: new Date(now).toISOString() });
    await registry.enroll({ mac: mac(2), owner: 'alice', platform: 'android', enrolledAt: new Date(now + 1).toISOString() });
    const sessions: StoredEntry[] = Array.from({ length: 3000 }, (_, i) => {
      const end = now + 3_600_000 + i;
      return { key: mac(100 + i), value: { mac: mac(100 + i), user: `u${i}`, origin: 'login', startedAt: new Date(now).toISOString(), endsAt: new Date(end).toISOString() }, expiresAt: end };
    });
    for (let i = 0; i < sessions.length; i += 500) await store.putEntries('sessions', sessions.slice(i, i + 500));
    for (const namespace of NAMESPACES) await store.kv[namespace].set('cli-test', { namespace }, 600_000);
  } finally {
    await store.close();
  }
});
afterAll(async () => {
  await redis?.close();
  await rm(dir, { recursive: true, force: true });
  // Every run's output, whatever it tested.
  expect(outputs.join('\n')).not.toContain(PASSWORD);
});

describe('enrollgate store migrate', () => {
  it('bad command lines exit 2 saying what is wrong, and never echo a Redis URL', async () => {
    const cases: Array<[string[], Record<string, string | undefined>, string]> = [
      [['store'], {}, 'store: which one? migrate'],
      [['store', 'copy'], {}, 'unknown store command "copy"'],
      [['store', 'migrate'], {}, 'which way? --to redis or --to sqlite'],
      [['store', 'migrate', '--to', 'mysql'], {}, '--to: got "mysql"; expected redis or sqlite'],
      [['store', 'migrate', '--to', 'sqlite'], {}, "the config's store is sqlite already"],
      [['store', 'migrate', '--to', 'redis', '--resume', '--verify-only'], {}, 'give --resume or --verify-only, not both'],
      [['store', 'migrate', '--to', 'redis', '--user', 'x'], {}, 'store does not take --user'],
      [['store', 'migrate', 'now', '--to', 'redis'], {}, 'store migrate takes no arguments, got: now'],
      [['store', 'migrate', '--to', 'redis'], {}, 'which Redis? Set $ENROLLGATE_REDIS_URL'],
      [['store', 'migrate', '--to', 'redis', '--redis-url', `redis://:${PASSWORD}@127.0.0.1/x/y`], {}, '--redis-url: (hidden); expected redis://'],
      [['store', 'migrate', '--to', 'redis'], { ENROLLGATE_REDIS_URL: `http://:${PASSWORD}@x` }, '$ENROLLGATE_REDIS_URL: (hidden)'],
      [['store', 'migrate', '--to', 'redis', '--resume'], { ENROLLGATE_REDIS_URL: redisUrl }, 'nothing to resume: there is no checkpoint at'],
      [['store', 'migrate', '--to', 'redis', '--sqlite-file', 'missing.sqlite'], { ENROLLGATE_REDIS_URL: redisUrl }, 'missing.sqlite does not exist: nothing to copy'],
    ];
    // Three at a time: each run starts a Node process.
    for (let i = 0; i < cases.length; i += 3) {
      await Promise.all(
        cases.slice(i, i + 3).map(async ([args, env, message]) => {
          const run = await cli([...args, '--config', sqliteConfig], env);
          expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
          expect(run.stderr, args.join(' ')).toContain(message);
        }),
      );
    }
    expect(existsSync(join(dir, 'missing.sqlite'))).toBe(false);
  }, 90_000);

  it('refuses while another process (a gateway) has the SQLite file open', async () => {
    const gateway = await openSqliteStore(join(dir, 'state.sqlite'));
    try {
      await gateway.ping();
      const run = await toRedis();
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${join(dir, 'state.sqlite')} is open in another process (a running gateway, or another enrollgate command): stop it first`);
    } finally {
      await gateway.close();
    }
  });

  it('copies the SQLite file to a Redis that wants a password, showing progress, and verifies', async () => {
    const run = await toRedis();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`to Redis at 127.0.0.1:${redis.port} (database 0, key prefix "enrollgate:")`);
    expect(run.stdout).toContain('The gateway must be stopped');
    for (const namespace of NAMESPACES) expect(run.stdout).toMatch(new RegExp(`^${namespace} .* same$`, 'm'));
    expect(run.stdout).toMatch(/^sessions +3,001 +3,001 /m);
    expect(run.stdout).toContain('Verified: the target holds the same live entries as the source.');
    expect(run.stdout).toContain('Next: set store.kind: redis, store.redis.url');
    // Not a terminal: a line per tenth of the way, no carriage returns.
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).toMatch(/^copying +100% +3,\d{3} of 3,\d{3} entries/m);
    expect(existsSync(join(dir, 'state.sqlite.migration.json'))).toBe(false);

    const target = await openTarget();
    try {
      expect((await new DeviceRegistry(target.kv, target.withLock).listByOwner('ALICE')).map((d) => d.mac)).toEqual([mac(1), mac(2)]);
      expect((await new SessionStore(target.kv.sessions).live(mac(100), new Date()))?.user).toBe('u0');
    } finally {
      await target.close();
    }
  });

  it('refuses to copy over a target that holds enrollgate data', async () => {
    const run = await toRedis();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Redis at 127.0.0.1:${redis.port} (database 0, key prefix "enrollgate:") holds enrollgate data already (devices, at least): refusing`);
  });

  it('--verify-only: exit 0 while the two agree, 1 naming the namespace once the target is changed', async () => {
    const same = await toRedis('--verify-only');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('Verified');
    const target = await openTarget();
    try {
      await target.kv.owners.set('alice', [mac(1)]);
    } finally {
      await target.close();
    }
    const changed = await toRedis('--verify-only');
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^owners .* DIFFERENT$/m);
    expect(changed.stdout).toMatch(/^devices .* same$/m);
    expect(changed.stderr).toContain('enrollgate: the stores differ in owners.');
  });

  it('a wrong password fails with exit 1, naming host and port only', async () => {
    const run = await cli(['store', 'migrate', '--to', 'redis', '--verify-only', '--config', sqliteConfig, '--redis-url', `redis://:not-${PASSWORD}-x@127.0.0.1:${redis.port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`127.0.0.1:${redis.port}`);
    expect(run.stderr).not.toContain(`not-${PASSWORD}`);
  });

  it('the way back, stopped by Ctrl-C, goes on with --resume and verifies', async () => {
    const env = { EG_TEST_REDIS_URL: redisUrl };
    // In this process (a signal to a child races with a copy this small): Ctrl-C as the first page is written.
    const config = loadConfig(redisConfig, env);
    const ctrlC = new AbortController();
    const lines: string[] = [];
    const status = await storeCommand(config, 'migrate', [], { to: 'sqlite' }, {
      print: (line) => lines.push(line),
      error: (line) => lines.push(line),
      progress: { isTTY: true, write: () => ctrlC.abort() },
      signal: ctrlC.signal,
    });
    expect(status).toBe(1);
    expect(lines.join('\n')).toMatch(/Stopped after \d+ entries\. The checkpoint is .*back\.sqlite\.migration\.json: run the same command with --resume/);
    expect(existsSync(join(dir, 'back.sqlite.migration.json'))).toBe(true);

    const again = await cli(['store', 'migrate', '--to', 'sqlite', '--config', redisConfig], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('was interrupted');
    expect(again.stderr).toContain('add --resume to go on with it');

    const resumed = await cli(['store', 'migrate', '--to', 'sqlite', '--resume', '--config', redisConfig], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`Resuming the copy from Redis at 127.0.0.1:${redis.port}`);
    expect(resumed.stdout).toMatch(/after the \d+ of the interrupted run/);
    expect(resumed.stdout).toContain('Verified');
    expect(existsSync(join(dir, 'back.sqlite.migration.json'))).toBe(false);

    const back = await openSqliteStore(join(dir, 'back.sqlite'));
    try {
      // The owner index as changed in Redis above: the copy is of Redis, not of the first SQLite file.
      expect((await new DeviceRegistry(back.kv, back.withLock).listByOwner('alice')).map((d) => d.mac)).toEqual([mac(1)]);
      expect((await new SessionStore(back.kv.sessions).live(mac(3099), new Date()))?.user).toBe('u2999');
    } finally {
      await back.close();
    }
  });
});
