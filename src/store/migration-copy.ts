import type { Checkpoint, NamespaceMark } from './migration-checkpoint.js';
import { ENTRIES_PAGE, NAMESPACES, type Namespace, type StateStore, type StoredEntry } from './state-store.js';

/** Where a copy is, for a progress line. */
export interface CopyProgress {
  readonly namespace: Namespace;
  /** Entries copied so far in all namespaces, including those of the run a resumed one continues. */
  readonly copied: number;
}

export interface CopyOptions {
  readonly source: StateStore;
  readonly target: StateStore;
  /** Where to start: a new checkpoint (nothing copied) or the one an interrupted run left. */
  readonly checkpoint: Checkpoint;
  /** Persists the checkpoint; called after each page is written to the target, never before. */
  readonly save: (checkpoint: Checkpoint) => Promise<void>;
  readonly onProgress?: (progress: CopyProgress) => void;
  /** Stops after the page being written (Ctrl-C): the checkpoint says how far it got. */
  readonly signal?: AbortSignal;
  /** Stops after this many entries, as an interruption would (tests; a copy in several sittings). */
  readonly stopAfter?: number;
  /** Entries per page written. */
  readonly pageSize?: number;
}

export interface CopyResult {
  /** Every namespace was copied; false when stopped by `signal` or `stopAfter`. */
  readonly complete: boolean;
  readonly checkpoint: Checkpoint;
  /** Entries written by this run. */
  readonly copied: number;
  /** Of those, sessions that had ended and were not purged yet: carried so that the target's purge reports them (session.expired). */
  readonly ended: number;
  /** Entries past their expiry that were not copied (SQLite keeps them until its purge). */
  readonly skipped: number;
}

/**
 * Copies every namespace from one store to the other, entry by entry with its absolute
 * expiry, in key order a page at a time, saving a checkpoint after each page. Writing
 * an entry again is harmless, so a run stopped anywhere continues from its checkpoint.
 * Ended sessions are copied although expired: the Redis store keeps them a day for its
 * purge, and the SQLite file until its purge, which is what writes their
 * session.expired record to the audit trail. The source is only read.
 */
export async function copyStore(options: CopyOptions): Promise<CopyResult> {
  const { source, target, save, onProgress, signal } = options;
  const pageSize = options.pageSize ?? ENTRIES_PAGE;
  const marks: Partial<Record<Namespace, NamespaceMark>> = { ...options.checkpoint.namespaces };
  const checkpoint = (): Checkpoint => ({ ...options.checkpoint, namespaces: { ...marks } });
  let budget = options.stopAfter ?? Number.POSITIVE_INFINITY;
  let total = Object.values(marks).reduce((n, m) => n + m.copied, 0);
  let copied = 0;
  let ended = 0;
  let skipped = 0;
  const stopped = () => budget <= 0 || signal?.aborted === true;

  for (const namespace of NAMESPACES) {
    let mark: NamespaceMark = marks[namespace] ?? { copied: 0, done: false };
    if (mark.done) continue;
    if (stopped()) return { complete: false, checkpoint: checkpoint(), copied, ended, skipped };
    let page: StoredEntry[] = [];
    const flush = async () => {
      await target.putEntries(namespace, page);
      mark = { after: page[page.length - 1]!.key, copied: mark.copied + page.length, done: false };
      marks[namespace] = mark;
      await save(checkpoint());
      copied += page.length;
      total += page.length;
      budget -= page.length;
      page = [];
      onProgress?.({ namespace, copied: total });
    };
    for await (const entry of source.entries(namespace, mark.after)) {
      if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
        if (namespace !== 'sessions') {
          skipped++;
          continue;
        }
        ended++;
      }
      page.push(entry);
      if (page.length >= Math.min(pageSize, budget)) {
        await flush();
        if (stopped()) return { complete: false, checkpoint: checkpoint(), copied, ended, skipped };
      }
    }
    if (page.length > 0) await flush();
    marks[namespace] = { ...mark, done: true };
    await save(checkpoint());
  }
  return { complete: true, checkpoint: checkpoint(), copied, ended, skipped };
}

/** The first namespace in which the store holds an entry, expired ones included (a copy must not mix with them); undefined when it is empty. */
export async function namespaceWithEntries(store: StateStore): Promise<Namespace | undefined> {
  for (const namespace of NAMESPACES) {
    for await (const _ of store.entries(namespace)) return namespace;
  }
  return undefined;
}
