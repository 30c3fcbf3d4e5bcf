/**
 * RFC 5080 §2.2.2: a retransmission (same source address and port, Identifier and
 * Request Authenticator) within a short time is answered with the same response,
 * without running policy or recording accounting again. A request still being
 * worked on when its retransmission arrives makes the copy wait for nothing: it is
 * dropped, and the NAS's next retry finds the answer.
 */
export type DuplicateLookup = { kind: 'new' } | { kind: 'answered'; response: Buffer } | { kind: 'in_progress' };

/** Remembers recent requests and their answers. */
export interface DuplicateCache {
  /** Looks a request up; a new one is marked as in progress. */
  begin(key: string, now: number): DuplicateLookup;
  /** Records the answer of a request begun here, or forgets it when none was sent (so a retry is worked on afresh). */
  finish(key: string, response: Buffer | undefined): void;
}

/** The RFC 5080 window. */
export const DUPLICATE_WINDOW_MS = 30_000;

interface Entry {
  at: number;
  response: Buffer | undefined;
}

/**
 * In one process's memory, bounded in entries (oldest first out) and in time.
 * A Map keeps insertion order, so expiry only ever looks at its front.
 */
export class MemoryDuplicateCache implements DuplicateCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly windowMs = DUPLICATE_WINDOW_MS,
    private readonly maxEntries = 200_000,
  ) {}

  begin(key: string, now: number): DuplicateLookup {
    this.expire(now);
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.windowMs) {
      return entry.response ? { kind: 'answered', response: entry.response } : { kind: 'in_progress' };
    }
    if (entry) this.entries.delete(key);
    this.entries.set(key, { at: now, response: undefined });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return { kind: 'new' };
  }

  finish(key: string, response: Buffer | undefined): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    // The window runs from the original request, as the NAS's retry timer does.
    if (response) entry.response = response;
    else this.entries.delete(key);
  }

  /** How many requests are remembered (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private expire(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.at < this.windowMs) break;
      this.entries.delete(key);
    }
  }
}

/** The key of a request: where it came from, on which port, its Identifier and Request Authenticator. */
export function duplicateKey(port: string, address: string, sourcePort: number, identifier: number, authenticator: Buffer): string {
  return `${port}|${address}|${sourcePort}|${identifier}|${authenticator.toString('base64')}`;
}
