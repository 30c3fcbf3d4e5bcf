import type { Config } from '../config/load.js';
import type { Logger } from '../logger.js';
import { openSqliteStore } from './sqlite-state-store.js';
import { type StateStore } from './state-store.js';

/**
 * The state store the config names: the SQLite file (the embedded default) or Redis. The
 * Redis client is imported only for Redis: it costs a command such as `devices list` on a
 * SQLite gateway a quarter of a second.
 */
export async function openStateStore(config: Pick<Config, 'store'>, log: Logger): Promise<StateStore> {
  if (config.store.kind === 'redis' && config.store.redis) {
    const { openRedisStore } = await import('./redis-state-store.js');
    return openRedisStore(config.store.redis, log);
  }
  return openSqliteStore(config.store.sqlite_file, { mmapMb: config.store.sqlite_mmap_mb });
}
