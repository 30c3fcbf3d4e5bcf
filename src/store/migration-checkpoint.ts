import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { NAMESPACES, type Namespace } from './state-store.js';

/** How far a copy got in one namespace. */
export interface NamespaceMark {
  /** The last key copied, in key order (compareKeys); none before the first page. */
  readonly after?: string;
  /** How many entries were copied so far. */
  readonly copied: number;
  /** Every entry was copied. */
  readonly done: boolean;
}

/** A copy between two stores that has started: which stores, and how far it got. */
export interface Checkpoint {
  /** The source and the target as `describeStore` names them (never a password). */
  readonly from: string;
  readonly to: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly namespaces: Readonly<Partial<Record<Namespace, NamespaceMark>>>;
}

/**
 * The checkpoint of `store migrate`, kept beside the SQLite file (FILE.migration.json),
 * which is the source or the target of every migration: its directory is writable by
 * whoever can write the SQLite file (WAL files live there too), whereas the config's
 * may not be (/etc/enrollgate, a read-only mount). Outside the target, it is never seen
 * by a gateway started on the target. Written by rename, so a crash leaves the old
 * checkpoint or the new one; since writing an entry again is harmless, a checkpoint a
 * page behind the target only costs that page.
 */
export class CheckpointFile {
  readonly path: string;

  constructor(sqliteFile: string) {
    this.path = `${sqliteFile}.migration.json`;
  }

  /** The checkpoint, or undefined when there is none; throws naming the file when it does not read. */
  async read(): Promise<Checkpoint | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`the checkpoint ${this.path} is not JSON (${(err as Error).message}); delete it to start again`, { cause: err });
    }
    if (!isCheckpoint(parsed)) throw new Error(`the checkpoint ${this.path} is not one store migrate wrote; delete it to start again`);
    return parsed;
  }

  /** Replaces the checkpoint (write, then rename over the old one). */
  async write(checkpoint: Checkpoint): Promise<void> {
    const temporary = `${this.path}.tmp`;
    await writeFile(temporary, `${JSON.stringify(checkpoint, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }

  /** Deletes the checkpoint (after a verified copy). */
  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

function isCheckpoint(v: unknown): v is Checkpoint {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  if (typeof c.from !== 'string' || typeof c.to !== 'string' || typeof c.startedAt !== 'string') return false;
  if (!c.namespaces || typeof c.namespaces !== 'object') return false;
  return Object.entries(c.namespaces).every(([ns, mark]) => {
    if (!(NAMESPACES as readonly string[]).includes(ns) || !mark || typeof mark !== 'object') return false;
    const m = mark as Record<string, unknown>;
    return typeof m.copied === 'number' && typeof m.done === 'boolean' && (m.after === undefined || typeof m.after === 'string');
  });
}
