import type Database from 'better-sqlite3';
import { GenerationalMap } from '../generational-map.js';
import { CHANGES, type WriteBatch } from './sqlite-keyv-store.js';

/**
 * What readNow remembers of a key: its value and expiry (ms since the epoch, or null),
 * or, for a row this connection wrote (writeNow), its stored text, read when first asked for.
 */
export interface CachedRow {
  readonly value: unknown;
  readonly expires: number | null;
  readonly raw?: string;
}

/** A key readNow found nothing under. */
export const ABSENT: CachedRow = Object.freeze({ value: undefined, expires: null });

/** At most this many of this connection's own change log entries are remembered as such (see ReadCache.wrote). */
const OWN_CHANGES_MAX = 10_000;

/** How many keys readNow remembers (GenerationalMap: two generations of half each). */
export const READ_CACHE_MAX = 50_000;

/**
 * What readNow read, kept until it changes. Every write to the table is logged by
 * SQLite triggers (sqlite-keyv-store.ts, CHANGES), whichever process makes it, under a
 * number that only grows. At its first read in each turn, readNow opens the turn's
 * read transaction by asking for the newest number, and forgets the keys logged since
 * it last looked (everything, when the log no longer reaches back that far). RADIUS
 * reads the same sessions over and over and answers from memory between changes, also
 * while accounting is written (bench:radius); a change made anywhere is seen from the
 * next turn on, as without the cache.
 *
 * This connection's own writes: those made through writeNow/deleteNow in the open
 * batch are remembered as written (wrote), and their log entries are not forgotten
 * again when caught up with; any other write of this connection is caught up with
 * before the next read. Accounting reads back, at every packet, what it wrote.
 * Exported for its tests; openSqliteStore makes the one each connection uses.
 */
export class ReadCache {
  private entries = new GenerationalMap<string, CachedRow>(READ_CACHE_MAX);
  private readonly changedSince: Database.Statement<[number], { seq: number; key: string }>;
  private readonly lastChange: Database.Statement<[], number | null>;
  private readonly newestChange: Database.Statement<[], { seq: number; key: string }>;
  private checkedTurn = -1;
  private seenWrites: number;
  private rollbacks: number;
  /** The last change log entry applied. */
  private seq: number;
  /** Change log entries this connection made and `entries` already holds the outcome of (wrote). */
  private own = new Set<number>();

  constructor(
    private readonly db: Database.Database,
    private readonly writes: WriteBatch,
  ) {
    this.changedSince = db.prepare(`SELECT seq, key FROM ${CHANGES} WHERE seq > ? ORDER BY seq`);
    this.lastChange = db.prepare<[], number | null>(`SELECT max(seq) FROM ${CHANGES}`).pluck();
    this.newestChange = db.prepare(`SELECT seq, key FROM ${CHANGES} ORDER BY seq DESC LIMIT 1`);
    this.seq = this.lastChange.get() ?? 0;
    this.seenWrites = writes.counts.writes;
    this.rollbacks = writes.counts.rollbacks;
  }

  /** The remembered row, if it has not changed since it was read; undefined otherwise (read it, then set()). */
  get(key: string): CachedRow | undefined {
    if (this.checkedTurn !== this.writes.counts.turns) {
      // The turn's first read: it opens the read transaction, whose snapshot the log is read in.
      const last = this.writes.read(() => this.lastChange.get()) ?? 0;
      this.checkedTurn = this.writes.counts.turns;
      if (last !== this.seq) this.catchUp();
    }
    if (this.seenWrites !== this.writes.counts.writes || this.rollbacks !== this.writes.counts.rollbacks) this.catchUp();
    const newer = this.entries.newer(key);
    if (newer !== undefined) return newer;
    // Still read, so kept: moved to the newer generation. Otherwise a stream of keys read
    // once (unknown MACs, 10 % of bench:radius) would push out the sessions read all day.
    const older = this.entries.get(key);
    if (older !== undefined) this.entries.set(key, older);
    return older;
  }

  /** Remembers a row just read from SQLite, in this turn's transaction. */
  set(key: string, row: CachedRow): void {
    this.entries.set(key, row);
  }

  /**
   * A write this connection has just made to one key, inside the open batch
   * (writeNow/deleteNow). While the transaction holds SQLite's write lock no other
   * process can write, so the newest log entry, when it names this key, is this
   * write's: it is remembered as this connection's own, and the row as written.
   * Otherwise (a write outside a transaction, one that logged nothing, other writes not
   * caught up with yet, too many own entries pending) nothing is remembered, and the
   * next read catches up with the log as for any write.
   */
  wrote(key: string, row: CachedRow): void {
    const caughtUp = this.seenWrites === this.writes.counts.writes - 1 && this.rollbacks === this.writes.counts.rollbacks;
    if (!caughtUp || !this.db.inTransaction || this.own.size >= OWN_CHANGES_MAX) return;
    // A write that changed no row (a delete of an absent key) logs nothing: the newest
    // entry is then someone else's, possibly not caught up with yet, and must not be taken.
    const newest = this.newestChange.get();
    if (!newest || newest.key !== key || newest.seq <= this.seq) return;
    this.own.add(newest.seq);
    this.seenWrites++;
    this.entries.set(key, row);
  }

  /** Forgets the keys changed since the last look (all of them when the log has moved past it), but for this connection's own (wrote). */
  private catchUp(): void {
    this.seenWrites = this.writes.counts.writes;
    if (this.rollbacks !== this.writes.counts.rollbacks) {
      // What was read of the log, or written here, may have been rolled back, and its numbers used again.
      this.rollbacks = this.writes.counts.rollbacks;
      this.forgetAll();
      return;
    }
    const changes = this.changedSince.all(this.seq);
    if (changes.length === 0) return;
    if (changes[0]!.seq !== this.seq + 1) this.forgetAll();
    else {
      for (const c of changes) {
        if (!this.own.delete(c.seq)) this.entries.delete(c.key);
      }
    }
    this.seq = changes[changes.length - 1]!.seq;
  }

  private forgetAll(): void {
    this.entries = new GenerationalMap(READ_CACHE_MAX);
    this.own = new Set();
    this.seq = this.lastChange.get() ?? 0;
  }
}
