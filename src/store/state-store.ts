import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { StoreUnavailableError } from '../errors.js';

/** The namespaces of the gateway's state; each is one Keyv. */
export const NAMESPACES = ['devices', 'sessions', 'flows', 'leases', 'accounting'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** Where the gateway keeps what outlives a request: one Keyv per namespace on one backend. */
export interface StateStore {
  /** The Keyv for one namespace (values are JSON; TTLs in milliseconds). */
  readonly kv: Readonly<Record<Namespace, Keyv>>;
  /** Resolves when the backend answers a read, rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Deletes entries whose TTL has passed (SQLite has no native expiry); returns how many. */
  purgeExpired(now: Date): Promise<number>;
  /** Closes connections. */
  close(): Promise<void>;
}

type Query = (sql: string, ...params: unknown[]) => Promise<unknown[]>;

/**
 * The embedded default: one SQLite file through keyv's SQLite adapter (one
 * connection per namespace). WAL lets the connections read while one writes;
 * synchronous=FULL makes a write durable before keyv's set() resolves, so an
 * enrollment the user saw confirmed survives a crash.
 */
export async function openSqliteStore(file: string): Promise<StateStore> {
  const adapters: KeyvSqlite[] = [];
  const kv = {} as Record<Namespace, Keyv>;
  try {
    mkdirSync(dirname(file), { recursive: true });
    for (const namespace of NAMESPACES) {
      const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, table: 'enrollgate', busyTimeout: 5000 });
      adapters.push(adapter);
      const query = adapter.query as Query;
      await query('PRAGMA journal_mode = WAL');
      await query('PRAGMA synchronous = FULL');
      const keyv = new Keyv({ store: adapter, namespace, throwOnErrors: true });
      // Errors are thrown to the caller (throwOnErrors); without a listener the emitter would crash the process.
      keyv.on('error', () => {});
      kv[namespace] = keyv;
    }
  } catch (err) {
    await Promise.allSettled(adapters.map((a) => a.disconnect()));
    throw new StoreUnavailableError(`cannot open the state file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const first = adapters[0]!.query as Query;

  return {
    kv,
    async ping() {
      try {
        await first('SELECT 1');
      } catch (err) {
        throw new StoreUnavailableError(`state file ${file} is not readable: ${(err as Error).message}`, { cause: err });
      }
    },
    async purgeExpired(now) {
      // keyv stores {"value":…,"expires":ms}; delete by that field in one statement.
      const rows = (await first(
        `DELETE FROM enrollgate WHERE json_extract(value, '$.expires') IS NOT NULL AND json_extract(value, '$.expires') <= ? RETURNING key`,
        now.getTime(),
      )) as unknown[];
      return rows.length;
    },
    async close() {
      await Promise.allSettled(adapters.map((a) => a.disconnect()));
    },
  };
}

/** Runs a store operation, turning any failure into StoreUnavailableError with the cause kept. */
export async function storeCall<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    throw new StoreUnavailableError(`state store failed to ${what}: ${(err as Error).message}`, { cause: err });
  }
}
