import type { Config } from './load.js';

/**
 * Where the state store is, for a person reading the start line or banner: the SQLite
 * file, or the Redis server without its credentials (store.redis.url may hold a password).
 */
export function storeSummary(config: Config): string {
  const redis = config.store.redis;
  if (config.store.kind === 'sqlite' || !redis) return `sqlite ${config.store.sqlite_file}`;
  if (redis.sentinel) return `redis, primary "${redis.sentinel.name}" through ${redis.sentinel.sentinels.length} sentinel(s)`;
  try {
    const url = new URL(redis.url);
    return `redis ${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'redis (url hidden)';
  }
}

/** Which directory checks passwords: the users file's path, or the LDAP server's URL (host and port, no credentials). */
export function directorySummary(config: Config): string {
  return config.directory.kind === 'ldap' && config.directory.ldap ? `ldap ${config.directory.ldap.url}` : `users file ${config.directory.file.path}`;
}
