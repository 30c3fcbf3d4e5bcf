import type Keyv from 'keyv';
import { StoreUnavailableError } from '../errors.js';
import type { LockRunner } from './keyed-lock.js';

/** The namespaces of the gateway's state; each is one Keyv. */
export const NAMESPACES = ['devices', 'owners', 'blocked', 'sessions', 'flows', 'leases', 'accounting', 'tokens', 'downloads', 'throttle', 'certificates', 'revoked', 'nas', 'tls_sessions'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** Where the gateway keeps what outlives a request: one Keyv per namespace on one backend. */
export interface StateStore {
  /** Which backend: the embedded SQLite file, or Redis shared by several gateways. */
  readonly kind: 'sqlite' | 'redis';
  /** Runs a function under locks on keys (the device limit's owner and MAC): in this process for SQLite, in Redis for gateways sharing it. */
  readonly withLock: LockRunner;
  /** The Keyv for one namespace (values are JSON; TTLs in milliseconds). */
  readonly kv: Readonly<Record<Namespace, Keyv>>;
  /**
   * The embedded store only: the value under a key, read without waiting (what the
   * namespace's Keyv.get would resolve with), or undefined. Throws StoreUnavailableError
   * when the file cannot be read. RADIUS answers through it without a promise per
   * request (bench:radius); stores that must wait for a server (Redis) have none.
   */
  readonly readNow?: (namespace: Namespace, key: string) => unknown;
  /**
   * The embedded store only: writes a value as the namespace's Keyv.set would (the same
   * stored text, the same expiry), before this returns, in the connection's open group
   * commit; the promise settles with that commit (after an fsync in durable namespaces).
   * Accounting writes through it without a chain of keyv promises per packet (bench:radius).
   */
  readonly writeNow?: (namespace: Namespace, key: string, value: unknown, ttlMs?: number) => Promise<void>;
  /** The embedded store only: deletes as Keyv.delete would, before this returns; settles with the commit (true if there was an entry). */
  readonly deleteNow?: (namespace: Namespace, key: string) => Promise<boolean>;
  /** Resolves when the backend answers a read, rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Deletes entries whose TTL has passed (SQLite has no native expiry); returns how many. */
  purgeExpired(now: Date): Promise<PurgeResult>;
  /** How many unexpired entries a namespace holds now (the live-sessions gauge). */
  countLive(namespace: Namespace, now: Date): Promise<number>;
  /** Every entry of a namespace in key order (compareKeys), those after `after` if given, with its expiry; includes expired ones not purged yet (store migrate pages through it). */
  entries(namespace: Namespace, after?: string): AsyncIterable<StoredEntry>;
  /** Writes entries with their absolute expiry, replacing any under the same keys (store migrate; a Redis session keeps its end-time index). */
  putEntries(namespace: Namespace, entries: readonly StoredEntry[]): Promise<void>;
  /** Short-lived entries shared by every gateway on this store (Redis only): the shared RFC 5080 cache. */
  readonly sharedCache?: SharedCacheBackend;
  /** Closes connections. */
  close(): Promise<void>;
}

/** A small shared cache with an atomic claim (see radius/shared-duplicate-cache.ts). */
export interface SharedCacheBackend {
  /** The value under `key`, or null after storing `placeholder` there for `ttlMs` (one atomic step). */
  claim(key: string, placeholder: string, ttlMs: number): Promise<string | null>;
  /** Replaces the value, for `ttlMs`. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  remove(key: string): Promise<void>;
}

/**
 * What a person was told is done (an enrollment, a session) is fsynced before the
 * write resolves (synchronous=FULL for that one commit). Accounting, leases, flows
 * and tokens use NORMAL: in WAL mode a commit still survives the process being
 * killed, only a power loss can take the last ones, and the NAS resends accounting
 * anyway. An fsync per accounting packet would otherwise stall authentication.
 * On Redis these are the confirmed writes, which wait for replicas (redis-connection.ts).
 * A revocation is one of them: an admin told "revoked" must not see the certificate
 * answered good after a crash.
 */
export const DURABLE: ReadonlySet<Namespace> = new Set(['devices', 'owners', 'blocked', 'sessions', 'certificates', 'revoked']);

/** What a purge deleted: how many entries, and the sessions among them (whose end the audit trail records). */
export interface PurgeResult {
  readonly count: number;
  readonly sessions: readonly unknown[];
}

/** One entry as keyv keeps it: its key in the namespace, its value, and when it expires (ms since the epoch; null: never). */
export interface StoredEntry {
  readonly key: string;
  readonly value: unknown;
  readonly expiresAt: number | null;
}

/** How many entries `entries()` reads at a time: a namespace of 100,000 sessions is never in memory at once. */
export const ENTRIES_PAGE = 500;

/** Runs a store operation, turning any failure into StoreUnavailableError with the cause kept. */
export async function storeCall<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    throw new StoreUnavailableError(`state store failed to ${what}: ${(err as Error).message}`, { cause: err });
  }
}
