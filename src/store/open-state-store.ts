import type { Config } from '../config/load.js';
import type { Logger } from '../logger.js';
import { openRedisStore } from './redis-state-store.js';
import { openSqliteStore } from './sqlite-state-store.js';
import { type StateStore } from './state-store.js';

/** The state store the config names: the SQLite file (the embedded default) or Redis. */
export async function openStateStore(config: Pick<Config, 'store'>, log: Logger): Promise<StateStore> {
  if (config.store.kind === 'redis' && config.store.redis) return openRedisStore(config.store.redis, log);
  return openSqliteStore(config.store.sqlite_file, { mmapMb: config.store.sqlite_mmap_mb });
}
