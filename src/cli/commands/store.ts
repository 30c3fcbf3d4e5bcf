import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config, RedisStoreConfig } from '../../config/load.js';
import { MIGRATION_REDIS_URL_VARIABLE } from '../../config/variables.js';
import { configSchema } from '../../config/schema.js';
import { BadInputError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { CheckpointFile, type Checkpoint } from '../../store/migration-checkpoint.js';
import { copyStore, namespaceWithEntries, type CopyResult } from '../../store/migration-copy.js';
import { compareStores, EXPIRY_MARGIN_MS, type NamespaceComparison } from '../../store/migration-verify.js';
import { redisWhere } from '../../store/redis-connection.js';
import { openRedisStore } from '../../store/redis-state-store.js';
import { sqliteFileInUse } from '../../store/sqlite-in-use.js';
import { NAMESPACES, type StateStore } from '../../store/state-store.js';
import { openSqliteStore } from '../../store/sqlite-state-store.js';
import { count, ProgressLine, type ProgressStream } from '../progress.js';
import { STORE_SUBCOMMANDS } from '../usage.js';


export type StoreSubcommand = (typeof STORE_SUBCOMMANDS)[number];

export interface StoreFlags {
  readonly to?: string;
  readonly redisUrl?: string;
  /** $ENROLLGATE_REDIS_URL, read by config/load.ts. */
  readonly redisUrlFromEnv?: string;
  readonly sqliteFile?: string;
  readonly resume?: boolean;
  readonly verifyOnly?: boolean;
}

export interface StoreIo {
  /** A line of the report (stdout). */
  print(line: string): void;
  /** A line about a failure (stderr, after "enrollgate: "). */
  error(line: string): void;
  /** Where the progress line goes (stderr). */
  readonly progress: ProgressStream;
  /** Aborted by Ctrl-C: the copy stops after the page it is writing. */
  readonly signal?: AbortSignal;
}

type Kind = StateStore['kind'];

/** One end of a migration: how to open it, and how to name it in messages (never with a password). */
interface Backend {
  readonly kind: Kind;
  readonly name: string;
  open(): Promise<StateStore>;
}

// redis://[user:password@]host:port[/db] or rediss://…, as store.redis.url (config/load.ts).
const REDIS_URL = /^rediss?:\/\/[^/\s]+(\/\d{1,2})?$/;

/**
 * `enrollgate store migrate`: copies the state from the store the config names to the
 * other backend, resumably, and compares the two. Returns the exit status (0: the
 * stores hold the same entries; 1: they differ, or the copy was interrupted); throws
 * BadInputError for a command that cannot run as given (exit 2).
 */
export async function storeCommand(config: Config, sub: StoreSubcommand, args: readonly string[], flags: StoreFlags, io: StoreIo): Promise<number> {
  if (args.length > 0) throw new BadInputError(`store ${sub} takes no arguments, got: ${args.join(' ')}`);
  if (flags.to === undefined) throw new BadInputError('store migrate: which way? --to redis or --to sqlite');
  if (flags.to !== 'redis' && flags.to !== 'sqlite') throw new BadInputError(`--to: got ${JSON.stringify(flags.to)}; expected redis or sqlite`);
  const from = config.store.kind;
  const to: Kind = flags.to;
  if (to === from) {
    throw new BadInputError(`--to ${to}: the config's store is ${from} already (store.kind in ${config.config_file}); the copy goes from that store to the other one`);
  }
  if (flags.resume && flags.verifyOnly) throw new BadInputError('store migrate: give --resume or --verify-only, not both');

  const sqliteFile = flags.sqliteFile !== undefined ? resolve(flags.sqliteFile) : config.store.sqlite_file;
  const sqlite: Backend = { kind: 'sqlite', name: `the SQLite file ${sqliteFile}`, open: () => openSqliteStore(sqliteFile) };
  const redisSettings = redisSettingsOf(config, flags);
  const redis: Backend = {
    kind: 'redis',
    name: `Redis at ${redisWhere(redisSettings)} (database ${redisDatabase(redisSettings)}, key prefix "${redisSettings.key_prefix}")`,
    open: () => openRedisStore(redisSettings, createLogger('silent')),
  };
  const [source, target] = to === 'redis' ? [sqlite, redis] : [redis, sqlite];
  // Opening a SQLite file that is not there would create an empty one.
  if (source.kind === 'sqlite' && !existsSync(sqliteFile)) {
    throw new BadInputError(`${sqliteFile} does not exist: nothing to copy (is store.sqlite_file, or --sqlite-file, right?)`);
  }
  if (flags.verifyOnly && target.kind === 'sqlite' && !existsSync(sqliteFile)) throw new BadInputError(`${sqliteFile} does not exist: nothing to compare`);
  // A gateway on the SQLite file, source or target, would change it under the copy (a Redis one cannot be seen from here).
  if (existsSync(sqliteFile) && sqliteFileInUse(sqliteFile)) {
    throw new BadInputError(`${sqliteFile} is open in another process (a running gateway, or another enrollgate command): stop it first`);
  }

  const checkpointFile = new CheckpointFile(sqliteFile);
  const existing = flags.verifyOnly ? undefined : await readCheckpoint(checkpointFile);
  if (flags.resume) {
    if (!existing) throw new BadInputError(`nothing to resume: there is no checkpoint at ${checkpointFile.path}; run without --resume`);
    if (existing.from !== source.name || existing.to !== target.name) {
      throw new BadInputError(`the checkpoint ${checkpointFile.path} is of a copy from ${existing.from} to ${existing.to}, not of this one; finish that one, or delete the checkpoint`);
    }
  } else if (existing) {
    throw new BadInputError(`a copy from ${existing.from} to ${existing.to} was interrupted (${checkpointFile.path}): add --resume to go on with it`);
  }

  const sourceStore = await source.open();
  let targetStore: StateStore | undefined;
  try {
    targetStore = await target.open();
    if (flags.verifyOnly) {
      io.print(`Comparing ${source.name} with ${target.name}.`);
      return await report(await compareStores(sourceStore, targetStore), io, checkpointFile, false);
    }
    if (!existing) {
      const occupied = await namespaceWithEntries(targetStore);
      if (occupied !== undefined) {
        throw new BadInputError(
          `${target.name} holds enrollgate data already (${occupied}, at least): refusing to copy over it. ` +
            `Empty it first${target.kind === 'sqlite' ? ' (or name another file with --sqlite-file)' : ' (or use another key_prefix)'}, or compare with --verify-only`,
        );
      }
    }
    io.print(`${existing ? 'Resuming the copy' : 'Copying the state'} from ${source.name} to ${target.name}.`);
    io.print('The gateway must be stopped (every gateway on a Redis source): what it changes during the copy is not copied.');
    const checkpoint: Checkpoint = existing ?? { from: source.name, to: target.name, startedAt: new Date().toISOString(), namespaces: {} };
    // Before the first write to the target: from then on, a stopped run can be resumed.
    if (!existing) await checkpointFile.write(checkpoint);

    const already = Object.values(checkpoint.namespaces).reduce((n, m) => n + m.copied, 0);
    let total = already;
    const now = new Date();
    for (const namespace of NAMESPACES) if (!checkpoint.namespaces[namespace]?.done) total += await sourceStore.countLive(namespace, now);
    const progress = new ProgressLine(io.progress, 'copying', total, already);
    const started = Date.now();
    let result: CopyResult;
    try {
      result = await copyStore({
        source: sourceStore,
        target: targetStore,
        checkpoint,
        save: (c) => checkpointFile.write(c),
        onProgress: (p) => progress.update(p.copied, p.namespace),
        ...(io.signal ? { signal: io.signal } : {}),
      });
    } catch (err) {
      progress.interrupt();
      io.error(`the copy stopped on the error below; ${checkpointFile.path} says how far it got: once the cause is fixed, run the same command with --resume`);
      throw err;
    }
    const copied = already + result.copied;
    if (!result.complete) {
      progress.interrupt();
      io.print(`Stopped after ${count(copied)} entries. The checkpoint is ${checkpointFile.path}: run the same command with --resume to go on.`);
      return 1;
    }
    progress.finish(copied, 'done');
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    io.print(
      `Copied ${count(result.copied)} entries in ${seconds.toFixed(1)} s (${count(Math.round(result.copied / seconds))} a second)` +
        `${already > 0 ? `, after the ${count(already)} of the interrupted run` : ''}; ` +
        `${count(result.ended)} of them ended sessions kept for the purge to report, ${count(result.skipped)} expired entries left out.`,
    );
    const status = await report(await compareStores(sourceStore, targetStore), io, checkpointFile, true);
    if (status === 0) io.print(nextStep(to, config, flags, sqliteFile));
    return status;
  } finally {
    await targetStore?.close();
    await sourceStore.close();
  }
}

/**
 * The Redis settings: a URL from --redis-url, else from $ENROLLGATE_REDIS_URL, else the
 * config's url or sentinel; the other settings from the config or their defaults.
 */
function redisSettingsOf(config: Config, flags: StoreFlags): RedisStoreConfig {
  const url = flags.redisUrl ?? flags.redisUrlFromEnv;
  const configured = config.store.redis;
  if (url === undefined) {
    if (configured) return configured;
    throw new BadInputError(`which Redis? Set $${MIGRATION_REDIS_URL_VARIABLE}, add store.redis (url or sentinel) to ${config.config_file}, or give --redis-url`);
  }
  // Never echo the URL: it may hold the password.
  const origin = flags.redisUrl !== undefined ? '--redis-url' : `$${MIGRATION_REDIS_URL_VARIABLE}`;
  if (!REDIS_URL.test(url)) throw new BadInputError(`${origin}: (hidden); expected redis://[user:password@]host:port[/db] or rediss://…`);
  const defaults = configSchema.shape.store.unwrap().shape.redis.unwrap().parse({ url });
  // The URL given takes the place of the config's url or sentinel.
  const { url: _url, sentinel: _sentinel, ...options } = { ...defaults, ...configured };
  return { ...options, url };
}

/** The database number: a URL's path (0 when it names none), or the sentinel section's. */
function redisDatabase(settings: RedisStoreConfig): string {
  if (settings.sentinel) return String(settings.sentinel.database);
  try {
    return new URL(settings.url).pathname.slice(1) || '0';
  } catch {
    return '0';
  }
}

async function readCheckpoint(file: CheckpointFile): Promise<Checkpoint | undefined> {
  try {
    return await file.read();
  } catch (err) {
    throw new BadInputError((err as Error).message, { cause: err });
  }
}

/** Prints the comparison; removes the checkpoint of a copy that compares equal. Returns the exit status. */
async function report(comparisons: readonly NamespaceComparison[], io: StoreIo, checkpoint: CheckpointFile, copied: boolean): Promise<number> {
  const rows = [
    ['namespace', 'source', 'target', 'sha-256 of source', 'sha-256 of target', ''],
    ...comparisons.map((c) => [c.namespace, count(c.source.count), count(c.target.count), c.source.sha256.slice(0, 16), c.target.sha256.slice(0, 16), c.same ? 'same' : 'DIFFERENT']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  io.print(`Compared the live entries of every namespace (those that expire within ${EXPIRY_MARGIN_MS / 1000} s left out):`);
  for (const r of rows) io.print(r.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  const different = comparisons.filter((c) => !c.same).map((c) => c.namespace);
  if (different.length > 0) {
    io.error(
      `the stores differ in ${different.join(', ')}. Was a gateway running, or was the target changed (or emptied: a Redis restarted without persistence)? ` +
        (copied ? `To copy again from the start, empty the target and delete ${checkpoint.path}; to compare again, --verify-only.` : 'Nothing was copied (--verify-only).'),
    );
    return 1;
  }
  io.print('Verified: the target holds the same live entries as the source.');
  if (copied) await checkpoint.remove();
  return 0;
}

function nextStep(to: Kind, config: Config, flags: StoreFlags, sqliteFile: string): string {
  if (to === 'redis') {
    const url = flags.redisUrl !== undefined || flags.redisUrlFromEnv !== undefined ? `, store.redis.url (as { env: VARIABLE } or { file: PATH }: it is a secret)` : '';
    return `Next: set store.kind: redis${url} in ${config.config_file}, then start the gateway(s).`;
  }
  const file = sqliteFile !== config.store.sqlite_file ? ` and store.sqlite_file: ${sqliteFile}` : '';
  return `Next: set store.kind: sqlite${file} in ${config.config_file}, then start the gateway.`;
}
