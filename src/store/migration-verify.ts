import { createHash } from 'node:crypto';
import { NAMESPACES, type Namespace, type StateStore } from './state-store.js';

/** What a namespace holds, in short: how many live entries, and a SHA-256 over them. */
export interface NamespaceDigest {
  readonly count: number;
  /** Hex SHA-256 over each live entry's JSON key and canonical JSON value, one line each, in key order. */
  readonly sha256: string;
}

/** One namespace compared in both stores. */
export interface NamespaceComparison {
  readonly namespace: Namespace;
  readonly source: NamespaceDigest;
  readonly target: NamespaceDigest;
  readonly same: boolean;
}

/**
 * Entries that expire this soon after a namespace's comparison begins are left out of
 * it: Redis drops a key at its expiry by itself, so one that expires while the two
 * stores are read could be in one reading and not the other. A comparison that takes
 * longer is made again with twice the margin.
 */
export const EXPIRY_MARGIN_MS = 60_000;

/**
 * JSON with the keys of every object sorted, so that equal values give equal text
 * whichever store (and whichever order of writes) they come from.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The digest of a namespace's entries that are live after `cutoff` (ms since the epoch); read a page at a time. */
export async function digestNamespace(store: StateStore, namespace: Namespace, cutoff: number): Promise<NamespaceDigest> {
  const hash = createHash('sha256');
  let count = 0;
  for await (const entry of store.entries(namespace)) {
    if (entry.expiresAt !== null && entry.expiresAt <= cutoff) continue;
    // A JSON string holds no raw newline, canonical JSON neither: one entry, one line.
    hash.update(`${JSON.stringify(entry.key)} ${canonicalJson(entry.value) ?? 'undefined'}\n`);
    count++;
  }
  return { count, sha256: hash.digest('hex') };
}

/**
 * Compares every namespace of two stores by count and digest of their live entries
 * (the ended sessions a copy carries for the purge are not live, and not compared).
 */
export async function compareStores(source: StateStore, target: StateStore, margin = EXPIRY_MARGIN_MS): Promise<NamespaceComparison[]> {
  const out: NamespaceComparison[] = [];
  for (const namespace of NAMESPACES) {
    for (let m = margin; ; m *= 2) {
      const cutoff = Date.now() + m;
      const [s, t] = await Promise.all([digestNamespace(source, namespace, cutoff), digestNamespace(target, namespace, cutoff)]);
      if (Date.now() >= cutoff) continue;
      out.push({ namespace, source: s, target: t, same: s.count === t.count && s.sha256 === t.sha256 });
      break;
    }
  }
  return out;
}
